/*
 * where_int.h — internals of lib/where shared by its source files: the
 * arena (where_arena.c), types and values (where_type.c), the type
 * families (where_numeric.c, where_time.c, where_tz.c, where_array.c,
 * where_arith.c), the syntax tree, and the stages over it (where_parse.c,
 * where_check.c, where_render.c, where_fold.c, where_eval.c). Not a public
 * interface; only lib/where*.c include it. Every function here is
 * ss_w_-prefixed: lib/ is one archive, and its symbols are all ss_.
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
void ss_w_arena_init_buf(struct arena *a, void *buf, size_t size);
void *ss_w_arena_alloc(struct arena *a, size_t n);
char *ss_w_arena_strndup(struct arena *a, const char *s, size_t n);
void ss_w_arena_free(struct arena *a);
/* Count `units` of work: 0, or -1 with err once the budget is spent. */
int ss_w_arena_charge_fail(struct arena *a, struct ss_err *err);
static inline int ss_w_arena_charge(struct arena *a, uint64_t units,
				    struct ss_err *err)
{
	a->work += units;
	if (a->work_max && a->work > a->work_max)
		return ss_w_arena_charge_fail(a, err);
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

struct num; /* arbitrary-precision decimal, where_numeric.c */
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

/* Type helpers (where_type.c). */
int ss_w_is_numeric(enum wt t); /* int2..float8 */
int ss_w_is_text(enum wt t);	/* text, varchar, bpchar */
int ss_w_is_int(enum wt t);
/* SQL name used in PostgreSQL messages ("integer", "text", ...). */
void ss_w_type_sqlname(const struct wtype *t, struct ss_buf *out);
/* Canonical spelling ("int4", "varchar(3)", "int4[]"). */
void ss_w_type_canon(const struct wtype *t, struct ss_buf *out);
int ss_w_type_eq(const struct wtype *a, const struct wtype *b);
/* Resolve a type name with an optional typmod (-1) into *t; 0 or -1. */
int ss_w_type_lookup(const char *name, struct wtype *t);
/* SQL name of a base type ("integer"), static storage. */
const char *ss_w_wt_sqlname(enum wt t);
/* An untyped literal or parameter, or the bare NULL keyword. */
static inline int is_unknown(const struct wtype *t)
{
	return !t->array && (t->base == WT_UNKNOWN || t->base == WT_NULL);
}

/*
 * Value operations. Each returns 0, or -1 with err filled in with the
 * PostgreSQL message. Results are allocated in arena `a`.
 */
int ss_w_val_in(struct arena *a, const struct wtype *t, const char *s,
		size_t len, struct wval *out, struct ss_err *err);
void ss_w_val_out(const struct wtype *t, const struct wval *v,
		  struct ss_buf *out);
/* Compare two non-null values of type t (same type): <0, 0, >0. */
int ss_w_val_cmp(const struct wtype *t, const struct wval *x,
		 const struct wval *y);
/* Cast non-null v from type `from` to type `to`. */
int ss_w_val_cast(struct arena *a, const struct wtype *from,
		  const struct wtype *to, const struct wval *v,
		  struct wval *out, struct ss_err *err);
/* Is there a cast from -> to, and is it implicit? 0 none, 1 explicit
 * only, 2 implicit. */
int ss_w_cast_kind(const struct wtype *from, const struct wtype *to);

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
int ss_w_val_arith(struct arena *a, enum wop op, const struct wtype *lt,
		   const struct wval *l, const struct wtype *rtp,
		   const struct wval *r, const struct wtype *rt,
		   struct wval *out, struct ss_err *err);
/* Result type of l op r, or -1 if no such operator (both already
 * resolved from unknown). `lc`/`rc` receive the types each side must be
 * cast to first. */
int ss_w_arith_resolve(enum wop op, const struct wtype *l,
		       const struct wtype *r, struct wtype *lc,
		       struct wtype *rc, struct wtype *res);

/*
 * timezone(zone, value) / value AT TIME ZONE zone: a timestamptz (to_tz 0)
 * becomes the local timestamp in the zone, a timestamp (to_tz 1) is read
 * as local time there. The zone is an abbreviation or a zone name
 * (text), or a fixed offset (interval, when zone_is_iv).
 */
int ss_w_val_timezone(const struct wval *zone, int zone_is_iv, int64_t ts,
		      int to_tz, int64_t *out, struct ss_err *err);

/* justify_days (days), justify_hours (hours) or both (justify_interval). */
int ss_w_interval_justify(const struct interval *in, int days, int hours,
			  struct interval *out, struct ss_err *err);

/* ------------------------------------------------------------------ */
/* Numbers (where_numeric.c). Numeric: value = sign * D * 10^-scale, D held
 * as decimal digits (0-9, most significant first, no leading zeros; nd ==
 * 0 is zero). `scale` is also PostgreSQL's display scale, so "1.50" keeps
 * its trailing zero. Results live in the arena; the functions that can
 * fail return 0, or -1 with err filled in with PostgreSQL's message. */

enum { NUM_FINITE = 0, NUM_NAN, NUM_PINF, NUM_NINF };
#define NUM_MAX_PRECISION 1000
#define NUM_MAX_DISPLAY_SCALE 1000
#define NUM_MAX_DIGITS 150000 /* PostgreSQL allows 131072 + 16383 */
/* PostgreSQL's storage limits (a base-10000 weight and a display scale
 * in int16 fields): at most 131072 digits before the decimal point and
 * 16383 after it. Every operation's result is held to them, as
 * make_result does, so that no chain of operations can build values
 * larger than an input could be. */
#define NUM_MAX_WEIGHT_DIGITS 131072
#define NUM_MAX_DSCALE 16383

struct num {
	int special;
	int neg;
	int scale;
	size_t nd;
	unsigned char *d;
};

int ss_w_num_from_int(struct arena *a, int64_t i, struct num **out);
/* 1 if n is below zero (-Infinity included), else 0. */
int ss_w_num_is_negative(const struct num *n);
/* A number with room for nd digits, zero; NaN or an infinity. */
struct num *ss_w_num_new(struct arena *a, size_t nd);
struct num *ss_w_num_special(struct arena *a, int special);
/* "value overflows numeric format": always -1. */
int ss_w_num_overflow(struct ss_err *err);
/* PostgreSQL's make_result check: 0, or -1 with its error. */
int ss_w_num_limit(const struct num *n, struct ss_err *err);
int ss_w_num_in(struct arena *a, const char *s, size_t len, struct num **out,
		struct ss_err *err);
void ss_w_num_out(const struct num *n, struct ss_buf *out);
long ss_w_num_top(const struct num *n); /* highest position + 1 */
/* Order with NaN above everything and equal to itself: <0, 0, >0. */
int ss_w_num_cmp(const struct num *x, const struct num *y);
/* x + y, or x - y when subtract; x * y (finite operands). */
struct num *ss_w_num_add(struct arena *a, const struct num *x,
			 const struct num *y, int subtract);
struct num *ss_w_num_mul(struct arena *a, const struct num *x,
			 const struct num *y);
/* x / y and x % y with numeric_div's result scale and its errors. */
int ss_w_num_div(struct arena *a, const struct num *x, const struct num *y,
		 struct num **out, struct ss_err *err);
int ss_w_num_mod(struct arena *a, const struct num *x, const struct num *y,
		 struct num **out, struct ss_err *err);
/* Round to `scale` decimals, half away from zero (numeric_round). */
struct num *ss_w_num_round(struct arena *a, const struct num *x, int scale);
/* numeric -> int64 rounding half away from zero; -1 when out of range. */
int ss_w_num_to_i64(struct arena *a, const struct num *x, int64_t *out);
/* Apply a numeric(p,s) typmod: round to s, overflow when too many
 * integer digits. */
int ss_w_num_apply_typmod(struct arena *a, struct num *x, int32_t typmod,
			  struct num **out, struct ss_err *err);

/* Integers and floats (where_numeric.c): is v in range of int2/4/8 t;
 * "<type> out of range" (always -1); text input with PostgreSQL's
 * messages; float output as the shortest text that reads back to the same
 * value (is4: float4); float order with NaN greatest. */
int ss_w_int_range(enum wt t, int64_t v);
int ss_w_int_oor(enum wt t, struct ss_err *err);
int ss_w_int_in(enum wt t, const char *s, size_t len, int64_t *out,
		struct ss_err *err);
int ss_w_float_in(enum wt t, const char *s, size_t len, double *out,
		  struct ss_err *err);
void ss_w_float_out(double v, int is4, struct ss_buf *out);
int ss_w_float_cmp(double a, double b);

/* ------------------------------------------------------------------ */
/* Dates and times (where_time.c): proleptic Gregorian, Julian day numbers
 * like PostgreSQL's date2j/j2date; dates are days from 2000-01-01, times
 * and timestamps microseconds. Input functions return 0, or -1 with
 * PostgreSQL's message. */

#define POSTGRES_EPOCH_JDATE 2451545
#define DATETIME_MIN_JULIAN 0
#define DATE_END_JULIAN 2147483494
#define TIMESTAMP_END_JULIAN 109203528
#define MIN_TIMESTAMP INT64_C(-211813488000000000)
#define END_TIMESTAMP INT64_C(9223371331200000000)

int ss_w_date2j(int y, int m, int d);
void ss_w_j2date(int jd, int *year, int *month, int *day);
int ss_w_days_in_month(int y, int m);
/* Read up to maxd digits at *pp (< end) into *out, advancing *pp: the
 * number of digits read, or -1 when there is none. */
int ss_w_rd_int(const char **pp, const char *end, int maxd, int *out);
int ss_w_date_in(const char *s, size_t len, int64_t *out, struct ss_err *err);
int ss_w_time_in(const char *s, size_t len, int64_t *out, struct ss_err *err);
/* timestamp (with_tz 0) or timestamptz (with_tz 1, UTC) input. */
int ss_w_ts_in(int with_tz, const char *s, size_t len, int64_t *out,
	       struct ss_err *err);
/* Output: a time of day; a timestamp (with_tz: "+00" after the time),
 * and a date, each with " BC" for years before 1. */
void ss_w_fmt_time(int64_t us, struct ss_buf *out);
void ss_w_fmt_ts(int64_t t, int with_tz, struct ss_buf *out);
void ss_w_fmt_date_bc(int64_t days, struct ss_buf *out);
int ss_w_interval_in(const char *s, size_t len, struct interval *out,
		     struct ss_err *err);
void ss_w_interval_out(const struct interval *iv, struct ss_buf *out);
/* An interval as one comparable span (months as 30 days, days as 24 h),
 * as interval_cmp does. */
__int128 ss_w_interval_span(const struct interval *iv);
/* timestamp + sign * interval (months first, clamping the day, then days,
 * then time), as timestamp_pl_interval; -1 when out of range. */
int ss_w_ts_add_iv(int64_t t, const struct interval *iv, int sign,
		   int64_t *out);

/* ------------------------------------------------------------------ */
/* Time zones (where_tz.c). */

/* One POSIX TZ rule date: Mm.w.d, Jn or n, and the local time of day. */
struct tzrule_date {
	char kind; /* 'M', 'J' or 'n' */
	int m, w, d;
	int32_t secs;
};

struct tzdb {
	size_t ntrans, ntypes;
	int64_t *trans;
	unsigned char *idx;
	int32_t *utoff;
	int has_rule_after; /* the footer has DST rules */
	/* the footer's rules, for times after the last transition */
	int32_t std_off, dst_off; /* east of UTC */
	struct tzrule_date start, end;
};

/* A fixed-offset abbreviation from PostgreSQL's "Default" set: 1 with
 * *secs east of UTC when p[0..n) is one (any case), else 0. */
int ss_w_tz_abbrev(const char *p, size_t n, int *secs);
/* Load zone z[0..n) from the system zone database into tz (arena a);
 * 0, or -1 when there is no such zone or its file is not usable. */
int ss_w_tz_load(struct arena *a, const char *z, size_t n, struct tzdb *tz);
/* The offset east of UTC for a local time (seconds since 1970); 0, or -1
 * when the time is beyond what the file describes. */
int ss_w_tz_local_offset(const struct tzdb *tz, int64_t local, int32_t *off);

/* ------------------------------------------------------------------ */
/* Arrays (where_array.c): text input of an array of element type et,
 * output, and order (elementwise with NULLs greatest, then element count,
 * then dimensions and bounds). */
int ss_w_array_in(struct arena *a, const struct wtype *et, const char *s,
		  size_t len, struct warr **out, struct ss_err *err);
void ss_w_array_out(const struct wtype *et, const struct warr *arr,
		    struct ss_buf *out);
int ss_w_array_cmp(const struct wtype *et, const struct warr *x,
		   const struct warr *y);

/* ------------------------------------------------------------------ */
/* Syntax tree. The parser builds it, the type checker (where_check.c) fills in
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
	NF_PREPEND = 128,  /* ||: element || array (array_prepend) */
	NF_QUOTED = 256,   /* column: rendered quoted (ORDER BY lists) */
	NF_ROW = 512	   /* SS_WHERE_SUBLINK: the left side is a row */
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

/* A subquery of a SS_WHERE_SUBLINK node: parsed, then resolved by the
 * type checker. */
struct wsub {
	int loc;	    /* the IN (or NOT) keyword */
	const char *schema; /* "public" when not written */
	const char *table;
	size_t ncols;
	const char **cols; /* the select list */
	int *collocs;
	struct ss_where_node *where; /* the inner clause, or NULL */
	/* From the type checker. */
	struct wtype *coltypes;
	char *select; /* canonical SELECT text (arena) */
	size_t dep;   /* index in the clause's dependencies */
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
	struct wsub *sub;    /* SS_WHERE_SUBLINK */
	int analyzed;
};

/* How the parser treats subqueries. */
enum subq {
	SUBQ_UNSUPPORTED = 0, /* "subquery is not supported in this context" */
	SUBQ_PARSE,	      /* parse `x IN (SELECT ...)` (others: errors) */
	SUBQ_MESSAGE,	      /* any subquery is one message */
};

/* Parse `text` into a tree in arena a; 0, or -1 with err. An IN list of
 * more than max_in items (0: no limit) is an error. `subq` and, for
 * SUBQ_MESSAGE, `subq_msg` say what a subquery is. */
int ss_w_parse(struct arena *a, const char *text, size_t max_in, enum subq subq,
	       const char *subq_msg, struct ss_where_node **out,
	       struct ss_err *err);
/* Canonical rendering of an analysed, unfolded tree. */
void ss_w_render(const struct ss_where_node *n, struct ss_buf *out);
/* An identifier, quoted only when it needs to be. */
void ss_w_render_ident(const char *s, struct ss_buf *out);
/* Make a node. */
struct ss_where_node *ss_w_node(struct arena *a, enum ss_where_kind kind,
				int loc, size_t nargs);

/* ------------------------------------------------------------------ */
/* A compiled clause and the stages' state. */

/* One dependency of a clause (struct ss_where_dep and what makes it). */
struct wdep {
	struct ss_where_dep pub;
	const char **types;
};

struct ss_where {
	struct arena arena;
	struct ss_where_node *root;
	struct wdep *deps; /* heap, ndeps of them; strings in the arena */
	size_t ndeps;
	char *canon;
	size_t *used;
	size_t nused;
	size_t ncols;
	struct wtype *coltypes;
	uint64_t max_cost; /* each evaluation's budget; 0 none */
};

/* Type checking state (where_check.c). */
struct actx {
	struct arena *a;
	const struct ss_where_column *cols;
	size_t ncols;
	struct wtype *coltypes;
	int *colok;
	const char *const *params;
	size_t nparams;
	struct ss_err *err;
	/* Subqueries: how tables are found, where dependencies go (NULL
	 * inside a subquery's own where: its dependencies are its own),
	 * and where an error's 400 field goes. */
	const struct ss_where_tables *tables;
	struct ss_where *deps_of;
	const char **err_field;
};

/* Evaluation state for one row (or for constant folding: no row). */
struct ectx {
	struct arena *a;
	const struct ss_where *w;
	const char *const *values;
	struct wval *colcache;
	unsigned char *colstate; /* 0 not parsed, 1 parsed */
	struct ss_err *err;
	int depth;
	ss_where_member_fn member; /* SS_WHERE_SUBLINK; NULL: an error */
	void *member_ctx;
};

/* *lim: limits, or the defaults when NULL; 0, or -1 with err when text is
 * longer than lim->max_length ("<what> is too long (N bytes, the limit is
 * M)"). */
int ss_w_limits_check(const char *what, const char *text,
		      const struct ss_where_limits *limits,
		      struct ss_where_limits *lim, struct ss_err *err);
/* Start c for checking trees in arena a against cols[0..ncols) and the
 * parameters: the columns' types resolved (colok 0 for a type that is not
 * supported); errors into err. */
void ss_w_actx_init(struct actx *c, struct arena *a,
		    const struct ss_where_column *cols, size_t ncols,
		    const char *const *params, size_t nparams,
		    struct ss_err *err);
/* Type check n and its subtree: the node to use in its place (casts
 * inserted), or NULL with c->err. */
struct ss_where_node *ss_w_analyze(struct actx *c, struct ss_where_node *n);
/* Coerce n to type t (unknown literals take it directly, others get a
 * cast node, implicit unless `explicit`); NULL with c->err. */
struct ss_where_node *ss_w_coerce(struct actx *c, struct ss_where_node *n,
				  const struct wtype *t, int explicit);
/* Is opc one of = <> < <= > >=? */
static inline int is_cmp_op(int opc)
{
	return opc >= NOP_EQ && opc <= NOP_GE;
}

/* Replace constant subtrees of an analysed tree; NULL with err. */
struct ss_where_node *ss_w_fold(struct arena *a, struct ss_where_node *n,
				struct ss_err *err);

/* Evaluate n for e's row into *out (in e->a), counting the work; 0, or -1
 * with e->err. */
int ss_w_eval(struct ectx *e, const struct ss_where_node *n, struct wval *out);
/* Evaluate node n of clause w (the root or a subtree) for one row, as
 * ss_where_eval_member does: *result 1, 0 or -1 (null). */
int ss_w_eval_row(const struct ss_where *w, const struct ss_where_node *n,
		  const char *const *values, ss_where_member_fn member,
		  void *ctx, int *result, struct ss_err *err);
/* One comparison of BETWEEN: x (cast to type t) op bound bn, 3-valued into
 * *res; ge: x >= bound, else x <= bound. */
int ss_w_between_cmp(struct ectx *e, const struct ss_where_node *n,
		     const struct wval *x, const struct ss_where_node *bn,
		     const struct wtype *t, int ge, int *res);
/* Three-valued booleans: 1, 0, -1 null. */
static inline int tv(const struct wval *v)
{
	return v->isnull ? -1 : v->u.b != 0;
}
static inline void set_tv(struct wval *out, int t)
{
	memset(out, 0, sizeof(*out));
	if (t < 0)
		out->isnull = 1;
	else
		out->u.b = t;
}

#endif
