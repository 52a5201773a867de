/*
 * where_types.c — the value side of lib/where: the arena, type names, and
 * for every supported type its text input and output (as PostgreSQL 15
 * does them), comparison, casts and arithmetic, with PostgreSQL's error
 * messages. Numeric is an exact decimal (digits + scale).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>

#include "where_int.h"

/* ------------------------------------------------------------------ */
/* Arena */

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);

	if (n == 0)
		need = 1;
	if (!b || b->used + need > b->size) {
		size_t sz = need > 512 ? need : 512;

		b = ss_xmalloc(sizeof(*b) + sz * sizeof(max_align_t));
		b->next = a->head;
		b->used = 0;
		b->size = sz;
		a->head = b;
	}
	void *p = &b->data[b->used];
	b->used += need;
	a->work += n;
	memset(p, 0, n);
	return p;
}

int arena_charge_fail(struct arena *a, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "where clause exceeds the cost limit of %llu",
			  (unsigned long long)a->work_max);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_init_buf(struct arena *a, void *buf, size_t size)
{
	struct arena_block *b = buf;

	b->next = NULL;
	b->used = 0;
	b->size = (size - sizeof(*b)) / sizeof(max_align_t);
	a->head = b;
	a->borrowed = b;
	a->work = 0;
	a->work_max = 0;
}

void arena_free(struct arena *a)
{
	struct arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		if (b != a->borrowed)
			free(b);
	}
	a->head = NULL;
	a->borrowed = NULL;
}

/* ------------------------------------------------------------------ */
/* Types */

static const struct {
	const char *canon, *sql;
} type_names[] = {
    [WT_UNKNOWN] = {"unknown", "unknown"},
    [WT_NULL] = {"unknown", "unknown"},
    [WT_BOOL] = {"bool", "boolean"},
    [WT_INT2] = {"int2", "smallint"},
    [WT_INT4] = {"int4", "integer"},
    [WT_INT8] = {"int8", "bigint"},
    [WT_NUMERIC] = {"numeric", "numeric"},
    [WT_FLOAT4] = {"float4", "real"},
    [WT_FLOAT8] = {"float8", "double precision"},
    [WT_TEXT] = {"text", "text"},
    [WT_VARCHAR] = {"varchar", "character varying"},
    [WT_BPCHAR] = {"bpchar", "character"},
    [WT_UUID] = {"uuid", "uuid"},
    [WT_DATE] = {"date", "date"},
    [WT_TIME] = {"time", "time without time zone"},
    [WT_TIMESTAMP] = {"timestamp", "timestamp without time zone"},
    [WT_TIMESTAMPTZ] = {"timestamptz", "timestamp with time zone"},
    [WT_INTERVAL] = {"interval", "interval"},
    [WT_ENUM] = {"enum", "enum"},
};

static const struct {
	const char *name;
	enum wt t;
} type_aliases[] = {
    {"bool", WT_BOOL},
    {"boolean", WT_BOOL},
    {"int2", WT_INT2},
    {"smallint", WT_INT2},
    {"int4", WT_INT4},
    {"int", WT_INT4},
    {"integer", WT_INT4},
    {"int8", WT_INT8},
    {"bigint", WT_INT8},
    {"numeric", WT_NUMERIC},
    {"decimal", WT_NUMERIC},
    {"float4", WT_FLOAT4},
    {"real", WT_FLOAT4},
    {"float8", WT_FLOAT8},
    {"float", WT_FLOAT8},
    {"double precision", WT_FLOAT8},
    {"text", WT_TEXT},
    {"varchar", WT_VARCHAR},
    {"character varying", WT_VARCHAR},
    {"bpchar", WT_BPCHAR},
    {"char", WT_BPCHAR},
    {"character", WT_BPCHAR},
    {"uuid", WT_UUID},
    {"date", WT_DATE},
    {"time", WT_TIME},
    {"time without time zone", WT_TIME},
    {"timestamp", WT_TIMESTAMP},
    {"timestamp without time zone", WT_TIMESTAMP},
    {"timestamptz", WT_TIMESTAMPTZ},
    {"timestamp with time zone", WT_TIMESTAMPTZ},
    {"interval", WT_INTERVAL},
};

int wt_is_int(enum wt t)
{
	return t == WT_INT2 || t == WT_INT4 || t == WT_INT8;
}

int wt_is_numeric(enum wt t)
{
	return t >= WT_INT2 && t <= WT_FLOAT8;
}

int wt_is_text(enum wt t)
{
	return t == WT_TEXT || t == WT_VARCHAR || t == WT_BPCHAR;
}

int wtype_eq(const struct wtype *a, const struct wtype *b)
{
	if (a->base != b->base || a->array != b->array)
		return 0;
	if (a->base == WT_ENUM)
		return strcmp(a->ename, b->ename) == 0;
	return 1;
}

void wtype_sqlname(const struct wtype *t, struct ss_buf *out)
{
	if (t->base == WT_ENUM)
		ss_buf_adds(out, t->ename);
	else
		ss_buf_adds(out, type_names[t->base].sql);
	if (t->array)
		ss_buf_adds(out, "[]");
}

void wtype_canon(const struct wtype *t, struct ss_buf *out)
{
	if (t->base == WT_ENUM) {
		/* Quote enum names that would not survive re-parsing. */
		const char *p;
		int plain = (t->ename[0] >= 'a' && t->ename[0] <= 'z') ||
			    t->ename[0] == '_';

		for (p = t->ename; *p && plain; p++)
			if (!((*p >= 'a' && *p <= 'z') || *p == '_' ||
			      (*p >= '0' && *p <= '9')))
				plain = 0;
		if (plain) {
			ss_buf_adds(out, t->ename);
		} else {
			ss_buf_addc(out, '"');
			for (p = t->ename; *p; p++) {
				if (*p == '"')
					ss_buf_addc(out, '"');
				ss_buf_addc(out, *p);
			}
			ss_buf_addc(out, '"');
		}
	} else {
		ss_buf_adds(out, type_names[t->base].canon);
	}
	if (t->typmod >= 0) {
		if (t->base == WT_NUMERIC)
			ss_buf_addf(out, "(%d,%d)", (int)(t->typmod >> 16),
				    (int)(t->typmod & 0xffff));
		else
			ss_buf_addf(out, "(%d)", (int)t->typmod);
	}
	if (t->array)
		ss_buf_adds(out, "[]");
}

int wtype_lookup(const char *name, struct wtype *t)
{
	size_t i, len = strlen(name);

	memset(t, 0, sizeof(*t));
	t->typmod = -1;
	if (len > 2 && strcmp(name + len - 2, "[]") == 0) {
		char tmp[64];

		if (len - 2 >= sizeof(tmp))
			return -1;
		memcpy(tmp, name, len - 2);
		tmp[len - 2] = '\0';
		if (wtype_lookup(tmp, t) < 0 || t->array)
			return -1;
		t->array = 1;
		return 0;
	}
	if (name[0] == '_') {
		if (wtype_lookup(name + 1, t) < 0 || t->array)
			return -1;
		t->array = 1;
		return 0;
	}
	for (i = 0; i < sizeof(type_aliases) / sizeof(type_aliases[0]); i++) {
		if (strcmp(type_aliases[i].name, name) == 0) {
			t->base = type_aliases[i].t;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Numeric: value = sign * D * 10^-scale, D held as decimal digits (0-9,
 * most significant first, no leading zeros; nd == 0 is zero). `scale` is
 * also PostgreSQL's display scale, so "1.50" keeps its trailing zero. */

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

static struct num *num_new(struct arena *a, size_t nd)
{
	struct num *n = arena_alloc(a, sizeof(*n));

	n->d = arena_alloc(a, nd ? nd : 1);
	n->nd = nd;
	return n;
}

static void num_strip(struct num *n)
{
	size_t k = 0;

	while (k < n->nd && n->d[k] == 0)
		k++;
	if (k) {
		memmove(n->d, n->d + k, n->nd - k);
		n->nd -= k;
	}
	if (n->nd == 0)
		n->neg = 0;
}

static struct num *num_special(struct arena *a, int special)
{
	struct num *n = num_new(a, 0);

	n->special = special;
	return n;
}

static int num_overflow(struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT, "value overflows numeric format");
}

/* PostgreSQL's make_result check: 0, or -1 with its error. */
static int num_limit(const struct num *n, struct ss_err *err)
{
	if (n->special || n->nd == 0)
		return 0;
	if ((long)n->nd - n->scale > NUM_MAX_WEIGHT_DIGITS ||
	    n->scale > NUM_MAX_DSCALE)
		return num_overflow(err);
	return 0;
}

int num_from_int(struct arena *a, int64_t i, struct num **out)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld", (long long)i);
	int k, start = buf[0] == '-';
	struct num *n = num_new(a, (size_t)(len - start));

	n->neg = start;
	for (k = start; k < len; k++)
		n->d[k - start] = (unsigned char)(buf[k] - '0');
	num_strip(n);
	*out = n;
	return 0;
}

int num_is_negative(const struct num *n)
{
	return n->special == NUM_NINF || (!n->special && n->neg && n->nd > 0);
}

static int num_err_syntax(struct ss_err *err, const char *s, size_t len)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type numeric: \"%.*s\"",
			  (int)len, s);
}

static int num_in(struct arena *a, const char *s, size_t len, struct num **out,
		  struct ss_err *err)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	size_t nint = 0, nfrac = 0;
	const char *intp, *fracp = NULL;
	long exp = 0;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	{
		size_t n = (size_t)(end - p);
		const char *q = p;
		int sgn = 0;

		if (n && (*q == '+' || *q == '-')) {
			sgn = *q == '-' ? -1 : 1;
			q++;
			n--;
		}
		if ((n == 3 && strncasecmp(q, "nan", 3) == 0 && !sgn)) {
			*out = num_special(a, NUM_NAN);
			return 0;
		}
		if ((n == 8 && strncasecmp(q, "infinity", 8) == 0) ||
		    (n == 3 && strncasecmp(q, "inf", 3) == 0)) {
			*out = num_special(a, sgn < 0 ? NUM_NINF : NUM_PINF);
			return 0;
		}
	}
	if (p < end && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	intp = p;
	while (p < end && isdigit((unsigned char)*p))
		p++, nint++;
	if (p < end && *p == '.') {
		p++;
		fracp = p;
		while (p < end && isdigit((unsigned char)*p))
			p++, nfrac++;
	}
	if (nint + nfrac == 0)
		return num_err_syntax(err, s, len);
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0;
		const char *q = p + 1;

		if (q < end && (*q == '+' || *q == '-')) {
			eneg = *q == '-';
			q++;
		}
		if (q >= end || !isdigit((unsigned char)*q))
			return num_err_syntax(err, s, len);
		while (q < end && isdigit((unsigned char)*q)) {
			exp = exp * 10 + (*q - '0');
			if (exp >= INT32_MAX / 2)
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "value overflows numeric format");
			q++;
		}
		if (eneg)
			exp = -exp;
		p = q;
	}
	if (p != end)
		return num_err_syntax(err, s, len);
	{
		long scale = (long)nfrac - exp;
		size_t extra = scale < 0 ? (size_t)(-scale) : 0;

		/* PostgreSQL's storage limits: 131072 digits before the
		 * point, a display scale of at most 16383 */
		if ((long)(nint + nfrac + extra) - (scale > 0 ? scale : 0) >
			131072 ||
		    scale > 16383)
			return ss_err_set(err, SS_ERR_INPUT,
					  "value overflows numeric format");
		size_t k = 0, i;
		struct num *n = num_new(a, nint + nfrac + extra);

		for (i = 0; i < nint; i++)
			n->d[k++] = (unsigned char)(intp[i] - '0');
		for (i = 0; i < nfrac; i++)
			n->d[k++] = (unsigned char)(fracp[i] - '0');
		n->nd = k + extra; /* extra zeros already 0 */
		n->scale = scale < 0 ? 0 : (int)scale;
		n->neg = neg;
		num_strip(n);
		*out = n;
	}
	return 0;
}

static void num_out(const struct num *n, struct ss_buf *out)
{
	size_t i;

	if (n->special == NUM_NAN) {
		ss_buf_adds(out, "NaN");
		return;
	}
	if (n->special == NUM_PINF) {
		ss_buf_adds(out, "Infinity");
		return;
	}
	if (n->special == NUM_NINF) {
		ss_buf_adds(out, "-Infinity");
		return;
	}
	if (n->neg)
		ss_buf_addc(out, '-');
	if (n->nd <= (size_t)n->scale) {
		ss_buf_addc(out, '0');
		if (n->scale > 0) {
			ss_buf_addc(out, '.');
			for (i = n->nd; i < (size_t)n->scale; i++)
				ss_buf_addc(out, '0');
			for (i = 0; i < n->nd; i++)
				ss_buf_addc(out, (char)('0' + n->d[i]));
		}
		return;
	}
	for (i = 0; i < n->nd; i++) {
		if (i == n->nd - (size_t)n->scale)
			ss_buf_addc(out, '.');
		ss_buf_addc(out, (char)('0' + n->d[i]));
	}
}

/* Digit of |n| at decimal position p (10^p). */
static int num_digit(const struct num *n, long p)
{
	long idx = (long)n->nd - 1 - (p + n->scale);

	if (idx < 0 || idx >= (long)n->nd)
		return 0;
	return n->d[idx];
}

static long num_top(const struct num *n) /* highest position + 1 */
{
	return (long)n->nd - n->scale;
}

static int num_magcmp(const struct num *x, const struct num *y)
{
	long hi = num_top(x) > num_top(y) ? num_top(x) : num_top(y);
	long lo = -(long)(x->scale > y->scale ? x->scale : y->scale);
	long p;

	for (p = hi - 1; p >= lo; p--) {
		int a = num_digit(x, p), b = num_digit(y, p);

		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

static int num_cmp(const struct num *x, const struct num *y)
{
	/* NaN sorts above everything and equals itself; then +-Infinity. */
	static const int rank[] = {
	    [NUM_FINITE] = 1, [NUM_NAN] = 3, [NUM_PINF] = 2, [NUM_NINF] = 0};

	if (x->special || y->special) {
		int rx = rank[x->special], ry = rank[y->special];

		return rx < ry ? -1 : rx > ry;
	}
	if (x->nd == 0 && y->nd == 0)
		return 0;
	if (x->neg != y->neg)
		return x->neg ? -1 : 1;
	if (x->nd == 0)
		return y->neg ? 1 : -1;
	if (y->nd == 0)
		return x->neg ? -1 : 1;
	return x->neg ? -num_magcmp(x, y) : num_magcmp(x, y);
}

/* |x| + |y| or |x| - |y| (requires |x| >= |y|), at the larger scale. */
static struct num *num_addmag(struct arena *a, const struct num *x,
			      const struct num *y, int sub)
{
	int scale = x->scale > y->scale ? x->scale : y->scale;
	long hi = (num_top(x) > num_top(y) ? num_top(x) : num_top(y)) + 1;
	size_t nd = (size_t)(hi + scale);
	struct num *r = num_new(a, nd);
	int carry = 0;
	long p;
	size_t k = nd;

	r->scale = scale;
	for (p = -scale; p < hi; p++) {
		int v = sub ? num_digit(x, p) - num_digit(y, p) - carry
			    : num_digit(x, p) + num_digit(y, p) + carry;

		if (sub) {
			carry = v < 0;
			if (v < 0)
				v += 10;
		} else {
			carry = v >= 10;
			if (v >= 10)
				v -= 10;
		}
		r->d[--k] = (unsigned char)v;
	}
	num_strip(r);
	return r;
}

static struct num *num_add(struct arena *a, const struct num *x,
			   const struct num *y, int subtract)
{
	int yneg = subtract ? !y->neg : y->neg;
	struct num *r;

	if (x->special || y->special) {
		int ys = y->special;

		if (subtract && ys == NUM_PINF)
			ys = NUM_NINF;
		else if (subtract && ys == NUM_NINF)
			ys = NUM_PINF;
		if (x->special == NUM_NAN || ys == NUM_NAN)
			return num_special(a, NUM_NAN);
		if (x->special && ys && x->special != ys)
			return num_special(a, NUM_NAN);
		return num_special(a, x->special ? x->special : ys);
	}
	if (x->neg == yneg || y->nd == 0 || x->nd == 0) {
		if (x->nd == 0 && y->nd == 0) {
			r = num_new(a, 0);
			r->scale = x->scale > y->scale ? x->scale : y->scale;
			return r;
		}
		r = num_addmag(a, x, y, 0);
		r->neg = x->nd ? x->neg : yneg;
	} else if (num_magcmp(x, y) >= 0) {
		r = num_addmag(a, x, y, 1);
		r->neg = x->neg;
	} else {
		r = num_addmag(a, y, x, 1);
		r->neg = yneg;
	}
	if (r->nd == 0)
		r->neg = 0;
	return r;
}

/* Decimal digits (most significant first) to base-10^9 limbs (least
 * significant first); returns the number of limbs. */
static size_t to_limbs(const unsigned char *d, size_t nd, uint32_t *out)
{
	size_t n = 0, end = nd;

	while (end > 0) {
		size_t start = end >= 9 ? end - 9 : 0, k;
		uint32_t v = 0;

		for (k = start; k < end; k++)
			v = v * 10 + d[k];
		out[n++] = v;
		end = start;
	}
	return n;
}

static struct num *num_mul(struct arena *a, const struct num *x,
			   const struct num *y)
{
	struct num *r;
	size_t i, j, nd;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN)
			return num_special(a, NUM_NAN);
		int sx = x->special ? (x->special == NUM_PINF ? 1 : -1)
				    : (x->nd == 0 ? 0 : (x->neg ? -1 : 1));
		int sy = y->special ? (y->special == NUM_PINF ? 1 : -1)
				    : (y->nd == 0 ? 0 : (y->neg ? -1 : 1));
		if (sx * sy == 0)
			return num_special(a, NUM_NAN);
		return num_special(a, sx * sy > 0 ? NUM_PINF : NUM_NINF);
	}
	nd = x->nd + y->nd;
	r = num_new(a, nd);
	r->scale = x->scale + y->scale;
	if (x->nd == 0 || y->nd == 0) {
		r->nd = 0;
		return r;
	}
	{
		/* schoolbook over base-10^9 limbs: 81 times fewer steps than
		 * over decimal digits, which matters for the 100000-digit
		 * values PostgreSQL allows */
		size_t nx = (x->nd + 8) / 9, ny = (y->nd + 8) / 9, k;
		uint32_t *lx = arena_alloc(a, nx * sizeof(*lx));
		uint32_t *ly = arena_alloc(a, ny * sizeof(*ly));
		uint64_t *acc = arena_alloc(a, (nx + ny) * sizeof(*acc));

		nx = to_limbs(x->d, x->nd, lx);
		ny = to_limbs(y->d, y->nd, ly);
		for (i = 0; i < nx; i++) {
			uint64_t carry = 0;

			for (j = 0; j < ny; j++) {
				uint64_t cur = acc[i + j] +
					       (uint64_t)lx[i] * ly[j] + carry;

				acc[i + j] = cur % 1000000000u;
				carry = cur / 1000000000u;
			}
			acc[i + ny] += carry;
		}
		/* back to decimal digits, right-aligned in r->d */
		memset(r->d, 0, nd);
		k = nd;
		for (i = 0; i < nx + ny && k > 0; i++) {
			uint64_t v = acc[i];
			int t;

			for (t = 0; t < 9 && k > 0; t++) {
				r->d[--k] = (unsigned char)(v % 10);
				v /= 10;
			}
		}
	}
	r->neg = x->neg != y->neg;
	num_strip(r);
	return r;
}

