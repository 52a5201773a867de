/*
 * where_type.c — lib/where's types and the value entry points: type
 * names, lookup and spelling, the small types (uuid, boolean, text), and
 * text input, output, comparison and casts of any value, dispatching to
 * the type families (where_numeric.c, where_time.c, where_array.c) with
 * PostgreSQL's error messages; route's equality keys.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>

#include "where_int.h"

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

const char *ss_w_wt_sqlname(enum wt t)
{
	return type_names[t].sql;
}

int ss_w_is_int(enum wt t)
{
	return t == WT_INT2 || t == WT_INT4 || t == WT_INT8;
}

int ss_w_is_numeric(enum wt t)
{
	return t >= WT_INT2 && t <= WT_FLOAT8;
}

int ss_w_is_text(enum wt t)
{
	return t == WT_TEXT || t == WT_VARCHAR || t == WT_BPCHAR;
}

int ss_w_type_eq(const struct wtype *a, const struct wtype *b)
{
	if (a->base != b->base || a->array != b->array)
		return 0;
	if (a->base == WT_ENUM)
		return strcmp(a->ename, b->ename) == 0;
	return 1;
}

void ss_w_type_sqlname(const struct wtype *t, struct ss_buf *out)
{
	if (t->base == WT_ENUM)
		ss_buf_adds(out, t->ename);
	else
		ss_buf_adds(out, type_names[t->base].sql);
	if (t->array)
		ss_buf_adds(out, "[]");
}

void ss_w_type_canon(const struct wtype *t, struct ss_buf *out)
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

int ss_w_type_lookup(const char *name, struct wtype *t)
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
		if (ss_w_type_lookup(tmp, t) < 0 || t->array)
			return -1;
		t->array = 1;
		return 0;
	}
	if (name[0] == '_') {
		if (ss_w_type_lookup(name + 1, t) < 0 || t->array)
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
/* UUID */

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
		hi = ss_hexval((unsigned char)p[0]);
		lo = ss_hexval((unsigned char)p[1]);
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
/* Generic value entry points */

static int adjust_precision(const struct wtype *t, struct wval *v,
			    struct ss_err *err);

int ss_w_val_in(struct arena *a, const struct wtype *t, const char *s,
		size_t len, struct wval *out, struct ss_err *err)
{
	memset(out, 0, sizeof(*out));
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		et.typmod = -1;
		return ss_w_array_in(a, &et, s, len, &out->u.a, err);
	}
	switch (t->base) {
	case WT_BOOL:
		return bool_in(s, len, &out->u.b, err);
	case WT_INT2:
	case WT_INT4:
	case WT_INT8:
		return ss_w_int_in(t->base, s, len, &out->u.i, err);
	case WT_FLOAT4:
	case WT_FLOAT8:
		return ss_w_float_in(t->base, s, len, &out->u.f, err);
	case WT_NUMERIC: {
		struct num *n;

		if (ss_w_num_in(a, s, len, &n, err) < 0)
			return -1;
		return ss_w_num_apply_typmod(a, n, t->typmod, &out->u.n, err);
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
		SS_FALLTHROUGH;
	case WT_UNKNOWN:
	case WT_TEXT:
	case WT_VARCHAR:
		if (t->typmod >= 0 && utf8_chars(s, len) > (size_t)t->typmod)
			len = utf8_prefix(s, len, (size_t)t->typmod);
		out->u.s.p = ss_w_arena_strndup(a, s, len);
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
			p = ss_w_arena_alloc(a, len + pad + 1);
			memcpy(p, s, len);
			for (k = 0; k < pad; k++)
				p[len + k] = ' ';
			out->u.s.p = p;
			out->u.s.len = len + pad;
			return 0;
		}
		out->u.s.p = ss_w_arena_strndup(a, s, len);
		out->u.s.len = len;
		return 0;
	case WT_UUID:
		return uuid_in(s, len, out->u.uuid, err);
	case WT_DATE:
		return ss_w_date_in(s, len, &out->u.i, err);
	case WT_TIME:
		if (ss_w_time_in(s, len, &out->u.i, err) < 0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_TIMESTAMP:
	case WT_TIMESTAMPTZ:
		if (ss_w_ts_in(t->base == WT_TIMESTAMPTZ, s, len, &out->u.i,
			       err) < 0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_INTERVAL:
		if (ss_w_interval_in(s, len, &out->u.iv, err) < 0)
			return -1;
		return adjust_precision(t, out, err);
	case WT_NULL:
		out->isnull = 1;
		return 0;
	}
	return ss_err_set(err, SS_ERR_INPUT, "unsupported type");
}

void ss_w_val_out(const struct wtype *t, const struct wval *v,
		  struct ss_buf *out)
{
	if (v->isnull)
		return;
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		ss_w_array_out(&et, v->u.a, out);
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
		ss_w_float_out(v->u.f, 1, out);
		break;
	case WT_FLOAT8:
		ss_w_float_out(v->u.f, 0, out);
		break;
	case WT_NUMERIC:
		ss_w_num_out(v->u.n, out);
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
		ss_w_fmt_date_bc(v->u.i, out);
		break;
	case WT_TIME:
		ss_w_fmt_time(v->u.i, out);
		break;
	case WT_TIMESTAMP:
		ss_w_fmt_ts(v->u.i, 0, out);
		break;
	case WT_TIMESTAMPTZ:
		ss_w_fmt_ts(v->u.i, 1, out);
		break;
	case WT_INTERVAL:
		ss_w_interval_out(&v->u.iv, out);
		break;
	case WT_NULL:
		break;
	}
}

