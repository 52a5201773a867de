/*
 * route.c — the router's indexes: per-table shape lists, the analysis of
 * each shape's where clause, and the equality, containment and range
 * indexes the shapes are filed in. Matching rows against them is in
 * route_match.c; the shared structures in route_int.h. See route.h for
 * the contract and the index design.
 */
#include "route_int.h"

#include <inttypes.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <strings.h>
#include <sys/mman.h>

/* ---- shapes by id ----------------------------------------------------- */

static size_t id_slot(int64_t id, size_t size)
{
	uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;

	return (size_t)(x >> 17) & (size - 1);
}

static struct rshape *byid_get(const struct ss_router *r, int64_t id)
{
	size_t i;

	if (!r->byid_size)
		return NULL;
	for (i = id_slot(id, r->byid_size);; i = (i + 1) & (r->byid_size - 1)) {
		struct rshape *s = r->byid[i];

		if (!s)
			return NULL;
		if (s != TOMB && s->id == id)
			return s;
	}
}

struct rshape *ss_route_byid(const struct ss_router *r, int64_t id)
{
	return byid_get(r, id);
}

static void byid_put(struct ss_router *r, struct rshape *s);

static void byid_grow(struct ss_router *r)
{
	struct rshape **old = r->byid;
	size_t oldsize = r->byid_size, i;

	r->byid_size = oldsize ? oldsize * 2 : 64;
	r->byid = ss_xcalloc(r->byid_size, sizeof(*r->byid));
	r->nshapes = 0;
	for (i = 0; i < oldsize; i++)
		if (old[i] && old[i] != TOMB)
			byid_put(r, old[i]);
	free(old);
}

static void byid_put(struct ss_router *r, struct rshape *s)
{
	size_t i;

	/* Tombstones count as used so that probes always end. */
	if ((r->nshapes + 1) * 2 > r->byid_size)
		byid_grow(r);
	for (i = id_slot(s->id, r->byid_size); r->byid[i] && r->byid[i] != TOMB;
	     i = (i + 1) & (r->byid_size - 1))
		;
	r->byid[i] = s;
	r->nshapes++;
}

static void byid_del(struct ss_router *r, int64_t id)
{
	size_t i;

	for (i = id_slot(id, r->byid_size);; i = (i + 1) & (r->byid_size - 1)) {
		struct rshape *s = r->byid[i];

		if (!s)
			return;
		if (s != TOMB && s->id == id) {
			r->byid[i] = TOMB;
			return;
		}
	}
}

/* ---- the equality hash table ------------------------------------------ */

static struct eqent *eqent_new(const char *key, size_t len)
{
	struct eqent *e = ss_xcalloc(1, sizeof(*e) + len + 1);

	e->klen = (uint32_t)len;
	e->v = e->inl;
	e->alloc = 2;
	memcpy(e->key, key, len);
	return e;
}

static void eqent_push(struct eqent *e, struct rshape *s)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->v[i] == s)
			return;
	if (e->n == e->alloc) {
		struct rshape **v = ss_xmalloc(2 * e->alloc * sizeof(*v));

		memcpy(v, e->v, e->n * sizeof(*v));
		if (e->v != e->inl)
			free(e->v);
		e->v = v;
		e->alloc *= 2;
	}
	e->v[e->n++] = s;
}

static void eqent_free(struct eqent *e)
{
	if (e->v != e->inl)
		free(e->v);
	free(e);
}

/* Make an inline-key slot hold shape s alone, with how to decide it. */
static void slot_set_one(struct eqslot *sl, struct rshape *s)
{
	sl->flags =
	    (unsigned char)((sl->flags & (SL_USED | SL_INKEY)) | SL_ONE);
	sl->u.s = s;
	sl->id = s->id;
	memset(&sl->chk, 0, sizeof(sl->chk));
	if (s->exact || s->nowhere) {
		sl->flags |= SL_EXACT;
	} else if (s->use_checks && s->nchecks == 1) {
		sl->flags |= SL_CHECK;
		sl->chk = s->checks[0];
	}
}

/*
 * Slot arrays are cache-line aligned (a slot is read as one line); large
 * ones are asked for on huge pages, because a lookup in a large index is
 * a random access that on 4 KiB pages misses the TLB as well.
 */
#define HUGE_PAGE ((size_t)2 << 20)

static struct eqslot *slots_new(size_t n)
{
	size_t bytes = n * sizeof(struct eqslot);
	size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
	void *p = NULL;

	if (posix_memalign(&p, align, bytes) != 0)
		return ss_xcalloc(n, sizeof(struct eqslot));
#ifdef MADV_HUGEPAGE
	if (align == HUGE_PAGE)
		(void)madvise(p, bytes, MADV_HUGEPAGE); /* only a hint */
#endif
	memset(p, 0, bytes);
	return p;
}

static void eq_rehash(struct ss_router *r, size_t size)
{
	struct eqslot *old = r->eq;
	size_t oldsize = r->eq_size, i, j;

	/* The tag holds the home slot: 32 bits of index at most. */
	if (size > ((size_t)1 << 31))
		abort();
	r->eq = slots_new(size);
	r->eq_size = size;
	for (i = 0; i < oldsize; i++) {
		if (!old[i].flags)
			continue;
		for (j = old[i].tag & (size - 1); r->eq[j].flags;
		     j = (j + 1) & (size - 1))
			;
		r->eq[j] = old[i];
	}
	free(old);
}

/* Empty slot i, moving later slots of its cluster back (no tombstones):
 * a slot moves into the hole when the hole is not before its home. */
static void slot_clear(struct ss_router *r, size_t i)
{
	size_t mask = r->eq_size - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!r->eq[j].flags)
			break;
		if (((j - (r->eq[j].tag & mask)) & mask) >= ((j - i) & mask)) {
			r->eq[i] = r->eq[j];
			i = j;
		}
	}
	memset(&r->eq[i], 0, sizeof(r->eq[i]));
	r->eq_n--;
}

static void eq_add(struct ss_router *r, uint32_t uid, const char *key,
		   size_t len, struct rshape *s)
{
	uint64_t h = eq_hash(uid, key, len);
	struct eqslot *sl;
	struct eqent *e;
	size_t empty;

	if ((r->eq_n + 1) * 2 > r->eq_size)
		eq_rehash(r, r->eq_size ? r->eq_size * 2 : 256);
	sl = eq_find(r, uid, key, len, h, &empty);
	if (!sl) {
		sl = &r->eq[empty];
		memset(sl, 0, sizeof(*sl));
		sl->tag = (uint32_t)h;
		sl->uid = uid;
		sl->flags = SL_USED;
		r->eq_n++;
		if (len <= SLOT_KEY) {
			sl->flags |= SL_INKEY;
			sl->klen = (unsigned char)len;
			memcpy(sl->key, key, len);
			slot_set_one(sl, s);
			return;
		}
		sl->u.e = eqent_new(key, len);
		eqent_push(sl->u.e, s);
		return;
	}
	if (sl->flags & SL_ONE) {
		if (sl->u.s == s)
			return;
		/* A second shape for this value: to an entry. */
		e = eqent_new(key, len);
		eqent_push(e, sl->u.s);
		sl->flags &= SL_USED | SL_INKEY;
		sl->u.e = e;
		sl->id = 0;
		memset(&sl->chk, 0, sizeof(sl->chk));
	}
	eqent_push(sl->u.e, s);
}

static void eq_del(struct ss_router *r, uint32_t uid, const char *key,
		   size_t len, struct rshape *s)
{
	size_t empty, i;
	struct eqslot *sl =
	    eq_find(r, uid, key, len, eq_hash(uid, key, len), &empty);
	struct eqent *e;

	if (!sl)
		return;
	if (sl->flags & SL_ONE) {
		if (sl->u.s == s)
			slot_clear(r, (size_t)(sl - r->eq));
		return;
	}
	e = sl->u.e;
	for (i = 0; i < e->n; i++)
		if (e->v[i] == s) {
			e->v[i] = e->v[--e->n];
			break;
		}
	if (e->n == 0) {
		eqent_free(e);
		slot_clear(r, (size_t)(sl - r->eq));
	} else if (e->n == 1 && (sl->flags & SL_INKEY)) {
		/* Back to one shape: back inline. */
		s = e->v[0];
		eqent_free(e);
		slot_set_one(sl, s);
	}
}

/* ---- small vectors ---------------------------------------------------- */

#define VEC_PUSH(arr, n, alloc, x)                                             \
	do {                                                                   \
		SS_GROW(arr, alloc, (n) + 1);                                  \
		(arr)[(n)++] = (x);                                            \
	} while (0)

static void list_add(struct rshape ***arr, size_t *n, size_t *alloc,
		     struct rshape *s)
{
	ss_grow((void **)arr, alloc, *n + 1, sizeof(**arr));
	s->lpos = *n;
	(*arr)[(*n)++] = s;
}

static void list_del(struct rshape **arr, size_t *n, struct rshape *s)
{
	struct rshape *last = arr[--*n];

	arr[s->lpos] = last;
	last->lpos = s->lpos;
}