/* Base-10^9 limbs (least significant first) back to `nd` decimal digits,
 * right-aligned (most significant first; the top is zero-filled). */
static void from_limbs(const uint32_t *l, size_t nl, unsigned char *d,
		       size_t nd)
{
	size_t i, k = nd;

	memset(d, 0, nd);
	for (i = 0; i < nl && k > 0; i++) {
		uint32_t v = l[i];
		int t;

		for (t = 0; t < 9 && k > 0; t++) {
			d[--k] = (unsigned char)(v % 10);
			v /= 10;
		}
	}
}

#define LIMB 1000000000u

/*
 * Integer division of digit arrays: q = n / dv (truncated, nn digits),
 * the remainder left right-aligned in n. dv must not be zero. Long
 * division over base-10^9 limbs (Knuth's algorithm D): digit by digit, a
 * 130000-digit dividend over a 65000-digit divisor took 19 s; over limbs
 * it is some 800 times fewer steps.
 */
static void dig_div(struct arena *a, unsigned char *n, size_t nn,
		    const unsigned char *dv, size_t ndv, unsigned char *q)
{
	size_t nu = (nn + 8) / 9 + 1, nv = (ndv + 8) / 9, i, j;
	uint32_t *u = arena_alloc(a, (nu + 1) * sizeof(*u));
	uint32_t *v = arena_alloc(a, (nv + 1) * sizeof(*v));
	uint32_t *ql = arena_alloc(a, (nu + 1) * sizeof(*ql));
	uint64_t dnorm, carry;

	nu = to_limbs(n, nn, u);
	nv = to_limbs(dv, ndv, v);
	while (nv > 0 && v[nv - 1] == 0)
		nv--;
	while (nu > 0 && u[nu - 1] == 0)
		nu--;
	if (nu < nv) {
		/* quotient 0, remainder n: nothing to do */
		memset(q, 0, nn);
		return;
	}
	if (nv == 1) {
		uint64_t rem = 0;

		for (i = nu; i-- > 0;) {
			uint64_t cur = rem * LIMB + u[i];

			ql[i] = (uint32_t)(cur / v[0]);
			rem = cur % v[0];
		}
		from_limbs(ql, nu, q, nn);
		u[0] = (uint32_t)rem;
		from_limbs(u, 1, n, nn);
		return;
	}
	/* Normalise so that the divisor's top limb is at least LIMB / 2:
	 * then each estimated quotient limb is at most 2 too large. */
	dnorm = LIMB / ((uint64_t)v[nv - 1] + 1);
	carry = 0;
	for (i = 0; i < nv; i++) {
		uint64_t cur = (uint64_t)v[i] * dnorm + carry;

		v[i] = (uint32_t)(cur % LIMB);
		carry = cur / LIMB;
	}
	carry = 0;
	for (i = 0; i < nu; i++) {
		uint64_t cur = (uint64_t)u[i] * dnorm + carry;

		u[i] = (uint32_t)(cur % LIMB);
		carry = cur / LIMB;
	}
	u[nu] = (uint32_t)carry;
	memset(ql, 0, (nu + 1) * sizeof(*ql));
	for (j = nu - nv + 1; j-- > 0;) {
		uint64_t top = (uint64_t)u[j + nv] * LIMB + u[j + nv - 1];
		uint64_t qhat = top / v[nv - 1], rhat = top % v[nv - 1];
		int64_t borrow = 0;

		while (qhat >= LIMB ||
		       qhat * v[nv - 2] > rhat * LIMB + u[j + nv - 2]) {
			qhat--;
			rhat += v[nv - 1];
			if (rhat >= LIMB)
				break;
		}
		/* u[j..j+nv] -= qhat * v */
		carry = 0;
		for (i = 0; i < nv; i++) {
			uint64_t p = qhat * v[i] + carry;
			int64_t t = (int64_t)u[i + j] - borrow -
				    (int64_t)(p % LIMB);

			carry = p / LIMB;
			borrow = t < 0;
			u[i + j] = (uint32_t)(t < 0 ? t + LIMB : t);
		}
		{
			int64_t t = (int64_t)u[j + nv] - borrow - (int64_t)carry;

			borrow = t < 0;
			u[j + nv] = (uint32_t)(t < 0 ? t + LIMB : t);
		}
		if (borrow) {
			/* qhat was one too large: add v back */
			qhat--;
			carry = 0;
			for (i = 0; i < nv; i++) {
				uint64_t t = (uint64_t)u[i + j] + v[i] + carry;

				u[i + j] = (uint32_t)(t % LIMB);
				carry = t / LIMB;
			}
			u[j + nv] = (uint32_t)(((uint64_t)u[j + nv] + carry) %
					       LIMB);
		}
		ql[j] = (uint32_t)qhat;
	}
	from_limbs(ql, nu - nv + 1, q, nn);
	/* The remainder is u[0..nv) / dnorm. */
	{
		uint64_t rem = 0;

		for (i = nv; i-- > 0;) {
			uint64_t cur = rem * LIMB + u[i];

			u[i] = (uint32_t)(cur / dnorm);
			rem = cur % dnorm;
		}
	}
	from_limbs(u, nv, n, nn);
}

/* PostgreSQL's base-10000 weight and first digit, for select_div_scale. */
static void num_nbase(const struct num *x, int *weight, int *first)
{
	long top = num_top(x), p;
	long w;

	if (x->nd == 0) {
		*weight = 0;
		*first = 0;
		return;
	}
	/* position of highest nonzero digit is top-1; its group: */
	p = top - 1;
	w = p >= 0 ? p / 4 : -((-p + 3) / 4);
	*weight = (int)w;
	*first = num_digit(x, w * 4 + 3) * 1000 +
		 num_digit(x, w * 4 + 2) * 100 + num_digit(x, w * 4 + 1) * 10 +
		 num_digit(x, w * 4);
}

static int num_div(struct arena *a, const struct num *x, const struct num *y,
		   struct num **out, struct ss_err *err)
{
	int w1, f1, w2, f2, qweight, rscale;
	long e;
	size_t nn, i;
	unsigned char *nbuf, *q;
	struct num *r;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN) {
			*out = num_special(a, NUM_NAN);
			return 0;
		}
		if (x->special) {
			if (y->special) {
				*out = num_special(a, NUM_NAN);
				return 0;
			}
			if (y->nd == 0)
				return ss_err_set(err, SS_ERR_INPUT,
						  "division by zero");
			*out = num_special(a, (x->special == NUM_PINF) != y->neg
						  ? NUM_PINF
						  : NUM_NINF);
			return 0;
		}
		*out = num_new(a, 0);
		return 0;
	}
	if (y->nd == 0)
		return ss_err_set(err, SS_ERR_INPUT, "division by zero");
	num_nbase(x, &w1, &f1);
	num_nbase(y, &w2, &f2);
	qweight = w1 - w2;
	if (f1 <= f2)
		qweight--;
	rscale = 16 - qweight * 4;
	if (rscale < x->scale)
		rscale = x->scale;
	if (rscale < y->scale)
		rscale = y->scale;
	if (rscale < 0)
		rscale = 0;
	if (rscale > NUM_MAX_DISPLAY_SCALE)
		rscale = NUM_MAX_DISPLAY_SCALE;
	/* q = Dx * 10^e / Dy with one extra digit to round on. */
	e = (long)y->scale - x->scale + rscale + 1;
	if (e < 0)
		e = 0; /* cannot happen: rscale >= x->scale */
	nn = x->nd + (size_t)e;
	nbuf = arena_alloc(a, nn);
	memcpy(nbuf, x->d, x->nd);
	q = arena_alloc(a, nn + 1);
	dig_div(a, nbuf, nn, y->d, y->nd, q + 1);
	/* round half away from zero on the last digit */
	{
		int carry = q[nn] >= 5;

		for (i = nn; i-- > 0;) {
			int v = q[i] + carry;

			carry = v >= 10;
			q[i] = (unsigned char)(v % 10);
		}
	}
	r = num_new(a, nn);
	memcpy(r->d, q, nn); /* drop the rounding digit */
	r->scale = rscale;
	r->neg = x->neg != y->neg;
	num_strip(r);
	*out = r;
	return 0;
}

static int num_mod(struct arena *a, const struct num *x, const struct num *y,
		   struct num **out, struct ss_err *err)
{
	int scale;
	size_t nx, ny;
	unsigned char *bx, *by, *q;
	struct num *r;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN) {
			*out = num_special(a, NUM_NAN);
			return 0;
		}
		if (x->special) {
			if (!y->special && y->nd == 0)
				return ss_err_set(err, SS_ERR_INPUT,
						  "division by zero");
			*out = num_special(a, NUM_NAN);
			return 0;
		}
		*out = (struct num *)x;
		return 0;
	}
	if (y->nd == 0)
		return ss_err_set(err, SS_ERR_INPUT, "division by zero");
	scale = x->scale > y->scale ? x->scale : y->scale;
	nx = x->nd + (size_t)(scale - x->scale);
	ny = y->nd + (size_t)(scale - y->scale);
	bx = arena_alloc(a, nx + 1);
	memcpy(bx, x->d, x->nd);
	by = arena_alloc(a, ny + 1);
	memcpy(by, y->d, y->nd);
	q = arena_alloc(a, nx + 1);
	dig_div(a, bx, nx, by, ny, q);
	r = num_new(a, nx);
	memcpy(r->d, bx, nx);
	r->scale = scale;
	r->neg = x->neg;
	num_strip(r);
	*out = r;
	return 0;
}

/* Round to `scale` decimals, half away from zero (numeric_round). */
static struct num *num_round(struct arena *a, const struct num *x, int scale)
{
	struct num *r;
	long drop;
	size_t keep, i;
	int carry;

	if (x->special)
		return (struct num *)x;
	drop = (long)x->scale - scale;
	if (drop <= 0) {
		r = num_new(a, x->nd + (size_t)(-drop));
		memcpy(r->d, x->d, x->nd);
		r->nd = x->nd + (size_t)(-drop);
		r->scale = scale;
		r->neg = x->neg;
		num_strip(r);
		return r;
	}
	keep = x->nd > (size_t)drop ? x->nd - (size_t)drop : 0;
	r = num_new(a, keep + 1);
	r->d[0] = 0;
	memcpy(r->d + 1, x->d, keep);
	r->nd = keep + 1;
	carry = (x->nd >= (size_t)drop) ? x->d[keep] >= 5 : 0;
	for (i = r->nd; i-- > 0 && carry;) {
		int v = r->d[i] + carry;

		carry = v >= 10;
		r->d[i] = (unsigned char)(v % 10);
	}
	r->scale = scale;
	r->neg = x->neg;
	num_strip(r);
	return r;
}

/* numeric -> int64 rounding half away from zero; -1 when out of range. */
static int num_to_i64(struct arena *a, const struct num *x, int64_t *out)
{
	struct num *r;
	uint64_t v = 0;
	size_t i;

	if (x->special)
		return -1;
	r = num_round(a, x, 0);
	if (r->nd > 19)
		return -1;
	for (i = 0; i < r->nd; i++) {
		if (v > (UINT64_MAX - r->d[i]) / 10)
			return -1;
		v = v * 10 + r->d[i];
	}
	if (r->neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

/* Apply a numeric(p,s) typmod: round to s, overflow when too many
 * integer digits. */
static int num_apply_typmod(struct arena *a, struct num *x, int32_t typmod,
			    struct num **out, struct ss_err *err)
{
	int prec = typmod >> 16, scale = typmod & 0xffff;
	struct num *r;

	if (typmod < 0 || x->special) {
		if (x->special && typmod >= 0 && x->special != NUM_NAN)
			return ss_err_set(err, SS_ERR_INPUT,
					  "numeric field overflow");
		*out = x;
		return 0;
	}
	r = num_round(a, x, scale);
	if (r->nd > 0 && num_top(r) > prec - scale)
		return ss_err_set(err, SS_ERR_INPUT, "numeric field overflow");
	*out = r;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Integers and floats */

static int int_range(enum wt t, int64_t v)
{
	if (t == WT_INT2)
		return v >= INT16_MIN && v <= INT16_MAX;
	if (t == WT_INT4)
		return v >= INT32_MIN && v <= INT32_MAX;
	return 1;
}

static int int_oor(enum wt t, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT, "%s out of range",
			  t == WT_INT2	 ? "smallint"
			  : t == WT_INT4 ? "integer"
					 : "bigint");
}

static int int_in(enum wt t, const char *s, size_t len, int64_t *out,
		  struct ss_err *err)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	uint64_t v = 0, lim;
	const char *tn = type_names[t].sql;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p < end && (*p == '-' || *p == '+')) {
		neg = *p == '-';
		p++;
	}
	if (p == end || !isdigit((unsigned char)*p))
		goto bad;
	lim = t == WT_INT2 ? 32767u : t == WT_INT4 ? 2147483647u : INT64_MAX;
	lim += neg;
	/* Like pg_strtoint*: overflow is reported as soon as a digit
	 * overflows, before any trailing junk is looked at. */
	while (p < end && isdigit((unsigned char)*p)) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > lim)
			goto oor;
		p++;
	}
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p != end)
		goto bad;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v)
		   : (int64_t)v;
	return 0;
oor:
	return ss_err_set(err, SS_ERR_INPUT,
			  "value \"%.*s\" is out of range for type %s",
			  (int)len, s, tn);
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type %s: \"%.*s\"", tn,
			  (int)len, s);
}

static int float_in(enum wt t, const char *s, size_t len, double *out,
		    struct ss_err *err)
{
	char buf[512], *endp;
	const char *p = s, *end = s + len;
	const char *tn = type_names[t].sql;
	double v;
	size_t n;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(buf))
		goto bad;
	memcpy(buf, p, n);
	buf[n] = '\0';
	{
		const char *q = buf;
		int neg = 0;

		if (*q == '+' || *q == '-') {
			neg = *q == '-';
			q++;
		}
		if (strcasecmp(q, "nan") == 0) {
			*out = NAN;
			return 0;
		}
		if (strcasecmp(q, "infinity") == 0 ||
		    strcasecmp(q, "inf") == 0) {
			*out = neg ? -INFINITY : INFINITY;
			return 0;
		}
		/* like float8in, whatever strtod() takes (hex too) */
	}
	errno = 0;
	if (t == WT_FLOAT4) {
		float f = strtof(buf, &endp);

		v = f;
		if (endp == buf || *endp)
			goto bad;
		if (errno == ERANGE && (f == 0 || isinf(f)))
			goto oor;
	} else {
		v = strtod(buf, &endp);
		if (endp == buf || *endp)
			goto bad;
		if (errno == ERANGE && (v == 0 || isinf(v)))
			goto oor;
	}
	*out = v;
	return 0;
oor:
	return ss_err_set(err, SS_ERR_INPUT,
			  "\"%.*s\" is out of range for type %s", (int)n, p,
			  tn);
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type %s: \"%.*s\"", tn,
			  (int)len, s);
}

