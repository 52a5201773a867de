/*
 * test-shape.c — table-driven checks of lib/shape: Electric's identifier
 * rules for `table` and `columns`, replica/log/where parsing, canonical
 * round trips, hashes and handle validation. Prints one line per failure
 * and exits 1 if any case failed.
 */
#include "shape.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

/* NULL err means the call must succeed with schema/table (or columns). */
struct table_case {
	const char *in;
	const char *schema;
	const char *table;
	const char *err;
};

static const struct table_case table_cases[] = {
    {"items", "public", "items", NULL},
    {"Items", "public", "items", NULL},
    {"FooBar", "public", "foobar", NULL},
    {"foo.bar", "foo", "bar", NULL},
    {"Foo.BAR", "foo", "bar", NULL},
    {"\"foo\".\"bar\"", "foo", "bar", NULL},
    {"\"FooBar\"", "public", "FooBar", NULL},
    {"\"foo.woah\".\"bar\"", "foo.woah", "bar", NULL},
    {"\"foo\".bar", "foo", "bar", NULL},
    {"foo.\"Bar\"", "foo", "Bar", NULL},
    {"\"Foo\"\"Bar\"", "public", "Foo\"Bar", NULL},
    {"\"a\"\"\"\"b\"", "public", "a\"\"b", NULL},
    {"\"\"\"\"", "public", "\"", NULL},
    {"\" \"", "public", " ", NULL},
    {"\"a,b\"", "public", "a,b", NULL},
    {"\"a\tb\"", "public", "a\tb", NULL},
    {"_x", "public", "_x", NULL},
    {"a$1_B", "public", "a$1_b", NULL},
    {"\xc3\x89t\xc3\xa9", "public", "\xc3\x89t\xc3\xa9", NULL},
    {"caf\xc3\xa9.Men\xc3\xbc", "caf\xc3\xa9", "men\xc3\xbc", NULL},
    {"\xe6\x97\xa5\xe6\x9c\xac", "public", "\xe6\x97\xa5\xe6\x9c\xac", NULL},
    /* 63 bytes is the limit, counted in bytes */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "public",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
     NULL, "Identifier is too long (max length is 63)"},
    {"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     NULL, NULL, "Identifier is too long (max length is 63)"},
    /* 32 two-byte characters: 32 characters but 64 bytes */
    {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
     NULL, NULL, "Identifier is too long (max length is 63)"},
    /* 62 chars plus a doubled quote: 63 bytes after unescaping */
    {"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\"\"",
     "public",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", NULL},
    {"foo.bar.baz", NULL, NULL,
     "Invalid relation identifier, too many delimiters: foo.bar.baz"},
    {"a..b", NULL, NULL,
     "Invalid relation identifier, too many delimiters: a..b"},
    {"\"a.b\".c.d", NULL, NULL,
     "Invalid relation identifier, too many delimiters: \"a.b\".c.d"},
    {"", NULL, NULL, "Invalid zero-length delimited identifier"},
    {"\"\"", NULL, NULL, "Invalid zero-length delimited identifier"},
    {"\"", NULL, NULL, "Invalid zero-length delimited identifier"},
    {".foo", NULL, NULL, "Invalid zero-length delimited identifier"},
    {"foo.", NULL, NULL, "Invalid zero-length delimited identifier"},
    {"foo.\"\"", NULL, NULL, "Invalid zero-length delimited identifier"},
    {"a-b", NULL, NULL,
     "Invalid unquoted identifier contains special characters: a-b"},
    {"foob@r", NULL, NULL,
     "Invalid unquoted identifier contains special characters: foob@r"},
    {" ", NULL, NULL,
     "Invalid unquoted identifier contains special characters:  "},
    {" items", NULL, NULL,
     "Invalid unquoted identifier contains special characters:  items"},
    {"1abc", NULL, NULL,
     "Invalid unquoted identifier contains special characters: 1abc"},
    {"$a", NULL, NULL,
     "Invalid unquoted identifier contains special characters: $a"},
    {"Foo\"Bar\"", NULL, NULL,
     "Invalid unquoted identifier contains special characters: Foo\"Bar\""},
    {"\"foo\".\"bar", NULL, NULL,
     "Invalid unquoted identifier contains special characters: \"bar"},
    {"\"foo", NULL, NULL,
     "Invalid unquoted identifier contains special characters: \"foo"},
    {"foo\"", NULL, NULL,
     "Invalid unquoted identifier contains special characters: foo\""},
    {"public.a b", NULL, NULL,
     "Invalid unquoted identifier contains special characters: a b"},
    {"\"Foo\"Bar\"", NULL, NULL,
     "Invalid identifier with unescaped quote: Foo\"Bar"},
    {"\"a\"\"\"b\"", NULL, NULL,
     "Invalid identifier with unescaped quote: a\"\"\"b"},
    {"\"a\"\"\"", "public", "a\"", NULL},
    /* schema is parsed (and fails) before table */
    {"a-b.c-d", NULL, NULL,
     "Invalid unquoted identifier contains special characters: a-b"},
    {"\xff", NULL, NULL, "Invalid identifier, not valid UTF-8"},
    {"\"\xc3\"", NULL, NULL, "Invalid identifier, not valid UTF-8"},
    {"\xc0\xaf", NULL, NULL, "Invalid identifier, not valid UTF-8"},
    {"\xed\xa0\x80", NULL, NULL, "Invalid identifier, not valid UTF-8"},
    {"a.b.\xff", NULL, NULL, "Invalid identifier, not valid UTF-8"},
};

static void test_tables(void)
{
	size_t i;

	for (i = 0; i < sizeof(table_cases) / sizeof(table_cases[0]); i++) {
		const struct table_case *c = &table_cases[i];
		struct ss_shape s;
		struct ss_err err = SS_ERR_INIT;
		int r;

		ss_shape_init(&s);
		r = ss_shape_parse_table(&s, c->in, &err);
		if (c->err) {
			CHECK(r == -1, "table '%s': expected error '%s'", c->in,
			      c->err);
			CHECK(r != -1 || (err.code == SS_ERR_INPUT &&
					  !strcmp(err.msg, c->err)),
			      "table '%s': error '%s' (code %d), expected '%s'",
			      c->in, err.msg, err.code, c->err);
			CHECK(s.schema == NULL && s.table == NULL,
			      "table '%s': shape changed on error", c->in);
		} else {
			CHECK(r == 0, "table '%s': unexpected error '%s'",
			      c->in, err.msg);
			CHECK(r != 0 || (!strcmp(s.schema, c->schema) &&
					 !strcmp(s.table, c->table)),
			      "table '%s': got '%s'.'%s', expected '%s'.'%s'",
			      c->in, s.schema, s.table, c->schema, c->table);
		}
		ss_shape_release(&s);
	}
}

static void test_table_long_echo(void)
{
	const char *prefix =
	    "Invalid relation identifier, too many delimiters: \xc3\xa9.";
	struct ss_buf in = SS_BUF_INIT;
	struct ss_shape s;
	struct ss_err err = SS_ERR_INIT;
	int i;

	/* A huge hostile value: the message is cut, on a UTF-8 boundary. */
	for (i = 0; i < 1000; i++)
		ss_buf_adds(&in, "\xc3\xa9.");
	ss_shape_init(&s);
	CHECK(ss_shape_parse_table(&s, in.buf, &err) == -1,
	      "long table accepted");
	CHECK(!strncmp(err.msg, prefix, strlen(prefix)), "long table: '%.80s'",
	      err.msg);
	CHECK(strlen(err.msg) < sizeof(err.msg) - 1, "long table: not cut");
	CHECK(ss_utf8_valid(err.msg, strlen(err.msg)),
	      "long table: message is not valid UTF-8");

	/* Parsing again replaces schema and table. */
	CHECK(ss_shape_parse_table(&s, "a.b", &err) == 0, "a.b");
	CHECK(ss_shape_parse_table(&s, "c", &err) == 0, "c");
	CHECK(!strcmp(s.schema, "public") && !strcmp(s.table, "c"),
	      "reparse: %s.%s", s.schema, s.table);
	CHECK(ss_shape_parse_table(&s, "x-y", &err) == -1, "x-y");
	CHECK(!strcmp(s.schema, "public") && !strcmp(s.table, "c"),
	      "failed parse changed the shape: %s.%s", s.schema, s.table);
	ss_shape_release(&s);
	ss_buf_release(&in);
}

/* want: the expected columns joined with '|', or NULL with err. */
struct columns_case {
	const char *in;
	const char *want;
	const char *err;
};

static const struct columns_case columns_cases[] = {
    {"id", "id", NULL},
    {"id,name", "id|name", NULL},
    {"beta,alpha", "alpha|beta", NULL},
    {"ID,Name", "id|name", NULL},
    {"b,a,b,A", "a|b", NULL},
    {"\"PoT@To\",PoTaTo", "PoT@To|potato", NULL},
    {"\"PoTaTo,sunday\",foo", "PoTaTo,sunday|foo", NULL},
    {"\"fo\"\"o\",bar", "bar|fo\"o", NULL},
    {"\"a\",a,\"A\"", "A|a", NULL},
    {"\"b\",\"a\"", "a|b", NULL},
    {"z,\xc3\xa9,a", "a|z|\xc3\xa9", NULL},
    {"", NULL, "Invalid zero-length delimited identifier"},
    {"foo,", NULL, "Invalid zero-length delimited identifier"},
    {",foo", NULL, "Invalid zero-length delimited identifier"},
    {"a,,b", NULL, "Invalid zero-length delimited identifier"},
    {"a,\"\"", NULL, "Invalid zero-length delimited identifier"},
    {"\"id,\"name\"", NULL,
     "Invalid unquoted identifier contains special characters: \"id"},
    {"id, name", NULL,
     "Invalid unquoted identifier contains special characters:  name"},
    {"a-b,c", NULL,
     "Invalid unquoted identifier contains special characters: a-b"},
    {"\"a\"b\"", NULL, "Invalid identifier with unescaped quote: a\"b"},
    {"a.b", NULL,
     "Invalid unquoted identifier contains special characters: a.b"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
     "Identifier is too long (max length is 63)"},
    {"a,\xfe", NULL, "Invalid identifier, not valid UTF-8"},
};

static void test_columns(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(columns_cases) / sizeof(columns_cases[0]); i++) {
		const struct columns_case *c = &columns_cases[i];
		struct ss_buf got = SS_BUF_INIT;
		struct ss_shape s;
		struct ss_err err = SS_ERR_INIT;
		int r;

		ss_shape_init(&s);
		r = ss_shape_parse_columns(&s, c->in, &err);
		if (c->err) {
			CHECK(r == -1 && err.code == SS_ERR_INPUT &&
				  !strcmp(err.msg, c->err),
			      "columns '%s': got %d '%s', expected '%s'", c->in,
			      r, err.msg, c->err);
			CHECK(s.columns == NULL && s.ncolumns == 0,
			      "columns '%s': shape changed on error", c->in);
		} else {
			for (k = 0; k < s.ncolumns; k++)
				ss_buf_addf(&got, "%s%s", k ? "|" : "",
					    s.columns[k]);
			CHECK(r == 0 && !strcmp(got.buf, c->want),
			      "columns '%s': got %d '%s' (%s), expected '%s'",
			      c->in, r, got.buf, err.msg, c->want);
		}
		ss_buf_release(&got);
		ss_shape_release(&s);
	}
}

