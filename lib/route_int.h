/*
 * route_int.h — the router's insides, shared by its two files: route.c
 * (shapes, tables, where analysis, filing shapes into the indexes) and
 * route_match.c (matching rows against the indexes, and the fast path
 * for change frames). Not a public header: see route.h for the contract.
 * The hot helpers are static inline here so that matching calls none
 * across files.
 */
#ifndef SS_ROUTE_INT_H
#define SS_ROUTE_INT_H

#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "subq.h"
#include "where.h"

enum shape_state { ST_PENDING, ST_LIVE, ST_INVALID };

/* How a live shape is found. */
enum shape_kind {
	K_NONE,	   /* not compiled */
	K_ALL,	   /* no where clause: every row */
	K_EVAL,	   /* evaluated for every row of the table */
	K_EQ,	   /* equality / IN hash index */
	K_CONTAIN, /* array containment, by one element */
	K_RANGE,   /* numeric range */
	K_SUBQ,	   /* a subquery's view (lib/subq's routing index) */
	K_PREFIX,  /* LIKE / ILIKE 'p%': the prefix in the equality index */
};

/* The subquery shapes of a group indexed by lib/subq on one column, its
 * values keyed as `type`: one lookup per row finds them. */
struct sqprobe {
	long col;
	char *type;
	size_t refs; /* shapes filed under it (0: unused) */
};

/*
 * A numeric range conjunct, decided without lib/where: with x, lo and hi
 * the values rounded to doubles (rounding is monotonic, NaN above all as
 * in PostgreSQL), x < lo or x > hi means false and lo < x < hi means true
 * whether the bounds are strict or not; only a tie needs the evaluator.
 */
struct rcheck {
	double lo, hi;
	int32_t col;
	unsigned char has_lo, has_hi;
	unsigned char nk; /* the column's enum numkind */
};

struct group;
struct eqidx;
struct rangeidx;

struct rshape;

struct rshape {
	/* What matching reads, in the first 64 bytes (the struct is
	 * allocated on a cache-line boundary). */
	int64_t id;
	struct rcheck *checks; /* with use_checks: the whole clause as ranges */
	struct rcheck check0;  /* checks points here when there is one */
	struct ss_where *w;    /* NULL when freed after compile (see lazy) */
	uint32_t nchecks;
	unsigned char exact; /* an index hit is a match: no evaluation */
	unsigned char use_checks;
	unsigned char nowhere; /* no where clause: every row */
	/* The rest. */
	int lazy;     /* w freed; compile again when needed */
	size_t *used; /* columns the clause reads */
	size_t nused;
	struct ss_shape def;
	struct group *g;
	enum shape_state state;
	enum shape_kind kind;
	struct eqidx *ei; /* K_EQ, K_CONTAIN */
	char **keys;	  /* ... the keys it is filed under */
	size_t *klens;
	size_t nkeys;
	struct rangeidx *ri; /* K_RANGE */
	double lo, hi;	     /* ... conservative bounds, inclusive */
	size_t lpos;	     /* position in its index's or the others list */
	size_t gpos;	     /* position in g->shapes */
	/* A subquery shape (ss_router_add_subquery): what it depends on,
	 * and its handle (its tags hash it). NULL for other shapes. */
	struct ss_subq_deps *deps;
	char *handle;
	struct sqprobe *sqp; /* K_SUBQ */
	/* a subquery shape's membership callback (lib/subq), kept while it
	 * is routed */
	ss_where_member_fn sq_fn;
	void *sq_ctx;
};
_Static_assert(offsetof(struct rshape, lazy) <= 64,
	       "the fields matching reads fit in the first cache line");

struct eqidx {
	uint32_t uid; /* part of every hash key of this index */
	long col;
	char *type;    /* type the values are keyed as */
	int raw;       /* enum: the text is the key */
	int contain;   /* look up every element of the row's array */
	int quick;     /* 1: the text is the key (enum, text,
			  varchar); 2: canonical integers in the
			  column's range are */
	int colnk;     /* the column's enum numkind */
	char *coltype; /* the column's type when values are cast
			  to `type` (NULL: the same) */
	/* A prefix index (K_PREFIX): the keys are the literal prefixes p
	 * of `col LIKE 'p%'` (prefix 1) or of `col ILIKE 'p%'` with ASCII
	 * letters lowered (prefix 2, where_eval.c's ILIKE); a row's value
	 * is looked up by its first plens[k] bytes for each length that
	 * some key has (pcount[k] keys of it), ascending. */
	int prefix;
	uint32_t *plens, *pcount;
	size_t nplens, plens_alloc, pcount_alloc;
	struct rshape **members;
	size_t n, alloc;
};

struct rentry {
	double lo, hi;
	struct rshape *s;
};

struct rangeidx {
	long col;
	int nk; /* the column's enum numkind */
	struct rshape **members;
	size_t n, alloc;
	int dirty;
	struct rentry *e; /* members sorted by lo */
	size_t ne;
	double *maxhi; /* segment tree over e: max hi, 2 * size */
	size_t size;
};