/* Shortest text that reads back to the same value, laid out like
 * PostgreSQL's float output with extra_float_digits > 0. */
static void float_out(double v, int is4, struct ss_buf *out)
{
	char buf[64], digits[32];
	int prec, exp10, nd, i;
	int maxp = is4 ? 9 : 17;

	if (isnan(v)) {
		ss_buf_adds(out, "NaN");
		return;
	}
	if (isinf(v)) {
		ss_buf_adds(out, v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (v == 0) {
		ss_buf_adds(out, signbit(v) ? "-0" : "0");
		return;
	}
	for (prec = 1; prec <= maxp; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
		if (is4 ? strtof(buf, NULL) == (float)v
			: strtod(buf, NULL) == v)
			break;
	}
	/* buf: [-]d.ddde[+-]xx */
	{
		char *p = buf, *e;

		if (*p == '-') {
			ss_buf_addc(out, '-');
			p++;
		}
		e = strchr(p, 'e');
		exp10 = (int)strtol(e + 1, NULL, 10);
		nd = 0;
		for (; p < e; p++)
			if (*p != '.')
				digits[nd++] = *p;
		while (nd > 1 && digits[nd - 1] == '0')
			nd--;
	}
	if (exp10 < -4 || exp10 >= (is4 ? 6 : 15)) {
		ss_buf_addc(out, digits[0]);
		if (nd > 1) {
			ss_buf_addc(out, '.');
			ss_buf_add(out, digits + 1, (size_t)(nd - 1));
		}
		ss_buf_addf(out, "e%c%02d", exp10 < 0 ? '-' : '+',
			    exp10 < 0 ? -exp10 : exp10);
		return;
	}
	if (exp10 < 0) {
		ss_buf_adds(out, "0.");
		for (i = 0; i < -exp10 - 1; i++)
			ss_buf_addc(out, '0');
		ss_buf_add(out, digits, (size_t)nd);
		return;
	}
	for (i = 0; i <= exp10 || i < nd; i++) {
		if (i == exp10 + 1)
			ss_buf_addc(out, '.');
		ss_buf_addc(out, i < nd ? digits[i] : '0');
	}
}

static int float_cmp(double a, double b)
{
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	if (isnan(b))
		return -1;
	return a < b ? -1 : a > b;
}

/* ------------------------------------------------------------------ */
/* Dates and times (proleptic Gregorian, Julian day numbers like
 * PostgreSQL's date2j/j2date; dates are days from 2000-01-01). */

#define POSTGRES_EPOCH_JDATE 2451545
#define DATETIME_MIN_JULIAN 0
#define DATE_END_JULIAN 2147483494
#define TIMESTAMP_END_JULIAN 109203528
#define MIN_TIMESTAMP INT64_C(-211813488000000000)
#define END_TIMESTAMP INT64_C(9223371331200000000)

static int date2j(int y, int m, int d)
{
	int julian, century;

	if (m > 2) {
		m += 1;
		y += 4800;
	} else {
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

static void j2date(int jd, int *year, int *month, int *day)
{
	unsigned int julian, quad, extra;
	int y;

	julian = (unsigned int)jd;
	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = (int)(julian * 4 / 1461);
	julian =
	    ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
	y += (int)quad * 4;
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = (int)(julian - 7834 * quad / 256);
	*month = (int)((quad + 10) % 12 + 1);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30,
				 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* A parsed date/time string. */
struct dt {
	int has_date, has_time, has_tz;
	int year, mon, mday; /* year astronomical (1 BC = 0) */
	int64_t time_us;     /* since midnight */
	int tz_sec;	     /* offset east of UTC */
	int special;	     /* 1 +infinity, -1 -infinity, 2 epoch */
	const char *zone;    /* a zone name such as Europe/Paris, or NULL */
	size_t zonelen;
};

static int rd_int(const char **pp, const char *end, int maxd, int *out)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (p < end && isdigit((unsigned char)*p) && n < maxd) {
		v = v * 10 + (*p - '0');
		p++, n++;
	}
	if (n == 0)
		return -1;
	*pp = p;
	*out = v;
	return n;
}

/* Read "hh:mm[:ss[.ffffff]]" (hours may exceed 24 only when allow_big). */
/* Fractional seconds ".ddd" as microseconds, rounded like PostgreSQL's
 * rint(frac * 1e6) on the strtod() value. */
static int64_t rd_frac(const char **pp, const char *end)
{
	char buf[40];
	size_t n = 1;
	const char *p = *pp;

	buf[0] = '0';
	while (p < end &&
	       (isdigit((unsigned char)*p) || (*p == '.' && n == 1))) {
		if (n < sizeof(buf) - 1)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	*pp = p;
	return (int64_t)rint(strtod(buf, NULL) * 1000000.0);
}

/* Read "h:mm[:ss[.ffffff]]" (1 or 2 digit fields), or "hhmm[ss[.f]]". */
static int rd_time(const char **pp, const char *end, int64_t *us, int *oor)
{
	const char *p = *pp;
	int h, m, s = 0, n;
	int64_t frac = 0;

	n = rd_int(&p, end, 6, &h);
	if (n < 0)
		return -1;
	if (n == 4 || n == 6) {
		/* concatenated ISO time */
		if (p < end && *p == ':')
			return -1;
		if (n == 6) {
			s = h % 100;
			h /= 100;
		}
		m = h % 100;
		h /= 100;
		if (p < end && *p == '.' && n == 6)
			frac = rd_frac(&p, end);
		goto check;
	}
	if (n > 2 || p >= end || *p != ':')
		return -1;
	p++;
	if (rd_int(&p, end, 2, &m) < 0)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (rd_int(&p, end, 2, &s) < 0)
			return -1;
		if (p < end && *p == '.')
			frac = rd_frac(&p, end);
	} else if (p < end && *p == '.') {
		/* "mm:ss.f" is not a time of day form we accept */
		return -1;
	}
check:
	if (m > 59 || s > 60 || h > 24 ||
	    (h == 24 && (m > 0 || s > 0 || frac > 0)))
		*oor = 1;
	*us = ((int64_t)h * 3600 + m * 60 + s) * 1000000 + frac;
	*pp = p;
	return 0;
}

/* Time zone abbreviations with a fixed offset, from PostgreSQL's
 * "Default" set (full zone names such as Europe/Paris are not known). */
static const struct {
	const char *name;
	int secs;
} tz_abbrevs[] = {
    {"utc", 0},	      {"gmt", 0},      {"z", 0},	{"ut", 0},
    {"zulu", 0},      {"wet", 0},      {"west", 3600},	{"bst", 3600},
    {"cet", 3600},    {"cest", 7200},  {"met", 3600},	{"mest", 7200},
    {"eet", 7200},    {"eest", 10800}, {"msk", 10800},	{"ist", 7200},
    {"jst", 32400},   {"kst", 32400},  {"hkt", 28800},	{"awst", 28800},
    {"acst", 34200},  {"aest", 36000}, {"aedt", 39600}, {"nzst", 43200},
    {"nzdt", 46800},  {"ast", -14400}, {"adt", -10800}, {"est", -18000},
    {"edt", -14400},  {"cst", -21600}, {"cdt", -18000}, {"mst", -25200},
    {"mdt", -21600},  {"pst", -28800}, {"pdt", -25200}, {"akst", -32400},
    {"akdt", -28800}, {"hst", -36000}, {"nst", -12600}, {"ndt", -9000},
};

/* Read a numeric offset, an abbreviation, or a zone name (the name is
 * only located here: d->zone; ts_in looks it up). */
static int rd_tz(const char **pp, const char *end, int *tz, struct dt *d)
{
	const char *p = *pp;
	int sign, h, m = 0, s = 0, n;

	if (p < end && isalpha((unsigned char)*p)) {
		const char *q = p;
		size_t i, n;

		while (q < end && isalpha((unsigned char)*q))
			q++;
		n = (size_t)(q - p);
		for (i = 0; i < sizeof(tz_abbrevs) / sizeof(tz_abbrevs[0]); i++)
			if (strlen(tz_abbrevs[i].name) == n &&
			    strncasecmp(p, tz_abbrevs[i].name, n) == 0 &&
			    (q == end || !(isalnum((unsigned char)*q) ||
					   *q == '/' || *q == '_'))) {
				*tz = tz_abbrevs[i].secs;
				*pp = q;
				return 0;
			}
		while (q < end && (isalnum((unsigned char)*q) || *q == '/' ||
				   *q == '_' || *q == '+' || *q == '-'))
			q++;
		d->zone = p;
		d->zonelen = (size_t)(q - p);
		*tz = 0;
		*pp = q;
		return 0;
	}
	if (p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p == '-' ? -1 : 1;
	p++;
	n = rd_int(&p, end, 4, &h);
	if (n < 0)
		return -1;
	if (n == 4) {
		m = h % 100;
		h /= 100;
	} else if (n == 3) {
		return -1;
	} else if (p < end && *p == ':') {
		p++;
		if (rd_int(&p, end, 2, &m) != 2)
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (rd_int(&p, end, 2, &s) != 2)
				return -1;
		}
	}
	if (h > 15 || m > 59 || s > 59)
		return -2;
	*tz = sign * (h * 3600 + m * 60 + s);
	*pp = p;
	return 0;
}

/*
 * Parse the ISO-ish spellings PostgreSQL prints and people write:
 * "2024-01-15", "2024-01-15 10:20:30.5", "2024-01-15T10:20:30Z",
 * "2024-01-15 10:20:30+05:30", "0044-03-15 BC", "10:20", "infinity".
 * Returns 0, -1 syntax error, -2 field out of range.
 */
static int month_word(const char *p, size_t n)
{
	static const char *const months[] = {"january", "february", "march",
					     "april",	"may",	    "june",
					     "july",	"august",   "september",
					     "october", "november", "december"};
	int i;

	if (n == 4 && strncasecmp(p, "sept", 4) == 0)
		return 9;
	for (i = 0; i < 12; i++)
		if (n >= 3 && n <= strlen(months[i]) &&
		    strncasecmp(p, months[i], n) == 0)
			return i + 1;
	return 0;
}

/* A date written with a month name: "January 15, 2024", "15 Jan 2024",
 * "2024-Jan-15". Sets *q past it; 0, or -1 when this is not one. */
static int rd_text_date(const char **pp, const char *end, int *y, int *m,
			int *dd)
{
	const char *p = *pp;
	int nums[2], ndig[2], nn = 0, mon = 0, i;
	const char *last = p;

	while (p < end && nn + (mon != 0) < 3) {
		while (p < end && (*p == ' ' || *p == ',' || *p == '-' ||
				   *p == '/' || *p == '.'))
			p++;
		if (p < end && isalpha((unsigned char)*p)) {
			const char *w = p;

			while (p < end && isalpha((unsigned char)*p))
				p++;
			if (mon || !(mon = month_word(w, (size_t)(p - w))))
				return -1;
		} else if (p < end && isdigit((unsigned char)*p)) {
			const char *w = p;

			if (nn == 2)
				return -1;
			ndig[nn] = rd_int(&p, end, 9, &nums[nn]);
			if (p < end && *p == ':') {
				p = w; /* a time: the date has ended */
				break;
			}
			nn++;
		} else {
			break;
		}
		last = p;
	}
	if (!mon || nn != 2)
		return -1;
	/* the year is the number with more than two digits, or the
	 * second one (DMY) */
	i = (ndig[0] > 2 || nums[0] > 31) ? 0 : 1;
	*y = nums[i];
	*dd = nums[1 - i];
	if (ndig[i] <= 2)
		*y += *y < 70 ? 2000 : 1900;
	*m = mon;
	*pp = last;
	return 0;
}

/*
 * Parse the spellings PostgreSQL prints and people write:
 * "2024-01-15", "2024-01-15 10:20:30.5", "2024-01-15T10:20:30Z",
 * "2024-01-15 10:20:30+05:30", "0044-03-15 BC", "10:20", "infinity",
 * "15/01/2024" (DateStyle DMY), "20240115", "January 15, 2024",
 * "2024-01-15 10:00 PST". Returns 0, -1 syntax error, -2 field out of
 * range.
 */
static int dt_parse(const char *s, size_t len, int want_date, struct dt *d)
{
	const char *p = s, *end = s + len;
	int oor = 0;

	memset(d, 0, sizeof(*d));
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p == 8 && strncasecmp(p, "infinity", 8) == 0) {
		d->special = 1;
		return 0;
	}
	if (end - p == 9 && strncasecmp(p, "+infinity", 9) == 0) {
		d->special = 1;
		return 0;
	}
	if (end - p == 9 && strncasecmp(p, "-infinity", 9) == 0) {
		d->special = -1;
		return 0;
	}
	if (end - p == 5 && strncasecmp(p, "epoch", 5) == 0) {
		d->special = 2;
		return 0;
	}
	if (!want_date && end - p == 8 && strncasecmp(p, "allballs", 8) == 0) {
		d->has_time = 1;
		return 0;
	}
	if (want_date) {
		const char *q = p;
		int y, m, dd, n;

		n = rd_int(&q, end, 9, &y);
		if (n < 0 || (q < end && isalpha((unsigned char)*q) &&
			      !(n == 8 && (*q == 'T' || *q == 't')))) {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		} else if (q < end && (*q == '-' || *q == '/' || *q == '.') &&
			   q + 1 < end && isalpha((unsigned char)q[1])) {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		} else if (q < end && (*q == '-' || *q == '/' || *q == '.')) {
			char sep = *q;
			int nlast;

			q++;
			if (rd_int(&q, end, 2, &m) < 0 || q >= end || *q != sep)
				return -1;
			q++;
			nlast = rd_int(&q, end, 9, &dd);
			if (nlast < 0)
				return -1;
			if (n < 3) {
				/* DateStyle DMY: dd-mm-yyyy */
				int t = y;

				y = dd;
				dd = t;
				if (nlast <= 2)
					y += y < 70 ? 2000 : 1900;
			}
		} else if (n >= 8 && !(q < end && isdigit((unsigned char)*q))) {
			/* yyyymmdd */
			dd = y % 100;
			m = (y / 100) % 100;
			y /= 10000;
		} else if (n == 9 && q < end && isdigit((unsigned char)*q)) {
			/* a longer run of digits: the year is all but the
			 * last four (yyyyyymmdd) */
			int64_t v = y;
			int k = 9;

			while (q < end && isdigit((unsigned char)*q) &&
			       k < 12) {
				v = v * 10 + (*q++ - '0');
				k++;
			}
			if (q < end && isdigit((unsigned char)*q))
				return -1;
			dd = (int)(v % 100);
			m = (int)((v / 100) % 100);
			if (v / 10000 > 5874897)
				return -2;
			y = (int)(v / 10000);
		} else {
			q = p;
			if (rd_text_date(&q, end, &y, &m, &dd) < 0)
				return -1;
		}
		if (y == 0)
			oor = 1;
		d->year = y;
		d->mon = m;
		d->mday = dd;
		d->has_date = 1;
		p = q;
		if (p < end && (*p == 'T' || *p == 't') && p + 1 < end &&
		    isdigit((unsigned char)p[1]))
			p++;
		while (p < end && *p == ' ')
			p++;
	} else if (p + 1 < end && (*p == 'T' || *p == 't') &&
		   isdigit((unsigned char)p[1])) {
		p++; /* ISO 8601 "T10:20" */
	}
	if (p < end && isdigit((unsigned char)*p)) {
		if (rd_time(&p, end, &d->time_us, &oor) < 0)
			return -1;
		d->has_time = 1;
		while (p < end && *p == ' ')
			p++;
	}
	if (p < end &&
	    !(d->has_date && end - p == 2 &&
	      (strncasecmp(p, "BC", 2) == 0 || strncasecmp(p, "AD", 2) == 0))) {
		int r = rd_tz(&p, end, &d->tz_sec, d);

		if (r == -2)
			oor = 1;
		else if (r < 0)
			return -1;
		d->has_tz = 1;
		while (p < end && *p == ' ')
			p++;
	}
	if (d->has_date && end - p == 2 && strncasecmp(p, "BC", 2) == 0) {
		d->year = 1 - d->year;
		p += 2;
	} else if (d->has_date && end - p == 2 &&
		   strncasecmp(p, "AD", 2) == 0) {
		p += 2;
	}
	if (p != end)
		return -1;
	if (d->has_date && (d->mon < 1 || d->mon > 12 || d->mday < 1 ||
			    d->mday > days_in_month(d->year, d->mon)))
		oor = 1;
	return oor ? -2 : 0;
}

static int dt_err(int r, const char *tn, const char *s, size_t len,
		  struct ss_err *err)
{
	if (r == -2)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "date/time field value out of range: \"%.*s\"", (int)len,
		    s);
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type %s: \"%.*s\"", tn,
			  (int)len, s);
}

static int dt_zone(const struct dt *d, int with_tz, int32_t *off,
		   struct ss_err *err);

static int date_in(const char *s, size_t len, int64_t *out, struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 1, &d);
	int jd;

	if (r == 0 && d.special) {
		/* epoch is 1970-01-01, 10957 days before 2000-01-01 */
		*out = d.special == 1	 ? DATE_NOEND
		       : d.special == -1 ? DATE_NOBEGIN
					 : -10957;
		return 0;
	}
	if (r == 0 && !d.has_date)
		r = -1;
	if (r < 0)
		return dt_err(r, "date", s, len, err);
	if (d.zone) {
		int32_t off; /* a zone is checked, then ignored */

		if (dt_zone(&d, 0, &off, err) < 0)
			return -1;
	}
	if (d.year < -4713 || (d.year == -4713 && d.mon < 11) ||
	    d.year > 5874897)
		return ss_err_set(err, SS_ERR_INPUT,
				  "date out of range: \"%.*s\"", (int)len, s);
	jd = date2j(d.year, d.mon, d.mday);
	*out = jd - POSTGRES_EPOCH_JDATE;
	return 0;
}