static void test_modes(void)
{
	struct ss_shape s;
	struct ss_err err = SS_ERR_INIT;

	ss_shape_init(&s);
	CHECK(s.replica == SS_REPLICA_DEFAULT && s.log_mode == SS_LOG_FULL,
	      "init defaults");
	CHECK(ss_shape_parse_replica(&s, "full", &err) == 0 &&
		  s.replica == SS_REPLICA_FULL,
	      "replica full");
	CHECK(ss_shape_parse_replica(&s, "default", &err) == 0 &&
		  s.replica == SS_REPLICA_DEFAULT,
	      "replica default");
	CHECK(ss_shape_parse_replica(&s, "FULL", &err) == -1 &&
		  err.code == SS_ERR_INPUT && !strcmp(err.msg, "is invalid"),
	      "replica FULL: %s", err.msg);
	CHECK(ss_shape_parse_replica(&s, "", &err) == -1, "replica ''");
	CHECK(ss_shape_parse_replica(&s, "full ", &err) == -1,
	      "replica 'full '");
	CHECK(ss_shape_parse_replica(&s, NULL, &err) == 0 &&
		  s.replica == SS_REPLICA_DEFAULT,
	      "replica NULL");
	CHECK(ss_shape_parse_log_mode(&s, "changes_only", &err) == 0 &&
		  s.log_mode == SS_LOG_CHANGES_ONLY,
	      "log changes_only");
	CHECK(ss_shape_parse_log_mode(&s, "full", &err) == 0 &&
		  s.log_mode == SS_LOG_FULL,
	      "log full");
	CHECK(ss_shape_parse_log_mode(&s, "default", &err) == -1 &&
		  err.code == SS_ERR_INPUT && !strcmp(err.msg, "is invalid"),
	      "log default: %s", err.msg);
	CHECK(ss_shape_parse_log_mode(&s, "changes-only", &err) == -1,
	      "log changes-only");
	CHECK(ss_shape_parse_log_mode(&s, NULL, &err) == 0 &&
		  s.log_mode == SS_LOG_FULL,
	      "log NULL");
	CHECK(s.move_out == SS_MOVE_OUT_EVENT, "move_out defaults to event");
	CHECK(ss_shape_parse_move_out(&s, "delete", &err) == 0 &&
		  s.move_out == SS_MOVE_OUT_DELETE,
	      "move_out delete");
	CHECK(ss_shape_parse_move_out(&s, "event", &err) == 0 &&
		  s.move_out == SS_MOVE_OUT_EVENT,
	      "move_out event");
	CHECK(ss_shape_parse_move_out(&s, "Delete", &err) == -1 &&
		  err.code == SS_ERR_INPUT && !strcmp(err.msg, "is invalid"),
	      "move_out Delete: %s", err.msg);
	CHECK(ss_shape_parse_move_out(&s, "", &err) == -1, "move_out ''");
	CHECK(ss_shape_parse_move_out(&s, "delete", &err) == 0 &&
		  ss_shape_parse_move_out(&s, NULL, &err) == 0 &&
		  s.move_out == SS_MOVE_OUT_EVENT,
	      "move_out NULL");
	{
		/* delete is the last member of the canonical form, and
		 * comes back from it */
		struct ss_shape m, back;
		struct ss_buf c = SS_BUF_INIT, c2 = SS_BUF_INIT;

		ss_shape_init(&m);
		ss_shape_init(&back);
		CHECK(ss_shape_parse_table(&m, "t", &err) == 0, "table t");
		ss_shape_canonical(&m, &c2);
		m.move_out = SS_MOVE_OUT_DELETE;
		ss_shape_canonical(&m, &c);
		CHECK(!strcmp(c.buf,
			      "{\"schema\":\"public\",\"table\":\"t\","
			      "\"where\":null,\"params\":[],"
			      "\"columns\":null,\"replica\":\"default\","
			      "\"log\":\"full\",\"move_out\":\"delete\"}"),
		      "move_out canonical: %s", c.buf);
		CHECK(ss_shape_hash_canonical(c.buf, c.len) !=
			  ss_shape_hash_canonical(c2.buf, c2.len),
		      "move_out is part of the identity");
		CHECK(ss_shape_from_canonical(&back, c.buf, &err) == 0 &&
			  back.move_out == SS_MOVE_OUT_DELETE,
		      "move_out round trip: %s", err.msg);
		ss_shape_release(&m);
		ss_shape_release(&back);
		ss_buf_release(&c);
		ss_buf_release(&c2);
	}

	ss_shape_set_where(&s, "  a = 1 \t\n");
	CHECK(s.where && !strcmp(s.where, "a = 1"), "where trim: '%s'",
	      s.where);
	ss_shape_set_where(&s, " \t\r\n\f\v");
	CHECK(s.where == NULL, "blank where: '%s'", s.where);
	ss_shape_set_where(&s, "x");
	ss_shape_set_where(&s, NULL);
	CHECK(s.where == NULL, "NULL where");
	ss_shape_set_where(&s, "");
	CHECK(s.where == NULL, "empty where");

	ss_shape_add_param(&s, "1");
	ss_shape_add_param(&s, "two");
	ss_shape_add_param(&s, NULL);
	CHECK(s.nparams == 3 && !strcmp(s.params[0], "1") &&
		  !strcmp(s.params[1], "two") && !strcmp(s.params[2], ""),
	      "params");
	ss_shape_release(&s);
	CHECK(s.nparams == 0 && s.params == NULL && s.schema == NULL,
	      "release resets");
}

