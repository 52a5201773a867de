/*
 * test-shapereq — runs tests/data/shapereq.test through lib/shapereq with
 * a fake catalog (the tables below), as serve does for /v1/shape: the
 * byte check over the raw pairs, then validation. For every request that
 * validates it also checks the fuzz target's invariant: rendered back to
 * pairs, it validates to the same request.
 *
 *   test-shapereq tests/data/shapereq.test
 *   test-shapereq -q 'QUERY'     print what QUERY gives (to write cases)
 *   test-shapereq -g FILE        print FILE with each case's actual result
 *                                (to review a new or changed case)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shapereq.h"
#include "unit.h"

/* ------------------------------------------------------------ the catalog */

struct fcol {
	const char *name, *type;
	int pk, is_enum, generated;
};

struct ftable {
	const char *schema, *name;
	int system, broken;
	struct fcol cols[8];
};

static const struct ftable tables[] = {
    {"public",
     "items",
     0,
     0,
     {{"id", "int8", 1, 0, 0},
      {"title", "text", 0, 0, 0},
      {"n", "int4", 0, 0, 0},
      {"gen", "int4", 0, 0, 1},
      {"tags", "_text", 0, 0, 0},
      {"mood", "mood", 0, 1, 0},
      {"Mixed", "text", 0, 0, 0},
      {NULL, NULL, 0, 0, 0}}},
    {"public",
     "pairs",
     0,
     0,
     {{"a", "int4", 1, 0, 0},
      {"b", "text", 2, 0, 0},
      {"c", "text", 0, 0, 0},
      {NULL, NULL, 0, 0, 0}}},
    {"public",
     "nopk",
     0,
     0,
     {{"x", "int4", 0, 0, 0}, {"y", "text", 0, 0, 0}, {NULL, NULL, 0, 0, 0}}},
    {"public", "Upper", 0, 0, {{"id", "int4", 1, 0, 0}, {NULL, NULL, 0, 0, 0}}},
    {"app",
     "t",
     0,
     0,
     {{"k", "text", 1, 0, 0}, {"v", "jsonb", 0, 0, 0}, {NULL, NULL, 0, 0, 0}}},
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
	size_t i, k, n, npk;

	(void)ctx;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const struct ftable *f = &tables[i];

		if (strcmp(f->schema, schema) || strcmp(f->name, name))
			continue;
		if (f->broken)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "connection refused");
		memset(t, 0, sizeof(*t));
		t->schema = ss_xstrdup(schema);
		t->name = ss_xstrdup(name);
		t->oid = 16384 + (uint32_t)i;
		t->relkind = 'r';
		t->system = f->system;
		for (n = 0; f->cols[n].name; n++)
			;
		t->cols = ss_xcalloc(n + 1, sizeof(*t->cols));
		t->pk = ss_xcalloc(n + 1, sizeof(*t->pk));
		for (k = npk = 0; k < n; k++) {
			t->cols[k].name = ss_xstrdup(f->cols[k].name);
			t->cols[k].type = ss_xstrdup(f->cols[k].type);
			t->cols[k].typmod = -1;
			t->cols[k].pk_index =
			    f->cols[k].pk ? f->cols[k].pk - 1 : -1;
			t->cols[k].is_enum = f->cols[k].is_enum;
			t->cols[k].generated = f->cols[k].generated;
			if (f->cols[k].pk)
				npk++;
		}
		t->ncols = n;
		/* key order; a table without a key uses every column */
		if (!npk)
			for (k = 0; k < n; k++)
				t->pk[t->npk++] = k;
		for (npk = 1; t->npk < n; npk++) {
			for (k = 0; k < n; k++)
				if (f->cols[k].pk == (int)npk)
					break;
			if (k == n)
				break;
			t->pk[t->npk++] = k;
		}
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ queries */

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decode as libmicrohttpd does: '+' is a space, %XX a byte (a bad
 * escape stays as it is). Returns the length; s is rewritten in place. */