/* ---- groups (tables) -------------------------------------------------- */

static struct group *group_by_name(struct ss_router *r, const char *schema,
				   const char *table, int create)
{
	struct group *g;
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (!strcmp(r->groups[i]->schema, schema) &&
		    !strcmp(r->groups[i]->table, table))
			return r->groups[i];
	if (!create)
		return NULL;
	g = ss_xcalloc(1, sizeof(*g));
	g->schema = ss_xstrdup(schema);
	g->table = ss_xstrdup(table);
	VEC_PUSH(r->groups, r->ngroups, r->groups_alloc, g);
	return g;
}

static void group_free_cols(struct group *g)
{
	size_t i;

	for (i = 0; i < g->ncols; i++) {
		free((char *)g->cols[i].name);
		free((char *)g->cols[i].type);
	}
	free(g->cols);
	free(g->wcols);
	free(g->namelen);
	free(g->plain);
	g->cols = NULL;
	g->wcols = NULL;
	g->namelen = NULL;
	g->plain = NULL;
	g->ncols = 0;
}

/* Drop what a partition keeps of its ancestors (rebuilt on demand). */
static void anc_clear(struct group *g)
{
	size_t k;

	for (k = 0; k < g->nanc && g->amap; k++)
		free(g->amap[k]);
	free(g->amap);
	free(g->ancg);
	free(g->allused);
	free(g->allnames);
	g->amap = NULL;
	g->ancg = NULL;
	g->allused = NULL;
	g->allnames = NULL;
	g->nallused = 0;
	g->anc_live = 0;
	g->anc_gen = 0;
}

static void group_free(struct group *g)
{
	size_t i;

	group_free_cols(g);
	for (i = 0; i < g->neqs; i++) {
		free(g->eqs[i]->type);
		free(g->eqs[i]->coltype);
		free(g->eqs[i]->plens);
		free(g->eqs[i]->pcount);
		free(g->eqs[i]->members);
		free(g->eqs[i]);
	}
	for (i = 0; i < g->nranges; i++) {
		free(g->ranges[i]->members);
		free(g->ranges[i]->e);
		free(g->ranges[i]->maxhi);
		free(g->ranges[i]);
	}
	for (i = 0; i < g->nsqps; i++) {
		free(g->sqps[i]->type);
		free(g->sqps[i]);
	}
	free(g->sqps);
	free(g->eqs);
	free(g->ranges);
	free(g->others);
	free(g->shapes);
	free(g->used);
	free(g->usednames);
	anc_clear(g);
	free(g->anc);
	free(g->schema);
	free(g->table);
	free(g);
}

/* ---- where analysis --------------------------------------------------- */

static int is_int_type(const char *t)
{
	return !strcmp(t, "int2") || !strcmp(t, "int4") || !strcmp(t, "int8");
}

/* Numeric types whose text output read by strtod rounds monotonically
 * from the value compared (float4 is left out: its text is the float4
 * value, but comparisons may happen on the float8 it widens to). */
static int is_range_type(const char *t)
{
	return is_int_type(t) || !strcmp(t, "numeric") || !strcmp(t, "float8");
}

/*
 * The column under an operand that compares the column's own text as
 * type `cmp`: the column itself, or an implicit cast that keeps the text
 * meaning the same value (integers widened to a wider integer or numeric,
 * varchar to text). Returns the column index or -1.
 */
static long eq_column(const struct ss_where_node *n, const char *cmp)
{
	const struct ss_where_node *c;
	const char *from;

	if (ss_where_node_kind(n) == SS_WHERE_COLUMN)
		return strcmp(ss_where_node_type(n), cmp)
			   ? -1
			   : ss_where_node_column(n);
	if (!ss_where_node_implicit(n))
		return -1;
	c = ss_where_node_arg(n, 0);
	if (ss_where_node_kind(c) != SS_WHERE_COLUMN)
		return -1;
	from = ss_where_node_type(c);
	if (is_int_type(from) && (is_int_type(cmp) || !strcmp(cmp, "numeric")))
		return ss_where_node_column(c);
	if (!strcmp(from, "varchar") && !strcmp(cmp, "text"))
		return ss_where_node_column(c);
	return -1;
}

static int num_kind(const char *t)
{
	return !strcmp(t, "int2")      ? NK_INT2
	       : !strcmp(t, "int4")    ? NK_INT4
	       : !strcmp(t, "int8")    ? NK_INT8
	       : !strcmp(t, "numeric") ? NK_NUMERIC
	       : !strcmp(t, "float8")  ? NK_FLOAT8
				       : NK_NONE;
}

/* Same for ranges: numeric columns under numeric comparisons; *nk is the
 * column's kind. */
static long range_column(const struct ss_where_node *n, int *nk)
{
	const struct ss_where_node *c = n;

	if (ss_where_node_implicit(n))
		c = ss_where_node_arg(n, 0);
	if (ss_where_node_kind(c) != SS_WHERE_COLUMN)
		return -1;
	if (!is_range_type(ss_where_node_type(c)) ||
	    !is_range_type(ss_where_node_type(n)))
		return -1;
	*nk = num_kind(ss_where_node_type(c));
	return ss_where_node_column(c);
}

static int is_const(const struct ss_where_node *n)
{
	return ss_where_node_kind(n) == SS_WHERE_CONST;
}

/* A value as a double that orders like the value: NaN (above every
 * number in PostgreSQL) becomes +inf. Returns -1 if not a number. */
static int text_double(const char *s, double *out)
{
	char *end;
	double d;

	if (!*s)
		return -1;
	d = strtod(s, &end);
	if (*end)
		return -1;
	*out = isnan(d) ? INFINITY : d;
	return 0;
}

static int const_double(const struct ss_where_node *n, struct ss_buf *tmp,
			double *out)
{
	ss_buf_reset(tmp);
	if (ss_where_node_const(n, tmp) != 0)
		return -1;
	return text_double(tmp->buf, out);
}

/*
 * Parse PostgreSQL array text output into its elements (nested arrays
 * flattened, NULL elements skipped): calls add(elem, len, ctx) for each
 * with the text unescaped into `tmp`. Returns 0, -1 if the text is not an
 * array literal this parser understands.
 */
int ss_route_array_elements(const char *s, struct ss_buf *tmp,
			    void (*add)(const char *, size_t, void *),
			    void *ctx)
{
	int depth = 0;

	if (*s == '[') { /* dimension decoration "[1:2]={...}" */
		s = strchr(s, '=');
		if (!s)
			return -1;
		s++;
	}
	if (*s != '{')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '{') {
			depth++;
			s++;
			continue;
		}
		if (*s == '}') {
			depth--;
			s++;
			if (depth == 0)
				return *s ? -1 : 0;
			if (*s == ',')
				s++;
			continue;
		}
		if (!*s || depth == 0)
			return -1;
		ss_buf_reset(tmp);
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				ss_buf_addc(tmp, *s++);
			}
			if (*s != '"')
				return -1;
			s++;
			add(tmp->buf, tmp->len, ctx);
		} else {
			int quoted = 0;

			while (*s && *s != ',' && *s != '}') {
				if (*s == '\\' && s[1]) {
					s++;
					quoted = 1;
				}
				ss_buf_addc(tmp, *s++);
			}
			while (tmp->len && tmp->buf[tmp->len - 1] == ' ')
				ss_buf_setlen(tmp, tmp->len - 1);
			if (quoted || tmp->len != 4 ||
			    strncasecmp(tmp->buf, "NULL", 4))
				add(tmp->buf, tmp->len, ctx);
		}
		while (*s == ' ')
			s++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return -1;
	}
}

static void keylist_add_key(struct keylist *kl, const char *k, size_t len)
{
	size_t i;

	for (i = 0; i < kl->n; i++)
		if (kl->lens[i] == len && !memcmp(kl->keys[i], k, len))
			return;
	SS_GROW(kl->keys, kl->alloc, kl->n + 1);
	SS_GROW(kl->lens, kl->lalloc, kl->n + 1);
	kl->keys[kl->n] = ss_xstrndup(k, len);
	kl->lens[kl->n++] = len;
}

void ss_route_keylist_add_text(const char *text, size_t len, void *ctx)
{
	struct keylist *kl = ctx;
	struct ss_err err = SS_ERR_INIT;

	(void)len;
	if (kl->bad || (kl->limit && kl->n >= kl->limit))
		return;
	if (kl->raw || !strcmp(kl->type, "text") ||
	    !strcmp(kl->type, "varchar")) {
		/* Enum labels, text and varchar are equal iff the bytes are
		 * (match_eq keys row values the same way). */
		keylist_add_key(kl, text, strlen(text));
		return;
	}
	ss_buf_reset(kl->key);
	if (ss_where_value_key(kl->type, text, kl->key, &err) < 0) {
		kl->bad = 1;
		return;
	}
	keylist_add_key(kl, kl->key->buf, kl->key->len);
}