int ss_w_val_cmp(const struct wtype *t, const struct wval *x,
		 const struct wval *y)
{
	if (t->array) {
		struct wtype et = *t;

		et.array = 0;
		return ss_w_array_cmp(&et, x->u.a, y->u.a);
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
		return ss_w_float_cmp(x->u.f, y->u.f);
	case WT_NUMERIC:
		return ss_w_num_cmp(x->u.n, y->u.n);
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
		__int128 a = ss_w_interval_span(&x->u.iv),
			 b = ss_w_interval_span(&y->u.iv);

		return a < b ? -1 : a > b;
	}
	case WT_NULL:
		return 0;
	}
	return 0;
}

int ss_w_cast_kind(const struct wtype *from, const struct wtype *to)
{
	enum wt f = from->base, t = to->base;

	if (from->array || to->array) {
		struct wtype fe = *from, te = *to;

		if (from->array && to->array) {
			fe.array = te.array = 0;
			return ss_w_cast_kind(&fe, &te);
		}
		if (!from->array && (f == WT_UNKNOWN || f == WT_NULL))
			return 2;
		/* text <-> array go through the text form */
		if (!from->array && ss_w_is_text(f))
			return 1;
		if (from->array && ss_w_is_text(t))
			return 1;
		return 0;
	}
	if (ss_w_type_eq(from, to))
		return 2;
	if (f == WT_UNKNOWN || f == WT_NULL)
		return 2;
	if (ss_w_is_numeric(f) && ss_w_is_numeric(t))
		return t > f ? 2 : 1;
	if (ss_w_is_text(f) && ss_w_is_text(t))
		return 2;
	if (ss_w_is_text(t))
		return 1; /* anything -> text via output */
	if (ss_w_is_text(f))
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
	    d >= 9223372036854775808.0 || !ss_w_int_range(t, (int64_t)d))
		return ss_w_int_oor(t, err);
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

