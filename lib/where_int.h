/*
 * where_int.h — internals of lib/where shared by its source files:
 * the arena, types, values, syntax tree, and the type-specific operations
 * (input/output, comparison, arithmetic) in where_types.c. Not a public
 * interface; only lib/where*.c include it.
 */
#ifndef SS_WHERE_INT_H
#define SS_WHERE_INT_H

#include <stdint.h>

#include "util.h"
#include "where.h"

/* A bump allocator: every tree node and evaluation temporary lives in one,
 * so freeing a clause or finishing an evaluation is one walk over blocks. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};
struct arena {
	struct arena_block *head;
	struct arena_block *borrowed; /* caller's block: never freed */
	/* The cost budget of one compile or one evaluation: every byte
	 * allocated and every step of the operations that work without
	 * allocating (long multiplication and division, LIKE, array
	 * containment) counts one unit; work_max 0 is no limit. */
	uint64_t work, work_max;
};
/* Start an arena on a caller-owned buffer of `size` bytes (a stack buffer
 * for one evaluation), so most evaluations never call malloc. */
void arena_init_buf(struct arena *a, void *buf, size_t size);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);
/* Count `units` of work: 0, or -1 with err once the budget is spent. */
int arena_charge_fail(struct arena *a, struct ss_err *err);
static inline int arena_charge(struct arena *a, uint64_t units,
			       struct ss_err *err)
{
	a->work += units;
	if (a->work_max && a->work > a->work_max)
		return arena_charge_fail(a, err);
	return 0;
}

/* Base types; the order of the numeric ones is their promotion order. */
enum wt {
	WT_UNKNOWN = 0, /* an untyped string literal or parameter */
	WT_NULL,	/* the bare NULL keyword: coerces to anything */
	WT_BOOL,
	WT_INT2,
	WT_INT4,
	WT_INT8,
	WT_NUMERIC,
	WT_FLOAT4,
	WT_FLOAT8,
	WT_TEXT,
	WT_VARCHAR,
	WT_BPCHAR,
	WT_UUID,
	WT_DATE,
	WT_TIME,
	WT_TIMESTAMP,
	WT_TIMESTAMPTZ,
	WT_INTERVAL,
	WT_ENUM,
};

/* A type: base, whether it is an array of base, a modifier (varchar(n),
 * bpchar(n): n; numeric(p,s): p << 16 | s; -1 none) and an enum name. */
struct wtype {
	enum wt base;
	int array;
	int32_t typmod;
	const char *ename;	   /* enum type name, for WT_ENUM */
	const char *const *labels; /* enum labels in sort order, or NULL */
	size_t nlabels;
};

struct num; /* arbitrary-precision decimal, where_types.c */
struct warr;

struct interval {
	int32_t month, day;
	int64_t us;
};

/* A value; its type is known from context. Strings are not
 * NUL-terminated necessarily: use len. */
struct wval {
	int isnull;
	union {
		int b;
		int64_t i; /* ints, date (days), time/timestamp (us) */
		double f;
		struct num *n;
		struct {
			const char *p;
			size_t len;
		} s;
		struct interval iv;
		unsigned char uuid[16];
		struct warr *a;
	} u;
};

#define WARR_MAXDIM 6
struct warr {
	int ndim;
	int dims[WARR_MAXDIM];
	int lbs[WARR_MAXDIM];
	size_t n;
	struct wval *e;
};

/* Date and timestamp infinities, as PostgreSQL stores them. */
#define DATE_NOBEGIN INT32_MIN
#define DATE_NOEND INT32_MAX
#define TS_NOBEGIN INT64_MIN
#define TS_NOEND INT64_MAX
#define USECS_PER_DAY INT64_C(86400000000)