struct group {
	char *schema, *table;
	int have_rel;
	uint32_t oid;
	struct ss_frame_column *cols; /* deep copy of the relation's */
	size_t ncols;
	size_t *namelen;      /* strlen of each column's name */
	unsigned char *plain; /* 1: the name is written as is in JSON */
	struct ss_where_column *wcols;
	struct rshape **shapes; /* every shape on this table */
	size_t nshapes, shapes_alloc;
	struct eqidx **eqs;
	size_t neqs, eqs_alloc;
	struct rangeidx **ranges;
	size_t nranges, ranges_alloc;
	struct rshape **others; /* K_ALL and K_EVAL */
	size_t nothers, others_alloc;
	struct sqprobe **sqps; /* K_SUBQ */
	size_t nsqps, sqps_alloc;
	size_t nlive;
	int used_dirty;
	size_t *used;
	const char **usednames;
	size_t nused, used_alloc;
	/* A partition: the partitioned tables above it (its relation frame's
	 * "ancestors", parent first), whose shapes its changes are matched
	 * against too, and what that needs, rebuilt when r->gen moves on. */
	uint32_t *anc;
	size_t nanc;
	uint64_t anc_gen;    /* r->gen the rest was built at (0: never) */
	struct group **ancg; /* per ancestor: its group (NULL: no relation
				frame for it yet) */
	size_t **amap;	     /* per ancestor: its column j is our column
				amap[k][j] (SIZE_MAX: we have none) */
	int anc_live;	     /* an ancestor has live shapes */
	/* The relation's replica identity ('d', 'n', 'f', 'i'; 0 before
	 * its frame) and the r->gen its lossy old rows were last handled
	 * at (ss_route_lossy_old). */
	char ri;
	uint64_t ri_gen;
	size_t *allused; /* used, and what the ancestors' shapes read,
			    in our positions */
	const char **allnames;
	size_t nallused;
};

/*
 * The equality index: one open-addressing table (linear probing) of
 * cache-line slots for every (index uid, key) of every table. A slot
 * whose key fits inline and that has one shape (the usual case: one
 * shape per value) holds that shape's id and how to decide it (an exact
 * hit, or one range check), so matching reads one cache line and neither
 * the entry nor the shape. A key longer than SLOT_KEY, or more shapes
 * than one, live in an eqent the slot points to.
 */
struct eqent {
	uint32_t klen;
	uint32_t n, alloc;
	struct rshape **v; /* inl, or an array once more than two */
	struct rshape *inl[2];
	char key[];
};

#define SLOT_KEY 14

enum {
	SL_USED = 1,   /* 0: the slot is empty */
	SL_INKEY = 2,  /* the key is in the slot (else in u.e) */
	SL_ONE = 4,    /* one shape: u.s and id (else the shapes are u.e's) */
	SL_EXACT = 8,  /* SL_ONE: a hit is a match */
	SL_CHECK = 16, /* SL_ONE: a hit is a match if the row passes chk */
};

struct eqslot {
	uint32_t tag; /* the hash's low 32 bits: the home slot is
			 tag & (size - 1) */
	uint32_t uid;
	int64_t id; /* SL_ONE: the shape's id */
	union {
		struct rshape *s; /* SL_ONE */
		struct eqent *e;  /* otherwise */
	} u;
	struct rcheck chk; /* SL_CHECK */
	unsigned char flags;
	unsigned char klen; /* SL_INKEY */
	char key[SLOT_KEY]; /* SL_INKEY */
};
_Static_assert(sizeof(struct eqslot) == 64, "a slot is one cache line");

/* A shape found for the change being matched; mask 1: old row, 2: new. */
struct hitrec {
	int64_t id;
	unsigned mask;
};

struct ss_router {
	ss_router_invalidate_cb cb;
	void *cbctx;
	struct ss_subq *subq; /* subquery shapes' state; NULL: none */
	struct group **groups;
	size_t ngroups, groups_alloc;
	struct group *last; /* oid lookup cache */
	/* shapes by id: open addressing */
	struct rshape **byid;
	size_t byid_size, nshapes;
	/* the equality index: open addressing on the hash */
	struct eqslot *eq;
	size_t eq_size, eq_n;
	/* types ss_where_value_key knows (1) or not (0), by name */
	struct {
		char name[64];
		int ok;
	} keyable_cache[16];
	size_t nkeyable;
	uint32_t next_uid;
	/* match scratch */
	struct hitrec *hits;
	size_t nhits, hits_alloc;
	int64_t *ids;
	enum ss_frame_op *ops;
	size_t out_alloc;
	struct ss_buf key, tmp;
	struct ss_buf fold; /* a value's prefix, ASCII lowered (ILIKE) */
	struct ss_route_match *cur;
	enum ss_frame_op cur_op;
	const struct ss_route_scan *hint; /* ss_router_match_scan's */
	uint64_t gen;	   /* moves on when shapes are filed or unfiled
			      and when a relation changes: partitions
			      rebuild what they keep of their ancestors */
	const char **arow; /* a partition's row in an ancestor's layout */
	size_t arow_alloc;
};