/*
 * Zone names (Europe/Paris) come from the system time zone database, as
 * Debian's PostgreSQL uses it (--with-system-tzdata=/usr/share/zoneinfo).
 * Only the transitions in the file are used: for later times a zone with
 * daylight saving rules is an error rather than a guess.
 */
#define TZDIR "/usr/share/zoneinfo"

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

/* POSIX TZ string pieces: a name, an offset (west positive), a date. */
static const char *tzs_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p ? p + 1 : NULL;
	}
	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalpha((unsigned char)*p))
		p++;
	return p;
}

static const char *tzs_time(const char *p, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		h = h * 10 + (*p++ - '0');
	if (*p == ':') {
		p++;
		while (isdigit((unsigned char)*p))
			m = m * 10 + (*p++ - '0');
		if (*p == ':') {
			p++;
			while (isdigit((unsigned char)*p))
				s = s * 10 + (*p++ - '0');
		}
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *tzs_date(const char *p, struct tzrule_date *r)
{
	r->secs = 7200;
	if (*p == 'M') {
		r->kind = 'M';
		if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 ||
		    r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 ||
		    r->d > 6)
			return NULL;
		p++;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
	} else {
		r->kind = *p == 'J' ? 'J' : 'n';
		if (*p == 'J')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		r->d = 0;
		while (isdigit((unsigned char)*p))
			r->d = r->d * 10 + (*p++ - '0');
	}
	if (*p == '/')
		p = tzs_time(p + 1, &r->secs);
	return p;
}

/* Parse the footer; 0 when it has DST rules we understand. */
static int tz_parse_rule(const char *p, struct tzdb *tz)
{
	int32_t o;

	if (!(p = tzs_name(p)) || !(p = tzs_time(p, &o)))
		return -1;
	tz->std_off = -o;
	if (!*p)
		return -1; /* no DST */
	if (!(p = tzs_name(p)))
		return -1;
	tz->dst_off = tz->std_off + 3600;
	if (*p != ',') {
		if (!(p = tzs_time(p, &o)))
			return -1;
		tz->dst_off = -o;
	}
	if (*p++ != ',' || !(p = tzs_date(p, &tz->start)) || *p++ != ',' ||
	    !(p = tzs_date(p, &tz->end)) || *p)
		return -1;
	return 0;
}

/* The UTC instant of a rule date in `year`, its time read at offset. */
static int64_t tz_rule_instant(const struct tzrule_date *r, int year,
			       int32_t off)
{
	int64_t jd;

	if (r->kind == 'M') {
		int first = date2j(year, r->m, 1);
		int dow = (first + 1) % 7; /* 0 = Sunday */
		int day = 1 + (r->d - dow + 7) % 7 + (r->w - 1) * 7;

		while (day > days_in_month(year, r->m))
			day -= 7;
		jd = first + day - 1;
	} else if (r->kind == 'J') {
		/* 1..365, February 29 never counted */
		jd = date2j(year, 1, 1) + r->d - 1;
		if (r->d >= 60 && days_in_month(year, 2) == 29)
			jd++;
	} else {
		jd = date2j(year, 1, 1) + r->d;
	}
	return (jd - 2440588) * 86400 + r->secs - off;
}

static int tz_year_of(int64_t utc)
{
	int y, m, d;
	int64_t days = utc / 86400 - (utc % 86400 < 0);

	j2date((int)(days + 2440588), &y, &m, &d);
	return y;
}

/* Offset at a UTC instant under the footer's rules. */
static int32_t tz_rule_offset(const struct tzdb *tz, int64_t utc)
{
	int y = tz_year_of(utc);
	int64_t s = tz_rule_instant(&tz->start, y, tz->std_off);
	int64_t e = tz_rule_instant(&tz->end, y, tz->dst_off);
	int dst = s < e ? (utc >= s && utc < e) : !(utc >= e && utc < s);

	return dst ? tz->dst_off : tz->std_off;
}

/* The first rule transition after a UTC instant. */
static int64_t tz_rule_next(const struct tzdb *tz, int64_t utc)
{
	int y = tz_year_of(utc), k;
	int64_t best = INT64_MAX;

	for (k = -1; k <= 1; k++) {
		int64_t s = tz_rule_instant(&tz->start, y + k, tz->std_off);
		int64_t e = tz_rule_instant(&tz->end, y + k, tz->dst_off);

		if (s > utc && s < best)
			best = s;
		if (e > utc && e < best)
			best = e;
	}
	return best;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int tz_name_ok(const char *z, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || !isalpha((unsigned char)z[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!(isalnum((unsigned char)z[i]) || z[i] == '/' ||
		      z[i] == '_' || z[i] == '+' || z[i] == '-'))
			return 0;
		if (z[i] == '/' && (i + 1 == n || z[i + 1] == '/'))
			return 0;
	}
	return 1;
}

/* Zone names match case-insensitively, as in PostgreSQL: find the file
 * one path component at a time. */
static int tz_find_ci(char *path, size_t size, const char *z, size_t n)
{
	size_t plen, i = 0;

	plen = (size_t)snprintf(path, size, "%s", TZDIR);
	while (i < n) {
		size_t j = i;
		DIR *dir;
		struct dirent *de;
		int found = 0;

		while (j < n && z[j] != '/')
			j++;
		dir = opendir(path);
		if (!dir)
			return -1;
		while ((de = readdir(dir)) != NULL) {
			if (strlen(de->d_name) == j - i &&
			    strncasecmp(de->d_name, z + i, j - i) == 0 &&
			    de->d_name[0] != '.') {
				plen +=
				    (size_t)snprintf(path + plen, size - plen,
						     "/%s", de->d_name);
				found = 1;
				break;
			}
		}
		closedir(dir);
		if (!found || plen >= size)
			return -1;
		i = j + 1;
	}
	return 0;
}

static int tz_load(struct arena *a, const char *z, size_t n, struct tzdb *tz)
{
	char path[128];
	unsigned char *buf;
	size_t len, i, off, v1;
	FILE *f;
	uint32_t cnt[6];

	memset(tz, 0, sizeof(*tz));
	if (!tz_name_ok(z, n))
		return -1;
	snprintf(path, sizeof(path), "%s/%.*s", TZDIR, (int)n, z);
	f = fopen(path, "rb");
	if (!f && tz_find_ci(path, sizeof(path), z, n) == 0)
		f = fopen(path, "rb");
	if (!f)
		return -1;
	buf = arena_alloc(a, 1 << 18);
	len = fread(buf, 1, 1 << 18, f);
	fclose(f);
	if (len < 44 || memcmp(buf, "TZif", 4) != 0)
		return -1;
	for (i = 0; i < 6; i++)
		cnt[i] = be32(buf + 20 + 4 * i);
	off = 44;
	if (buf[4] >= '2') {
		/* skip the 32-bit block for the 64-bit one */
		v1 = (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] +
		     (size_t)cnt[2] * 8 + cnt[1] + cnt[0];
		off += v1;
		if (off + 44 > len || memcmp(buf + off, "TZif", 4) != 0)
			return -1;
		for (i = 0; i < 6; i++)
			cnt[i] = be32(buf + off + 20 + 4 * i);
		off += 44;
	}
	{
		size_t w = buf[4] >= '2' ? 8 : 4;
		size_t need = (size_t)cnt[3] * (w + 1) + (size_t)cnt[4] * 6;

		if (cnt[4] == 0 || cnt[4] > 256 || off + need > len)
			return -1;
		tz->ntrans = cnt[3];
		tz->ntypes = cnt[4];
		tz->trans = arena_alloc(a, (tz->ntrans + 1) * sizeof(int64_t));
		tz->idx = arena_alloc(a, tz->ntrans + 1);
		tz->utoff = arena_alloc(a, tz->ntypes * sizeof(int32_t));
		for (i = 0; i < tz->ntrans; i++) {
			const unsigned char *q = buf + off + i * w;

			tz->trans[i] = w == 8
					   ? (int64_t)((uint64_t)be32(q) << 32 |
						       be32(q + 4))
					   : (int64_t)(int32_t)be32(q);
		}
		off += tz->ntrans * w;
		for (i = 0; i < tz->ntrans; i++) {
			tz->idx[i] = buf[off + i];
			if (tz->idx[i] >= tz->ntypes)
				return -1;
		}
		off += tz->ntrans;
		for (i = 0; i < tz->ntypes; i++)
			tz->utoff[i] = (int32_t)be32(buf + off + i * 6);
		off += tz->ntypes * 6;
	}
	/* footer: "\n<POSIX TZ>\n"; a ',' means DST rules, which take
	 * over after the last transition */
	if (buf[4] >= '2') {
		char footer[128];
		size_t n = 0;

		off += (size_t)cnt[5] + (size_t)cnt[2] * 12 + cnt[1] + cnt[0];
		for (i = off; i < len; i++)
			if (buf[i] == ',')
				tz->has_rule_after = 1;
		if (off < len && buf[off] == '\n') {
			for (i = off + 1; i < len && buf[i] != '\n' &&
					  n < sizeof(footer) - 1;
			     i++)
				footer[n++] = (char)buf[i];
			footer[n] = '\0';
			if (tz->has_rule_after &&
			    tz_parse_rule(footer, tz) == 0)
				tz->has_rule_after = 2; /* understood */
		}
	}
	return 0;
}

/*
 * The UTC offset for a local time (seconds since 1970 read as UTC), as
 * PostgreSQL's DetermineTimeZoneOffset does it: look at the transition
 * following a point a day earlier; a time in a spring-forward gap takes the
 * offset from before, a time repeated by a fall-back the one after.
 * Returns 0, or -1 when the time is beyond what the file describes.
 */
static int tz_local_offset(const struct tzdb *tz, int64_t local, int32_t *off)
{
	int64_t prev = local - 86400, before_t, after_t, boundary;
	int32_t before, after;
	size_t i;

	if (tz->ntrans == 0 || prev >= tz->trans[tz->ntrans - 1]) {
		if (tz->ntrans > 0 && tz->has_rule_after == 1)
			return -1;
		if (tz->ntrans == 0 || !tz->has_rule_after) {
			*off =
			    tz->utoff[tz->ntrans ? tz->idx[tz->ntrans - 1] : 0];
			return 0;
		}
		/* past the file: the footer's rules give the boundary */
		before = tz_rule_offset(tz, prev);
		boundary = tz_rule_next(tz, prev);
		after = tz_rule_offset(tz, boundary);
	} else {
		for (i = 0; i < tz->ntrans && tz->trans[i] <= prev; i++)
			;
		before = tz->utoff[i == 0 ? 0 : tz->idx[i - 1]];
		boundary = tz->trans[i];
		after = tz->utoff[tz->idx[i]];
	}
	before_t = local - before;
	after_t = local - after;
	if (before_t < boundary && after_t < boundary)
		*off = before;
	else if (before_t > boundary && after_t >= boundary)
		*off = after;
	else
		*off = before_t > after_t ? before : after;
	return 0;
}

/* The UTC offset in effect at a UTC instant; -1 beyond the file. */
static int tz_utc_offset(const struct tzdb *tz, int64_t utc, int32_t *off)
{
	size_t i;

	if (tz->ntrans > 0 && utc >= tz->trans[tz->ntrans - 1] &&
	    tz->has_rule_after) {
		if (tz->has_rule_after == 1)
			return -1;
		*off = tz_rule_offset(tz, utc);
		return 0;
	}
	for (i = 0; i < tz->ntrans && tz->trans[i] <= utc; i++)
		;
	*off = tz->utoff[i == 0 ? 0 : tz->idx[i - 1]];
	return 0;
}

int wval_timezone(const struct wval *zone, int zone_is_iv, int64_t ts,
		  int to_tz, int64_t *out, struct ss_err *err)
{
	struct arena a = {NULL, NULL, 0, 0};
	struct tzdb tz;
	int32_t off = 0;
	int64_t secs, frac;
	size_t i;
	int rc = 0;

	if (ts == TS_NOBEGIN || ts == TS_NOEND) {
		*out = ts;
		return 0;
	}
	if (zone_is_iv) {
		if (zone->u.iv.month || zone->u.iv.day)
			return ss_err_set(err, SS_ERR_INPUT,
					  "interval time zone must not include "
					  "months or days");
		/* an interval is an offset east of UTC */
		*out = to_tz ? ts - zone->u.iv.us : ts + zone->u.iv.us;
		return 0;
	}
	/* abbreviations first, then the zone database, as PostgreSQL */
	for (i = 0; i < sizeof(tz_abbrevs) / sizeof(tz_abbrevs[0]); i++)
		if (strlen(tz_abbrevs[i].name) == zone->u.s.len &&
		    strncasecmp(zone->u.s.p, tz_abbrevs[i].name,
				zone->u.s.len) == 0) {
			off = tz_abbrevs[i].secs;
			*out = to_tz ? ts - (int64_t)off * 1000000
				     : ts + (int64_t)off * 1000000;
			return 0;
		}
	if (tz_load(&a, zone->u.s.p, zone->u.s.len, &tz) < 0) {
		arena_free(&a);
		return ss_err_set(err, SS_ERR_INPUT,
				  "time zone \"%.*s\" not recognized",
				  (int)zone->u.s.len, zone->u.s.p);
	}
	/* whole seconds since 1970 for the zone rules */
	secs = ts / 1000000;
	frac = ts % 1000000;
	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	secs += INT64_C(946684800);
	if (to_tz ? tz_local_offset(&tz, secs, &off) < 0
		  : tz_utc_offset(&tz, secs, &off) < 0)
		rc = ss_err_set(err, SS_ERR_INPUT,
				"time zone \"%.*s\" is only supported up to "
				"2037",
				(int)zone->u.s.len, zone->u.s.p);
	arena_free(&a);
	if (rc < 0)
		return -1;
	*out =
	    to_tz ? ts - (int64_t)off * 1000000 : ts + (int64_t)off * 1000000;
	if (*out < MIN_TIMESTAMP || *out >= END_TIMESTAMP)
		return ss_err_set(err, SS_ERR_INPUT, "timestamp out of range");
	return 0;
}

/* Resolve d->zone into d->tz_sec for the date and time in d. */
static int dt_zone(const struct dt *d, int with_tz, int32_t *off,
		   struct ss_err *err)
{
	struct arena a = {NULL, NULL, 0, 0};
	struct tzdb tz;
	int rc = 0;

	*off = 0;
	if (tz_load(&a, d->zone, d->zonelen, &tz) < 0) {
		char low[80];
		size_t i, n = d->zonelen < sizeof(low) - 1 ? d->zonelen
							   : sizeof(low) - 1;

		/* PostgreSQL reports the name folded to lower case */
		for (i = 0; i < n; i++)
			low[i] = (char)tolower((unsigned char)d->zone[i]);
		low[n] = '\0';
		rc = ss_err_set(err, SS_ERR_INPUT,
				"time zone \"%s\" not recognized", low);
	} else if (with_tz && d->has_date && d->year >= -4713 &&
		   d->year <= 294277) {
		/* (outside those years date2j would overflow; the value is
		 * refused as out of range after this) */
		int64_t local =
		    (int64_t)(date2j(d->year, d->mon, d->mday) - 2440588) *
			86400 +
		    d->time_us / 1000000;

		if (tz_local_offset(&tz, local, off) < 0)
			rc = ss_err_set(err, SS_ERR_INPUT,
					"time zone \"%.*s\" is only supported "
					"up to 2037",
					(int)d->zonelen, d->zone);
	}
	arena_free(&a);
	return rc;
}

static int ts_from_dt(const struct dt *d, int with_tz, int64_t *out)
{
	int jd;
	int64_t t;

	if (d->year < -4713 || (d->year == -4713 && d->mon < 11) ||
	    d->year > 294277)
		return -1;
	jd = date2j(d->year, d->mon, d->mday);
	t = (int64_t)(jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + d->time_us;
	if (with_tz && d->has_tz)
		t -= (int64_t)d->tz_sec * 1000000;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return -1;
	*out = t;
	return 0;
}

static int ts_in(int with_tz, const char *s, size_t len, int64_t *out,
		 struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 1, &d);
	const char *tn = with_tz ? "timestamp with time zone" : "timestamp";

	if (r == 0 && d.special) {
		*out = d.special == 1	 ? TS_NOEND
		       : d.special == -1 ? TS_NOBEGIN
					 : 0 - INT64_C(946684800000000);
		return 0;
	}
	if (r == 0 && !d.has_date)
		r = -1;
	if (r < 0)
		return dt_err(r, tn, s, len, err);
	if (d.zone) {
		int32_t off;

		if (dt_zone(&d, with_tz, &off, err) < 0)
			return -1;
		d.tz_sec = off;
	}
	if (ts_from_dt(&d, with_tz, out) < 0)
		return ss_err_set(err, SS_ERR_INPUT,
				  "timestamp out of range: \"%.*s\"", (int)len,
				  s);
	return 0;
}

static int time_in(const char *s, size_t len, int64_t *out, struct ss_err *err)
{
	struct dt d;
	int r = dt_parse(s, len, 0, &d);

	if (r == -1) {
		/* PostgreSQL also accepts a full timestamp for time. */
		r = dt_parse(s, len, 1, &d);
		if (r == 0 && d.special)
			r = -1;
	}
	if (r == 0 && (d.special || !d.has_time))
		r = -1;
	/* a zone name needs a date to mean anything: not for time */
	if (r == 0 && d.zone)
		r = -1;
	if (r < 0)
		return dt_err(r, "time", s, len, err);
	*out = d.time_us;
	return 0;
}

static void fmt_date(int64_t days, struct ss_buf *out)
{
	int y, m, d;

	if (days == DATE_NOBEGIN) {
		ss_buf_adds(out, "-infinity");
		return;
	}
	if (days == DATE_NOEND) {
		ss_buf_adds(out, "infinity");
		return;
	}
	j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	ss_buf_addf(out, "%04d-%02d-%02d", y > 0 ? y : 1 - y, m, d);
}

static void fmt_secs(int64_t us, struct ss_buf *out)
{
	/* "ss[.ffffff]" with trailing zeros trimmed. */
	int64_t sec = us / 1000000, frac = us % 1000000;

	ss_buf_addf(out, "%02lld", (long long)sec);
	if (frac) {
		char f[8];
		int k;

		snprintf(f, sizeof(f), "%06lld", (long long)frac);
		for (k = 6; k > 0 && f[k - 1] == '0'; k--)
			;
		f[k] = '\0';
		ss_buf_addf(out, ".%s", f);
	}
}

static void fmt_time(int64_t us, struct ss_buf *out)
{
	ss_buf_addf(out, "%02lld:%02lld:", (long long)(us / 3600000000),
		    (long long)(us / 60000000 % 60));
	fmt_secs(us % 60000000, out);
}

static void fmt_ts(int64_t t, int with_tz, struct ss_buf *out)
{
	int64_t days, tod;
	int y, m, d;

	if (t == TS_NOBEGIN) {
		ss_buf_adds(out, "-infinity");
		return;
	}
	if (t == TS_NOEND) {
		ss_buf_adds(out, "infinity");
		return;
	}
	days = t / USECS_PER_DAY;
	tod = t % USECS_PER_DAY;
	if (tod < 0) {
		tod += USECS_PER_DAY;
		days--;
	}
	j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	ss_buf_addf(out, "%04d-%02d-%02d ", y > 0 ? y : 1 - y, m, d);
	fmt_time(tod, out);
	if (with_tz)
		ss_buf_adds(out, "+00");
	if (y <= 0)
		ss_buf_adds(out, " BC");
}

static void fmt_date_bc(int64_t days, struct ss_buf *out)
{
	int y, m, d;

	fmt_date(days, out);
	if (days != DATE_NOBEGIN && days != DATE_NOEND) {
		j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		if (y <= 0)
			ss_buf_adds(out, " BC");
	}
}

/* Interval input, PostgreSQL "postgres" style and ISO 8601 durations
 * are common; we take "[@] {[+-]n[.f] unit | [+-]hh:mm[:ss]}... [ago]". */
static int interval_in(const char *s, size_t len, struct interval *out,
		       struct ss_err *err)
{
	const char *p = s, *end = s + len;
	double month = 0, day = 0, us = 0;
	int any = 0, first = 1;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (end - p >= 2 && (*p == 'P' || *p == 'p') &&
	    (isdigit((unsigned char)p[1]) || p[1] == 'T' || p[1] == 't' ||
	     p[1] == '-' || p[1] == '.')) {
		/* ISO 8601 duration: P1Y2M3W4DT5H6M7.5S */
		int in_time = 0;

		p++;
		while (p < end && !isspace((unsigned char)*p)) {
			struct ss_buf nb = SS_BUF_INIT;
			char *ep;
			int ok;
			double v;

			if (*p == 'T' || *p == 't') {
				if (in_time)
					goto bad;
				in_time = 1;
				p++;
				continue;
			}
			while (p < end &&
			       (isdigit((unsigned char)*p) || *p == '.' ||
				*p == '-' || *p == '+'))
				ss_buf_addc(&nb, *p++);
			v = strtod(nb.buf, &ep);
			ok = nb.len > 0 && !*ep && p < end;
			ss_buf_release(&nb);
			if (!ok)
				goto bad;
			switch (toupper((unsigned char)*p)) {
			case 'Y':
				if (in_time)
					goto bad;
				/* a fraction of a year: whole months */
				month += trunc(v) * 12 + rint((v - trunc(v)) * 12);
				break;
			case 'M':
				if (in_time)
					us += v * 60e6;
				else
					month += v;
				break;
			case 'W':
				if (in_time)
					goto bad;
				day += v * 7;
				break;
			case 'D':
				if (in_time)
					goto bad;
				day += v;
				break;
			case 'H':
				if (!in_time)
					goto bad;
				us += v * 3600e6;
				break;
			case 'S':
				if (!in_time)
					goto bad;
				us += v * 1e6;
				break;
			default:
				goto bad;
			}
			p++;
			any = 1;
		}
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p != end)
			goto bad;
		p = end;
	}
	while (p < end) {
		const char *numstart;
		int neg = 0;
		double v, fv;
		char unit[16];
		size_t ul = 0;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end)
			break;
		if (*p == '@' && first) {
			p++;
			first = 0;
			continue;
		}
		first = 0;
		if (end - p >= 3 && strncasecmp(p, "ago", 3) == 0 &&
		    (end - p == 3 || isspace((unsigned char)p[3]))) {
			month = -month;
			day = -day;
			us = -us;
			p += 3;
			continue;
		}
		numstart = p;
		if (*p == '+' || *p == '-') {
			neg = *p == '-';
			p++;
		}
		if (p >= end || !(isdigit((unsigned char)*p) ||
				  (*p == '.' && p + 1 < end &&
				   isdigit((unsigned char)p[1]))))
			goto bad;
		{
			const char *q = p;

			while (q < end && isdigit((unsigned char)*q))
				q++;
			if (q < end && *q == ':') {
				int64_t t;
				int h, m, sec = 0;
				const char *r = p;

				if (rd_int(&r, end, 9, &h) < 0 || *r != ':')
					goto bad;
				r++;
				if (rd_int(&r, end, 2, &m) < 0)
					goto bad;
				t = ((int64_t)h * 3600 + m * 60) * 1000000;
				if (r < end && *r == ':') {
					r++;
					if (rd_int(&r, end, 2, &sec) < 0)
						goto bad;
					t += (int64_t)sec * 1000000;
					if (r < end && *r == '.') {
						double f = 0, sc = 0.1;

						r++;
						while (r < end &&
						       isdigit(
							   (unsigned char)*r)) {
							f += (*r - '0') * sc;
							sc /= 10;
							r++;
						}
						t += (int64_t)rint(f * 1e6);
					}
				}
				if (m > 59 || sec > 59)
					goto oorange;
				us += neg ? -(double)t : (double)t;
				p = r;
				any = 1;
				continue;
			}
		}
		{
			/* The whole number, however long (a fixed buffer
			 * cut it, and its tail read as more seconds). */
			struct ss_buf nb = SS_BUF_INIT;
			const char *dot;
			char *ep;
			int ok;

			p = numstart;
			while (p < end &&
			       (isdigit((unsigned char)*p) || *p == '.' ||
				*p == '+' || *p == '-'))
				ss_buf_addc(&nb, *p++);
			v = strtod(nb.buf, &ep);
			ok = nb.len > 0 && !*ep;
			/* The fraction on its own, as PostgreSQL reads it
			 * for the year units. */
			dot = strchr(nb.buf, '.');
			fv = ok && dot ? strtod(dot, NULL) : 0;
			if (nb.buf[0] == '-')
				fv = -fv;
			ss_buf_release(&nb);
			if (!ok)
				goto bad;
		}
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (p < end && isalpha((unsigned char)*p) &&
		       ul < sizeof(unit) - 1)
			unit[ul++] = (char)tolower((unsigned char)*p++);
		unit[ul] = '\0';
		if (p < end && isalpha((unsigned char)*p))
			goto bad;
		any = 1;
#define U(name) (strcmp(unit, name) == 0)
		if (ul == 0 || U("s") || U("sec") || U("secs") || U("second") ||
		    U("seconds"))
			us += v * 1e6;
		else if (U("us") || U("usec") || U("usecs") ||
			 U("microsecond") || U("microseconds"))
			us += v;
		else if (U("ms") || U("msec") || U("msecs") ||
			 U("millisecond") || U("milliseconds"))
			us += v * 1e3;
		else if (U("m") || U("min") || U("mins") || U("minute") ||
			 U("minutes"))
			us += v * 60e6;
		else if (U("h") || U("hr") || U("hrs") || U("hour") ||
			 U("hours"))
			us += v * 3600e6;
		else if (U("d") || U("day") || U("days"))
			day += v;
		else if (U("w") || U("week") || U("weeks"))
			day += v * 7;
		else if (U("mon") || U("mons") || U("month") || U("months"))
			month += v;
		/* A fraction of a year unit becomes whole months, rounded
		 * (rint, as PostgreSQL's DecodeInterval), never days. */
		else if (U("y") || U("yr") || U("yrs") || U("year") ||
			 U("years"))
			month += trunc(v) * 12 + rint(fv * 12);
		else if (U("decade") || U("decades"))
			month += trunc(v) * 120 + rint(fv * 120);
		else if (U("century") || U("centuries"))
			month += trunc(v) * 1200 + rint(fv * 1200);
		else if (U("millennium") || U("millennia") || U("millenniums"))
			month += trunc(v) * 12000 + rint(fv * 12000);
		else
			goto bad;
#undef U
	}
	if (!any)
		goto bad;
	{
		/* Fractions cascade down: months to days (30), days to
		 * time (24h), as PostgreSQL's AdjustFract* do. */
		double mi = trunc(month), di;

		day += (month - mi) * 30;
		di = trunc(day);
		us += (day - di) * 86400e6;
		if (fabs(mi) > INT32_MAX || fabs(di) > INT32_MAX ||
		    fabs(us) > 9.2e18)
			goto oorange;
		out->month = (int32_t)mi;
		out->day = (int32_t)di;
		out->us = (int64_t)rint(us);
	}
	return 0;
oorange:
	return ss_err_set(err, SS_ERR_INPUT,
			  "interval field value out of range: \"%.*s\"",
			  (int)len, s);
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type interval: \"%.*s\"",
			  (int)len, s);
}

