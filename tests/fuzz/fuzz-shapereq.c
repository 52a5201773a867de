/*
 * fuzz-shapereq.c — libFuzzer target for /v1/shape's request validation
 * (lib/shapereq.c) over a fixed fake catalog. The input is a query string,
 * decoded as libmicrohttpd decodes one ('&' and '=' split, '+' a space,
 * %XX a byte); a first byte '!' asks for the secret "s", a first byte
 * '~' validates as DELETE does (the definition only). Invariants: an
 * answer that is not valid has a status of 400, 401 or 503 and a body
 * that is a JSON object with a "message"; a valid request rendered back
 * to pairs (ss_shapereq_render) validates to the same request, and
 * rendering that gives the same pairs again.
 */
#include <jansson.h>

#include "fuzz.h"
#include "shapereq.h"

struct fcol {
	const char *name, *type;
	int pk, is_enum, generated;
};

static const struct {
	const char *schema, *name;
	int system, broken;
	struct fcol cols[6];
} tables[] = {
    {"public",
     "items",
     0,
     0,
     {{"id", "int8", 1, 0, 0},
      {"title", "text", 0, 0, 0},
      {"n", "int4", 0, 0, 0},
      {"gen", "int4", 0, 0, 1},
      {"mood", "mood", 0, 1, 0},
      {NULL, NULL, 0, 0, 0}}},
    {"public",
     "pairs",
     0,
     0,
     {{"a", "int4", 1, 0, 0},
      {"b", "text", 2, 0, 0},
      {"c", "_text", 0, 0, 0},
      {NULL, NULL, 0, 0, 0}}},
    {"public",
     "nopk",
     0,
     0,
     {{"x", "timestamptz", 0, 0, 0},
      {"Y", "numeric", 0, 0, 0},
      {NULL, NULL, 0, 0, 0}}},
    {"pg_catalog",
     "pg_class",
     1,
     0,
     {{"oid", "oid", 0, 0, 0}, {NULL, NULL, 0, 0, 0}}},
    {"public", "broken", 0, 1, {{NULL, NULL, 0, 0, 0}}},
};

static int fake_describe(void *ctx, const char *schema, const char *name,
			 struct ss_pgq_table *t, struct ss_err *err)
{
	size_t i, k, n, key;

	(void)ctx;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (strcmp(tables[i].schema, schema) ||
		    strcmp(tables[i].name, name))
			continue;
		if (tables[i].broken)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "connection refused");
		memset(t, 0, sizeof(*t));
		t->schema = ss_xstrdup(schema);
		t->name = ss_xstrdup(name);
		t->relkind = 'r';
		t->system = tables[i].system;
		for (n = 0; tables[i].cols[n].name; n++)
			;
		t->cols = ss_xcalloc(n + 1, sizeof(*t->cols));
		t->pk = ss_xcalloc(n + 1, sizeof(*t->pk));
		for (k = 0; k < n; k++) {
			t->cols[k].name = ss_xstrdup(tables[i].cols[k].name);
			t->cols[k].type = ss_xstrdup(tables[i].cols[k].type);
			t->cols[k].typmod = -1;
			t->cols[k].pk_index = tables[i].cols[k].pk - 1;
			t->cols[k].is_enum = tables[i].cols[k].is_enum;
			t->cols[k].generated = tables[i].cols[k].generated;
		}
		t->ncols = n;
		for (key = 1; key <= n; key++)
			for (k = 0; k < n; k++)
				if (tables[i].cols[k].pk == (int)key)
					t->pk[t->npk++] = k;
		if (!t->npk)
			for (k = 0; k < n; k++)
				t->pk[t->npk++] = k;
		return 1;
	}
	return 0;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static size_t unescape(char *s, size_t len)
{
	size_t r, w = 0;

	for (r = 0; r < len; r++) {
		if (s[r] == '+') {
			s[w++] = ' ';
		} else if (s[r] == '%' && r + 2 < len &&
			   hexval(s[r + 1]) >= 0 && hexval(s[r + 2]) >= 0) {
			s[w++] =
			    (char)(hexval(s[r + 1]) * 16 + hexval(s[r + 2]));
			r += 2;
		} else {
			s[w++] = s[r];
		}
	}
	s[w] = '\0';
	return w;
}