/* Type helpers (where_types.c). */
int wt_is_numeric(enum wt t); /* int2..float8 */
int wt_is_text(enum wt t);    /* text, varchar, bpchar */
int wt_is_int(enum wt t);
/* SQL name used in PostgreSQL messages ("integer", "text", ...). */
void wtype_sqlname(const struct wtype *t, struct ss_buf *out);
/* Canonical spelling ("int4", "varchar(3)", "int4[]"). */
void wtype_canon(const struct wtype *t, struct ss_buf *out);
int wtype_eq(const struct wtype *a, const struct wtype *b);
/* Resolve a type name with an optional typmod (-1) into *t; 0 or -1. */
int wtype_lookup(const char *name, struct wtype *t);

/*
 * Value operations. Each returns 0, or -1 with err filled in with the
 * PostgreSQL message. Results are allocated in arena `a`.
 */
int wval_in(struct arena *a, const struct wtype *t, const char *s, size_t len,
	    struct wval *out, struct ss_err *err);
void wval_out(const struct wtype *t, const struct wval *v, struct ss_buf *out);
/* Compare two non-null values of type t (same type): <0, 0, >0. */
int wval_cmp(const struct wtype *t, const struct wval *x, const struct wval *y);
/* Cast non-null v from type `from` to type `to`. */
int wval_cast(struct arena *a, const struct wtype *from, const struct wtype *to,
	      const struct wval *v, struct wval *out, struct ss_err *err);
/* Is there a cast from -> to, and is it implicit? 0 none, 1 explicit
 * only, 2 implicit. */
int wcast_kind(const struct wtype *from, const struct wtype *to);

/* Arithmetic operator codes. */
enum wop {
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_NEG,
	OP_POW,
};
/* Binary arithmetic on non-null values; result type rt. lt/rtp are the
 * operand types. */
int wval_arith(struct arena *a, enum wop op, const struct wtype *lt,
	       const struct wval *l, const struct wtype *rtp,
	       const struct wval *r, const struct wtype *rt, struct wval *out,
	       struct ss_err *err);
/* Result type of l op r, or -1 if no such operator (both already
 * resolved from unknown). `lc`/`rc` receive the types each side must be
 * cast to first. */
int warith_resolve(enum wop op, const struct wtype *l, const struct wtype *r,
		   struct wtype *lc, struct wtype *rc, struct wtype *res);

/*
 * timezone(zone, value) / value AT TIME ZONE zone: a timestamptz (to_tz 0)
 * becomes the local timestamp in the zone, a timestamp (to_tz 1) is read
 * as local time there. The zone is an abbreviation or a zone name
 * (text), or a fixed offset (interval, when zone_is_iv).
 */
int wval_timezone(const struct wval *zone, int zone_is_iv, int64_t ts,
		  int to_tz, int64_t *out, struct ss_err *err);

/* justify_days (days), justify_hours (hours) or both (justify_interval). */
int interval_justify(const struct interval *in, int days, int hours,
		     struct interval *out, struct ss_err *err);

/* Numeric helpers. */
int num_from_int(struct arena *a, int64_t i, struct num **out);
/* 1 if n is below zero (-Infinity included), else 0. */
int num_is_negative(const struct num *n);

/* ------------------------------------------------------------------ */
/* Syntax tree. The parser builds it, the type checker (where.c) fills in
 * types and inserts implicit casts, the renderer prints it, and the folder
 * replaces constant subtrees. Nodes live in the clause's arena. */

enum lit {
	LIT_NONE = 0,
	LIT_INT,   /* integer literal; text is its digits */
	LIT_NUM,   /* numeric literal (has '.' or 'e'), text as written */
	LIT_STR,   /* string literal, text unescaped */
	LIT_BOOL,  /* TRUE / FALSE */
	LIT_NULL,  /* NULL */
	LIT_PARAM, /* $n, text is the parameter value (NULL: SQL NULL) */
};