static void iv_part(struct ss_buf *out, int64_t v, const char *unit,
		    int *is_zero, int *is_before)
{
	if (v == 0)
		return;
	ss_buf_addf(out, "%s%s%lld %s%s", *is_zero ? "" : " ",
		    (*is_before && v > 0) ? "+" : "", (long long)v, unit,
		    v != 1 ? "s" : "");
	*is_before = v < 0;
	*is_zero = 0;
}

static void interval_out(const struct interval *iv, struct ss_buf *out)
{
	int is_zero = 1, is_before = 0;
	int64_t t = iv->us;
	int64_t hour = t / 3600000000, rem = t % 3600000000;
	int64_t min = rem / 60000000, usec = rem % 60000000;

	iv_part(out, iv->month / 12, "year", &is_zero, &is_before);
	iv_part(out, iv->month % 12, "mon", &is_zero, &is_before);
	iv_part(out, iv->day, "day", &is_zero, &is_before);
	if (is_zero || t != 0) {
		int minus = t < 0;

		ss_buf_addf(out, "%s%s%02lld:%02lld:", is_zero ? "" : " ",
			    minus ? "-" : (is_before ? "+" : ""),
			    (long long)(hour < 0 ? -hour : hour),
			    (long long)(min < 0 ? -min : min));
		fmt_secs(usec < 0 ? -usec : usec, out);
	}
}

static __int128 interval_span(const struct interval *iv)
{
	return ((__int128)iv->month * 30 + iv->day) * USECS_PER_DAY + iv->us;
}

/* timestamp + interval (months first, clamping the day, then days, then
 * time), as timestamp_pl_interval. Returns -1 when out of range. */