/* Build a shape from request-like parts; NULL means the parameter is absent. */
static void build(struct ss_shape *s, const char *table, const char *where,
		  const char *columns, const char *replica, const char *log,
		  const char *const *params)
{
	struct ss_err err = SS_ERR_INIT;

	ss_shape_init(s);
	CHECK(ss_shape_parse_table(s, table, &err) == 0, "build %s: %s", table,
	      err.msg);
	ss_shape_set_where(s, where);
	if (columns)
		CHECK(ss_shape_parse_columns(s, columns, &err) == 0,
		      "build columns %s: %s", columns, err.msg);
	CHECK(ss_shape_parse_replica(s, replica, &err) == 0, "build replica");
	CHECK(ss_shape_parse_log_mode(s, log, &err) == 0, "build log");
	for (; params && *params; params++)
		ss_shape_add_param(s, *params);
}

struct canonical_case {
	const char *table, *where, *columns, *replica, *log;
	const char *params[4];
	const char *want;
};

static const struct canonical_case canonical_cases[] = {
    {"items",
     NULL,
     NULL,
     NULL,
     NULL,
     {NULL},
     "{\"schema\":\"public\",\"table\":\"items\",\"where\":null,"
     "\"params\":[],\"columns\":null,\"replica\":\"default\","
     "\"log\":\"full\"}"},
    {"Sch.\"Items\"",
     " a = $1 ",
     "title,ID",
     "full",
     "changes_only",
     {"1", NULL},
     "{\"schema\":\"sch\",\"table\":\"Items\",\"where\":\"a = $1\","
     "\"params\":[\"1\"],\"columns\":[\"id\",\"title\"],"
     "\"replica\":\"full\",\"log\":\"changes_only\"}"},
    {"\"we\"\"ird\\\"",
     "s = 'x\"y\\z\n'",
     "\"c\tq\",\"\xc3\xa9\"",
     NULL,
     NULL,
     {"\"", "\\", "", NULL},
     "{\"schema\":\"public\",\"table\":\"we\\\"ird\\\\\","
     "\"where\":\"s = 'x\\\"y\\\\z\\n'\","
     "\"params\":[\"\\\"\",\"\\\\\",\"\"],"
     "\"columns\":[\"c\\tq\",\"\xc3\xa9\"],\"replica\":\"default\","
     "\"log\":\"full\"}"},
    {"\"\x01\x1f\"",
     NULL,
     NULL,
     NULL,
     NULL,
     {"\x7f", NULL},
     "{\"schema\":\"public\",\"table\":\"\\u0001\\u001f\",\"where\":null,"
     "\"params\":[\"\x7f\"],\"columns\":null,\"replica\":\"default\","
     "\"log\":\"full\"}"},
};

