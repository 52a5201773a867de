/*
 * test-catalog.c — lib/catalog and lib/publication against a real
 * PostgreSQL ($DATABASE_URL, started by tests/t0110): describing tables,
 * keys, types, ancestors and partitions; the publication DDL serve and
 * replicate share, the error forms each side has always given, and the
 * snapshot SQL of lib/message.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "message.h"
#include "pg.h"
#include "pgq.h"
#include "publication.h"
#include "unit.h"

static struct ss_pg *db, *terse;

static void sql(const char *q)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_pg_exec(db, "setup", q, 0, NULL, NULL, NULL, &err) < 0)
		FAILF("%s: %s", q, err.msg);
}

/* The first value of a query, into buf. */
static const char *value(const char *q, char *buf, size_t n)
{
	struct ss_err err = SS_ERR_INIT;
	PGresult *r;

	if (ss_pg_exec(db, "query", q, 0, NULL, &r, NULL, &err) < 0)
		FAILF("%s: %s", q, err.msg);
	snprintf(buf, n, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return buf;
}

static void test_describe(void)
{
	struct ss_catalog_table t;
	struct ss_err err = SS_ERR_INIT;
	long k;

	CHECK(ss_catalog_describe(terse, "public", "items", &t, &err) == 1);
	CHECK_STR(t.schema, "public");
	CHECK_STR(t.name, "items");
	CHECK(t.relkind == 'r' && t.replident == 'd' && !t.system);
	CHECK(t.ncols == 5);
	CHECK(t.npk == 2 && t.pk[0] == 1 && t.pk[1] == 0);
	k = ss_catalog_column(&t, "tags");
	CHECK(k == 2);
	if (k == 2) {
		CHECK_STR(t.cols[2].type, "_text");
		CHECK_STR(t.cols[2].elem_type, "text");
		CHECK(t.cols[2].dims == 1);
	}
	CHECK(t.cols[3].is_bpchar && t.cols[3].typmod == 7);
	CHECK(t.cols[4].is_enum);
	CHECK(t.cols[0].pk_index == 1 && t.cols[1].pk_index == 0);
	CHECK(ss_catalog_column(&t, "nope") == -1);
	ss_catalog_table_release(&t);
	ss_catalog_table_release(&t); /* zeroed: a no-op */

	/* No primary key: every column is the key. */
	CHECK(ss_catalog_describe(terse, "public", "nokey", &t, &err) == 1);
	CHECK(t.npk == 2 && t.pk[0] == 0 && t.pk[1] == 1);
	ss_catalog_table_release(&t);

	CHECK(ss_catalog_describe(terse, "public", "ITEMS", &t, &err) == 0);
	CHECK(ss_catalog_describe(terse, "public", "v", &t, &err) == 0);
	CHECK(ss_catalog_describe(terse, "pg_catalog", "pg_class", &t, &err) ==
	      1);
	CHECK(t.system);
	ss_catalog_table_release(&t);
}

static void count_type(uint32_t oid, const char *name, void *ctx)
{
	if (oid == 23 && !strcmp(name, "int4"))
		++*(int *)ctx;
	++*((int *)ctx + 1);
}

static void test_types_and_keys(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_catalog_key key;
	char oid[32];
	int found, counts[2] = {0, 0};

	CHECK(ss_catalog_builtin_types(db, count_type, counts, &err) == 0);
	CHECK(counts[0] == 1 && counts[1] > 100);
	CHECK(ss_catalog_type_name(db, 25, &b, &found, &err) == 0);
	CHECK(found && !strcmp(b.buf, "text"));
	ss_buf_reset(&b);
	value("SELECT 'mood'::regtype::oid", oid, sizeof(oid));
	CHECK(ss_catalog_type_name(db, (uint32_t)strtoul(oid, NULL, 10), &b,
				   &found, &err) == 0);
	CHECK(found && !strcmp(b.buf, "mood"));
	ss_buf_reset(&b);
	CHECK(ss_catalog_type_name(db, 4000000000u, &b, &found, &err) == 0);
	CHECK(!found && b.len == 0);
	ss_buf_release(&b);

	value("SELECT 'items'::regclass::oid", oid, sizeof(oid));
	CHECK(ss_catalog_primary_key(db, (uint32_t)strtoul(oid, NULL, 10), &key,
				     &err) == 0);
	CHECK(key.n == 2);
	CHECK(ss_catalog_key_index(&key, "b") == 0);
	CHECK(ss_catalog_key_index(&key, "a") == 1);
	CHECK(ss_catalog_key_index(&key, "tags") == -1);
	ss_catalog_key_release(&key);
	value("SELECT 'nokey'::regclass::oid", oid, sizeof(oid));
	CHECK(ss_catalog_primary_key(db, (uint32_t)strtoul(oid, NULL, 10), &key,
				     &err) == 0);
	CHECK(key.n == 0);
	ss_catalog_key_release(&key);
}

static int on_set(uint32_t oid, const char *schema, const char *name,
		  const char *leaves, void *ctx)
{
	struct ss_buf *b = ctx;

	(void)oid;
	ss_buf_addf(b, "%s.%s:%s;", schema, name, *leaves ? "some" : "none");
	return 0;
}

static void test_partitions(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_catalog_rel *anc;
	struct ss_buf b = SS_BUF_INIT;
	char **names;
	size_t n;
	char oid[32], root[32];

	value("SELECT 'm_2026_a'::regclass::oid", oid, sizeof(oid));
	value("SELECT 'm'::regclass::oid", root, sizeof(root));
	CHECK(ss_catalog_ancestors(db, (uint32_t)strtoul(oid, NULL, 10), &anc,
				   &n, &err) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(anc[0].name, "m_2026");
		CHECK_STR(anc[1].name, "m");
		CHECK(anc[1].oid == (uint32_t)strtoul(root, NULL, 10));
		CHECK(anc[1].replident == 'd');
	}
	ss_catalog_rels_free(anc, n);
	CHECK(ss_catalog_ancestors(db, (uint32_t)strtoul(root, NULL, 10), &anc,
				   &n, &err) == 0);
	CHECK(n == 0);
	ss_catalog_rels_free(anc, n);

	CHECK(ss_catalog_column_names(db, (uint32_t)strtoul(root, NULL, 10),
				      &names, &n, &err) == 0);
	CHECK(n == 2 && !strcmp(names[0], "id") && !strcmp(names[1], "at"));
	ss_catalog_names_free(names, n);

	CHECK(ss_catalog_partition_sets(terse,
					(uint32_t)strtoul(root, NULL, 10),
					on_set, &b, &err) == 0);
	CHECK_STR(b.buf, "public.m:some;public.m_2026:some;");
	ss_buf_release(&b);
}

static void test_publication(void)
{
	struct ss_err err = SS_ERR_INIT, warn = SS_ERR_INIT;
	struct ss_catalog_table t, m;
	struct ss_buf b = SS_BUF_INIT;
	char v[64];
	int created = -1, changed = -1, failed = -1, spoils = -1;

	CHECK(ss_catalog_describe(terse, "public", "items", &t, &err) == 1);
	CHECK(ss_catalog_describe(terse, "public", "m", &m, &err) == 1);

	/* serve, manual publishing: Electric's words, nothing altered. */
	CHECK(ss_publication_check(terse, "pub1", &t, &err) == -1);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK_STR(
	    err.msg,
	    "Database table \"public\".\"items\" is missing from the "
	    "publication \"pub1\" and the ELECTRIC_MANUAL_TABLE_PUBLISHING "
	    "setting prevents shapesync from adding it");
	CHECK_STR(value("SELECT count(*) FROM pg_publication", v, sizeof(v)),
		  "0");

	/* serve: create, add, identity, partitions. */
	CHECK(ss_publication_ensure(terse, "pub1", &t, &err) == 0);
	CHECK(ss_publication_ensure(terse, "pub1", &t, &err) == 0);
	CHECK_STR(
	    value("SELECT string_agg(tablename, ',') FROM pg_publication_tables"
		  " WHERE pubname = 'pub1'",
		  v, sizeof(v)),
	    "items");
	CHECK_STR(
	    value("SELECT relreplident FROM pg_class WHERE relname = 'items'",
		  v, sizeof(v)),
	    "f");
	CHECK(ss_publication_check(terse, "pub1", &t, &err) == 0);
	CHECK(ss_publication_ensure(terse, "pub1", &m, &err) == 0);
	CHECK_STR(
	    value(
		"SELECT string_agg(relname::text || relreplident::text, ',' ORDER BY relname)"
		" FROM pg_class WHERE relname LIKE 'm%'",
		v, sizeof(v)),
	    "mf,m_2026f,m_2026_af");

	sql("ALTER TABLE nokey REPLICA IDENTITY DEFAULT");
	sql("ALTER PUBLICATION pub1 ADD TABLE nokey");
	ss_catalog_table_release(&t);
	CHECK(ss_catalog_describe(terse, "public", "nokey", &t, &err) == 1);
	CHECK(ss_publication_check(terse, "pub1", &t, &err) == -1);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK_STR(err.msg,
		  "Database table \"public\".\"nokey\" does not have its "
		  "replica identity set to FULL");

	/* replicate: create is idempotent and says whether it made it. */
	CHECK(ss_publication_create(db, "pub2", &created, &err) == 0 &&
	      created == 1);
	CHECK(ss_publication_create(db, "pub2", &created, &err) == 0 &&
	      created == 0);
	CHECK(ss_publication_add_table(db, "pub2", "public", "nokey", &changed,
				       &err) == 0 &&
	      changed == 1);
	CHECK(ss_publication_add_table(db, "pub2", "public", "nokey", &changed,
				       &err) == 0 &&
	      changed == 0);
	CHECK(ss_publication_add_table(db, "pub2", "public", "nope", NULL,
				       &err) == -1);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK_STR(err.msg, "table \"public\".\"nope\" does not exist");

	/* A partition attached later keeps the default identity. */
	sql("ALTER PUBLICATION pub2 ADD TABLE m");
	sql("CREATE TABLE m_2027 PARTITION OF m FOR VALUES FROM "
	    "('2027-01-01') TO ('2028-01-01')");
	CHECK(ss_publication_partitions_full(db, "pub2", &changed, &failed,
					     &warn, &err) == 0);
	CHECK(changed == 1 && failed == 0);
	CHECK_STR(
	    value("SELECT relreplident FROM pg_class WHERE relname = 'm_2027'",
		  v, sizeof(v)),
	    "f");
	/* The two readings of membership: a leaf of a published parent is
	 * published (serve's check passes) but not named in the publication
	 * (ensure names it). */
	{
		struct ss_catalog_table leaf;

		CHECK(ss_catalog_describe(terse, "public", "m_2027", &leaf,
					  &err) == 1);
		CHECK(ss_publication_check(terse, "pub2", &leaf, &err) == 0);
		CHECK(ss_publication_ensure(terse, "pub2", &leaf, &err) == 0);
		CHECK_STR(value("SELECT count(*) FROM pg_publication_rel "
				"WHERE prrelid = 'm_2027'::regclass",
				v, sizeof(v)),
			  "1");
		sql("ALTER PUBLICATION pub2 DROP TABLE m_2027");
		ss_catalog_table_release(&leaf);
	}
	CHECK(ss_publication_partition_sets(db, "pub2", on_set, &b, &err) == 0);
	CHECK_STR(b.buf, "public.m:some;public.m_2026:some;");

	/* Leaves: one that leaves spoils, an empty one that joins does not. */
	CHECK(ss_publication_partitions_changed(db, "1,2", "1,2", &spoils, &b,
						&err) == 0 &&
	      spoils == 0);
	CHECK(ss_publication_partitions_changed(db, "1,2", "1", &spoils, &b,
						&err) == 0 &&
	      spoils == 1);
	CHECK_STR(b.buf, "partition 2 left");
	value("SELECT 'm_2027'::regclass::oid", v, sizeof(v));
	{
		char before[80];

		snprintf(before, sizeof(before), "1,%s", v);
		CHECK(ss_publication_partitions_changed(
			  db, "1", before, &spoils, &b, &err) == 0 &&
		      spoils == 0);
	}
	ss_buf_release(&b);
	ss_catalog_table_release(&t);
	ss_catalog_table_release(&m);
}

/* Run lib/message's snapshot query (sel[0..nsel), where) and encode its
 * first row with the rows encoder into *line. */
static void snapshot_row(const struct ss_catalog_table *t, const size_t *sel,
			 size_t nsel, const char *where, const char *operation,
			 const char *extra, const char *headers_sql,
			 struct ss_buf *line)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf q = SS_BUF_INIT;
	struct ss_message_rows e;
	const char *cols[16];
	size_t lens[16];
	size_t n = t->npk + nsel + (headers_sql ? 1 : 0), k;
	PGresult *r;

	ss_buf_reset(line);
	CHECK(n <= 16);
	ss_message_snapshot_sql(terse, t, sel, nsel, where, NULL, headers_sql,
				" ORDER BY a", &q);
	if (ss_pg_exec(db, "snapshot", q.buf, 0, NULL, &r, NULL, &err) < 0)
		FAILF("%s: %s", q.buf, err.msg);
	CHECK(PQntuples(r) == 1 && PQnfields(r) == (int)n);
	if (PQntuples(r) == 1 && PQnfields(r) == (int)n && n <= 16) {
		for (k = 0; k < n; k++) {
			cols[k] = PQgetisnull(r, 0, (int)k)
				      ? NULL
				      : PQgetvalue(r, 0, (int)k);
			lens[k] = (size_t)PQgetlength(r, 0, (int)k);
		}
		ss_message_rows_init(&e, t, sel, nsel, operation, extra);
		ss_message_rows_add(&e, line, cols, lens,
				    headers_sql ? cols[n - 1] : NULL);
		ss_message_rows_release(&e);
	}
	PQclear(r);
	ss_buf_release(&q);
}