int ss_w_val_cast(struct arena *a, const struct wtype *from,
		  const struct wtype *to, const struct wval *v,
		  struct wval *out, struct ss_err *err)
{
	/* the same type with no modifier to apply: nothing to do (this is
	 * the common case for IN lists and BETWEEN bounds) */
	if (to->typmod < 0 && ss_w_type_eq(from, to)) {
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
	    (ss_w_is_text(f) && !from->array &&
	     (to->array || !ss_w_is_text(t)) && t != WT_ENUM) ||
	    (f == WT_ENUM && !ss_w_is_text(t))) {
		/* I/O conversion from the text form. */
		return ss_w_val_in(a, to, v->u.s.p, v->u.s.len, out, err);
	}
	if (from->array && to->array) {
		struct wtype fe = *from, te = *to;
		struct warr *r;
		size_t i;

		fe.array = te.array = 0;
		if (ss_w_type_eq(&fe, &te) && to->typmod < 0)
			return 0;
		r = ss_w_arena_alloc(a, sizeof(*r));
		*r = *v->u.a;
		r->e = ss_w_arena_alloc(a, (r->n ? r->n : 1) *
					       sizeof(struct wval));
		for (i = 0; i < r->n; i++)
			if (ss_w_val_cast(a, &fe, &te, &v->u.a->e[i], &r->e[i],
					  err) < 0)
				return -1;
		out->u.a = r;
		return 0;
	}
	if (ss_w_is_text(t) || t == WT_ENUM) {
		struct ss_buf b = SS_BUF_INIT;
		const char *p;
		size_t len;

		if (from->base == WT_BPCHAR && !from->array) {
			/* bpchar to text/varchar drops the padding */
			len = bp_len(v->u.s.p, v->u.s.len);
			p = v->u.s.p;
			if (t == WT_BPCHAR)
				len = v->u.s.len;
			return ss_w_val_in(a, to, p, len, out, err);
		}
		ss_w_val_out(from, v, &b);
		if (ss_w_val_in(a, to, b.buf, b.len, out, err) < 0) {
			ss_buf_release(&b);
			return -1;
		}
		ss_buf_release(&b);
		return 0;
	}
	if (ss_w_is_numeric(f) && ss_w_is_numeric(t)) {
		if (ss_w_is_int(f)) {
			if (ss_w_is_int(t)) {
				if (!ss_w_int_range(t, v->u.i))
					return ss_w_int_oor(t, err);
				return 0;
			}
			if (t == WT_NUMERIC) {
				ss_w_num_from_int(a, v->u.i, &out->u.n);
				return ss_w_num_apply_typmod(
				    a, out->u.n, to->typmod, &out->u.n, err);
			}
			out->u.f = t == WT_FLOAT4 ? (double)(float)v->u.i
						  : (double)v->u.i;
			return 0;
		}
		if (f == WT_NUMERIC) {
			if (ss_w_is_int(t)) {
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
				if (ss_w_num_to_i64(a, v->u.n, &out->u.i) < 0 ||
				    !ss_w_int_range(t, out->u.i))
					return ss_w_int_oor(t, err);
				return 0;
			}
			if (t == WT_NUMERIC)
				return ss_w_num_apply_typmod(
				    a, v->u.n, to->typmod, &out->u.n, err);
			{
				/* numeric_float8/4 go through the text form and
				 * float8in/float4in, errors included */
				struct ss_buf b = SS_BUF_INIT;
				int rc;

				ss_w_num_out(v->u.n, &b);
				rc = ss_w_float_in(t, b.buf, b.len, &out->u.f,
						   err);
				ss_buf_release(&b);
				if (rc < 0)
					return -1;
				if (t == WT_FLOAT4)
					out->u.f = (float)out->u.f;
			}
			return 0;
		}
		/* from float */
		if (ss_w_is_int(t))
			return float_to_int(v->u.f, t, &out->u.i, err);
		if (t == WT_NUMERIC) {
			char buf[64];
			struct num *n;

			if (isnan(v->u.f))
				return ss_w_num_apply_typmod(
				    a, ss_w_num_special(a, NUM_NAN), to->typmod,
				    &out->u.n, err);
			if (isinf(v->u.f))
				return ss_w_num_apply_typmod(
				    a,
				    ss_w_num_special(a, v->u.f > 0 ? NUM_PINF
								   : NUM_NINF),
				    to->typmod, &out->u.n, err);
			snprintf(buf, sizeof(buf), "%.*g",
				 f == WT_FLOAT4 ? FLT_DIG : DBL_DIG, v->u.f);
			if (ss_w_num_in(a, buf, strlen(buf), &n, err) < 0)
				return -1;
			return ss_w_num_apply_typmod(a, n, to->typmod,
						     &out->u.n, err);
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
	if (ss_w_type_eq(from, to))
		return 0;
	{
		struct ss_buf fn = SS_BUF_INIT, tn = SS_BUF_INIT;

		ss_w_type_sqlname(from, &fn);
		ss_w_type_sqlname(to, &tn);
		ss_err_set(err, SS_ERR_INPUT, "cannot cast type %s to %s",
			   fn.buf, tn.buf);
		ss_buf_release(&fn);
		ss_buf_release(&tn);
		return -1;
	}
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

	if (ss_w_type_lookup(type, &t) < 0)
		return ss_err_set(err, SS_ERR_INPUT, "unsupported type %s",
				  type);
	if (ss_w_val_in(&a, &t, text, strlen(text), &v, err) < 0) {
		ss_w_arena_free(&a);
		return -1;
	}
	if (t.array) {
		ss_w_val_out(&t, &v, key);
	} else if (t.base == WT_FLOAT4 || t.base == WT_FLOAT8) {
		if (v.u.f == 0)
			v.u.f = 0; /* -0 == 0 */
		ss_w_val_out(&t, &v, key);
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
		ss_w_val_out(&t, &v, key);
	} else if (t.base == WT_BPCHAR) {
		ss_buf_add(key, v.u.s.p, bp_len(v.u.s.p, v.u.s.len));
	} else {
		ss_w_val_out(&t, &v, key);
	}
	ss_w_arena_free(&a);
	return rc;
}