static void test_canonical(void)
{
	size_t i;

	for (i = 0; i < sizeof(canonical_cases) / sizeof(canonical_cases[0]);
	     i++) {
		const struct canonical_case *c = &canonical_cases[i];
		struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;
		struct ss_shape s, t;
		struct ss_err err = SS_ERR_INIT;

		build(&s, c->table, c->where, c->columns, c->replica, c->log,
		      c->params);
		ss_shape_canonical(&s, &a);
		CHECK(!strcmp(a.buf, c->want),
		      "canonical %zu:\n got %s\nwant %s", i, a.buf, c->want);

		ss_shape_init(&t);
		CHECK(ss_shape_from_canonical(&t, a.buf, &err) == 0,
		      "from_canonical %zu: %s (%s)", i, err.msg, err.detail);
		ss_shape_canonical(&t, &b);
		CHECK(!strcmp(a.buf, b.buf),
		      "round trip %zu:\n got %s\nwant %s", i, b.buf, a.buf);
		CHECK(ss_shape_hash_canonical(a.buf, a.len) ==
			  ss_shape_hash_canonical(b.buf, b.len),
		      "hash of round trip %zu", i);
		ss_shape_release(&s);
		ss_shape_release(&t);
		ss_buf_release(&a);
		ss_buf_release(&b);
	}
}