/* lib/message's snapshot query and rows encoder: the message of a row
 * is the C encoder's key and value rules applied to the text of each
 * column's output function (bpchar keeps its padding, an array its
 * braces, NULL is null). */
static void test_snapshot_sql(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_catalog_table t;
	struct ss_buf line = SS_BUF_INIT, key = SS_BUF_INIT, want = SS_BUF_INIT;
	const char *pk[2] = {"x/y", "1"};
	size_t sel[5] = {0, 1, 2, 3, 4};

	sql("INSERT INTO items VALUES (1, 'x/y', '{p,q}', 'ab', 'ok'), "
	    "(2, 'z', NULL, NULL, NULL)");
	CHECK(ss_catalog_describe(terse, "public", "items", &t, &err) == 1);
	snapshot_row(&t, sel, 5, "a = 1", NULL, ",\"snapshot_mark\":3", NULL,
		     &line);
	ss_message_key(&key, "public", "items", pk, 2);
	ss_buf_adds(&want, "{\"key\":");
	ss_buf_add_json_string(&want, key.buf, key.len);
	ss_buf_adds(
	    &want,
	    ",\"value\":{\"a\":\"1\",\"b\":\"x/y\",\"tags\":"
	    "\"{p,q}\",\"c\":\"ab \",\"m\":\"ok\"},\"headers\":"
	    "{\"operation\":\"insert\",\"relation\":[\"public\",\"items\"],"
	    "\"snapshot_mark\":3}}");
	CHECK_STR(line.buf, want.buf);
	/* a move-out's deletes (lib/movein) */
	snapshot_row(&t, sel + 2, 1, "a = 2", "delete", NULL, NULL, &line);
	CHECK_STR(
	    line.buf,
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"z\\\"/\\\"2\\\"\","
	    "\"value\":{\"tags\":null},\"headers\":{\"operation\":\"delete\","
	    "\"relation\":[\"public\",\"items\"]}}");
	/* header members computed in SQL (a subquery shape's tags), after
	 * the extra ones; no selected column */
	snapshot_row(&t, sel, 0, "a = 2", NULL, ",\"x\":1",
		     " || ',\"tags\":[' || to_json(b)::text || ']'", &line);
	CHECK_STR(
	    line.buf,
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"z\\\"/\\\"2\\\"\","
	    "\"value\":{},\"headers\":{\"operation\":\"insert\","
	    "\"relation\":[\"public\",\"items\"],\"x\":1,"
	    "\"tags\":[\"z\"]}}");
	ss_catalog_table_release(&t);
	ss_buf_release(&line);
	ss_buf_release(&key);
	ss_buf_release(&want);
}

