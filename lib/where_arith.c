/*
 * where_arith.c — lib/where's arithmetic: operator resolution for + - * /
 * % ^ over numbers, dates, times and intervals, and the operations
 * themselves with PostgreSQL's overflow and division errors;
 * justify_days/hours/interval.
 */
#include <math.h>

#include "where_int.h"

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

int ss_w_arith_resolve(enum wop op, const struct wtype *l,
		       const struct wtype *r, struct wtype *lc,
		       struct wtype *rc, struct wtype *res)
{
	enum wt a = l->base, b = r->base;

	if (l->array || r->array)
		return -1;
	*lc = *l;
	*rc = *r;
	lc->typmod = rc->typmod = -1;
	if (op == OP_NEG) {
		if (ss_w_is_numeric(a) || a == WT_INTERVAL) {
			*res = mk(a);
			return 0;
		}
		return -1;
	}
	if (op == OP_POW) {
		/* float8 ^ float8, or numeric ^ numeric when a numeric meets
		 * integers or another numeric (PostgreSQL's candidates) */
		if (!ss_w_is_numeric(a) || !ss_w_is_numeric(b))
			return -1;
		if ((a == WT_NUMERIC || b == WT_NUMERIC) && a != WT_FLOAT4 &&
		    a != WT_FLOAT8 && b != WT_FLOAT4 && b != WT_FLOAT8)
			*lc = *rc = *res = mk(WT_NUMERIC);
		else
			*lc = *rc = *res = mk(WT_FLOAT8);
		return 0;
	}
	if (ss_w_is_numeric(a) && ss_w_is_numeric(b)) {
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
		if (a == WT_INTERVAL && ss_w_is_numeric(b)) {
			*rc = mk(WT_FLOAT8);
			*res = T_INTERVAL;
			return 0;
		}
		if (op == OP_MUL && b == WT_INTERVAL && ss_w_is_numeric(a)) {
			*lc = mk(WT_FLOAT8);
			*res = T_INTERVAL;
			return 0;
		}
		return -1;
	}
	switch (op) {
	case OP_ADD:
		if (a == WT_DATE && ss_w_is_int(b) && b != WT_INT8) {
			*rc = T_INT4, *res = mk(WT_DATE);
			return 0;
		}
		if (b == WT_DATE && ss_w_is_int(a) && a != WT_INT8) {
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
		if (a == WT_DATE && ss_w_is_int(b) && b != WT_INT8) {
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
			return ss_w_int_oor(t, err);
		break;
	case OP_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return ss_w_int_oor(t, err);
		break;
	case OP_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return ss_w_int_oor(t, err);
		break;
	case OP_DIV:
		if (y == 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "division by zero");
		if (y == -1) {
			if (__builtin_sub_overflow((int64_t)0, x, &r))
				return ss_w_int_oor(t, err);
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
			return ss_w_int_oor(t, err);
		break;
	default:
		return -1;
	}
	if (!ss_w_int_range(t, r))
		return ss_w_int_oor(t, err);
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

int ss_w_interval_justify(const struct interval *in, int days, int hours,
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

int ss_w_val_arith(struct arena *a, enum wop op, const struct wtype *lt,
		   const struct wval *l, const struct wtype *rtp,
		   const struct wval *r, const struct wtype *rt,
		   struct wval *out, struct ss_err *err)
{
	enum wt x = lt->base, y = rtp ? rtp->base : WT_NULL;

	memset(out, 0, sizeof(*out));
	if (op == OP_NEG) {
		if (ss_w_is_int(x))
			return i_arith(OP_NEG, x, l->u.i, 0, &out->u.i, err);
		if (x == WT_FLOAT4 || x == WT_FLOAT8)
			return f_arith(OP_NEG, x, l->u.f, 0, &out->u.f, err);
		if (x == WT_NUMERIC) {
			struct num *n = ss_w_num_new(a, l->u.n->nd);

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
	if (ss_w_is_int(rt->base) && ss_w_is_int(x) && ss_w_is_int(y))
		return i_arith(op, rt->base, l->u.i, r->u.i, &out->u.i, err);
	if (op == OP_POW)
		return f_pow(l->u.f, r->u.f, &out->u.f, err);
	if ((rt->base == WT_FLOAT4 || rt->base == WT_FLOAT8) &&
	    ss_w_is_numeric(x))
		return f_arith(op, rt->base, l->u.f, r->u.f, &out->u.f, err);
	if (rt->base == WT_NUMERIC && x == WT_NUMERIC) {
		switch (op) {
		case OP_ADD:
			out->u.n = ss_w_num_add(a, l->u.n, r->u.n, 0);
			return ss_w_num_limit(out->u.n, err);
		case OP_SUB:
			out->u.n = ss_w_num_add(a, l->u.n, r->u.n, 1);
			return ss_w_num_limit(out->u.n, err);
		case OP_MUL:
			/* A product has top(x) + top(y) - 1 or top(x) +
			 * top(y) digits before the point: refuse what must
			 * overflow before computing it (2E130000 squared was
			 * seconds of work for an error). */
			if (!l->u.n->special && !r->u.n->special &&
			    l->u.n->nd && r->u.n->nd &&
			    ss_w_num_top(l->u.n) + ss_w_num_top(r->u.n) - 1 >
				NUM_MAX_WEIGHT_DIGITS)
				return ss_w_num_overflow(err);
			/* one unit per limb product */
			if (ss_w_arena_charge(a,
					      (uint64_t)(l->u.n->nd / 9 + 1) *
						  (r->u.n->nd / 9 + 1),
					      err) < 0)
				return -1;
			out->u.n = ss_w_num_mul(a, l->u.n, r->u.n);
			/* numeric_mul: a scale beyond the maximum is
			 * rounded, not an error */
			if (out->u.n->scale > NUM_MAX_DSCALE)
				out->u.n =
				    ss_w_num_round(a, out->u.n, NUM_MAX_DSCALE);
			return ss_w_num_limit(out->u.n, err);
		case OP_DIV:
		case OP_MOD:
			/* long division: about one unit per limb of the
			 * quotient times limb of the divisor */
			if (ss_w_arena_charge(
				a,
				(uint64_t)((l->u.n->nd + r->u.n->nd +
					    NUM_MAX_DISPLAY_SCALE) /
					       9 +
					   1) *
				    (r->u.n->nd / 9 + 1),
				err) < 0)
				return -1;
			if ((op == OP_DIV ? ss_w_num_div(a, l->u.n, r->u.n,
							 &out->u.n, err)
					  : ss_w_num_mod(a, l->u.n, r->u.n,
							 &out->u.n, err)) < 0)
				return -1;
			return ss_w_num_limit(out->u.n, err);
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
		return ss_w_val_arith(a, op, rtp, r, lt, l, rt, out, err);
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
		if (ss_w_ts_add_iv(l->u.i, &r->u.iv, op == OP_ADD ? 1 : -1,
				   &out->u.i) < 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "timestamp out of range");
		return 0;
	}
	if (x == WT_INTERVAL &&
	    (y == WT_TIMESTAMP || y == WT_TIMESTAMPTZ || y == WT_TIME))
		return ss_w_val_arith(a, op, rtp, r, lt, l, rt, out, err);
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