void ss_route_keylist_free(struct keylist *kl)
{
	size_t i;

	for (i = 0; i < kl->n; i++)
		free(kl->keys[i]);
	free(kl->keys);
	free(kl->lens);
	memset(kl, 0, sizeof(*kl));
}

/* What analysis found for one conjunct. */
struct plan {
	enum shape_kind kind;
	long col;
	char type[64];
	int raw;
	struct keylist kl; /* K_EQ, K_CONTAIN */
	double lo, hi;	   /* K_RANGE */
	int has_lo, has_hi;
	int numkind;	  /* the range column's enum numkind */
	char coltype[64]; /* K_EQ: the column's own type */
	int exact;
	struct rcheck *checks; /* use_checks: the clause is these ranges
				  (and the exact index hit) */
	size_t nchecks, checks_alloc;
	int use_checks;
};

/* Is a type one ss_where_value_key knows? (Enums are not.) */
static int keyable(struct ss_router *r, const char *type)
{
	struct ss_err err = SS_ERR_INIT;
	static const char *const samples[] = {"1", "t", "a", "{}", NULL};
	size_t i;
	int ok = 1;

	for (i = 0; i < r->nkeyable; i++)
		if (!strcmp(r->keyable_cache[i].name, type))
			return r->keyable_cache[i].ok;

	/* A type the key function rejects for every sample is unsupported;
	 * the samples cover numbers, bool, text and arrays. */
	for (i = 0; samples[i]; i++) {
		ss_buf_reset(&r->tmp);
		if (ss_where_value_key(type, samples[i], &r->tmp, &err) == 0)
			break;
		if (strstr(err.msg, "unsupported type")) {
			ok = 0;
			break;
		}
	}
	if (r->nkeyable < 16 &&
	    strlen(type) < sizeof(r->keyable_cache[0].name)) {
		snprintf(r->keyable_cache[r->nkeyable].name,
			 sizeof(r->keyable_cache[0].name), "%s", type);
		r->keyable_cache[r->nkeyable++].ok = ok;
	}
	return ok;
}

/* Set p->type (and p->raw for enums) for comparisons of type `t`. */
static int plan_type(struct ss_router *r, struct group *g, long col,
		     const char *t, struct plan *p)
{
	if (strlen(t) >= sizeof(p->type))
		return -1;
	snprintf(p->type, sizeof(p->type), "%s", t);
	p->raw = 0;
	if (!keyable(r, t)) {
		/* Enum labels compare equal iff the text is equal. */
		if (col < 0 || (size_t)col >= g->ncols ||
		    !g->wcols[col].is_enum)
			return -1;
		p->raw = 1;
	}
	return 0;
}

static int try_eq(struct ss_router *r, struct group *g,
		  const struct ss_where_node *n, struct plan *p)
{
	enum ss_where_kind k = ss_where_node_kind(n);
	const struct ss_where_node *a, *b;
	size_t i, nargs = ss_where_node_nargs(n);
	const char *t;
	long col;

	memset(&p->kl, 0, sizeof(p->kl));
	if (k == SS_WHERE_OP && !strcmp(ss_where_node_op(n), "=") &&
	    nargs == 2) {
		a = ss_where_node_arg(n, 0);
		b = ss_where_node_arg(n, 1);
		if (is_const(a)) {
			const struct ss_where_node *x = a;

			a = b;
			b = x;
		}
		if (!is_const(b))
			return 0;
		t = ss_where_node_type(b);
		col = eq_column(a, t);
		if (col < 0 || plan_type(r, g, col, t, p) < 0)
			return 0;
		p->kl.type = p->type;
		p->kl.raw = p->raw;
		p->kl.key = &r->key;
		ss_buf_reset(&r->tmp);
		if (ss_where_node_const(b, &r->tmp) != 0)
			return 0; /* = NULL: never true, leave it to eval */
		ss_route_keylist_add_text(r->tmp.buf, r->tmp.len, &p->kl);
	} else if (k == SS_WHERE_IN && !strcmp(ss_where_node_op(n), "IN") &&
		   nargs >= 2) {
		a = ss_where_node_arg(n, 0);
		b = ss_where_node_arg(n, 1);
		if (!is_const(b))
			return 0;
		t = ss_where_node_type(b);
		col = eq_column(a, t);
		if (col < 0 || plan_type(r, g, col, t, p) < 0)
			return 0;
		p->kl.type = p->type;
		p->kl.raw = p->raw;
		p->kl.key = &r->key;
		for (i = 1; i < nargs; i++) {
			b = ss_where_node_arg(n, i);
			if (!is_const(b) || strcmp(ss_where_node_type(b), t)) {
				ss_route_keylist_free(&p->kl);
				return 0;
			}
			ss_buf_reset(&r->tmp);
			/* A NULL in the list never makes IN true. */
			if (ss_where_node_const(b, &r->tmp) == 0)
				ss_route_keylist_add_text(r->tmp.buf,
							  r->tmp.len, &p->kl);
		}
	} else {
		return 0;
	}
	if (p->kl.bad || p->kl.n == 0) {
		ss_route_keylist_free(&p->kl);
		return 0;
	}
	p->kind = K_EQ;
	p->col = col;
	snprintf(p->coltype, sizeof(p->coltype), "%s",
		 ss_where_node_type(ss_where_node_kind(a) == SS_WHERE_COLUMN
					? a
					: ss_where_node_arg(a, 0)));
	p->exact = ss_where_node_kind(a) == SS_WHERE_COLUMN ||
		   ss_where_node_implicit(a);
	return 1;
}

static int try_contain(struct ss_router *r, struct group *g,
		       const struct ss_where_node *n, struct plan *p)
{
	const struct ss_where_node *a, *b;
	const char *op = ss_where_node_op(n), *t;
	char elem[64];
	size_t tl;

	memset(&p->kl, 0, sizeof(p->kl));
	if (ss_where_node_kind(n) != SS_WHERE_OP || ss_where_node_nargs(n) != 2)
		return 0;
	a = ss_where_node_arg(n, 0);
	b = ss_where_node_arg(n, 1);
	if (!strcmp(op, "<@")) {
		const struct ss_where_node *x = a;

		a = b;
		b = x;
	} else if (strcmp(op, "@>")) {
		return 0;
	}
	if (ss_where_node_kind(a) != SS_WHERE_COLUMN || !is_const(b))
		return 0;
	t = ss_where_node_type(a);
	tl = strlen(t);
	if (strcmp(t, ss_where_node_type(b)) || tl < 3 || tl >= sizeof(elem) ||
	    strcmp(t + tl - 2, "[]"))
		return 0;
	memcpy(elem, t, tl - 2);
	elem[tl - 2] = '\0';
	if (plan_type(r, g, ss_where_node_column(a), elem, p) < 0)
		return 0;
	p->kl.type = p->type;
	p->kl.raw = p->raw;
	p->kl.key = &r->key;
	p->kl.limit = 1; /* one element is enough to find the shape */
	ss_buf_reset(&r->tmp);
	if (ss_where_node_const(b, &r->tmp) != 0) {
		return 0;
	} else {
		struct ss_buf text = SS_BUF_INIT, scratch = SS_BUF_INIT;
		int rc;

		ss_buf_add(&text, r->tmp.buf, r->tmp.len);
		rc = ss_route_array_elements(text.buf, &scratch,
					     ss_route_keylist_add_text, &p->kl);
		ss_buf_release(&text);
		ss_buf_release(&scratch);
		if (rc < 0 || p->kl.bad || p->kl.n == 0) {
			/* '{}' is contained in every array: not indexable */
			ss_route_keylist_free(&p->kl);
			return 0;
		}
	}
	p->kind = K_CONTAIN;
	p->col = ss_where_node_column(a);
	p->exact = 0;
	return 1;
}

/*
 * `col LIKE 'p%'` or `col ILIKE 'p%'`: a text or varchar column (maybe
 * cast to text), a constant pattern that is a literal prefix p
 * (no '%', '_' or backslash in it) followed by one or more '%'. For those,
 * where_eval.c's like_match is a byte comparison of p with the start of
 * the value, after lowering ASCII letters in both for ILIKE: the index
 * keys p the same way, and a hit is exact. Anything else (ESCAPE, NOT,
 * '_', a pattern not ending in '%', other types) is left to the
 * evaluator.
 */
static int try_prefix(struct ss_router *r, const struct ss_where_node *n,
		      struct plan *p)
{
	const struct ss_where_node *a, *b;
	const char *op = ss_where_node_op(n), *t;
	size_t i, plen;
	long col;
	int ci;