static int on_snap(void *ctx, const struct ss_pg_snapshot *snap,
		   struct ss_err *err)
{
	(void)ctx;
	(void)snap;
	(void)err;
	return 0;
}

static int on_line(void *ctx, const char *json, size_t len, struct ss_err *err)
{
	(void)err;
	ss_buf_add(ctx, json, len);
	ss_buf_addc(ctx, '\n');
	return 0;
}

/* The rows of table vals through ss_pgq_snapshot (COPY's text format,
 * decoded) are byte for byte the rows encoder over the same query's
 * text results (the path of a query with parameters). */
static void snapshot_copy(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_catalog_table t;
	struct ss_buf q = SS_BUF_INIT, got = SS_BUF_INIT, want = SS_BUF_INIT;
	struct ss_pgq_snapshot_cb cb = {on_snap, on_line, &got};
	struct ss_message_rows e;
	const char *cols[40];
	size_t sel[40], k, n;
	PGresult *r;
	int row;

	CHECK(ss_catalog_describe(terse, "public", "vals", &t, &err) == 1);
	CHECK(t.ncols <= 20);
	for (k = 0; k < t.ncols && k < 20; k++)
		sel[k] = k;
	n = t.npk + t.ncols;
	CHECK(ss_pgq_snapshot(terse, &t, sel, t.ncols, NULL, 1, &cb, &err) ==
	      0);
	ss_message_snapshot_sql(terse, &t, sel, t.ncols, NULL, NULL, NULL, NULL,
				&q);
	if (ss_pg_exec(terse, "rows", q.buf, 0, NULL, &r, NULL, &err) < 0)
		FAILF("%s: %s", q.buf, err.msg);
	ss_message_rows_init(&e, &t, sel, t.ncols, NULL, NULL);
	for (row = 0; row < PQntuples(r) && n <= 40; row++) {
		for (k = 0; k < n; k++)
			cols[k] = PQgetisnull(r, row, (int)k)
				      ? NULL
				      : PQgetvalue(r, row, (int)k);
		ss_message_rows_add(&e, &want, cols, NULL, NULL);
		ss_buf_addc(&want, '\n');
	}
	CHECK(PQntuples(r) == 2);
	CHECK_STR(got.len ? got.buf : "", want.buf);
	ss_message_rows_release(&e);
	PQclear(r);
	ss_catalog_table_release(&t);
	ss_buf_release(&q);
	ss_buf_release(&got);
	ss_buf_release(&want);
}

