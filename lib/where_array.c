/*
 * where_array.c — lib/where's arrays: the text form {a,"b c",NULL} with
 * optional [lb:ub]= decoration in and out, and comparison, as PostgreSQL
 * 15 does them.
 */
#include <ctype.h>

#include "where_int.h"

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
	} else if (ss_w_val_in(ap->a, ap->et, b.buf, b.len, &v, ap->err) < 0) {
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

int ss_w_array_in(struct arena *a, const struct wtype *et, const char *s,
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
		if (ss_w_rd_int(&q, ap.end, 9, &lb) < 0 || q >= ap.end ||
		    *q != ':')
			return arr_bad(&ap);
		q++;
		{
			int uneg = 0;

			if (q < ap.end && *q == '-')
				uneg = 1, q++;
			if (ss_w_rd_int(&q, ap.end, 9, &ub) < 0 ||
			    q >= ap.end || *q != ']')
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
	arr = ss_w_arena_alloc(a, sizeof(*arr));
	arr->ndim = ap.ndim;
	for (i = 0; i < ap.ndim; i++) {
		arr->dims[i] = ap.dims[i];
		arr->lbs[i] = nlb ? lbs[i] : 1;
	}
	arr->n = ap.n;
	arr->e = ss_w_arena_alloc(a, (ap.n ? ap.n : 1) * sizeof(struct wval));
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
	ss_w_val_out(et, v, &b);
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

void ss_w_array_out(const struct wtype *et, const struct warr *arr,
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

/* ss_w_array_cmp: elementwise (NULLs greatest), then element count, then
 * dimensions and bounds. */
int ss_w_array_cmp(const struct wtype *et, const struct warr *x,
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
		c = ss_w_val_cmp(et, a, b);
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