static size_t unescape(char *s)
{
	char *w = s;
	const char *p;

	for (p = s; *p; p++) {
		if (*p == '+') {
			*w++ = ' ';
		} else if (*p == '%' && hexval(p[1]) >= 0 &&
			   hexval(p[2]) >= 0) {
			*w++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Split query (rewritten in place) into pairs: *new* array. */
static struct ss_shapereq_kv *split_query(char *query, size_t *n)
{
	struct ss_shapereq_kv *kv = ss_xcalloc(strlen(query) + 2, sizeof(*kv));
	char *p = query, *amp;

	*n = 0;
	while (p && *p) {
		char *eq;

		amp = strchr(p, '&');
		if (amp)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		kv[*n].key = p;
		kv[*n].key_len = unescape(p);
		if (eq) {
			kv[*n].value = eq + 1;
			kv[*n].value_len = unescape(eq + 1);
		}
		++*n;
		p = amp ? amp + 1 : NULL;
	}
	return kv;
}

struct config {
	char secret[128];
	int has_secret, delete_mode, subqueries;
	struct ss_where_limits limits;
};

/* Status and body (or the valid request's summary) for pairs kv. */
static unsigned run_pairs(const struct config *cfg,
			  const struct ss_shapereq_kv *kv, size_t n,
			  struct ss_shapereq *q, struct ss_buf *out)
{
	struct ss_shapereq_opts o = {cfg->has_secret ? cfg->secret : NULL,
				     &cfg->limits,
				     fake_describe,
				     NULL,
				     cfg->delete_mode,
				     cfg->subqueries};
	struct ss_shapereq_error e;
	struct ss_shapereq_args a;
	unsigned st;

	ss_shapereq_error_init(&e);
	st = ss_shapereq_check_bytes(kv, n, &e);
	if (!st) {
		ss_shapereq_args_collect(kv, n, &a);
		st = ss_shapereq_validate(&a, &o, q, &e);
	}
	if (st) {
		ss_buf_addf(out, "%u ", st);
		ss_buf_add(out, e.body.buf, e.body.len);
		if (e.retry_after)
			ss_buf_addf(out, " retry-after=%s", e.retry_after);
	} else {
		ss_buf_adds(out, "200 ");
		ss_shapereq_describe(q, out);
	}
	ss_shapereq_error_release(&e);
	return st;
}

/* The result line of one query; checks the round trip of valid ones. */
static void run_query(const struct config *cfg, const char *query,
		      struct ss_buf *out)
{
	char *copy = ss_xstrdup(query);
	struct ss_shapereq q, q2;
	struct ss_shapereq_kv *kv, *kv2;
	struct ss_buf again = SS_BUF_INIT, rendered = SS_BUF_INIT;
	size_t n, n2;

	ss_shapereq_init(&q);
	ss_shapereq_init(&q2);
	kv = split_query(copy, &n);
	if (!run_pairs(cfg, kv, n, &q, out) && !cfg->delete_mode) {
		ss_shapereq_render(&q, cfg->has_secret ? cfg->secret : NULL,
				   &rendered, &kv2, &n2);
		if (run_pairs(cfg, kv2, n2, &q2, &again) ||
		    strcmp(again.buf, out->buf)) {
			unit_failures++;
			fprintf(stderr,
				"'%s': rendered again gives '%s', not '%s'\n",
				query, again.buf, out->buf);
		}
		unit_checks++;
		free(kv2);
	}
	free(kv);
	free(copy);
	ss_shapereq_release(&q);
	ss_shapereq_release(&q2);
	ss_buf_release(&again);
	ss_buf_release(&rendered);
}

static void config_default(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ss_where_limits_default(&cfg->limits);
}

/* "@secret [S]", "@mode get|delete", "@limits LEN IN COST",
 * "@subqueries on|off" */
static void directive(struct config *cfg, char *line, const char *path,
		      int lineno)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (!strcmp(line, "@secret")) {
		cfg->has_secret = arg != NULL;
		snprintf(cfg->secret, sizeof(cfg->secret), "%s",
			 arg ? arg : "");
	} else if (!strcmp(line, "@subqueries") && arg) {
		cfg->subqueries = !strcmp(arg, "on");
	} else if (!strcmp(line, "@mode") && arg) {
		cfg->delete_mode = !strcmp(arg, "delete");
	} else if (!strcmp(line, "@limits") && arg) {
		unsigned long long len, in, cost;

		if (sscanf(arg, "%llu %llu %llu", &len, &in, &cost) != 3)
			FAILF("%s:%d: @limits LEN IN COST", path, lineno);
		cfg->limits.max_length = (size_t)len;
		cfg->limits.max_in = (size_t)in;
		cfg->limits.max_cost = cost;
	} else {
		FAILF("%s:%d: unknown directive '%s'", path, lineno, line);
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	char line[65536];
	FILE *f;
	int lineno = 0, cases = 0, gen = 0;

	config_default(&cfg);
	if (argc == 3 && !strcmp(argv[1], "-g")) {
		gen = 1;
		argv++;
		argc--;
	}
	if (argc == 3 && !strcmp(argv[1], "-q")) {
		struct ss_buf out = SS_BUF_INIT;

		run_query(&cfg, argv[2], &out);
		printf("%s => %s\n", argv[2], out.buf);
		ss_buf_release(&out);
		return unit_report();
	}
	if (argc != 2)
		FAILF("usage: test-shapereq FILE | -q QUERY");
	f = fopen(argv[1], "r");
	if (!f)
		FAILF("could not open '%s'", argv[1]);
	while (fgets(line, sizeof(line), f)) {
		struct ss_buf out = SS_BUF_INIT;
		char *sep;
		size_t n = strlen(line);

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#' || line[0] == '@') {
			if (gen)
				printf("%s\n", line);
			if (line[0] == '@')
				directive(&cfg, line, argv[1], lineno);
			continue;
		}
		sep = strstr(line, " => ");
		if (!sep)
			FAILF("%s:%d: no ' => '", argv[1], lineno);
		*sep = '\0';
		/* a lone '-' is the empty query */
		run_query(&cfg, strcmp(line, "-") ? line : "", &out);
		if (gen)
			printf("%s => %s\n", line, out.buf);
		unit_checks++;
		if (!gen && strcmp(out.buf, sep + 4)) {
			unit_failures++;
			fprintf(stderr,
				"%s:%d: %s\n  expected: %s\n  got:      %s\n",
				argv[1], lineno, line, sep + 4, out.buf);
		}
		cases++;
		ss_buf_release(&out);
	}
	fclose(f);
	if (cases < 1)
		FAILF("%s: no cases", argv[1]);
	return unit_report();
}