/* Split text[0..len) in place into pairs (*new* array). */
static struct ss_shapereq_kv *split(char *text, size_t len, size_t *n)
{
	struct ss_shapereq_kv *kv = ss_xcalloc(len + 2, sizeof(*kv));
	size_t start = 0;

	*n = 0;
	while (start < len) {
		char *p = text + start, *amp = memchr(p, '&', len - start), *eq;
		size_t plen = amp ? (size_t)(amp - p) : len - start;

		p[plen] = '\0';
		eq = memchr(p, '=', plen);
		if (eq) {
			*eq = '\0';
			kv[*n].value = eq + 1;
			kv[*n].value_len =
			    unescape(eq + 1, plen - (size_t)(eq + 1 - p));
		}
		kv[*n].key = p;
		kv[*n].key_len = unescape(p, eq ? (size_t)(eq - p) : plen);
		++*n;
		start += plen + 1;
	}
	return kv;
}

/* 0 valid (q filled), else the status, its body checked. */
static unsigned run(const struct ss_shapereq_kv *kv, size_t n,
		    const struct ss_shapereq_opts *o, struct ss_shapereq *q)
{
	struct ss_shapereq_error e;
	struct ss_shapereq_args a;
	unsigned st;

	ss_shapereq_error_init(&e);
	st = ss_shapereq_check_bytes(kv, n, &e);
	if (!st) {
		ss_shapereq_args_collect(kv, n, &a);
		st = ss_shapereq_validate(&a, o, q, &e);
	}
	if (st) {
		json_error_t je;
		json_t *j = json_loadb(e.body.buf, e.body.len, 0, &je);

		FUZZ_CHECK(st == 400 || st == 401 || st == 503, "status %u",
			   st);
		FUZZ_CHECK(
		    j && json_is_object(j) &&
			json_is_string(json_object_get(j, "message")),
		    "error body is not a JSON object with a message: %s (%s)",
		    e.body.buf, je.text);
		json_decref(j);
	}
	ss_shapereq_error_release(&e);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_where_limits lim;
	struct ss_shapereq_opts o = {NULL, &lim, fake_describe, NULL, 0, 0};
	struct ss_shapereq q, q2;
	struct ss_shapereq_kv *kv, *kv2 = NULL, *kv3 = NULL;
	struct ss_buf r1 = SS_BUF_INIT, r2 = SS_BUF_INIT, d1 = SS_BUF_INIT;
	struct ss_buf d2 = SS_BUF_INIT;
	char *text = fuzz_strndup(data, size), *p = text;
	size_t n, n2, n3;

	ss_where_limits_default(&lim);
	lim.max_length = 4096;
	lim.max_in = 100;
	if (size && *p == '!') {
		o.secret = "s";
		p++;
	} else if (size && *p == '~') {
		o.definition_only = 1;
		p++;
	}
	kv = split(p, size - (size_t)(p - text), &n);
	ss_shapereq_init(&q);
	ss_shapereq_init(&q2);
	if (!run(kv, n, &o, &q)) {
		ss_shapereq_describe(&q, &d1);
		ss_shapereq_render(&q, o.secret, &r1, &kv2, &n2);
		/* The rendering's where is the canonical text, which may
		 * be longer than the client's: route compiles it under
		 * the stored limits, and so does this check. */
		o.definition_only = 0;
		ss_where_limits_stored(&lim);
		FUZZ_CHECK(!run(kv2, n2, &o, &q2),
			   "'%s' validates, rendered it does not", p);
		ss_shapereq_describe(&q2, &d2);
		FUZZ_CHECK(!strcmp(d1.buf, d2.buf),
			   "'%s' validates to\n%s\nrendered to\n%s", p, d1.buf,
			   d2.buf);
		ss_shapereq_render(&q2, o.secret, &r2, &kv3, &n3);
		FUZZ_CHECK(r1.len == r2.len && !memcmp(r1.buf, r2.buf, r1.len),
			   "'%s': rendering is not stable", p);
	}
	ss_shapereq_release(&q);
	ss_shapereq_release(&q2);
	ss_buf_release(&r1);
	ss_buf_release(&r2);
	ss_buf_release(&d1);
	ss_buf_release(&d2);
	free(kv);
	free(kv2);
	free(kv3);
	free(text);
	return 0;
}