/* Canonical texts from_canonical must reject (or, with ok, accept). */
struct from_case {
	const char *json;
	const char *err; /* substring of the message; NULL: must succeed */
};

#define GOOD_TAIL                                                              \
	"\"params\":[],\"columns\":null,\"replica\":\"default\",\"log\":\"full\"}"
static const struct from_case from_cases[] = {
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null," GOOD_TAIL, NULL},
    /* key order and whitespace are not part of validity */
    {"{ \"log\":\"full\", \"replica\":\"default\", \"columns\":null,"
     " \"params\":[], \"where\":null, \"table\":\"t\","
     " \"schema\":\"public\" }",
     NULL},
    {"", "invalid canonical shape"},
    {"nul", "invalid canonical shape"},
    {"[]", "must be an object"},
    {"\"x\"", "invalid canonical shape"},
    {"{}", "missing key 'schema'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null," GOOD_TAIL "x",
     "invalid canonical shape"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,\"extra\":1," GOOD_TAIL,
     "unknown key 'extra'"},
    /* move_out: present only as "delete" (the default is not written) */
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"move_out\":\"delete\"," GOOD_TAIL,
     NULL},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"move_out\":\"event\"," GOOD_TAIL,
     "'move_out'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"move_out\":null," GOOD_TAIL,
     "'move_out'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"move_out\":\"delete\",\"extra\":1," GOOD_TAIL,
     "unknown key 'extra'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"table\":\"u\","
     "\"where\":null," GOOD_TAIL,
     "invalid canonical shape"},
    {"{\"schema\":\"public\",\"table\":\"t\"," GOOD_TAIL,
     "missing key 'where'"},
    {"{\"schema\":1,\"table\":\"t\",\"where\":null," GOOD_TAIL, "'schema'"},
    {"{\"schema\":null,\"table\":\"t\",\"where\":null," GOOD_TAIL, "'schema'"},
    {"{\"schema\":\"public\",\"table\":\"\",\"where\":null," GOOD_TAIL,
     "'table'"},
    {"{\"schema\":\"public\",\"table\":\"a\\u0000b\",\"where\":null," GOOD_TAIL,
     "invalid canonical shape"},
    {"{\"schema\":\"public\",\"table\":"
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
     "\"where\":null," GOOD_TAIL,
     "'table'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":\"\"," GOOD_TAIL,
     "'where'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":\" a\"," GOOD_TAIL,
     "'where'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":\"a\\n\"," GOOD_TAIL,
     "'where'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":true," GOOD_TAIL,
     "'where'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":null,\"columns\":null,\"replica\":\"default\","
     "\"log\":\"full\"}",
     "'params'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[1],\"columns\":null,\"replica\":\"default\","
     "\"log\":\"full\"}",
     "'params'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":[],\"replica\":\"default\","
     "\"log\":\"full\"}",
     "'columns'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":[\"b\",\"a\"],\"replica\":\"default\","
     "\"log\":\"full\"}",
     "sorted"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":[\"a\",\"a\"],\"replica\":\"default\","
     "\"log\":\"full\"}",
     "sorted"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":\"a\",\"replica\":\"default\","
     "\"log\":\"full\"}",
     "'columns'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":[\"\"],\"replica\":\"default\","
     "\"log\":\"full\"}",
     "'columns'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":null,\"replica\":\"Full\","
     "\"log\":\"full\"}",
     "'replica'"},
    {"{\"schema\":\"public\",\"table\":\"t\",\"where\":null,"
     "\"params\":[],\"columns\":null,\"replica\":\"default\","
     "\"log\":0}",
     "'log'"},
    {"{\"schema\":\"public\",\"table\":\"\xff\",\"where\":null," GOOD_TAIL,
     "invalid canonical shape"},
};

static void test_from_canonical(void)
{
	size_t i;

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];
		struct ss_shape s;
		struct ss_err err = SS_ERR_INIT;
		int r;

		ss_shape_init(&s);
		/* Stale content must be released, not leaked or kept. */
		ss_shape_set_where(&s, "stale");
		r = ss_shape_from_canonical(&s, c->json, &err);
		if (c->err) {
			CHECK(r == -1 && err.code == SS_ERR_INPUT &&
				  !strncmp(err.msg,
					   "invalid canonical shape: ", 25) &&
				  strstr(err.msg, c->err),
			      "from_canonical %zu: got %d '%s', expected '%s'",
			      i, r, err.msg, c->err);
			CHECK(s.schema == NULL && s.where == NULL &&
				  s.params == NULL && s.columns == NULL,
			      "from_canonical %zu: not released on error", i);
		} else {
			CHECK(r == 0 && !strcmp(s.table, "t") && !s.where,
			      "from_canonical %zu: %s", i, err.msg);
		}
		ss_shape_release(&s);
	}
	CHECK(ss_shape_from_canonical(&(struct ss_shape){0}, NULL,
				      &(struct ss_err)SS_ERR_INIT) == -1,
	      "NULL json");
}