	memset(&p->kl, 0, sizeof(p->kl));
	if (ss_where_node_kind(n) != SS_WHERE_OP || ss_where_node_nargs(n) != 2)
		return 0;
	if (!strcmp(op, "~~"))
		ci = 0;
	else if (!strcmp(op, "~~*"))
		ci = 1;
	else
		return 0;
	a = ss_where_node_arg(n, 0);
	b = ss_where_node_arg(n, 1);
	if (!is_const(b))
		return 0;
	/* A cast to text (implicit or not) keeps a text or varchar value's
	 * bytes; a cast to varchar(n) might not, and is left out. */
	if (ss_where_node_kind(a) == SS_WHERE_CAST &&
	    !strcmp(ss_where_node_type(a), "text"))
		a = ss_where_node_arg(a, 0);
	t = ss_where_node_type(a);
	if (ss_where_node_kind(a) != SS_WHERE_COLUMN ||
	    (strcmp(t, "text") && strcmp(t, "varchar")))
		return 0;
	col = ss_where_node_column(a);
	ss_buf_reset(&r->tmp);
	if (ss_where_node_const(b, &r->tmp) != 0)
		return 0; /* LIKE NULL: never true */
	for (plen = 0; plen < r->tmp.len; plen++) {
		char c = r->tmp.buf[plen];

		if (c == '%')
			break;
		if (c == '_' || c == '\\')
			return 0;
	}
	if (plen == r->tmp.len || plen > UINT32_MAX)
		return 0; /* no '%': not a prefix pattern */
	for (i = plen; i < r->tmp.len; i++)
		if (r->tmp.buf[i] != '%')
			return 0;
	if (ci)
		for (i = 0; i < plen; i++)
			if (r->tmp.buf[i] >= 'A' && r->tmp.buf[i] <= 'Z')
				r->tmp.buf[i] = (char)(r->tmp.buf[i] + 32);
	keylist_add_key(&p->kl, r->tmp.buf, plen);
	snprintf(p->type, sizeof(p->type), "%s", ci ? "ilike" : "like");
	p->raw = 0;
	p->coltype[0] = '\0';
	p->kind = K_PREFIX;
	p->col = col;
	p->exact = 1;
	return 1;
}

static int try_range(struct ss_router *r, const struct ss_where_node *n,
		     struct plan *p)
{
	const struct ss_where_node *a, *b, *c;
	const char *op = ss_where_node_op(n);
	enum ss_where_kind k = ss_where_node_kind(n);
	double x, y;
	long col;
	int nk = NK_NONE;

	if (k == SS_WHERE_OP && ss_where_node_nargs(n) == 2 &&
	    (!strcmp(op, "<") || !strcmp(op, "<=") || !strcmp(op, ">") ||
	     !strcmp(op, ">="))) {
		int greater = op[0] == '>';

		a = ss_where_node_arg(n, 0);
		b = ss_where_node_arg(n, 1);
		if (is_const(a)) { /* c < col is col > c */
			const struct ss_where_node *t = a;

			a = b;
			b = t;
			greater = !greater;
		}
		if (!is_const(b) || (col = range_column(a, &nk)) < 0 ||
		    const_double(b, &r->tmp, &x) < 0)
			return 0;
		p->lo = greater ? x : -INFINITY;
		p->hi = greater ? INFINITY : x;
		p->has_lo = greater;
		p->has_hi = !greater;
	} else if (k == SS_WHERE_BETWEEN &&
		   (!strcmp(op, "BETWEEN") ||
		    !strcmp(op, "BETWEEN SYMMETRIC"))) {
		a = ss_where_node_arg(n, 0);
		b = ss_where_node_arg(n, 1);
		c = ss_where_node_arg(n, 2);
		if (!b || !c || !is_const(b) || !is_const(c) ||
		    (col = range_column(a, &nk)) < 0 ||
		    const_double(b, &r->tmp, &x) < 0 ||
		    const_double(c, &r->tmp, &y) < 0)
			return 0;
		if (op[7] == ' ' && y < x) {
			double t = x;

			x = y;
			y = t;
		}
		p->lo = x;
		p->hi = y;
		p->has_lo = p->has_hi = 1;
	} else {
		return 0;
	}
	p->kind = K_RANGE;
	p->col = col;
	p->numkind = nk;
	p->exact = 0;
	return 1;
}

static void add_check(struct plan *p, const struct plan *rp)
{
	struct rcheck c;

	c.col = (int32_t)rp->col;
	c.nk = (unsigned char)rp->numkind;
	c.lo = rp->lo;
	c.hi = rp->hi;
	c.has_lo = rp->has_lo;
	c.has_hi = rp->has_hi;
	SS_GROW(p->checks, p->checks_alloc, p->nchecks + 1);
	p->checks[p->nchecks++] = c;
}

/*
 * Choose how to index a compiled clause: the root, or one conjunct of a
 * root AND (equality first, then containment, then LIKE prefixes, then
 * ranges). When the rest of the clause is numeric ranges (and the indexed
 * part is an exact equality or prefix, or a range itself), the shape is
 * decided by range checks instead of the evaluator.
 */
static void analyse(struct ss_router *r, struct group *g,
		    const struct ss_where *w, struct plan *p)
{
	const struct ss_where_node *root = ss_where_root(w), *n;
	size_t i, nargs, chosen = 0;
	int pass, found = 0, exact_hit = 0;
	struct plan rp;

	memset(p, 0, sizeof(*p));
	p->kind = K_EVAL;
	if (ss_where_node_kind(root) != SS_WHERE_AND) {
		if (try_eq(r, g, root, p) || try_contain(r, g, root, p) ||
		    try_prefix(r, root, p))
			return;
		if (try_range(r, root, p)) {
			add_check(p, p);
			p->use_checks = 1;
			return;
		}
		p->kind = K_EVAL;
		return;
	}
	nargs = ss_where_node_nargs(root);
	for (pass = 0; pass < 4 && !found; pass++)
		for (i = 0; i < nargs && !found; i++) {
			n = ss_where_node_arg(root, i);
			if ((pass == 0 && try_eq(r, g, n, p)) ||
			    (pass == 1 && try_contain(r, g, n, p)) ||
			    (pass == 2 && try_prefix(r, n, p)) ||
			    (pass == 3 && try_range(r, n, p))) {
				found = 1;
				chosen = i;
			}
		}
	if (!found) {
		p->kind = K_EVAL;
		return;
	}
	exact_hit = (p->kind == K_EQ || p->kind == K_PREFIX) && p->exact;
	if (p->kind == K_RANGE) {
		add_check(p, p);
		exact_hit = 1;
	}
	p->exact = 0; /* the other conjuncts decide */
	p->use_checks = exact_hit;
	for (i = 0; i < nargs && p->use_checks; i++) {
		if (i == chosen)
			continue;
		memset(&rp, 0, sizeof(rp));
		if (try_range(r, ss_where_node_arg(root, i), &rp))
			add_check(p, &rp);
		else
			p->use_checks = 0;
	}
	if (!p->use_checks) {
		free(p->checks);
		p->checks = NULL;
		p->nchecks = p->checks_alloc = 0;
	}
}

/* A subquery shape whose clause needs its column in a view: filed under
 * the view's values (lib/subq keeps them), one lookup per row; 1 with
 * the plan set, else 0 (analyse then). Preferred to any other index, so
 * tried first: a view names few values of its column (a tenant's
 * projects), a plain conjunct often many rows (status = 'open'). */
static int subq_index(struct ss_router *r, struct group *g,
		      const struct rshape *s, struct plan *p)
{
	const char *col, *type;
	size_t i;

	if (!r->subq || !ss_subq_index_of(r->subq, s->id, &col, &type) ||
	    strlen(type) >= sizeof(p->type))
		return 0;
	for (i = 0; i < g->ncols; i++)
		if (!strcmp(g->cols[i].name, col)) {
			memset(p, 0, sizeof(*p));
			p->kind = K_SUBQ;
			p->col = (long)i;
			snprintf(p->type, sizeof(p->type), "%s", type);
			return 1;
		}
	return 0;
}

/* ---- filing shapes into indexes --------------------------------------- */

static struct eqidx *get_eqidx(struct ss_router *r, struct group *g, long col,
			       const char *type, int raw, int contain,
			       int prefix, const char *coltype)
{
	struct eqidx *e;
	size_t i;

	for (i = 0; i < g->neqs; i++) {
		e = g->eqs[i];
		if (e->col == col && e->raw == raw && e->contain == contain &&
		    e->prefix == prefix && !strcmp(e->type, type))
			return e;
	}
	e = ss_xcalloc(1, sizeof(*e));
	e->uid = ++r->next_uid;
	e->col = col;
	e->type = ss_xstrdup(type);
	e->raw = raw;
	e->contain = contain;
	e->prefix = prefix;
	e->colnk = num_kind(coltype && *coltype ? coltype : type);
	e->coltype = coltype && *coltype && strcmp(coltype, type)
			 ? ss_xstrdup(coltype)
			 : NULL;
	e->quick = prefix ? 0
		   : raw || !strcmp(type, "text") || !strcmp(type, "varchar")
		       ? 1
		   : is_int_type(type) ? 2
				       : 0;
	VEC_PUSH(g->eqs, g->neqs, g->eqs_alloc, e);
	return e;
}

static struct rangeidx *get_rangeidx(struct group *g, long col, int nk)
{
	struct rangeidx *ri;
	size_t i;

	for (i = 0; i < g->nranges; i++)
		if (g->ranges[i]->col == col)
			return g->ranges[i];
	ri = ss_xcalloc(1, sizeof(*ri));
	ri->col = col;
	ri->nk = nk;
	VEC_PUSH(g->ranges, g->nranges, g->ranges_alloc, ri);
	return ri;
}