/* Differential: for many types and awkward texts, a value as the rows
 * encoder writes it (the text result, escaped by
 * ss_buf_add_json_string) equals PostgreSQL's own JSON of the column's
 * output text (to_json(concat(col, '')), NULL kept), which is how snapshots
 * were rendered before the encoding moved to C. */
static void test_snapshot_values(void)
{
	static const char *const cols[] = {"i",	 "t",  "b", "n",  "f", "ts",
					   "iv", "by", "j", "ar", "u", "in",
					   "bp", "d",  "m", "ti", "x"};
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf q = SS_BUF_INIT, ours = SS_BUF_INIT;
	size_t k, ncols = sizeof(cols) / sizeof(*cols);
	PGresult *r;
	int row;

	sql("CREATE TABLE vals (i int8, t text, b bool, n numeric, f float8, "
	    "ts timestamptz, iv interval, by bytea, j jsonb, ar text[], u uuid, "
	    "\"in\" inet, bp char(5), d date, m mood, ti time, x xml)");
	sql("INSERT INTO vals VALUES (-9223372036854775808, "
	    "E'q\"b\\\\s/\\n\\t\\r\\b\\f\\x01\\x1f\\x7f é 😀', true, "
	    "-1.50e-3, 1e-310, '2026-12-07 10:00:00.123456+02', "
	    "'1 year 2 mons -3 days 04:05:06.7', E'\\\\x00ff', "
	    "'{\"a\": [1, \"\\\\u0000x\"], \"b\": null}', "
	    "'{\"x,y\",NULL,\"q\\\"\"}', "
	    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '::1', 'ab', "
	    "'infinity', 'sad', '24:00:00', '<a>&amp;</a>'), "
	    "(NULL, '', false, 'NaN', '-Infinity', NULL, NULL, '', 'null', "
	    "'{}', NULL, '10.1.2.3/8', NULL, NULL, NULL, NULL, '\\N')");
	ss_buf_adds(&q, "SELECT ");
	for (k = 0; k < ncols; k++)
		ss_buf_addf(
		    &q,
		    "%s\"%s\", coalesce(to_json(CASE WHEN \"%s\" IS "
		    "NULL THEN NULL ELSE concat(\"%s\", '') END)::text, "
		    "'null')",
		    k ? ", " : "", cols[k], cols[k], cols[k]);
	ss_buf_adds(&q, " FROM vals ORDER BY i NULLS LAST");
	if (ss_pg_exec(terse, "values", q.buf, 0, NULL, &r, NULL, &err) < 0)
		FAILF("%s: %s", q.buf, err.msg);
	CHECK(PQntuples(r) == 2);
	for (row = 0; row < PQntuples(r); row++)
		for (k = 0; k < ncols; k++) {
			int c = 2 * (int)k;

			ss_buf_reset(&ours);
			if (PQgetisnull(r, row, c))
				ss_buf_adds(&ours, "null");
			else
				ss_buf_add_json_string(
				    &ours, PQgetvalue(r, row, c),
				    (size_t)PQgetlength(r, row, c));
			if (strcmp(ours.buf, PQgetvalue(r, row, c + 1)))
				FAILF("row %d column %s: %s, PostgreSQL %s",
				      row, cols[k], ours.buf,
				      PQgetvalue(r, row, c + 1));
			CHECK(1);
		}
	PQclear(r);
	ss_buf_release(&q);
	ss_buf_release(&ours);
	snapshot_copy();
}