enum nflag {
	NF_NOT = 1,	   /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT ... */
	NF_SYMMETRIC = 2,  /* BETWEEN SYMMETRIC */
	NF_IMPLICIT = 4,   /* cast inserted by the type checker */
	NF_CASTSYNTAX = 8, /* CAST(x AS t) rather than x::t */
	NF_INGROUP = 16,   /* IN: items compared as one = ANY (array) */
	NF_ARRCAT = 32,	   /* ||: array || array (array_cat) */
	NF_APPEND = 64,	   /* ||: array || element (array_append) */
	NF_PREPEND = 128   /* ||: element || array (array_prepend) */
};

/* Test codes for N_TEST (SS_WHERE_TEST). */
enum ntest { TEST_NULL, TEST_TRUE, TEST_FALSE, TEST_UNKNOWN };

/* Internal operator codes for SS_WHERE_OP / ANY / ALL. */
enum nop {
	NOP_EQ,
	NOP_NE,
	NOP_LT,
	NOP_LE,
	NOP_GT,
	NOP_GE,
	NOP_ADD,
	NOP_SUB,
	NOP_MUL,
	NOP_DIV,
	NOP_MOD,
	NOP_NEG,
	NOP_CONCAT,
	NOP_CONTAINS,  /* @> */
	NOP_CONTAINED, /* <@ */
	NOP_OVERLAP,   /* && */
	NOP_LIKE,
	NOP_ILIKE,
	NOP_NLIKE,
	NOP_NILIKE,
	NOP_POW,
	NOP_BAND,  /* & */
	NOP_BOR,   /* | */
	NOP_BXOR,  /* # */
	NOP_BNOT,  /* prefix ~ */
	NOP_ABS,   /* prefix @ */
	NOP_SQRT,  /* prefix |/ */
	NOP_CBRT,  /* prefix ||/ */
	NOP_OTHER, /* parsed but not supported: error at type check */
};

enum nfunc {
	FN_LOWER,
	FN_UPPER,
	FN_CONCAT,
	FN_COALESCE,
	FN_GREATEST,
	FN_LEAST,
	FN_TIMEZONE, /* timezone(zone, ts) and ts AT TIME ZONE zone */
	FN_ARRAY_CAT,
	FN_ARRAY_APPEND,
	FN_ARRAY_PREPEND,
	FN_ARRAY_NDIMS,
	FN_JUSTIFY_DAYS,
	FN_JUSTIFY_HOURS,
	FN_JUSTIFY_INTERVAL,
	FN_LIKE,  /* like(a, b): parsed into a ~~ b */
	FN_ILIKE, /* ilike(a, b): a ~~* b */
};

struct ss_where_node {
	enum ss_where_kind kind;
	int loc;	/* byte offset in the clause text */
	int opc;	/* enum nop / ntest / nfunc */
	int flags;	/* enum nflag */
	const char *op; /* public name (static storage) */
	struct ss_where_node **args;
	size_t nargs;
	size_t argcap; /* room in args (the parser grows lists by doubling) */
	/* Leaves and names from the parser. */
	enum lit lit;
	const char *text; /* literal text / column name / function name */
	size_t textlen;
	long col; /* column index, or -1 */
	int paramno;
	int tloc; /* location of a cast's type name */
	/* From the type checker. */
	struct wtype type;   /* result type; the target type for a cast */
	struct wtype otype;  /* operand type of comparisons, ANY, IN, ... */
	struct wtype otype2; /* BETWEEN: operand type for the upper bound */
	struct wval val;     /* SS_WHERE_CONST value */
	int analyzed;
};

/* Parse `text` into a tree in arena a; 0, or -1 with err. An IN list of
 * more than max_in items (0: no limit) is an error. */
int where_parse(struct arena *a, const char *text, size_t max_in,
		struct ss_where_node **out, struct ss_err *err);
/* Canonical rendering of an analysed, unfolded tree. */
void where_render(const struct ss_where_node *n, struct ss_buf *out);
/* Make a node. */
struct ss_where_node *where_node(struct arena *a, enum ss_where_kind kind,
				 int loc, size_t nargs);

#endif