static void test_identity(void)
{
	static const char *const p1[] = {"1", NULL};
	static const char *const p2[] = {"2", NULL};
	struct ss_shape s;
	struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;

	/* Spelling differences that name the same shape. */
	build(&s, "Items", "a = 1", "b,a,b", NULL, "full", NULL);
	ss_shape_canonical(&s, &a);
	ss_shape_release(&s);
	build(&s, "public.\"items\"", " a = 1\n", "A,B", "default", NULL, NULL);
	ss_shape_canonical(&s, &b);
	ss_shape_release(&s);
	CHECK(!strcmp(a.buf, b.buf), "same shape:\n%s\n%s", a.buf, b.buf);

	/* Differences that matter. */
	ss_buf_reset(&a);
	ss_buf_reset(&b);
	build(&s, "items", "a = $1", NULL, NULL, NULL, p1);
	ss_shape_canonical(&s, &a);
	ss_shape_release(&s);
	build(&s, "items", "a = $1", NULL, NULL, NULL, p2);
	ss_shape_canonical(&s, &b);
	ss_shape_release(&s);
	CHECK(strcmp(a.buf, b.buf) != 0, "params must matter");
	CHECK(ss_shape_hash_canonical(a.buf, a.len) !=
		  ss_shape_hash_canonical(b.buf, b.len),
	      "hash should differ for different params");

	ss_buf_reset(&b);
	build(&s, "\"Items\"", "a = $1", NULL, NULL, NULL, p1);
	ss_shape_canonical(&s, &b);
	ss_shape_release(&s);
	CHECK(strcmp(a.buf, b.buf) != 0, "quoted case must matter");

	ss_buf_release(&a);
	ss_buf_release(&b);
}

