/*
 * where_numeric.c — lib/where's numbers: numeric as an exact decimal
 * (digits + scale, PostgreSQL's limits, rounding and typmods), and the
 * text input and output of integers and floats, as PostgreSQL 15 does
 * them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "where_int.h"

/* ------------------------------------------------------------------ */
/* Numeric: value = sign * D * 10^-scale, D held as decimal digits (0-9,
 * most significant first, no leading zeros; nd == 0 is zero). `scale` is
 * also PostgreSQL's display scale, so "1.50" keeps its trailing zero. */

struct num *ss_w_num_new(struct arena *a, size_t nd)
{
	struct num *n = ss_w_arena_alloc(a, sizeof(*n));

	n->d = ss_w_arena_alloc(a, nd ? nd : 1);
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

struct num *ss_w_num_special(struct arena *a, int special)
{
	struct num *n = ss_w_num_new(a, 0);

	n->special = special;
	return n;
}

int ss_w_num_overflow(struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT, "value overflows numeric format");
}

/* PostgreSQL's make_result check: 0, or -1 with its error. */
int ss_w_num_limit(const struct num *n, struct ss_err *err)
{
	if (n->special || n->nd == 0)
		return 0;
	if ((long)n->nd - n->scale > NUM_MAX_WEIGHT_DIGITS ||
	    n->scale > NUM_MAX_DSCALE)
		return ss_w_num_overflow(err);
	return 0;
}

int ss_w_num_from_int(struct arena *a, int64_t i, struct num **out)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld", (long long)i);
	int k, start = buf[0] == '-';
	struct num *n = ss_w_num_new(a, (size_t)(len - start));

	n->neg = start;
	for (k = start; k < len; k++)
		n->d[k - start] = (unsigned char)(buf[k] - '0');
	num_strip(n);
	*out = n;
	return 0;
}

int ss_w_num_is_negative(const struct num *n)
{
	return n->special == NUM_NINF || (!n->special && n->neg && n->nd > 0);
}

static int num_err_syntax(struct ss_err *err, const char *s, size_t len)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "invalid input syntax for type numeric: \"%.*s\"",
			  (int)len, s);
}