/* serve's connections keep serve's one-line messages; replicate's have
 * a "what" prefix, detail and hint. */
static void test_error_forms(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg_opts o = {SS_PG_TERSE | SS_PG_APPNAME, "test", 5, 0};
	struct ss_pg *bad;
	char state[6];

	CHECK(ss_pg_exec(terse, "postgresql", "SELECT nosuch", 0, NULL, NULL,
			 state, &err) == -1);
	CHECK_STR(err.msg,
		  "postgresql: ERROR:  column \"nosuch\" does not exist");
	CHECK_STR(err.detail, "");
	CHECK_STR(state, "42703");
	CHECK(ss_pg_exec(db, "could not look", "SELECT nosuch", 0, NULL, NULL,
			 NULL, &err) == -1);
	CHECK_STR(err.msg, "could not look: column \"nosuch\" does not exist");
	CHECK(ss_pg_connect("postgresql:///nosuchdb?host=/nonexistent", &o,
			    &bad, &err) == -1);
	CHECK(!strncmp(err.msg, "could not connect to PostgreSQL: ", 33));
	CHECK(!strchr(err.msg, '\n') && !err.detail[0] && !err.hint[0]);
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg_opts o = {SS_PG_DISPLAY | SS_PG_APPNAME | SS_PG_TERSE,
			       "test-catalog", 5, 0};
	const char *url = getenv("DATABASE_URL");

	if (!url)
		FAILF("DATABASE_URL is not set (run through tests/t0110)");
	if (ss_pg_open(url, 0, "test-catalog", &db, &err) < 0 ||
	    ss_pg_connect(url, &o, &terse, &err) < 0)
		FAILF("%s", err.msg);
	sql("CREATE TYPE mood AS ENUM ('ok', 'sad')");
	sql("CREATE TABLE items (a int, b text, tags text[], c char(3), "
	    "m mood, PRIMARY KEY (b, a))");
	sql("CREATE TABLE nokey (x int, y text)");
	sql("CREATE VIEW v AS SELECT 1 AS one");
	sql("CREATE TABLE m (id int, at date) PARTITION BY RANGE (at)");
	sql("CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') "
	    "TO ('2027-01-01') PARTITION BY RANGE (at)");
	sql("CREATE TABLE m_2026_a PARTITION OF m_2026 FOR VALUES FROM "
	    "('2026-01-01') TO ('2026-07-01')");
	test_describe();
	test_types_and_keys();
	test_partitions();
	test_publication();
	test_error_forms();
	test_snapshot_sql();
	test_snapshot_values();
	ss_pg_close(db);
	ss_pg_close(terse);
	ss_pg_close(NULL);
	return unit_report();
}