static void test_hash(void)
{
	const char *x = "{\"schema\":\"public\"}";

	/* Pinned: handles on disk must survive upgrades. FNV-1a 64 of "" is
	 * cbf29ce484222325, folded: 0xcbf29ce4 ^ 0x84222325. */
	CHECK(ss_shape_hash_canonical("", 0) == (0xcbf29ce4u ^ 0x84222325u),
	      "hash of empty: %u", ss_shape_hash_canonical("", 0));
	CHECK(ss_shape_hash_canonical(x, strlen(x)) ==
		  ss_shape_hash_canonical(x, strlen(x)),
	      "hash stable");
	CHECK(ss_shape_hash_canonical(x, strlen(x)) !=
		  ss_shape_hash_canonical(x, strlen(x) - 1),
	      "hash uses len");
}

struct handle_case {
	const char *in;
	int valid;
	uint32_t hash;
};

static const struct handle_case handle_cases[] = {
    {"3833821-1721812114261000", 1, 3833821},
    {"0-0", 1, 0},
    {"1-2", 1, 1},
    {"4294967295-1", 1, 4294967295u},
    {"4294967295-99999999999999999999", 1, 4294967295u},
    {"4294967296-1", 0, 0},
    {"9999999999-1", 0, 0},
    {"12345678901-1", 0, 0},
    {"1-123456789012345678901", 0, 0},
    {"", 0, 0},
    {"-", 0, 0},
    {"1-", 0, 0},
    {"-1", 0, 0},
    {"1", 0, 0},
    {"12", 0, 0},
    {"1--2", 0, 0},
    {"1-2-3", 0, 0},
    {"01-2", 0, 0},
    {"1-02", 0, 0},
    {"00-0", 0, 0},
    {"+1-2", 0, 0},
    {"1-+2", 0, 0},
    {" 1-2", 0, 0},
    {"1-2 ", 0, 0},
    {"1-2\n", 0, 0},
    {"1_2", 0, 0},
    {"a-1", 0, 0},
    {"1-2a", 0, 0},
    {"0x1-2", 0, 0},
    {"../x", 0, 0},
    {"1-2/..", 0, 0},
    {"1-2/../../etc", 0, 0},
    {"..", 0, 0},
    {".", 0, 0},
    {"/1-2", 0, 0},
    {"1-2%00", 0, 0},
    {"\xd9\xa1-\xd9\xa2", 0, 0}, /* Arabic-Indic digits */
    {"1-2.1700000000000000", 0, 0},
    {"11111111111111111111111111111111111111111111111-1", 0, 0},
    {"1-111111111111111111111111111111111111111111111111111111", 0, 0},
};