static struct sqprobe *get_sqprobe(struct group *g, long col, const char *type)
{
	struct sqprobe *sp;
	size_t i;

	for (i = 0; i < g->nsqps; i++)
		if (g->sqps[i]->col == col && !strcmp(g->sqps[i]->type, type))
			return g->sqps[i];
	sp = ss_xcalloc(1, sizeof(*sp));
	sp->col = col;
	sp->type = ss_xstrdup(type);
	VEC_PUSH(g->sqps, g->nsqps, g->sqps_alloc, sp);
	return sp;
}

/* A prefix index's lengths: one more key of length len, or one less. */
static void plen_add(struct eqidx *e, size_t len)
{
	size_t k;

	for (k = 0; k < e->nplens && e->plens[k] < len; k++)
		;
	if (k < e->nplens && e->plens[k] == len) {
		e->pcount[k]++;
		return;
	}
	SS_GROW(e->plens, e->plens_alloc, e->nplens + 1);
	SS_GROW(e->pcount, e->pcount_alloc, e->nplens + 1);
	memmove(e->plens + k + 1, e->plens + k,
		(e->nplens - k) * sizeof(*e->plens));
	memmove(e->pcount + k + 1, e->pcount + k,
		(e->nplens - k) * sizeof(*e->pcount));
	e->plens[k] = (uint32_t)len;
	e->pcount[k] = 1;
	e->nplens++;
}

static void plen_del(struct eqidx *e, size_t len)
{
	size_t k;

	for (k = 0; k < e->nplens && e->plens[k] != len; k++)
		;
	if (k == e->nplens || --e->pcount[k])
		return;
	memmove(e->plens + k, e->plens + k + 1,
		(e->nplens - k - 1) * sizeof(*e->plens));
	memmove(e->pcount + k, e->pcount + k + 1,
		(e->nplens - k - 1) * sizeof(*e->pcount));
	e->nplens--;
}

static void file_shape(struct ss_router *r, struct rshape *s, struct plan *p)
{
	struct group *g = s->g;
	size_t i;

	s->kind = p->kind;
	s->exact = (unsigned char)p->exact;
	s->nchecks = (uint32_t)p->nchecks;
	s->use_checks = (unsigned char)p->use_checks;
	if (p->nchecks == 1) {
		s->check0 = p->checks[0];
		s->checks = &s->check0;
		free(p->checks);
	} else {
		s->checks = p->checks;
	}
	p->checks = NULL;
	switch (p->kind) {
	case K_EQ:
	case K_CONTAIN:
	case K_PREFIX:
		s->ei = get_eqidx(
		    r, g, p->col, p->type, p->raw, p->kind == K_CONTAIN,
		    p->kind == K_PREFIX ? 1 + !strcmp(p->type, "ilike") : 0,
		    p->coltype);
		s->keys = p->kl.keys;
		s->klens = p->kl.lens;
		s->nkeys = p->kl.n;
		p->kl.keys = NULL;
		p->kl.lens = NULL;
		p->kl.n = 0;
		for (i = 0; i < s->nkeys; i++) {
			eq_add(r, s->ei->uid, s->keys[i], s->klens[i], s);
			if (s->ei->prefix)
				plen_add(s->ei, s->klens[i]);
		}
		list_add(&s->ei->members, &s->ei->n, &s->ei->alloc, s);
		break;
	case K_RANGE:
		s->ri = get_rangeidx(g, p->col, p->numkind);
		s->lo = p->lo;
		s->hi = p->hi;
		list_add(&s->ri->members, &s->ri->n, &s->ri->alloc, s);
		s->ri->dirty = 1;
		break;
	case K_SUBQ:
		s->sqp = get_sqprobe(g, p->col, p->type);
		s->sqp->refs++;
		ss_subq_set_cookie(r->subq, s->id, s);
		break;
	default:
		list_add(&g->others, &g->nothers, &g->others_alloc, s);
		break;
	}
	ss_route_keylist_free(&p->kl);
	if (s->deps && r->subq &&
	    !ss_subq_member_fn(r->subq, s->id, &s->sq_fn, &s->sq_ctx))
		s->sq_fn = NULL;
	g->nlive++;
	g->used_dirty = 1;
	r->gen++;
}

static void unfile_shape(struct ss_router *r, struct rshape *s)
{
	struct group *g = s->g;
	size_t i;

	if (s->state != ST_LIVE)
		return;
	switch (s->kind) {
	case K_EQ:
	case K_CONTAIN:
	case K_PREFIX:
		for (i = 0; i < s->nkeys; i++) {
			eq_del(r, s->ei->uid, s->keys[i], s->klens[i], s);
			if (s->ei->prefix)
				plen_del(s->ei, s->klens[i]);
			free(s->keys[i]);
		}
		free(s->keys);
		free(s->klens);
		s->keys = NULL;
		s->klens = NULL;
		s->nkeys = 0;
		list_del(s->ei->members, &s->ei->n, s);
		s->ei = NULL;
		break;
	case K_RANGE:
		list_del(s->ri->members, &s->ri->n, s);
		s->ri->dirty = 1;
		s->ri = NULL;
		break;
	case K_ALL:
	case K_EVAL:
		list_del(g->others, &g->nothers, s);
		break;
	case K_SUBQ:
		s->sqp->refs--;
		s->sqp = NULL;
		ss_subq_set_cookie(r->subq, s->id, NULL);
		break;
	default:
		break;
	}
	ss_where_free(s->w);
	s->w = NULL;
	s->lazy = 0;
	free(s->used);
	s->used = NULL;
	s->nused = 0;
	if (s->checks != &s->check0)
		free(s->checks);
	s->checks = NULL;
	s->nchecks = 0;
	s->use_checks = 0;
	s->sq_fn = NULL;
	s->sq_ctx = NULL;
	s->kind = K_NONE;
	s->state = ST_PENDING;
	g->nlive--;
	g->used_dirty = 1;
	r->gen++;
}

static void invalidate(struct ss_router *r, struct group *g, struct rshape **v,
		       size_t n, const char *reason);

/* Compile s against its group's columns and file it; a failure
 * invalidates it. */
/* A subquery shape's clause against cols, its inner tables from its
 * deps. */
static int compile_sub(const struct rshape *s,
		       const struct ss_where_column *cols, size_t ncols,
		       struct ss_where **out, struct ss_err *err)
{
	struct ss_where_tables t = {ss_subq_deps_describe, s->deps};
	struct ss_where_limits lim;
	struct ss_where_opts o;

	memset(&o, 0, sizeof(o));
	ss_where_limits_stored(&lim);
	o.limits = &lim;
	o.tables = &t;
	return ss_where_compile_opts(s->def.where, cols, ncols,
				     (const char *const *)s->def.params,
				     s->def.nparams, &o, out, err);
}

/* An inner shape's rows must carry its select list (its view counts
 * them): add those columns to what the shape reads. */
static void add_inner_cols(struct ss_router *r, struct rshape *s)
{
	const char *const *names, *const *types;
	size_t n, i, c;

	if (!r->subq || !s->g->have_rel ||
	    !ss_subq_inner_columns(r->subq, s->id, &names, &types, &n))
		return;
	for (i = 0; i < n; i++)
		for (c = 0; c < s->g->ncols; c++) {
			size_t k;
			int have = 0;

			if (strcmp(s->g->cols[c].name, names[i]))
				continue;
			for (k = 0; k < s->nused; k++)
				have |= s->used[k] == c;
			if (!have) {
				s->used = ss_xrealloc(
				    s->used, (s->nused + 1) * sizeof(*s->used));
				s->used[s->nused++] = c;
			}
		}
	s->g->used_dirty = 1;
	/* partitions cache what their ancestors' shapes read by gen */
	r->gen++;
}

static void compile_shape(struct ss_router *r, struct rshape *s)
{
	struct group *g = s->g;
	struct ss_err err = SS_ERR_INIT;
	struct plan p;

	if (s->state != ST_PENDING || !g->have_rel)
		return;
	s->nowhere = s->def.where == NULL;
	if (!s->def.where) {
		memset(&p, 0, sizeof(p));
		p.kind = K_ALL;
		p.exact = 1;
	} else {
		struct ss_where *w2 = NULL;

		if (s->deps
			? compile_sub(s, g->wcols, g->ncols, &s->w, &err) < 0 ||
			      compile_sub(s, g->wcols, g->ncols, &w2, &err) <
				  0 ||
			      ss_subq_rebind(r->subq, s->id, w2, g->wcols,
					     g->ncols, &err) < 0
			: ss_where_compile_stored(
			      s->def.where, g->wcols, g->ncols,
			      (const char *const *)s->def.params,
			      s->def.nparams, &s->w, &err) < 0) {
			char reason[700];

			snprintf(reason, sizeof(reason),
				 "where clause of shape %" PRId64
				 " does not compile against %s.%s: %s",
				 s->id, g->schema, g->table, err.msg);
			ss_where_free(s->w);
			s->w = NULL;
			invalidate(r, g, &s, 1, reason);
			return;
		}
		if (!s->deps || !subq_index(r, g, s, &p))
			analyse(r, g, s->w, &p);
		if (s->deps) {
			/* An index may narrow the candidates; a membership
			 * always needs the evaluation. */
			p.exact = 0;
			p.use_checks = 0;
		}
		{
			const size_t *u;

			s->nused = ss_where_columns_used(s->w, &u);
			s->used = ss_xmalloc((s->nused ? s->nused : 1) *
					     sizeof(*s->used));
			if (s->nused)
				memcpy(s->used, u, s->nused * sizeof(*u));
		}
	}
	add_inner_cols(r, s);
	s->state = ST_LIVE;
	file_shape(r, s, &p);
	/* A compiled clause holds kilobytes; a shape that its index and
	 * range checks decide needs it only for ties and values the index
	 * cannot key, so it is compiled again then. */
	if (s->w && !s->deps && (s->exact || s->use_checks)) {
		ss_where_free(s->w);
		s->w = NULL;
		s->lazy = 1;
	}
}