int ss_w_num_in(struct arena *a, const char *s, size_t len, struct num **out,
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
			*out = ss_w_num_special(a, NUM_NAN);
			return 0;
		}
		if ((n == 8 && strncasecmp(q, "infinity", 8) == 0) ||
		    (n == 3 && strncasecmp(q, "inf", 3) == 0)) {
			*out =
			    ss_w_num_special(a, sgn < 0 ? NUM_NINF : NUM_PINF);
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
		struct num *n = ss_w_num_new(a, nint + nfrac + extra);

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

void ss_w_num_out(const struct num *n, struct ss_buf *out)
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

long ss_w_num_top(const struct num *n) /* highest position + 1 */
{
	return (long)n->nd - n->scale;
}

static int num_magcmp(const struct num *x, const struct num *y)
{
	long hi = ss_w_num_top(x) > ss_w_num_top(y) ? ss_w_num_top(x)
						    : ss_w_num_top(y);
	long lo = -(long)(x->scale > y->scale ? x->scale : y->scale);
	long p;

	for (p = hi - 1; p >= lo; p--) {
		int a = num_digit(x, p), b = num_digit(y, p);

		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

int ss_w_num_cmp(const struct num *x, const struct num *y)
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
	long hi = (ss_w_num_top(x) > ss_w_num_top(y) ? ss_w_num_top(x)
						     : ss_w_num_top(y)) +
		  1;
	size_t nd = (size_t)(hi + scale);
	struct num *r = ss_w_num_new(a, nd);
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

struct num *ss_w_num_add(struct arena *a, const struct num *x,
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
			return ss_w_num_special(a, NUM_NAN);
		if (x->special && ys && x->special != ys)
			return ss_w_num_special(a, NUM_NAN);
		return ss_w_num_special(a, x->special ? x->special : ys);
	}
	if (x->neg == yneg || y->nd == 0 || x->nd == 0) {
		if (x->nd == 0 && y->nd == 0) {
			r = ss_w_num_new(a, 0);
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

struct num *ss_w_num_mul(struct arena *a, const struct num *x,
			 const struct num *y)
{
	struct num *r;
	size_t i, j, nd;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN)
			return ss_w_num_special(a, NUM_NAN);
		int sx = x->special ? (x->special == NUM_PINF ? 1 : -1)
				    : (x->nd == 0 ? 0 : (x->neg ? -1 : 1));
		int sy = y->special ? (y->special == NUM_PINF ? 1 : -1)
				    : (y->nd == 0 ? 0 : (y->neg ? -1 : 1));
		if (sx * sy == 0)
			return ss_w_num_special(a, NUM_NAN);
		return ss_w_num_special(a, sx * sy > 0 ? NUM_PINF : NUM_NINF);
	}
	nd = x->nd + y->nd;
	r = ss_w_num_new(a, nd);
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
		uint32_t *lx = ss_w_arena_alloc(a, nx * sizeof(*lx));
		uint32_t *ly = ss_w_arena_alloc(a, ny * sizeof(*ly));
		uint64_t *acc = ss_w_arena_alloc(a, (nx + ny) * sizeof(*acc));

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
	uint32_t *u = ss_w_arena_alloc(a, (nu + 1) * sizeof(*u));
	uint32_t *v = ss_w_arena_alloc(a, (nv + 1) * sizeof(*v));
	uint32_t *ql = ss_w_arena_alloc(a, (nu + 1) * sizeof(*ql));
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
			int64_t t =
			    (int64_t)u[i + j] - borrow - (int64_t)(p % LIMB);

			carry = p / LIMB;
			borrow = t < 0;
			u[i + j] = (uint32_t)(t < 0 ? t + LIMB : t);
		}
		{
			int64_t t =
			    (int64_t)u[j + nv] - borrow - (int64_t)carry;

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
			u[j + nv] =
			    (uint32_t)(((uint64_t)u[j + nv] + carry) % LIMB);
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
	long top = ss_w_num_top(x), p;
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

int ss_w_num_div(struct arena *a, const struct num *x, const struct num *y,
		 struct num **out, struct ss_err *err)
{
	int w1, f1, w2, f2, qweight, rscale;
	long e;
	size_t nn, i;
	unsigned char *nbuf, *q;
	struct num *r;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN) {
			*out = ss_w_num_special(a, NUM_NAN);
			return 0;
		}
		if (x->special) {
			if (y->special) {
				*out = ss_w_num_special(a, NUM_NAN);
				return 0;
			}
			if (y->nd == 0)
				return ss_err_set(err, SS_ERR_INPUT,
						  "division by zero");
			*out = ss_w_num_special(
			    a, (x->special == NUM_PINF) != y->neg ? NUM_PINF
								  : NUM_NINF);
			return 0;
		}
		*out = ss_w_num_new(a, 0);
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
	nbuf = ss_w_arena_alloc(a, nn);
	memcpy(nbuf, x->d, x->nd);
	q = ss_w_arena_alloc(a, nn + 1);
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
	r = ss_w_num_new(a, nn);
	memcpy(r->d, q, nn); /* drop the rounding digit */
	r->scale = rscale;
	r->neg = x->neg != y->neg;
	num_strip(r);
	*out = r;
	return 0;
}

int ss_w_num_mod(struct arena *a, const struct num *x, const struct num *y,
		 struct num **out, struct ss_err *err)
{
	int scale;
	size_t nx, ny;
	unsigned char *bx, *by, *q;
	struct num *r;

	if (x->special || y->special) {
		if (x->special == NUM_NAN || y->special == NUM_NAN) {
			*out = ss_w_num_special(a, NUM_NAN);
			return 0;
		}
		if (x->special) {
			if (!y->special && y->nd == 0)
				return ss_err_set(err, SS_ERR_INPUT,
						  "division by zero");
			*out = ss_w_num_special(a, NUM_NAN);
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
	bx = ss_w_arena_alloc(a, nx + 1);
	memcpy(bx, x->d, x->nd);
	by = ss_w_arena_alloc(a, ny + 1);
	memcpy(by, y->d, y->nd);
	q = ss_w_arena_alloc(a, nx + 1);
	dig_div(a, bx, nx, by, ny, q);
	r = ss_w_num_new(a, nx);
	memcpy(r->d, bx, nx);
	r->scale = scale;
	r->neg = x->neg;
	num_strip(r);
	*out = r;
	return 0;
}

/* Round to `scale` decimals, half away from zero (numeric_round). */
struct num *ss_w_num_round(struct arena *a, const struct num *x, int scale)
{
	struct num *r;
	long drop;
	size_t keep, i;
	int carry;

	if (x->special)
		return (struct num *)x;
	drop = (long)x->scale - scale;
	if (drop <= 0) {
		r = ss_w_num_new(a, x->nd + (size_t)(-drop));
		memcpy(r->d, x->d, x->nd);
		r->nd = x->nd + (size_t)(-drop);
		r->scale = scale;
		r->neg = x->neg;
		num_strip(r);
		return r;
	}
	keep = x->nd > (size_t)drop ? x->nd - (size_t)drop : 0;
	r = ss_w_num_new(a, keep + 1);
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
int ss_w_num_to_i64(struct arena *a, const struct num *x, int64_t *out)
{
	struct num *r;
	uint64_t v = 0;
	size_t i;

	if (x->special)
		return -1;
	r = ss_w_num_round(a, x, 0);
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
int ss_w_num_apply_typmod(struct arena *a, struct num *x, int32_t typmod,
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
	r = ss_w_num_round(a, x, scale);
	if (r->nd > 0 && ss_w_num_top(r) > prec - scale)
		return ss_err_set(err, SS_ERR_INPUT, "numeric field overflow");
	*out = r;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Integers and floats */

int ss_w_int_range(enum wt t, int64_t v)
{
	if (t == WT_INT2)
		return v >= INT16_MIN && v <= INT16_MAX;
	if (t == WT_INT4)
		return v >= INT32_MIN && v <= INT32_MAX;
	return 1;
}

int ss_w_int_oor(enum wt t, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT, "%s out of range",
			  t == WT_INT2	 ? "smallint"
			  : t == WT_INT4 ? "integer"
					 : "bigint");
}

int ss_w_int_in(enum wt t, const char *s, size_t len, int64_t *out,
		struct ss_err *err)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	uint64_t v = 0, lim;
	const char *tn = ss_w_wt_sqlname(t);

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

int ss_w_float_in(enum wt t, const char *s, size_t len, double *out,
		  struct ss_err *err)
{
	char buf[512], *endp;
	const char *p = s, *end = s + len;
	const char *tn = ss_w_wt_sqlname(t);
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
void ss_w_float_out(double v, int is4, struct ss_buf *out)
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

int ss_w_float_cmp(double a, double b)
{
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	if (isnan(b))
		return -1;
	return a < b ? -1 : a > b;
}