static void test_handles(void)
{
	char buf[SS_HANDLE_MAX];
	struct ss_buf big = SS_BUF_INIT;
	uint32_t h;
	size_t i;

	for (i = 0; i < sizeof(handle_cases) / sizeof(handle_cases[0]); i++) {
		const struct handle_case *c = &handle_cases[i];

		h = 12345;
		CHECK(ss_shape_handle_valid(c->in, &h) == c->valid,
		      "handle '%s': expected %s", c->in,
		      c->valid ? "valid" : "invalid");
		if (c->valid)
			CHECK(h == c->hash, "handle '%s': hash %u", c->in, h);
		else
			CHECK(h == 12345, "handle '%s': hash written", c->in);
	}
	CHECK(!ss_shape_handle_valid(NULL, NULL), "NULL handle");
	CHECK(ss_shape_handle_valid("1-2", NULL), "NULL hash out");

	/* An overlong run of digits must not overflow anything. */
	for (i = 0; i < 100000; i++)
		ss_buf_addc(&big, '9');
	CHECK(!ss_shape_handle_valid(big.buf, &h), "100000 digits");
	ss_buf_addc(&big, '-');
	ss_buf_addc(&big, '1');
	CHECK(!ss_shape_handle_valid(big.buf, &h), "100000 digits-1");
	ss_buf_reset(&big);
	ss_buf_adds(&big, "1-");
	for (i = 0; i < 100000; i++)
		ss_buf_addc(&big, '1');
	CHECK(!ss_shape_handle_valid(big.buf, &h), "1-100000 digits");
	ss_buf_release(&big);

	ss_shape_format_handle(3833821, 1721812114261000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "3833821-1721812114261000"), "format: %s", buf);
	ss_shape_format_handle(UINT32_MAX, INT64_MAX, buf, sizeof(buf));
	CHECK(!strcmp(buf, "4294967295-9223372036854775807"), "format max: %s",
	      buf);
	CHECK(ss_shape_handle_valid(buf, &h) && h == UINT32_MAX,
	      "formatted max handle is valid");
	ss_shape_format_handle(7, -5, buf, sizeof(buf));
	CHECK(!strcmp(buf, "7-0"), "format negative us: %s", buf);
	ss_shape_format_handle(0, 0, buf, sizeof(buf));
	CHECK(ss_shape_handle_valid(buf, &h) && h == 0, "0-0: %s", buf);

	/* Minted handles round-trip through validation. */
	{
		const char *c = "{\"schema\":\"public\"}";
		uint32_t hash = ss_shape_hash_canonical(c, strlen(c));

		ss_shape_format_handle(hash, ss_now_us(), buf, sizeof(buf));
		CHECK(ss_shape_handle_valid(buf, &h) && h == hash, "minted %s",
		      buf);
	}
}

static void test_quote_ident(void)
{
	static const char *const cases[][2] = {
	    {"items", "\"items\""},
	    {"a\"b", "\"a\"\"b\""},
	    {"\"", "\"\"\"\""},
	    {"", "\"\""},
	    {"Caf\xc3\xa9 x", "\"Caf\xc3\xa9 x\""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ss_buf b = SS_BUF_INIT;

		ss_buf_adds(&b, "<");
		ss_shape_quote_ident(&b, cases[i][0]);
		CHECK(!strcmp(b.buf + 1, cases[i][1]), "quote '%s': %s",
		      cases[i][0], b.buf);
		ss_buf_release(&b);
	}
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
	    {"", 1},
	    {"abc", 1},
	    {"\xc3\xa9", 1},
	    {"\xe2\x82\xac", 1},
	    {"\xf0\x9f\x98\x80", 1},
	    {"\xf4\x8f\xbf\xbf", 1},
	    {"\xc3", 0},
	    {"\xe2\x82", 0},
	    {"\x80", 0},
	    {"\xc0\x80", 0},
	    {"\xc1\xbf", 0},
	    {"\xe0\x80\xaf", 0},
	    {"\xf0\x80\x80\xaf", 0},
	    {"\xed\xa0\x80", 0},
	    {"\xf4\x90\x80\x80", 0},
	    {"\xf5\x80\x80\x80", 0},
	    {"\xff", 0},
	    {"a\xc3(", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(ss_utf8_valid(cases[i].s, strlen(cases[i].s)) ==
			  cases[i].ok,
		      "utf8 case %zu", i);
}

int main(void)
{
	test_tables();
	test_table_long_echo();
	test_columns();
	test_modes();
	test_canonical();
	test_from_canonical();
	test_identity();
	test_hash();
	test_handles();
	test_quote_ident();
	test_utf8();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