static const char tombstone_[1];
#define TOMB ((struct rshape *)(void *)tombstone_)

/* How a numeric column's text reads (row_double). */
enum numkind { NK_NONE, NK_INT2, NK_INT4, NK_INT8, NK_NUMERIC, NK_FLOAT8 };

/* A key list being built for a shape. */
struct keylist {
	char **keys;
	size_t *lens;
	size_t n, alloc, lalloc;
	const char *type;
	int raw;
	int bad;
	struct ss_buf *key;
	size_t limit; /* stop after this many (0: no limit) */
};

/* ---- the equality hash table ------------------------------------------ */

/* Tests build this file with a mask that keeps a few bits of the hash,
 * so that keys collide (tests/unit/test-route-index.c). */
#ifndef ROUTE_HASH_MASK
#define ROUTE_HASH_MASK UINT64_MAX
#endif

/* The hash in three steps, so that the prefix index hashes a value's
 * prefixes of increasing length in one pass: eq_hash(uid, key, len) is
 * eq_hash_end(eq_hash_add(eq_hash_start(uid), key, len)), and adding
 * bytes a then b is adding ab. */
static inline uint64_t eq_hash_start(uint32_t uid)
{
	return 1469598103934665603ull ^ ((uint64_t)uid * 0x100000001B3ull);
}

static inline uint64_t eq_hash_add(uint64_t h, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001B3ull;
	}
	return h;
}

static inline uint64_t eq_hash_end(uint64_t h)
{
	/* FNV leaves the low bits (the slot) poorly mixed for keys that
	 * differ in their last bytes: finish with murmur3's fmix64. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (h ^ (h >> 33)) & ROUTE_HASH_MASK;
}

static inline uint64_t eq_hash(uint32_t uid, const char *key, size_t len)
{
	return eq_hash_end(eq_hash_add(eq_hash_start(uid), key, len));
}

static inline int slot_key_eq(const struct eqslot *sl, const char *key,
			      size_t len)
{
	if (sl->flags & SL_INKEY)
		return sl->klen == len && !memcmp(sl->key, key, len);
	return sl->u.e->klen == len && !memcmp(sl->u.e->key, key, len);
}

/* The slot of (uid, key) with hash h, or NULL; *empty is then the empty
 * slot where it would go (0 when the table has no slots yet). */
static inline struct eqslot *eq_find(const struct ss_router *r, uint32_t uid,
				     const char *key, size_t len, uint64_t h,
				     size_t *empty)
{
	size_t mask = r->eq_size - 1, i;
	uint32_t tag = (uint32_t)h;

	*empty = 0;
	if (!r->eq_size)
		return NULL;
	for (i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct eqslot *sl = &r->eq[i];

		if (!sl->flags) {
			*empty = i;
			return NULL;
		}
		if (sl->tag == tag && sl->uid == uid &&
		    slot_key_eq(sl, key, len))
			return sl;
	}
}

/* qsort, but fine with a NULL base when there is nothing to sort. */
static inline void sort_(void *base, size_t n, size_t size,
			 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static inline struct group *group_by_oid(const struct ss_router *r,
					 uint32_t oid)
{
	size_t i;

	if (r->last && r->last->have_rel && r->last->oid == oid)
		return r->last;
	for (i = 0; i < r->ngroups; i++)
		if (r->groups[i]->have_rel && r->groups[i]->oid == oid) {
			((struct ss_router *)r)->last = r->groups[i];
			return r->groups[i];
		}
	return NULL;
}

/* ---- route.c, for route_match.c ---------------------------------------- */

/* Rebuild what partition g keeps of its ancestors (when r->gen moved). */
void ss_route_anc_update(struct ss_router *r, struct group *g);
/* The shape with this id, or NULL. */
struct rshape *ss_route_byid(const struct ss_router *r, int64_t id);
/* An update or delete of g's table whose replica identity is not FULL:
 * its old row holds the key alone, so a shape that filters (on g or on
 * its ancestors) or sends old values cannot tell what the row was;
 * those shapes are invalidated (refetch), never fed a guess. */
void ss_route_lossy_old(struct ss_router *r, struct group *g);
/* Parse PostgreSQL array text output into its elements (see route.c). */
int ss_route_array_elements(const char *s, struct ss_buf *tmp,
			    void (*add)(const char *, size_t, void *),
			    void *ctx);
/* Add an element's key to a key list (array_elements' callback). */
void ss_route_keylist_add_text(const char *text, size_t len, void *ctx);
void ss_route_keylist_free(struct keylist *kl);

#endif