static int ts_add_iv(int64_t t, const struct interval *iv, int sign,
		     int64_t *out)
{
	if (t == TS_NOBEGIN || t == TS_NOEND) {
		*out = t;
		return 0;
	}
	if (iv->month) {
		int64_t days = t / USECS_PER_DAY, tod = t % USECS_PER_DAY;
		int y, m, d;
		int64_t mm;

		if (tod < 0) {
			tod += USECS_PER_DAY;
			days--;
		}
		j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		mm = (int64_t)y * 12 + (m - 1) + (int64_t)sign * iv->month;
		y = (int)(mm >= 0 ? mm / 12 : -((-mm + 11) / 12));
		m = (int)(mm - (int64_t)y * 12) + 1;
		if (y < -4713 || y > 294277)
			return -1;
		if (d > days_in_month(y, m))
			d = days_in_month(y, m);
		t = (int64_t)(date2j(y, m, d) - POSTGRES_EPOCH_JDATE) *
			USECS_PER_DAY +
		    tod;
	}
	if (iv->day) {
		int64_t days = t / USECS_PER_DAY, tod = t % USECS_PER_DAY;
		int y, m, d;

		if (tod < 0) {
			tod += USECS_PER_DAY;
			days--;
		}
		j2date((int)(days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
		days = date2j(y, m, d) + (int64_t)sign * iv->day -
		       POSTGRES_EPOCH_JDATE;
		t = days * USECS_PER_DAY + tod;
	}
	if (__builtin_add_overflow(t, (int64_t)sign * iv->us, &t))
		return -1;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return -1;
	*out = t;
	return 0;
}

/* ------------------------------------------------------------------ */
/* UUID */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int uuid_in(const char *s, size_t len, unsigned char *u,
		   struct ss_err *err)
{
	const char *p = s, *end = s + len;
	int braces = 0, i;

	if (p < end && *p == '{') {
		braces = 1;
		p++;
	}
	for (i = 0; i < 16; i++) {
		int hi, lo;

		if (end - p < 2)
			goto bad;
		hi = hexval((unsigned char)p[0]);
		lo = hexval((unsigned char)p[1]);
		if (hi < 0 || lo < 0)
			goto bad;
		u[i] = (unsigned char)(hi * 16 + lo);
		p += 2;
		if (i % 2 == 1 && i < 15 && p < end && *p == '-')
			p++;
	}
	if (braces) {
		if (p >= end || *p != '}')
			goto bad;
		p++;
	}
	if (p != end)
		goto bad;
	return 0;
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type uuid: \"%.*s\"",
			  (int)len, s);
}

static void uuid_out(const unsigned char *u, struct ss_buf *out)
{
	int i;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			ss_buf_addc(out, '-');
		ss_buf_addf(out, "%02x", u[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Booleans and text */

static int bool_in(const char *s, size_t len, int *out, struct ss_err *err)
{
	const char *p = s, *end = s + len;
	size_t n;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n == 0)
		goto bad;
	/* Any unique prefix of true/false/yes/no, and on/off/1/0. */
	if (strncasecmp(p, "true", n) == 0 && n <= 4)
		*out = 1;
	else if (strncasecmp(p, "false", n) == 0 && n <= 5)
		*out = 0;
	else if (strncasecmp(p, "yes", n) == 0 && n <= 3)
		*out = 1;
	else if (strncasecmp(p, "no", n) == 0 && n <= 2)
		*out = 0;
	else if (n >= 2 && n <= 3 && strncasecmp(p, "off", n) == 0)
		*out = 0;
	else if (n == 2 && strncasecmp(p, "on", 2) == 0)
		*out = 1;
	else if (n == 1 && *p == '1')
		*out = 1;
	else if (n == 1 && *p == '0')
		*out = 0;
	else
		goto bad;
	return 0;
bad:
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type boolean: \"%.*s\"",
			  (int)len, s);
}

/* Length of s without trailing spaces (bpchar semantics). */
static size_t bp_len(const char *s, size_t len)
{
	while (len > 0 && s[len - 1] == ' ')
		len--;
	return len;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c < 0 ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

/* Number of bytes in the first n UTF-8 characters of s. */
static size_t utf8_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;

	while (i < len && n > 0) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* Arrays: text form {a,"b c",NULL} with optional [lb:ub]= decoration. */

struct arr_parse {
	struct arena *a;
	const struct wtype *et;
	const char *s, *p, *end;
	size_t len;
	struct wval *e;
	size_t n, alloc;
	int ndim;
	int dims[WARR_MAXDIM];
	int seen[WARR_MAXDIM];
	struct ss_err *err;
};

static int arr_bad(struct arr_parse *ap)
{
	return ss_err_set(ap->err, SS_ERR_INPUT,
			  "malformed array literal: \"%.*s\"", (int)ap->len,
			  ap->s);
}

static int arr_elem(struct arr_parse *ap)
{
	struct ss_buf b = SS_BUF_INIT;
	int quoted = 0, any = 0;
	size_t trail = 0;
	struct wval v;

	memset(&v, 0, sizeof(v));
	while (ap->p < ap->end && isspace((unsigned char)*ap->p))
		ap->p++;
	while (ap->p < ap->end) {
		char c = *ap->p;

		if (c == '"') {
			quoted = 1;
			any = 1;
			ap->p++;
			while (ap->p < ap->end && *ap->p != '"') {
				if (*ap->p == '\\' && ap->p + 1 < ap->end)
					ap->p++;
				ss_buf_addc(&b, *ap->p++);
			}
			if (ap->p >= ap->end)
				goto bad;
			ap->p++;
			trail = b.len;
			continue;
		}
		if (c == ',' || c == '}')
			break;
		if (c == '{' || (c == '"'))
			goto bad;
		if (c == '\\') {
			if (ap->p + 1 >= ap->end)
				goto bad;
			ap->p++;
			ss_buf_addc(&b, *ap->p++);
			trail = b.len;
			any = 1;
			continue;
		}
		ss_buf_addc(&b, c);
		if (!isspace((unsigned char)c))
			trail = b.len;
		any = 1;
		ap->p++;
	}
	if (!any)
		goto bad;
	ss_buf_setlen(&b, trail);
	if (!quoted && b.len == 4 && strncasecmp(b.buf, "null", 4) == 0) {
		v.isnull = 1;
	} else if (wval_in(ap->a, ap->et, b.buf, b.len, &v, ap->err) < 0) {
		ss_buf_release(&b);
		return -1;
	}
	ss_buf_release(&b);
	SS_GROW(ap->e, ap->alloc, ap->n + 1);
	ap->e[ap->n++] = v;
	return 0;
bad:
	ss_buf_release(&b);
	return arr_bad(ap);
}

static int arr_level(struct arr_parse *ap, int depth)
{
	int count = 0;

	if (depth >= WARR_MAXDIM)
		return ss_err_set(ap->err, SS_ERR_INPUT,
				  "number of array dimensions exceeds the "
				  "maximum allowed (6)");
	ap->p++; /* '{' */
	while (ap->p < ap->end && isspace((unsigned char)*ap->p))
		ap->p++;
	if (ap->p < ap->end && *ap->p == '}' && depth == 0) {
		ap->p++;
		ap->ndim = 0;
		return 0;
	}
	for (;;) {
		while (ap->p < ap->end && isspace((unsigned char)*ap->p))
			ap->p++;
		if (ap->p >= ap->end)
			return arr_bad(ap);
		if (*ap->p == '{') {
			if (ap->ndim > 0 && depth + 1 >= ap->ndim)
				return arr_bad(ap);
			if (arr_level(ap, depth + 1) < 0)
				return -1;
		} else {
			if (ap->ndim == 0)
				ap->ndim = depth + 1;
			else if (ap->ndim != depth + 1)
				return arr_bad(ap);
			if (arr_elem(ap) < 0)
				return -1;
		}
		count++;
		while (ap->p < ap->end && isspace((unsigned char)*ap->p))
			ap->p++;
		if (ap->p >= ap->end)
			return arr_bad(ap);
		if (*ap->p == ',') {
			ap->p++;
			continue;
		}
		if (*ap->p == '}') {
			ap->p++;
			break;
		}
		return arr_bad(ap);
	}
	if (ap->seen[depth] && ap->dims[depth] != count)
		return ss_err_set(ap->err, SS_ERR_INPUT,
				  "malformed array literal: \"%.*s\"",
				  (int)ap->len, ap->s);
	ap->seen[depth] = 1;
	ap->dims[depth] = count;
	return 0;
}

static int array_in(struct arena *a, const struct wtype *et, const char *s,
		    size_t len, struct warr **out, struct ss_err *err)
{
	struct arr_parse ap;
	struct warr *arr;
	int lbs[WARR_MAXDIM], nlb = 0, i;

	memset(&ap, 0, sizeof(ap));
	ap.a = a;
	ap.et = et;
	ap.s = s;
	ap.len = len;
	ap.p = s;
	ap.end = s + len;
	ap.err = err;
	while (ap.p < ap.end && isspace((unsigned char)*ap.p))
		ap.p++;
	/* Optional dimension decoration "[1:3][0:1]=". */
	while (ap.p < ap.end && *ap.p == '[') {
		int lb, ub, neg = 0;
		const char *q = ap.p + 1;

		if (nlb >= WARR_MAXDIM)
			return arr_bad(&ap);
		if (q < ap.end && *q == '-')
			neg = 1, q++;
		if (rd_int(&q, ap.end, 9, &lb) < 0 || q >= ap.end || *q != ':')
			return arr_bad(&ap);
		q++;
		{
			int uneg = 0;

			if (q < ap.end && *q == '-')
				uneg = 1, q++;
			if (rd_int(&q, ap.end, 9, &ub) < 0 || q >= ap.end ||
			    *q != ']')
				return arr_bad(&ap);
			if (uneg)
				ub = -ub;
		}
		if (neg)
			lb = -lb;
		if (ub < lb)
			return ss_err_set(err, SS_ERR_INPUT,
					  "upper bound cannot be less than "
					  "lower bound");
		lbs[nlb] = lb;
		ap.dims[nlb] = ub - lb + 1;
		nlb++;
		ap.p = q + 1;
	}
	if (nlb) {
		if (ap.p >= ap.end || *ap.p != '=')
			return arr_bad(&ap);
		ap.p++;
		while (ap.p < ap.end && isspace((unsigned char)*ap.p))
			ap.p++;
	}
	if (ap.p >= ap.end || *ap.p != '{') {
		return arr_bad(&ap);
	}
	{
		int want[WARR_MAXDIM];

		memcpy(want, ap.dims, sizeof(want));
		memset(ap.dims, 0, sizeof(ap.dims));
		if (arr_level(&ap, 0) < 0) {
			free(ap.e);
			return -1;
		}
		while (ap.p < ap.end && isspace((unsigned char)*ap.p))
			ap.p++;
		if (ap.p != ap.end) {
			free(ap.e);
			return arr_bad(&ap);
		}
		if (nlb) {
			if (nlb != ap.ndim) {
				free(ap.e);
				return arr_bad(&ap);
			}
			for (i = 0; i < nlb; i++)
				if (want[i] != ap.dims[i]) {
					free(ap.e);
					return arr_bad(&ap);
				}
		}
	}
	arr = arena_alloc(a, sizeof(*arr));
	arr->ndim = ap.ndim;
	for (i = 0; i < ap.ndim; i++) {
		arr->dims[i] = ap.dims[i];
		arr->lbs[i] = nlb ? lbs[i] : 1;
	}
	arr->n = ap.n;
	arr->e = arena_alloc(a, (ap.n ? ap.n : 1) * sizeof(struct wval));
	if (ap.n)
		memcpy(arr->e, ap.e, ap.n * sizeof(struct wval));
	free(ap.e);
	if (arr->n == 0)
		arr->ndim = 0;
	*out = arr;
	return 0;
}

static void arr_out_elem(const struct wtype *et, const struct wval *v,
			 struct ss_buf *out)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i;
	int quote = 0;

	if (v->isnull) {
		ss_buf_adds(out, "NULL");
		return;
	}
	wval_out(et, v, &b);
	if (b.len == 0 || (b.len == 4 && strncasecmp(b.buf, "null", 4) == 0))
		quote = 1;
	for (i = 0; i < b.len && !quote; i++) {
		char c = b.buf[i];

		if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' ||
		    isspace((unsigned char)c))
			quote = 1;
	}
	if (!quote) {
		ss_buf_add(out, b.buf, b.len);
	} else {
		ss_buf_addc(out, '"');
		for (i = 0; i < b.len; i++) {
			if (b.buf[i] == '"' || b.buf[i] == '\\')
				ss_buf_addc(out, '\\');
			ss_buf_addc(out, b.buf[i]);
		}
		ss_buf_addc(out, '"');
	}
	ss_buf_release(&b);
}

static void array_out(const struct wtype *et, const struct warr *arr,
		      struct ss_buf *out)
{
	int i, idx[WARR_MAXDIM] = {0};
	size_t k;
	int deco = 0;

	if (arr->ndim == 0 || arr->n == 0) {
		ss_buf_adds(out, "{}");
		return;
	}
	for (i = 0; i < arr->ndim; i++)
		if (arr->lbs[i] != 1)
			deco = 1;
	if (deco) {
		for (i = 0; i < arr->ndim; i++)
			ss_buf_addf(out, "[%d:%d]", arr->lbs[i],
				    arr->lbs[i] + arr->dims[i] - 1);
		ss_buf_addc(out, '=');
	}
	for (i = 0; i < arr->ndim; i++)
		ss_buf_addc(out, '{');
	for (k = 0; k < arr->n; k++) {
		int d;

		arr_out_elem(et, &arr->e[k], out);
		/* advance the index odometer, closing/opening braces */
		for (d = arr->ndim - 1; d >= 0; d--) {
			if (++idx[d] < arr->dims[d])
				break;
			idx[d] = 0;
			ss_buf_addc(out, '}');
		}
		if (d >= 0) {
			ss_buf_addc(out, ',');
			for (i = d + 1; i < arr->ndim; i++)
				ss_buf_addc(out, '{');
		}
	}
}

/* array_cmp: elementwise (NULLs greatest), then element count, then
 * dimensions and bounds. */
static int array_cmp(const struct wtype *et, const struct warr *x,
		     const struct warr *y)
{
	size_t i, n = x->n < y->n ? x->n : y->n;
	int d;

	for (i = 0; i < n; i++) {
		const struct wval *a = &x->e[i], *b = &y->e[i];
		int c;

		if (a->isnull || b->isnull) {
			if (a->isnull && b->isnull)
				continue;
			return a->isnull ? 1 : -1;
		}
		c = wval_cmp(et, a, b);
		if (c)
			return c;
	}
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	if (x->ndim != y->ndim)
		return x->ndim < y->ndim ? -1 : 1;
	for (d = 0; d < x->ndim; d++) {
		if (x->dims[d] != y->dims[d])
			return x->dims[d] < y->dims[d] ? -1 : 1;
		if (x->lbs[d] != y->lbs[d])
			return x->lbs[d] < y->lbs[d] ? -1 : 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Generic value entry points */

static int adjust_precision(const struct wtype *t, struct wval *v,
			    struct ss_err *err);

int wval_in(struct arena *a, const struct wtype *t, const char *s, size_t len,
	    struct wval *out, struct ss_err *err)
{
	memset(out, 0, sizeof(*out));
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		et.typmod = -1;
		return array_in(a, &et, s, len, &out->u.a, err);
	}
	switch (t->base) {
	case WT_BOOL:
		return bool_in(s, len, &out->u.b, err);
	case WT_INT2:
	case WT_INT4:
	case WT_INT8:
		return int_in(t->base, s, len, &out->u.i, err);
	case WT_FLOAT4:
	case WT_FLOAT8:
		return float_in(t->base, s, len, &out->u.f, err);
	case WT_NUMERIC: {
		struct num *n;

		if (num_in(a, s, len, &n, err) < 0)
			return -1;
		return num_apply_typmod(a, n, t->typmod, &out->u.n, err);
	}
	case WT_ENUM:
		if (t->labels) {
			size_t i;

			for (i = 0; i < t->nlabels; i++)
				if (strlen(t->labels[i]) == len &&
				    memcmp(t->labels[i], s, len) == 0)
					break;
			if (i == t->nlabels)
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "invalid input value for enum "
				    "%s: \"%.*s\"",
				    t->ename, (int)len, s);
		}
		/* FALLTHROUGH */
	case WT_UNKNOWN:
	case WT_TEXT:
	case WT_VARCHAR:
		if (t->typmod >= 0 && utf8_chars(s, len) > (size_t)t->typmod)
			len = utf8_prefix(s, len, (size_t)t->typmod);
		out->u.s.p = arena_strndup(a, s, len);
		out->u.s.len = len;
		return 0;
	case WT_BPCHAR:
		if (t->typmod >= 0) {
			size_t nc = utf8_chars(s, len), pad, k;
			char *p;

			if (nc > (size_t)t->typmod) {
				len = utf8_prefix(s, len, (size_t)t->typmod);
				nc = (size_t)t->typmod;
			}
			pad = (size_t)t->typmod - nc;
			p = arena_alloc(a, len + pad + 1);
			memcpy(p, s, len);
			for (k = 0; k < pad; k++)
				p[len + k] = ' ';
			out->u.s.p = p;
			out->u.s.len = len + pad;
			return 0;
		}
		out->u.s.p = arena_strndup(a, s, len);
		out->u.s.len = len;
		return 0;
	case WT_UUID:
		return uuid_in(s, len, out->u.uuid, err);
	case WT_DATE:
		return date_in(s, len, &out->u.i, err);
	case WT_TIME:
		if (time_in(s, len, &out->u.i, err) < 0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_TIMESTAMP:
	case WT_TIMESTAMPTZ:
		if (ts_in(t->base == WT_TIMESTAMPTZ, s, len, &out->u.i, err) <
		    0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_INTERVAL:
		if (interval_in(s, len, &out->u.iv, err) < 0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_NULL:
		out->isnull = 1;
		return 0;
	}
	return ss_err_set(err, SS_ERR_INPUT, "unsupported type");
}

void wval_out(const struct wtype *t, const struct wval *v, struct ss_buf *out)
{
	if (v->isnull)
		return;
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		array_out(&et, v->u.a, out);
		return;
	}
	switch (t->base) {
	case WT_BOOL:
		ss_buf_adds(out, v->u.b ? "true" : "false");
		break;
	case WT_INT2:
	case WT_INT4:
	case WT_INT8:
		ss_buf_addf(out, "%lld", (long long)v->u.i);
		break;
	case WT_FLOAT4:
		float_out(v->u.f, 1, out);
		break;
	case WT_FLOAT8:
		float_out(v->u.f, 0, out);
		break;
	case WT_NUMERIC:
		num_out(v->u.n, out);
		break;
	case WT_UNKNOWN:
	case WT_TEXT:
	case WT_VARCHAR:
	case WT_BPCHAR:
	case WT_ENUM:
		ss_buf_add(out, v->u.s.p, v->u.s.len);
		break;
	case WT_UUID:
		uuid_out(v->u.uuid, out);
		break;
	case WT_DATE:
		fmt_date_bc(v->u.i, out);
		break;
	case WT_TIME:
		fmt_time(v->u.i, out);
		break;
	case WT_TIMESTAMP:
		fmt_ts(v->u.i, 0, out);
		break;
	case WT_TIMESTAMPTZ:
		fmt_ts(v->u.i, 1, out);
		break;
	case WT_INTERVAL:
		interval_out(&v->u.iv, out);
		break;
	case WT_NULL:
		break;
	}
}

int wval_cmp(const struct wtype *t, const struct wval *x, const struct wval *y)
{
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		return array_cmp(&et, x->u.a, y->u.a);
	}
	switch (t->base) {
	case WT_BOOL:
		return x->u.b < y->u.b ? -1 : x->u.b > y->u.b;
	case WT_INT2:
	case WT_INT4:
	case WT_INT8:
	case WT_DATE:
	case WT_TIME:
	case WT_TIMESTAMP:
	case WT_TIMESTAMPTZ:
		return x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
	case WT_FLOAT4:
	case WT_FLOAT8:
		return float_cmp(x->u.f, y->u.f);
	case WT_NUMERIC:
		return num_cmp(x->u.n, y->u.n);
	case WT_BPCHAR:
		return bytes_cmp(x->u.s.p, bp_len(x->u.s.p, x->u.s.len),
				 y->u.s.p, bp_len(y->u.s.p, y->u.s.len));
	case WT_ENUM:
		if (t->labels) {
			/* by sort order: the position of each label */
			size_t i, ix = t->nlabels, iy = t->nlabels;

			for (i = 0; i < t->nlabels; i++) {
				size_t l = strlen(t->labels[i]);

				if (l == x->u.s.len &&
				    memcmp(t->labels[i], x->u.s.p, l) == 0)
					ix = i;
				if (l == y->u.s.len &&
				    memcmp(t->labels[i], y->u.s.p, l) == 0)
					iy = i;
			}
			return ix < iy ? -1 : ix > iy;
		}
		return bytes_cmp(x->u.s.p, x->u.s.len, y->u.s.p, y->u.s.len);
	case WT_UNKNOWN:
	case WT_TEXT:
	case WT_VARCHAR:
		return bytes_cmp(x->u.s.p, x->u.s.len, y->u.s.p, y->u.s.len);
	case WT_UUID: {
		int c = memcmp(x->u.uuid, y->u.uuid, 16);

		return c < 0 ? -1 : c > 0;
	}
	case WT_INTERVAL: {
		__int128 a = interval_span(&x->u.iv),
			 b = interval_span(&y->u.iv);

		return a < b ? -1 : a > b;
	}
	case WT_NULL:
		return 0;
	}
	return 0;
}

int wcast_kind(const struct wtype *from, const struct wtype *to)
{
	enum wt f = from->base, t = to->base;

	if (from->array || to->array) {
		struct wtype fe = *from, te = *to;

		if (from->array && to->array) {
			fe.array = te.array = 0;
			return wcast_kind(&fe, &te);
		}
		if (!from->array && (f == WT_UNKNOWN || f == WT_NULL))
			return 2;
		/* text <-> array go through the text form */
		if (!from->array && wt_is_text(f))
			return 1;
		if (from->array && wt_is_text(t))
			return 1;
		return 0;
	}
	if (wtype_eq(from, to))
		return 2;
	if (f == WT_UNKNOWN || f == WT_NULL)
		return 2;
	if (wt_is_numeric(f) && wt_is_numeric(t))
		return t > f ? 2 : 1;
	if (wt_is_text(f) && wt_is_text(t))
		return 2;
	if (wt_is_text(t))
		return 1; /* anything -> text via output */
	if (wt_is_text(f))
		return 1; /* text -> anything via input */
	if ((f == WT_INT4 && t == WT_BOOL) || (f == WT_BOOL && t == WT_INT4))
		return 1;
	if (f == WT_DATE && (t == WT_TIMESTAMP || t == WT_TIMESTAMPTZ))
		return 2;
	if (f == WT_TIMESTAMP && t == WT_TIMESTAMPTZ)
		return 2;
	if ((f == WT_TIMESTAMP || f == WT_TIMESTAMPTZ) &&
	    (t == WT_DATE || t == WT_TIME || t == WT_TIMESTAMP))
		return 1;
	if (f == WT_TIME && t == WT_INTERVAL)
		return 2;
	if (f == WT_INTERVAL && t == WT_TIME)
		return 1;
	return 0;
}

static int float_to_int(double d, enum wt t, int64_t *out, struct ss_err *err)
{
	d = rint(d);
	if (isnan(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0 || !int_range(t, (int64_t)d))
		return int_oor(t, err);
	*out = (int64_t)d;
	return 0;
}

/* Round microseconds to `prec` fractional digits, half away from zero
 * (AdjustTimeForTypmod / AdjustTimestampForTypmod). */
static int64_t round_us(int64_t us, int prec)
{
	static const int64_t scales[] = {1000000, 100000, 10000, 1000,
					 100,	  10,	  1};
	int64_t sc = scales[prec], off = sc / 2;

	if (us >= 0)
		return ((us + off) / sc) * sc;
	return -((((-us) + off) / sc) * sc);
}

/* Apply a time/timestamp/interval precision typmod to a value. */
static int adjust_precision(const struct wtype *t, struct wval *v,
			    struct ss_err *err)
{
	if (t->typmod < 0 || t->typmod > 6 || t->array || v->isnull)
		return 0;
	switch (t->base) {
	case WT_TIME:
		v->u.i = round_us(v->u.i, t->typmod);
		return 0;
	case WT_TIMESTAMP:
	case WT_TIMESTAMPTZ:
		if (v->u.i == TS_NOBEGIN || v->u.i == TS_NOEND)
			return 0;
		v->u.i = round_us(v->u.i, t->typmod);
		if (v->u.i < MIN_TIMESTAMP || v->u.i >= END_TIMESTAMP)
			return ss_err_set(err, SS_ERR_INPUT,
					  "timestamp out of range");
		return 0;
	case WT_INTERVAL:
		v->u.iv.us = round_us(v->u.iv.us, t->typmod);
		return 0;
	default:
		return 0;
	}
}

static int cast_value(struct arena *a, const struct wtype *from,
		      const struct wtype *to, const struct wval *v,
		      struct wval *out, struct ss_err *err);

int wval_cast(struct arena *a, const struct wtype *from, const struct wtype *to,
	      const struct wval *v, struct wval *out, struct ss_err *err)
{
	/* the same type with no modifier to apply: nothing to do (this is
	 * the common case for IN lists and BETWEEN bounds) */
	if (to->typmod < 0 && wtype_eq(from, to)) {
		*out = *v;
		return 0;
	}
	if (cast_value(a, from, to, v, out, err) < 0)
		return -1;
	return adjust_precision(to, out, err);
}

static int cast_value(struct arena *a, const struct wtype *from,
		      const struct wtype *to, const struct wval *v,
		      struct wval *out, struct ss_err *err)
{
	enum wt f = from->base, t = to->base;

	*out = *v;
	if (v->isnull)
		return 0;
	if (f == WT_UNKNOWN ||
	    (wt_is_text(f) && !from->array && (to->array || !wt_is_text(t)) &&
	     t != WT_ENUM) ||
	    (f == WT_ENUM && !wt_is_text(t))) {
		/* I/O conversion from the text form. */
		return wval_in(a, to, v->u.s.p, v->u.s.len, out, err);
	}
	if (from->array && to->array) {
		struct wtype fe = *from, te = *to;
		struct warr *r;
		size_t i;

		fe.array = te.array = 0;
		if (wtype_eq(&fe, &te) && to->typmod < 0)
			return 0;
		r = arena_alloc(a, sizeof(*r));
		*r = *v->u.a;
		r->e = arena_alloc(a, (r->n ? r->n : 1) * sizeof(struct wval));
		for (i = 0; i < r->n; i++)
			if (wval_cast(a, &fe, &te, &v->u.a->e[i], &r->e[i],
				      err) < 0)
				return -1;
		out->u.a = r;
		return 0;
	}
	if (wt_is_text(t) || t == WT_ENUM) {
		struct ss_buf b = SS_BUF_INIT;
		const char *p;
		size_t len;

		if (from->base == WT_BPCHAR && !from->array) {
			/* bpchar to text/varchar drops the padding */
			len = bp_len(v->u.s.p, v->u.s.len);
			p = v->u.s.p;
			if (t == WT_BPCHAR)
				len = v->u.s.len;
			return wval_in(a, to, p, len, out, err);
		}
		wval_out(from, v, &b);
		if (wval_in(a, to, b.buf, b.len, out, err) < 0) {
			ss_buf_release(&b);
			return -1;
		}
		ss_buf_release(&b);
		return 0;
	}
	if (wt_is_numeric(f) && wt_is_numeric(t)) {
		if (wt_is_int(f)) {
			if (wt_is_int(t)) {
				if (!int_range(t, v->u.i))
					return int_oor(t, err);
				return 0;
			}
			if (t == WT_NUMERIC) {
				num_from_int(a, v->u.i, &out->u.n);
				return num_apply_typmod(a, out->u.n, to->typmod,
							&out->u.n, err);
			}
			out->u.f = t == WT_FLOAT4 ? (double)(float)v->u.i
						  : (double)v->u.i;
			return 0;
		}
		if (f == WT_NUMERIC) {
			if (wt_is_int(t)) {
				if (v->u.n->special == NUM_NAN)
					return ss_err_set(
					    err, SS_ERR_INPUT,
					    "cannot convert NaN to %s",
					    type_names[t].sql);
				if (v->u.n->special)
					return ss_err_set(
					    err, SS_ERR_INPUT,
					    "cannot convert infinity to %s",
					    type_names[t].sql);
				if (num_to_i64(a, v->u.n, &out->u.i) < 0 ||
				    !int_range(t, out->u.i))
					return int_oor(t, err);
				return 0;
			}
			if (t == WT_NUMERIC)
				return num_apply_typmod(a, v->u.n, to->typmod,
							&out->u.n, err);
			{
				/* numeric_float8/4 go through the text form and
				 * float8in/float4in, errors included */
				struct ss_buf b = SS_BUF_INIT;
				int rc;

				num_out(v->u.n, &b);
				rc = float_in(t, b.buf, b.len, &out->u.f, err);
				ss_buf_release(&b);
				if (rc < 0)
					return -1;
				if (t == WT_FLOAT4)
					out->u.f = (float)out->u.f;
			}
			return 0;
		}
		/* from float */
		if (wt_is_int(t))
			return float_to_int(v->u.f, t, &out->u.i, err);
		if (t == WT_NUMERIC) {
			char buf[64];
			struct num *n;

			if (isnan(v->u.f))
				return num_apply_typmod(
				    a, num_special(a, NUM_NAN), to->typmod,
				    &out->u.n, err);
			if (isinf(v->u.f))
				return num_apply_typmod(
				    a,
				    num_special(a, v->u.f > 0 ? NUM_PINF
							      : NUM_NINF),
				    to->typmod, &out->u.n, err);
			snprintf(buf, sizeof(buf), "%.*g",
				 f == WT_FLOAT4 ? FLT_DIG : DBL_DIG, v->u.f);
			if (num_in(a, buf, strlen(buf), &n, err) < 0)
				return -1;
			return num_apply_typmod(a, n, to->typmod, &out->u.n,
						err);
		}
		if (t == WT_FLOAT4) {
			float ff = (float)v->u.f;

			if (isinf(ff) && !isinf(v->u.f))
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "value out of range: overflow");
			if (ff == 0 && v->u.f != 0)
				return ss_err_set(
				    err, SS_ERR_INPUT,
				    "value out of range: underflow");
			out->u.f = ff;
		}
		return 0;
	}
	if (f == WT_INT4 && t == WT_BOOL) {
		out->u.b = v->u.i != 0;
		return 0;
	}
	if (f == WT_BOOL && t == WT_INT4) {
		out->u.i = v->u.b;
		return 0;
	}
	if (f == WT_DATE && (t == WT_TIMESTAMP || t == WT_TIMESTAMPTZ)) {
		if (v->u.i == DATE_NOBEGIN)
			out->u.i = TS_NOBEGIN;
		else if (v->u.i == DATE_NOEND)
			out->u.i = TS_NOEND;
		else if (v->u.i >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)
			return ss_err_set(err, SS_ERR_INPUT,
					  "date out of range for timestamp");
		else
			out->u.i = v->u.i * USECS_PER_DAY;
		return 0;
	}
	if ((f == WT_TIMESTAMP || f == WT_TIMESTAMPTZ) &&
	    (t == WT_TIMESTAMP || t == WT_TIMESTAMPTZ))
		return 0; /* the session time zone is UTC */
	if ((f == WT_TIMESTAMP || f == WT_TIMESTAMPTZ) && t == WT_DATE) {
		int64_t d;

		if (v->u.i == TS_NOBEGIN)
			out->u.i = DATE_NOBEGIN;
		else if (v->u.i == TS_NOEND)
			out->u.i = DATE_NOEND;
		else {
			d = v->u.i / USECS_PER_DAY;
			if (v->u.i % USECS_PER_DAY < 0)
				d--;
			out->u.i = d;
		}
		return 0;
	}
	if ((f == WT_TIMESTAMP || f == WT_TIMESTAMPTZ) && t == WT_TIME) {
		if (v->u.i == TS_NOBEGIN || v->u.i == TS_NOEND) {
			out->isnull = 1;
			return 0;
		}
		out->u.i = v->u.i % USECS_PER_DAY;
		if (out->u.i < 0)
			out->u.i += USECS_PER_DAY;
		return 0;
	}
	if (f == WT_TIME && t == WT_INTERVAL) {
		out->u.iv.month = 0;
		out->u.iv.day = 0;
		out->u.iv.us = v->u.i;
		return 0;
	}
	if (f == WT_INTERVAL && t == WT_TIME) {
		int64_t us = v->u.iv.us % USECS_PER_DAY;

		if (us < 0)
			us += USECS_PER_DAY;
		out->u.i = us;
		return 0;
	}
	if (wtype_eq(from, to))
		return 0;
	{
		struct ss_buf fn = SS_BUF_INIT, tn = SS_BUF_INIT;

		wtype_sqlname(from, &fn);
		wtype_sqlname(to, &tn);
		ss_err_set(err, SS_ERR_INPUT, "cannot cast type %s to %s",
			   fn.buf, tn.buf);
		ss_buf_release(&fn);
		ss_buf_release(&tn);
		return -1;
	}
}

/* ------------------------------------------------------------------ */
/* Arithmetic */

static const struct wtype T_INT4 = {WT_INT4, 0, -1, NULL, NULL, 0};
static const struct wtype T_INTERVAL = {WT_INTERVAL, 0, -1, NULL, NULL, 0};
static const struct wtype T_TIMESTAMP = {WT_TIMESTAMP, 0, -1, NULL, NULL, 0};

static struct wtype mk(enum wt b)
{
	struct wtype t = {b, 0, -1, NULL, NULL, 0};

	return t;
}

int warith_resolve(enum wop op, const struct wtype *l, const struct wtype *r,
		   struct wtype *lc, struct wtype *rc, struct wtype *res)
{
	enum wt a = l->base, b = r->base;

	if (l->array || r->array)
		return -1;
	*lc = *l;
	*rc = *r;
	lc->typmod = rc->typmod = -1;
	if (op == OP_NEG) {
		if (wt_is_numeric(a) || a == WT_INTERVAL) {
			*res = mk(a);
			return 0;
		}
		return -1;
	}
	if (op == OP_POW) {
		/* float8 ^ float8, or numeric ^ numeric when a numeric meets
		 * integers or another numeric (PostgreSQL's candidates) */
		if (!wt_is_numeric(a) || !wt_is_numeric(b))
			return -1;
		if ((a == WT_NUMERIC || b == WT_NUMERIC) && a != WT_FLOAT4 &&
		    a != WT_FLOAT8 && b != WT_FLOAT4 && b != WT_FLOAT8)
			*lc = *rc = *res = mk(WT_NUMERIC);
		else
			*lc = *rc = *res = mk(WT_FLOAT8);
		return 0;
	}
	if (wt_is_numeric(a) && wt_is_numeric(b)) {
		enum wt w = a > b ? a : b;

		/* int/numeric with float4 goes to float8 (PostgreSQL picks
		 * the float84/float48 operators, float8 being preferred). */
		if (w == WT_FLOAT4 && a != b)
			w = WT_FLOAT8;
		if (op == OP_MOD && (w == WT_FLOAT4 || w == WT_FLOAT8))
			return -1;
		*lc = *rc = *res = mk(w);
		return 0;
	}
	/* interval * number, number * interval, interval / number */
	if (op == OP_MUL || op == OP_DIV) {
		if (a == WT_INTERVAL && wt_is_numeric(b)) {
			*rc = mk(WT_FLOAT8);
			*res = T_INTERVAL;
			return 0;
		}
		if (op == OP_MUL && b == WT_INTERVAL && wt_is_numeric(a)) {
			*lc = mk(WT_FLOAT8);
			*res = T_INTERVAL;
			return 0;
		}
		return -1;
	}
	switch (op) {
	case OP_ADD:
		if (a == WT_DATE && wt_is_int(b) && b != WT_INT8) {
			*rc = T_INT4, *res = mk(WT_DATE);
			return 0;
		}
		if (b == WT_DATE && wt_is_int(a) && a != WT_INT8) {
			*lc = T_INT4, *res = mk(WT_DATE);
			return 0;
		}
		if (a == WT_DATE && b == WT_INTERVAL) {
			*lc = T_TIMESTAMP, *res = T_TIMESTAMP;
			return 0;
		}
		if (a == WT_INTERVAL && b == WT_DATE) {
			*rc = T_TIMESTAMP, *res = T_TIMESTAMP;
			return 0;
		}
		if (a == WT_DATE && b == WT_TIME) {
			*res = T_TIMESTAMP;
			return 0;
		}
		if (a == WT_TIME && b == WT_DATE) {
			*res = T_TIMESTAMP;
			return 0;
		}
		if ((a == WT_TIMESTAMP || a == WT_TIMESTAMPTZ ||
		     a == WT_TIME) &&
		    b == WT_INTERVAL) {
			*res = mk(a);
			return 0;
		}
		if (a == WT_INTERVAL && (b == WT_TIMESTAMP ||
					 b == WT_TIMESTAMPTZ || b == WT_TIME)) {
			*res = mk(b);
			return 0;
		}
		if (a == WT_INTERVAL && b == WT_INTERVAL) {
			*res = T_INTERVAL;
			return 0;
		}
		return -1;
	case OP_SUB:
		if (a == WT_DATE && wt_is_int(b) && b != WT_INT8) {
			*rc = T_INT4, *res = mk(WT_DATE);
			return 0;
		}
		if (a == WT_DATE && b == WT_DATE) {
			*res = T_INT4;
			return 0;
		}
		if (a == WT_DATE && b == WT_INTERVAL) {
			*lc = T_TIMESTAMP, *res = T_TIMESTAMP;
			return 0;
		}
		if ((a == WT_TIMESTAMP || a == WT_TIMESTAMPTZ ||
		     a == WT_TIME) &&
		    b == WT_INTERVAL) {
			*res = mk(a);
			return 0;
		}
		if ((a == WT_TIMESTAMP || a == WT_TIMESTAMPTZ ||
		     a == WT_TIME) &&
		    a == b) {
			*res = T_INTERVAL;
			return 0;
		}
		if ((a == WT_TIMESTAMP && b == WT_TIMESTAMPTZ) ||
		    (a == WT_TIMESTAMPTZ && b == WT_TIMESTAMP) ||
		    (a == WT_DATE &&
		     (b == WT_TIMESTAMP || b == WT_TIMESTAMPTZ)) ||
		    (b == WT_DATE &&
		     (a == WT_TIMESTAMP || a == WT_TIMESTAMPTZ))) {
			enum wt w = (a == WT_TIMESTAMPTZ || b == WT_TIMESTAMPTZ)
					? WT_TIMESTAMPTZ
					: WT_TIMESTAMP;

			*lc = *rc = mk(w);
			*res = T_INTERVAL;
			return 0;
		}
		if (a == WT_INTERVAL && b == WT_INTERVAL) {
			*res = T_INTERVAL;
			return 0;
		}
		return -1;
	default:
		return -1;
	}
}

static int i_arith(enum wop op, enum wt t, int64_t x, int64_t y, int64_t *out,
		   struct ss_err *err)
{
	int64_t r;

	switch (op) {
	case OP_ADD:
		if (__builtin_add_overflow(x, y, &r))
			return int_oor(t, err);
		break;
	case OP_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return int_oor(t, err);
		break;
	case OP_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return int_oor(t, err);
		break;
	case OP_DIV:
		if (y == 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "division by zero");
		if (y == -1) {
			if (__builtin_sub_overflow((int64_t)0, x, &r))
				return int_oor(t, err);
		} else {
			r = x / y;
		}
		break;
	case OP_MOD:
		if (y == 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "division by zero");
		r = y == -1 ? 0 : x % y;
		break;
	case OP_NEG:
		if (__builtin_sub_overflow((int64_t)0, x, &r))
			return int_oor(t, err);
		break;
	default:
		return -1;
	}
	if (!int_range(t, r))
		return int_oor(t, err);
	*out = r;
	return 0;
}

static int f_arith(enum wop op, enum wt t, double x, double y, double *out,
		   struct ss_err *err)
{
	double r;
	int is4 = t == WT_FLOAT4;

	switch (op) {
	case OP_ADD:
		r = is4 ? (double)((float)x + (float)y) : x + y;
		if (isinf(r) && !isinf(x) && !isinf(y))
			goto over;
		break;
	case OP_SUB:
		r = is4 ? (double)((float)x - (float)y) : x - y;
		if (isinf(r) && !isinf(x) && !isinf(y))
			goto over;
		break;
	case OP_MUL:
		r = is4 ? (double)((float)x * (float)y) : x * y;
		if (isinf(r) && !isinf(x) && !isinf(y))
			goto over;
		if (r == 0 && x != 0 && y != 0)
			goto under;
		break;
	case OP_DIV:
		if (y == 0 && !isnan(x))
			return ss_err_set(err, SS_ERR_INPUT,
					  "division by zero");
		r = is4 ? (double)((float)x / (float)y) : x / y;
		if (isinf(r) && !isinf(x))
			goto over;
		if (r == 0 && x != 0 && !isinf(y))
			goto under;
		break;
	case OP_NEG:
		r = -x;
		break;
	default:
		return -1;
	}
	*out = r;
	return 0;
over:
	return ss_err_set(err, SS_ERR_INPUT, "value out of range: overflow");
under:
	return ss_err_set(err, SS_ERR_INPUT, "value out of range: underflow");
}

/*
 * interval * factor (or / factor) as interval_mul / interval_div do it:
 * whole months and days scale directly, their fractions cascade down to
 * days and seconds (30-day months, 24-hour days), rounded to microseconds.
 */
static int iv_scale(const struct interval *x, double factor, int divide,
		    struct interval *out, struct ss_err *err)
{
#define TSROUND(j) (rint((double)(j)*1000000.0) / 1000000.0)
	double m = divide ? x->month / factor : x->month * factor;
	double d = divide ? x->day / factor : x->day * factor;
	double month_rem, sec_rem, t;

	if (divide && factor == 0.0)
		return ss_err_set(err, SS_ERR_INPUT, "division by zero");
	if (isnan(m) || m > INT32_MAX || m < INT32_MIN || isnan(d) ||
	    d > INT32_MAX || d < INT32_MIN)
		return ss_err_set(err, SS_ERR_INPUT, "interval out of range");
	out->month = (int32_t)m;
	out->day = (int32_t)d;
	month_rem = TSROUND((m - out->month) * 30);
	sec_rem = TSROUND((d - out->day + month_rem - (int)month_rem) * 86400);
	if (fabs(sec_rem) >= 86400) {
		out->day += (int)(sec_rem / 86400);
		sec_rem -= (int)(sec_rem / 86400) * 86400;
	}
	out->day += (int32_t)month_rem;
	t = rint((divide ? x->us / factor : x->us * factor) + sec_rem * 1e6);
	if (isnan(t) || t < -9223372036854775808.0 ||
	    t >= 9223372036854775808.0)
		return ss_err_set(err, SS_ERR_INPUT, "interval out of range");
	out->us = (int64_t)t;
	return 0;
#undef TSROUND
}

int interval_justify(const struct interval *in, int days, int hours,
		     struct interval *out, struct ss_err *err)
{
	int64_t t = in->us, d = in->day, m = in->month;

	if (hours) {
		d += t / USECS_PER_DAY;
		t %= USECS_PER_DAY;
	}
	if (days) {
		m += d / 30;
		d %= 30;
	}
	if (days && hours) {
		if (m > 0 && (d < 0 || (d == 0 && t < 0))) {
			d += 30;
			m--;
		} else if (m < 0 && (d > 0 || (d == 0 && t > 0))) {
			d -= 30;
			m++;
		}
	} else if (days) {
		if (m > 0 && d < 0) {
			d += 30;
			m--;
		} else if (m < 0 && d > 0) {
			d -= 30;
			m++;
		}
	}
	if (hours) {
		if (d > 0 && t < 0) {
			t += USECS_PER_DAY;
			d--;
		} else if (d < 0 && t > 0) {
			t -= USECS_PER_DAY;
			d++;
		}
	}
	if (d > INT32_MAX || d < INT32_MIN || m > INT32_MAX || m < INT32_MIN)
		return ss_err_set(err, SS_ERR_INPUT, "interval out of range");
	out->month = (int32_t)m;
	out->day = (int32_t)d;
	out->us = t;
	return 0;
}

/* float8 ^ float8 with dpow's special cases and errors. */
static int f_pow(double x, double y, double *out, struct ss_err *err)
{
	double r;

	if (isnan(x)) {
		*out = (isnan(y) || y != 0.0) ? NAN : 1.0;
		return 0;
	}
	if (isnan(y)) {
		*out = x != 1.0 ? NAN : 1.0;
		return 0;
	}
	if (x == 0 && y < 0)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "zero raised to a negative power is undefined");
	if (x < 0 && floor(y) != y)
		return ss_err_set(err, SS_ERR_INPUT,
				  "a negative number raised to a non-integer "
				  "power yields a complex result");
	if (isinf(y)) {
		double ax = fabs(x);

		if (ax == 1.0)
			r = 1.0;
		else if (y > 0.0)
			r = ax > 1.0 ? y : 0.0;
		else
			r = ax > 1.0 ? 0.0 : -y;
	} else if (isinf(x)) {
		if (y == 0.0)
			r = 1.0;
		else if (x > 0.0)
			r = y > 0.0 ? x : 0.0;
		else {
			double half = y / 2;
			int odd = floor(half) != half;

			if (y > 0.0)
				r = odd ? x : -x;
			else
				r = odd ? -0.0 : 0.0;
		}
	} else {
		r = pow(x, y);
		if (isinf(r))
			return ss_err_set(err, SS_ERR_INPUT,
					  "value out of range: overflow");
		if (r == 0.0 && x != 0.0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "value out of range: underflow");
	}
	*out = r;
	return 0;
}

static int iv_arith(int sign, const struct interval *x,
		    const struct interval *y, struct interval *out,
		    struct ss_err *err)
{
	int32_t m, d;
	int64_t us;
	int o = 0;

	if (sign > 0) {
		o |= __builtin_add_overflow(x->month, y->month, &m);
		o |= __builtin_add_overflow(x->day, y->day, &d);
		o |= __builtin_add_overflow(x->us, y->us, &us);
	} else {
		o |= __builtin_sub_overflow(x->month, y->month, &m);
		o |= __builtin_sub_overflow(x->day, y->day, &d);
		o |= __builtin_sub_overflow(x->us, y->us, &us);
	}
	if (o)
		return ss_err_set(err, SS_ERR_INPUT, "interval out of range");
	out->month = m;
	out->day = d;
	out->us = us;
	return 0;
}

int wval_arith(struct arena *a, enum wop op, const struct wtype *lt,
	       const struct wval *l, const struct wtype *rtp,
	       const struct wval *r, const struct wtype *rt, struct wval *out,
	       struct ss_err *err)
{
	enum wt x = lt->base, y = rtp ? rtp->base : WT_NULL;

	memset(out, 0, sizeof(*out));
	if (op == OP_NEG) {
		if (wt_is_int(x))
			return i_arith(OP_NEG, x, l->u.i, 0, &out->u.i, err);
		if (x == WT_FLOAT4 || x == WT_FLOAT8)
			return f_arith(OP_NEG, x, l->u.f, 0, &out->u.f, err);
		if (x == WT_NUMERIC) {
			struct num *n = num_new(a, l->u.n->nd);

			*n = *l->u.n;
			if (n->special == NUM_PINF)
				n->special = NUM_NINF;
			else if (n->special == NUM_NINF)
				n->special = NUM_PINF;
			else if (n->nd)
				n->neg = !n->neg;
			out->u.n = n;
			return 0;
		}
		if (x == WT_INTERVAL) {
			struct interval z = {0, 0, 0};

			return iv_arith(-1, &z, &l->u.iv, &out->u.iv, err);
		}
		return -1;
	}
	if (wt_is_int(rt->base) && wt_is_int(x) && wt_is_int(y))
		return i_arith(op, rt->base, l->u.i, r->u.i, &out->u.i, err);
	if (op == OP_POW)
		return f_pow(l->u.f, r->u.f, &out->u.f, err);
	if ((rt->base == WT_FLOAT4 || rt->base == WT_FLOAT8) &&
	    wt_is_numeric(x))
		return f_arith(op, rt->base, l->u.f, r->u.f, &out->u.f, err);
	if (rt->base == WT_NUMERIC && x == WT_NUMERIC) {
		switch (op) {
		case OP_ADD:
			out->u.n = num_add(a, l->u.n, r->u.n, 0);
			return num_limit(out->u.n, err);
		case OP_SUB:
			out->u.n = num_add(a, l->u.n, r->u.n, 1);
			return num_limit(out->u.n, err);
		case OP_MUL:
			/* A product has top(x) + top(y) - 1 or top(x) +
			 * top(y) digits before the point: refuse what must
			 * overflow before computing it (2E130000 squared was
			 * seconds of work for an error). */
			if (!l->u.n->special && !r->u.n->special &&
			    l->u.n->nd && r->u.n->nd &&
			    num_top(l->u.n) + num_top(r->u.n) - 1 >
				NUM_MAX_WEIGHT_DIGITS)
				return num_overflow(err);
			/* one unit per limb product */
			if (arena_charge(a,
					 (uint64_t)(l->u.n->nd / 9 + 1) *
					     (r->u.n->nd / 9 + 1),
					 err) < 0)
				return -1;
			out->u.n = num_mul(a, l->u.n, r->u.n);
			/* numeric_mul: a scale beyond the maximum is
			 * rounded, not an error */
			if (out->u.n->scale > NUM_MAX_DSCALE)
				out->u.n = num_round(a, out->u.n,
						     NUM_MAX_DSCALE);
			return num_limit(out->u.n, err);
		case OP_DIV:
		case OP_MOD:
			/* long division: about one unit per limb of the
			 * quotient times limb of the divisor */
			if (arena_charge(a,
					 (uint64_t)((l->u.n->nd + r->u.n->nd +
						     NUM_MAX_DISPLAY_SCALE) /
						        9 +
						    1) *
					     (r->u.n->nd / 9 + 1),
					 err) < 0)
				return -1;
			if ((op == OP_DIV ? num_div(a, l->u.n, r->u.n,
						    &out->u.n, err)
					  : num_mod(a, l->u.n, r->u.n,
						    &out->u.n, err)) < 0)
				return -1;
			return num_limit(out->u.n, err);
		default:
			return -1;
		}
	}
	if (x == WT_INTERVAL && (op == OP_MUL || op == OP_DIV))
		return iv_scale(&l->u.iv, r->u.f, op == OP_DIV, &out->u.iv,
				err);
	if (y == WT_INTERVAL && op == OP_MUL)
		return iv_scale(&r->u.iv, l->u.f, 0, &out->u.iv, err);
	/* date and time arithmetic */
	if (x == WT_DATE && y == WT_INT4) {
		int64_t d = l->u.i;

		if (d == DATE_NOBEGIN || d == DATE_NOEND) {
			out->u.i = d;
			return 0;
		}
		d += op == OP_ADD ? r->u.i : -r->u.i;
		if (d < -POSTGRES_EPOCH_JDATE ||
		    d >= DATE_END_JULIAN - POSTGRES_EPOCH_JDATE)
			return ss_err_set(err, SS_ERR_INPUT,
					  "date out of range");
		out->u.i = d;
		return 0;
	}
	if (x == WT_INT4 && y == WT_DATE)
		return wval_arith(a, op, rtp, r, lt, l, rt, out, err);
	if (x == WT_DATE && y == WT_DATE) {
		if (l->u.i == DATE_NOBEGIN || l->u.i == DATE_NOEND ||
		    r->u.i == DATE_NOBEGIN || r->u.i == DATE_NOEND)
			return ss_err_set(err, SS_ERR_INPUT,
					  "cannot subtract infinite dates");
		out->u.i = l->u.i - r->u.i;
		return 0;
	}
	if ((x == WT_DATE && y == WT_TIME) || (x == WT_TIME && y == WT_DATE)) {
		int64_t d = x == WT_DATE ? l->u.i : r->u.i;
		int64_t tm = x == WT_DATE ? r->u.i : l->u.i;

		if (d == DATE_NOBEGIN || d == DATE_NOEND) {
			out->u.i = d == DATE_NOBEGIN ? TS_NOBEGIN : TS_NOEND;
			return 0;
		}
		if (d >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)
			return ss_err_set(err, SS_ERR_INPUT,
					  "date out of range for timestamp");
		out->u.i = d * USECS_PER_DAY + tm;
		if (out->u.i >= END_TIMESTAMP)
			return ss_err_set(err, SS_ERR_INPUT,
					  "timestamp out of range");
		return 0;
	}
	if ((x == WT_TIMESTAMP || x == WT_TIMESTAMPTZ) && y == WT_INTERVAL) {
		if (ts_add_iv(l->u.i, &r->u.iv, op == OP_ADD ? 1 : -1,
			      &out->u.i) < 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "timestamp out of range");
		return 0;
	}
	if (x == WT_INTERVAL &&
	    (y == WT_TIMESTAMP || y == WT_TIMESTAMPTZ || y == WT_TIME))
		return wval_arith(a, op, rtp, r, lt, l, rt, out, err);
	if (x == WT_TIME && y == WT_INTERVAL) {
		int64_t t = l->u.i + (op == OP_ADD ? 1 : -1) *
					 (r->u.iv.us % USECS_PER_DAY);

		t %= USECS_PER_DAY;
		if (t < 0)
			t += USECS_PER_DAY;
		out->u.i = t;
		return 0;
	}
	if (x == WT_TIME && y == WT_TIME) {
		out->u.iv.us = l->u.i - r->u.i;
		return 0;
	}
	if ((x == WT_TIMESTAMP || x == WT_TIMESTAMPTZ) && x == y) {
		int64_t d;

		if (l->u.i == TS_NOBEGIN || l->u.i == TS_NOEND ||
		    r->u.i == TS_NOBEGIN || r->u.i == TS_NOEND)
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "cannot subtract infinite timestamps");
		if (__builtin_sub_overflow(l->u.i, r->u.i, &d))
			return ss_err_set(err, SS_ERR_INPUT,
					  "interval out of range");
		/* interval_justify_hours */
		out->u.iv.month = 0;
		out->u.iv.day = (int32_t)(d / USECS_PER_DAY);
		out->u.iv.us = d % USECS_PER_DAY;
		return 0;
	}
	if (x == WT_INTERVAL && y == WT_INTERVAL)
		return iv_arith(op == OP_ADD ? 1 : -1, &l->u.iv, &r->u.iv,
				&out->u.iv, err);
	return ss_err_set(err, SS_ERR_INPUT, "unsupported arithmetic");
}