static int cmp_shape_id(const void *a, const void *b)
{
	int64_t x = (*(struct rshape *const *)a)->id;
	int64_t y = (*(struct rshape *const *)b)->id;

	return x < y ? -1 : x > y;
}

static void invalidate(struct ss_router *r, struct group *g, struct rshape **v,
		       size_t n, const char *reason)
{
	int64_t *ids;
	size_t i;

	if (!n)
		return;
	ids = ss_xmalloc(n * sizeof(*ids));
	for (i = 0; i < n; i++) {
		unfile_shape(r, v[i]);
		v[i]->state = ST_INVALID;
		if (v[i]->deps)
			ss_subq_remove(r->subq, v[i]->id);
	}
	sort_(v, n, sizeof(*v), cmp_shape_id);
	for (i = 0; i < n; i++)
		ids[i] = v[i]->id;
	if (r->cb)
		r->cb(g->oid, ids, n, reason, r->cbctx);
	for (i = 0; i < n; i++)
		ss_router_invalidate_outers(r, ids[i], "was invalidated");
	free(ids);
}

void ss_router_invalidate_outers(struct ss_router *r, int64_t id,
				 const char *what)
{
	int64_t *outer;
	size_t n, i;

	if (!r->subq)
		return;
	n = ss_subq_outers_of(r->subq, id, &outer);
	for (i = 0; i < n; i++) {
		struct rshape *o = byid_get(r, outer[i]);
		char why[800];

		if (!o || o->state == ST_INVALID)
			continue;
		snprintf(why, sizeof(why),
			 "shape %" PRId64 ", a subquery of shape %" PRId64
			 ", %s",
			 id, o->id, what);
		invalidate(r, o->g, &o, 1, why);
	}
	free(outer);
}

/* ---- public: shapes ---------------------------------------------------- */

struct ss_router *ss_router_new(ss_router_invalidate_cb cb, void *ctx)
{
	struct ss_router *r = ss_xcalloc(1, sizeof(*r));

	r->cb = cb;
	r->cbctx = ctx;
	ss_buf_init(&r->key);
	ss_buf_init(&r->tmp);
	ss_buf_init(&r->fold);
	return r;
}

static void shape_free(struct rshape *s)
{
	ss_shape_release(&s->def);
	if (s->deps)
		ss_subq_deps_release(s->deps);
	free(s->deps);
	free(s->handle);
	free(s);
}

void ss_router_free(struct ss_router *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->byid_size; i++)
		if (r->byid[i] && r->byid[i] != TOMB) {
			unfile_shape(r, r->byid[i]);
			shape_free(r->byid[i]);
		}
	free(r->byid);
	for (i = 0; i < r->eq_size; i++)
		if (r->eq[i].flags && !(r->eq[i].flags & SL_ONE))
			eqent_free(r->eq[i].u.e);
	free(r->eq);
	for (i = 0; i < r->ngroups; i++)
		group_free(r->groups[i]);
	free(r->groups);
	free(r->hits);
	free(r->ids);
	free(r->ops);
	free(r->arow);
	ss_buf_release(&r->key);
	ss_buf_release(&r->tmp);
	ss_buf_release(&r->fold);
	free(r);
}

static void copy_def(struct ss_shape *dst, const struct ss_shape *src)
{
	size_t i;

	ss_shape_init(dst);
	dst->schema = ss_xstrdup(src->schema ? src->schema : "public");
	dst->table = ss_xstrdup(src->table ? src->table : "");
	dst->where = src->where ? ss_xstrdup(src->where) : NULL;
	if (src->nparams) {
		dst->params = ss_xcalloc(src->nparams, sizeof(char *));
		for (i = 0; i < src->nparams; i++)
			dst->params[i] = ss_xstrdup(src->params[i]);
		dst->nparams = src->nparams;
	}
	if (src->ncolumns) {
		dst->columns = ss_xcalloc(src->ncolumns, sizeof(char *));
		for (i = 0; i < src->ncolumns; i++)
			dst->columns[i] = ss_xstrdup(src->columns[i]);
		dst->ncolumns = src->ncolumns;
	}
	dst->replica = src->replica;
	dst->log_mode = src->log_mode;
}

/* A new shape, pending, filed nowhere yet. */
static int add_shape(struct ss_router *r, int64_t id,
		     const struct ss_shape *def, struct rshape **out,
		     struct ss_err *err)
{
	struct rshape *s;
	struct group *g;

	if (byid_get(r, id))
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is already routed", id);
	/* On a cache line of its own: matching reads the first 64 bytes. */
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (!s)
		s = ss_xmalloc(sizeof(*s)); /* ss_xmalloc aborts on OOM */
	memset(s, 0, sizeof(*s));
	s->id = id;
	copy_def(&s->def, def);
	g = group_by_name(r, s->def.schema, s->def.table, 1);
	s->g = g;
	s->state = ST_PENDING;
	s->gpos = g->nshapes;
	VEC_PUSH(g->shapes, g->nshapes, g->shapes_alloc, s);
	byid_put(r, s);
	*out = s;
	return 0;
}

int ss_router_add(struct ss_router *r, int64_t id, const struct ss_shape *def,
		  struct ss_err *err)
{
	struct rshape *s;

	if (add_shape(r, id, def, &s, err) < 0)
		return -1;
	compile_shape(r, s);
	return 0;
}

void ss_router_set_subq(struct ss_router *r, struct ss_subq *q)
{
	r->subq = q;
}

int ss_router_add_subquery(struct ss_router *r, int64_t id,
			   const struct ss_shape *def, const char *handle,
			   const char *deps, struct ss_err *err)
{
	struct rshape *s;
	struct ss_err e2 = SS_ERR_INIT;
	struct ss_where *w = NULL;
	const struct ss_subq_table *t = NULL;
	char reason[700];
	size_t i;

	if (!r->subq)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " has a subquery, and "
				  "subqueries are not routed here",
				  id);
	if (add_shape(r, id, def, &s, err) < 0)
		return -1;
	s->handle = ss_xstrdup(handle);
	s->deps = ss_xcalloc(1, sizeof(*s->deps));
	if (ss_subq_deps_parse(deps, s->deps, &e2) < 0) {
		free(s->deps);
		s->deps = NULL;
		goto bad;
	}
	for (i = 0; i < s->deps->ntables && !t; i++)
		if (!strcmp(s->deps->tables[i].schema, s->def.schema) &&
		    !strcmp(s->deps->tables[i].table, s->def.table))
			t = &s->deps->tables[i];
	if (!t) {
		ss_err_set(&e2, SS_ERR_INPUT,
			   "its deps do not describe its own table");
		goto bad;
	}
	if (!s->def.where) {
		ss_err_set(&e2, SS_ERR_INPUT, "it has no where clause");
		goto bad;
	}
	if (compile_sub(s, t->cols, t->ncols, &w, &e2) < 0)
		goto bad;
	if (ss_where_ndeps(w) != s->deps->ninner) {
		ss_err_set(&e2, SS_ERR_INPUT,
			   "its deps name %zu inner shapes for %zu subqueries",
			   s->deps->ninner, ss_where_ndeps(w));
		ss_where_free(w);
		goto bad;
	}
	for (i = 0; i < s->deps->ninner; i++) {
		struct rshape *in = byid_get(r, s->deps->inner[i]);

		if (!in || in->state == ST_INVALID) {
			ss_err_set(&e2, SS_ERR_INPUT,
				   "shape %" PRId64 ", one of its subqueries, "
				   "is not routed",
				   s->deps->inner[i]);
			ss_where_free(w);
			goto bad;
		}
	}
	if (ss_subq_add(r->subq, id, handle, w, t->cols, t->ncols,
			s->deps->inner, &e2) < 0)
		goto bad;
	if (def->move_out == SS_MOVE_OUT_DELETE &&
	    ss_subq_set_deletes(r->subq, id, &e2) < 0)
		goto bad;
	for (i = 0; i < s->deps->ninner; i++) {
		struct rshape *in = byid_get(r, s->deps->inner[i]);

		if (in && in->state == ST_LIVE)
			add_inner_cols(r, in);
	}
	compile_shape(r, s);
	return 0;