/* ------------------------------------------------------------------ */
/* Public: equality keys for route's hash indexes */

int ss_where_value_key(const char *type, const char *text, struct ss_buf *key,
		       struct ss_err *err)
{
	struct wtype t;
	struct wval v;
	struct arena a = {NULL, NULL, 0, 0};
	int rc = 0;

	if (wtype_lookup(type, &t) < 0)
		return ss_err_set(err, SS_ERR_INPUT, "unsupported type %s",
				  type);
	if (wval_in(&a, &t, text, strlen(text), &v, err) < 0) {
		arena_free(&a);
		return -1;
	}
	if (t.array) {
		wval_out(&t, &v, key);
	} else if (t.base == WT_FLOAT4 || t.base == WT_FLOAT8) {
		if (v.u.f == 0)
			v.u.f = 0; /* -0 == 0 */
		wval_out(&t, &v, key);
	} else if (t.base == WT_NUMERIC) {
		/* Strip the display scale's trailing zeros. */
		struct num *n = v.u.n;

		if (!n->special) {
			while (n->scale > 0 && n->nd > 0 &&
			       n->d[n->nd - 1] == 0) {
				n->nd--;
				n->scale--;
			}
			if (n->nd == 0)
				n->scale = 0;
		}
		wval_out(&t, &v, key);
	} else if (t.base == WT_BPCHAR) {
		ss_buf_add(key, v.u.s.p, bp_len(v.u.s.p, v.u.s.len));
	} else {
		wval_out(&t, &v, key);
	}
	arena_free(&a);
	return rc;
}