bad:
	snprintf(reason, sizeof(reason),
		 "subquery shape %" PRId64 " cannot be routed: %s", id, e2.msg);
	invalidate(r, s->g, &s, 1, reason);
	return 0;
}

int ss_router_invalidate(struct ss_router *r, int64_t id, const char *reason)
{
	struct rshape *s = byid_get(r, id);

	if (!s || s->state == ST_INVALID)
		return 0;
	invalidate(r, s->g, &s, 1, reason);
	return 1;
}

int ss_router_is_subquery(const struct ss_router *r, int64_t id)
{
	const struct rshape *s = byid_get(r, id);

	return s && s->deps && s->state != ST_INVALID;
}

int ss_router_remove(struct ss_router *r, int64_t id)
{
	struct rshape *s = byid_get(r, id), *last;
	struct group *g;

	if (!s)
		return 0;
	g = s->g;
	unfile_shape(r, s);
	if (s->deps)
		ss_subq_remove(r->subq, id);
	ss_router_invalidate_outers(r, id, "was removed");
	last = g->shapes[--g->nshapes];
	g->shapes[s->gpos] = last;
	last->gpos = s->gpos;
	byid_del(r, id);
	shape_free(s);
	return 1;
}

int ss_router_has(const struct ss_router *r, int64_t id)
{
	return byid_get(r, id) != NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

size_t ss_router_ids(const struct ss_router *r, int64_t **ids)
{
	size_t i, n = 0;

	*ids = ss_xmalloc((r->byid_size ? r->byid_size : 1) * sizeof(**ids));
	for (i = 0; i < r->byid_size; i++)
		if (r->byid[i] && r->byid[i] != TOMB)
			(*ids)[n++] = r->byid[i]->id;
	sort_(*ids, n, sizeof(**ids), cmp_i64);
	return n;
}

size_t ss_router_count(const struct ss_router *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->ngroups; i++)
		n += r->groups[i]->nshapes;
	return n;
}

/* ---- public: relations ------------------------------------------------ */

static const struct ss_frame_column *find_col(const struct ss_frame_column *c,
					      size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

static int col_same(const struct ss_frame_column *a,
		    const struct ss_frame_column *b)
{
	return b && !strcmp(a->type, b->type) && a->type_oid == b->type_oid &&
	       a->typmod == b->typmod && a->pk == b->pk &&
	       a->key_index == b->key_index;
}

/* Does the change from the group's columns to rel's affect shape s? */
static int affected(const struct group *g, const struct rshape *s,
		    const struct ss_frame *rel)
{
	const size_t *used;
	size_t i, n;

	if (!s->def.ncolumns) {
		if (g->ncols != rel->ncolumns)
			return 1;
		for (i = 0; i < g->ncols; i++)
			if (strcmp(g->cols[i].name, rel->columns[i].name) ||
			    !col_same(&g->cols[i], &rel->columns[i]))
				return 1;
		return 0;
	}
	for (i = 0; i < s->def.ncolumns; i++) {
		const struct ss_frame_column *o =
		    find_col(g->cols, g->ncols, s->def.columns[i]);

		if (o && !col_same(
			     o, find_col(rel->columns, rel->ncolumns, o->name)))
			return 1;
	}
	for (i = 0; i < g->ncols; i++)
		if (g->cols[i].pk &&
		    !col_same(&g->cols[i], find_col(rel->columns, rel->ncolumns,
						    g->cols[i].name)))
			return 1;
	for (i = 0; i < rel->ncolumns; i++)
		if (rel->columns[i].pk &&
		    !col_same(&rel->columns[i], find_col(g->cols, g->ncols,
							 rel->columns[i].name)))
			return 1;
	used = s->used;
	n = s->nused;
	{
		for (i = 0; i < n; i++) {
			const struct ss_frame_column *o = &g->cols[used[i]];

			if (!col_same(o, find_col(rel->columns, rel->ncolumns,
						  o->name)))
				return 1;
		}
	}
	return 0;
}

static int same_relation(const struct group *g, const struct ss_frame *rel)
{
	size_t i;

	if (g->oid != rel->oid || g->ncols != rel->ncolumns)
		return 0;
	for (i = 0; i < g->ncols; i++)
		if (strcmp(g->cols[i].name, rel->columns[i].name) ||
		    !col_same(&g->cols[i], &rel->columns[i]))
			return 0;
	return 1;
}

static void set_columns(struct group *g, const struct ss_frame *rel)
{
	size_t i;

	group_free_cols(g);
	g->ncols = rel->ncolumns;
	g->cols = ss_xcalloc(g->ncols ? g->ncols : 1, sizeof(*g->cols));
	g->wcols = ss_xcalloc(g->ncols ? g->ncols : 1, sizeof(*g->wcols));
	g->namelen = ss_xcalloc(g->ncols ? g->ncols : 1, sizeof(*g->namelen));
	g->plain = ss_xcalloc(g->ncols ? g->ncols : 1, sizeof(*g->plain));
	for (i = 0; i < g->ncols; i++) {
		const unsigned char *c;

		g->cols[i] = rel->columns[i];
		g->cols[i].name = ss_xstrdup(rel->columns[i].name);
		g->cols[i].type = ss_xstrdup(rel->columns[i].type);
		g->wcols[i].name = g->cols[i].name;
		g->wcols[i].type = g->cols[i].type;
		/* Types that are not built in (oid >= FirstNormalObjectId)
		 * and that lib/where does not know are enums or domains;
		 * lib/where treats them as enums. */
		g->wcols[i].is_enum = rel->columns[i].type_oid >= 16384;
		g->namelen[i] = strlen(g->cols[i].name);
		g->plain[i] = 1;
		for (c = (const unsigned char *)g->cols[i].name; *c; c++)
			if (*c < 0x20 || *c >= 0x80 || *c == '"' || *c == '\\')
				g->plain[i] = 0;
	}
	g->oid = rel->oid;
	g->have_rel = 1;
	g->used_dirty = 1;
}

/* Uncompile every live shape of g, then compile the pending ones. */
static void recompile(struct ss_router *r, struct group *g)
{
	size_t i;

	for (i = 0; i < g->nshapes; i++)
		unfile_shape(r, g->shapes[i]);
	for (i = 0; i < g->nshapes; i++)
		compile_shape(r, g->shapes[i]);
}

/* A partition's ancestors from its relation frame (a change of them
 * alone changes no shape of the table: it only says whose shapes its
 * rows are matched against too). */
static void set_ancestors(struct group *g, const struct ss_frame *rel)
{
	anc_clear(g);
	g->nanc = rel->nancestors;
	if (g->nanc) {
		g->anc = ss_xrealloc(g->anc, g->nanc * sizeof(*g->anc));
		memcpy(g->anc, rel->ancestors, g->nanc * sizeof(*g->anc));
	}
}

int ss_router_relation(struct ss_router *r, const struct ss_frame *rel,
		       struct ss_err *err)
{
	struct group *old = group_by_oid(r, rel->oid);
	struct group *g = group_by_name(r, rel->schema, rel->table, 1);
	struct rshape **v = NULL;
	size_t nv = 0, valloc = 0, i;
	char reason[600];

	(void)err;
	r->last = NULL;
	r->gen++;
	g->ri = rel->replica_identity;
	set_ancestors(g, rel);
	if (old && old != g) {
		/* Renamed: the shapes on the old name lose their table. */
		snprintf(reason, sizeof(reason),
			 "relation %s.%s was renamed to %s.%s", old->schema,
			 old->table, rel->schema, rel->table);
		for (i = 0; i < old->nshapes; i++)
			if (old->shapes[i]->state != ST_INVALID)
				VEC_PUSH(v, nv, valloc, old->shapes[i]);
		invalidate(r, old, v, nv, reason);
		nv = 0;
		old->have_rel = 0;
		group_free_cols(old);
		anc_clear(old);
		old->nanc = 0;
	}
	if (g->have_rel && same_relation(g, rel))
		return free(v), 0;
	if (g->have_rel) {
		snprintf(reason, sizeof(reason), "relation %s.%s changed",
			 g->schema, g->table);
		for (i = 0; i < g->nshapes; i++) {
			struct rshape *s = g->shapes[i];

			if (s->state == ST_INVALID)
				continue;
			if (g->oid != rel->oid || affected(g, s, rel))
				VEC_PUSH(v, nv, valloc, s);
		}
		invalidate(r, g, v, nv, reason);
	}
	free(v);
	for (i = 0; i < g->nshapes; i++)
		unfile_shape(r, g->shapes[i]);
	set_columns(g, rel);
	recompile(r, g);
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void update_used(struct group *g)
{
	size_t i, j, n;
	const size_t *u;

	g->nused = 0;
	for (i = 0; i < g->nshapes; i++) {
		struct rshape *s = g->shapes[i];

		if (s->state != ST_LIVE || !s->nused)
			continue;
		n = s->nused;
		u = s->used;
		for (j = 0; j < n; j++) {
			SS_GROW(g->used, g->used_alloc, g->nused + 1);
			g->used[g->nused++] = u[j];
		}
		/* Dedupe now and then so the array stays small. */
		if (g->nused > 4 * g->ncols + 64) {
			size_t k = 0;

			sort_(g->used, g->nused, sizeof(size_t), cmp_size);
			for (j = 0; j < g->nused; j++)
				if (!k || g->used[k - 1] != g->used[j])
					g->used[k++] = g->used[j];
			g->nused = k;
		}
	}
	sort_(g->used, g->nused, sizeof(size_t), cmp_size);
	n = 0;
	for (j = 0; j < g->nused; j++)
		if (!n || g->used[n - 1] != g->used[j])
			g->used[n++] = g->used[j];
	g->nused = n;
	free(g->usednames);
	g->usednames = ss_xcalloc(n ? n : 1, sizeof(char *));
	for (j = 0; j < n; j++)
		g->usednames[j] = g->cols[g->used[j]].name;
	g->used_dirty = 0;
}

static struct group *group_by_oid_nocache(const struct ss_router *r,
					  uint32_t oid)
{
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (r->groups[i]->have_rel && r->groups[i]->oid == oid)
			return r->groups[i];
	return NULL;
}

/*
 * Bring up to date what partition g keeps of its ancestors: their groups,
 * how their columns map to g's (by name: a partition has its root's
 * columns, maybe in another order), and the union of the columns every
 * shape on g or on an ancestor reads, in g's positions.
 */
/* The live shapes of g that an old row of key columns alone misleads:
 * a where clause, or old values sent (replica=full). */
static void lossy_shapes(struct group *g, struct rshape ***v, size_t *nv,
			 size_t *valloc)
{
	size_t i;

	for (i = 0; g && i < g->nshapes; i++) {
		struct rshape *s = g->shapes[i];

		if (s->state == ST_LIVE &&
		    (s->def.where || s->def.replica == SS_REPLICA_FULL))
			VEC_PUSH(*v, *nv, *valloc, s);
	}
}

void ss_route_lossy_old(struct ss_router *r, struct group *g)
{
	struct rshape **v = NULL;
	size_t nv = 0, valloc = 0, k;
	char reason[600];

	if (g->ri_gen == r->gen)
		return; /* nothing was filed since the last look */
	snprintf(reason, sizeof(reason),
		 "relation %s.%s has REPLICA IDENTITY %s, not FULL: an update "
		 "or delete came without the old row",
		 g->schema, g->table,
		 g->ri == 'd'	? "DEFAULT"
		 : g->ri == 'i' ? "USING INDEX"
		 : g->ri == 'n' ? "NOTHING"
				: "unknown");
	lossy_shapes(g, &v, &nv, &valloc);
	invalidate(r, g, v, nv, reason);
	if (g->nanc)
		ss_route_anc_update(r, g);
	for (k = 0; k < g->nanc; k++) {
		nv = 0;
		lossy_shapes(g->ancg[k], &v, &nv, &valloc);
		if (nv)
			invalidate(r, g->ancg[k], v, nv, reason);
	}
	free(v);
	if (g->nanc)
		ss_route_anc_update(r, g);
	g->ri_gen = r->gen;
}

void ss_route_anc_update(struct ss_router *r, struct group *g)
{
	size_t k, i, j, n;

	if (!g->nanc || g->anc_gen == r->gen)
		return;
	anc_clear(g);
	g->ancg = ss_xcalloc(g->nanc, sizeof(*g->ancg));
	g->amap = ss_xcalloc(g->nanc, sizeof(*g->amap));
	if (g->used_dirty)
		update_used(g);
	n = g->nused;
	g->allused =
	    ss_xmalloc((g->ncols ? g->ncols : 1) * sizeof(*g->allused));
	if (n) /* g->used may be NULL when nothing is used yet */
		memcpy(g->allused, g->used, n * sizeof(*g->used));
	for (k = 0; k < g->nanc; k++) {
		struct group *a = group_by_oid_nocache(r, g->anc[k]);

		if (!a || a == g)
			continue;
		g->ancg[k] = a;
		g->amap[k] =
		    ss_xmalloc((a->ncols ? a->ncols : 1) * sizeof(**g->amap));
		for (j = 0; j < a->ncols; j++) {
			g->amap[k][j] = SIZE_MAX;
			for (i = 0; i < g->ncols; i++)
				if (!strcmp(a->cols[j].name, g->cols[i].name)) {
					g->amap[k][j] = i;
					break;
				}
		}
		if (!a->nlive)
			continue;
		g->anc_live = 1;
		if (a->used_dirty)
			update_used(a);
		for (j = 0; j < a->nused; j++) {
			size_t m = g->amap[k][a->used[j]];

			for (i = 0; m != SIZE_MAX && i < n; i++)
				if (g->allused[i] == m)
					break;
			if (m != SIZE_MAX && i == n)
				g->allused[n++] = m;
		}
	}
	sort_(g->allused, n, sizeof(*g->allused), cmp_size);
	g->nallused = n;
	g->allnames = ss_xcalloc(n ? n : 1, sizeof(*g->allnames));
	for (i = 0; i < n; i++)
		g->allnames[i] = g->cols[g->allused[i]].name;
	g->anc_gen = r->gen;
}

size_t ss_router_columns(const struct ss_router *r, uint32_t oid,
			 const size_t **idx, const char *const **names,
			 size_t *ncols)
{
	struct group *g = group_by_oid(r, oid);

	*idx = NULL;
	*names = NULL;
	*ncols = 0;
	if (!g)
		return 0;
	*ncols = g->ncols;
	if (g->nanc) {
		ss_route_anc_update((struct ss_router *)r, g);
		*idx = g->allused;
		*names = g->allnames;
		return g->nallused;
	}
	if (g->used_dirty)
		update_used(g);
	*idx = g->used;
	*names = g->usednames;
	return g->nused;
}

int ss_router_table_routed(const struct ss_router *r, uint32_t oid)
{
	struct group *g = group_by_oid(r, oid);

	if (g && !g->nlive && g->nanc)
		ss_route_anc_update((struct ss_router *)r, g);
	return g && (g->nlive > 0 || g->anc_live);
}

/* ---- introspection ----------------------------------------------------- */

void ss_router_stats(const struct ss_router *r, struct ss_router_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < r->byid_size; i++) {
		struct rshape *s = r->byid[i];

		if (!s || s == TOMB)
			continue;
		st->shapes++;
		if (s->state == ST_INVALID)
			st->invalid++;
		if (s->state != ST_LIVE)
			continue;
		st->compiled++;
		switch (s->kind) {
		case K_EQ:
			st->eq_indexed++;
			break;
		case K_CONTAIN:
			st->contain_indexed++;
			break;
		case K_RANGE:
			st->range_indexed++;
			break;
		case K_SUBQ:
			st->subq_indexed++;
			break;
		case K_PREFIX:
			st->prefix_indexed++;
			break;
		default:
			st->unindexed++;
			break;
		}
	}
}

const char *ss_router_shape_kind(const struct ss_router *r, int64_t id)
{
	const struct rshape *s = byid_get(r, id);

	if (!s)
		return NULL;
	if (s->state == ST_INVALID)
		return "invalid";
	if (s->state == ST_PENDING)
		return "pending";
	switch (s->kind) {
	case K_ALL:
		return "all";
	case K_EQ:
		return s->exact ? "eq" : "eq+eval";
	case K_CONTAIN:
		return "contain";
	case K_RANGE:
		return "range";
	case K_SUBQ:
		return "subquery";
	case K_PREFIX:
		return s->exact ? "prefix" : "prefix+eval";
	default:
		return "eval";
	}
}

const char *const *ss_router_row_layout(struct ss_router *r, uint32_t oid,
					int64_t id, const char *const *vals,
					const char ***buf, size_t *alloc)
{
	struct group *g = group_by_oid(r, oid);
	struct rshape *s = byid_get(r, id);
	size_t k, j;

	if (!g || !s || !vals)
		return NULL;
	if (s->g == g)
		return vals;
	ss_route_anc_update(r, g);
	for (k = 0; k < g->nanc; k++) {
		struct group *a = g->ancg[k];

		if (a != s->g)
			continue;
		if (a->ncols + 1 > *alloc) {
			*alloc = a->ncols + 1;
			*buf = ss_xrealloc(*buf, *alloc * sizeof(**buf));
		}
		for (j = 0; j < a->ncols; j++) {
			size_t m = g->amap[k][j];

			(*buf)[j] = m == SIZE_MAX ? NULL : vals[m];
		}
		return (const char *const *)*buf;
	}
	return NULL;
}

const struct ss_frame_column *
ss_router_relation_columns(const struct ss_router *r, uint32_t oid,
			   size_t *ncols)
{
	struct group *g = group_by_oid(r, oid);

	*ncols = g ? g->ncols : 0;
	return g ? g->cols : NULL;
}
