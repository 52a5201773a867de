/*
 * test-publisher.c — lib/publisher against a real PostgreSQL
 * ($DATABASE_URL, started by tests/t1008): tables join the publication
 * once, a failing one is warned about once and retried after the pause,
 * partitions attached later get REPLICA IDENTITY FULL at the next look.
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "publication.h"
#include "publisher.h"
#include "unit.h"

static struct ss_pg *db;
static char warnings[2048];

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

static void on_warn(const char *msg, const char *hint, void *ctx)
{
	size_t n = strlen(warnings);

	CHECK(ctx == warnings);
	snprintf(warnings + n, sizeof(warnings) - n, "%s|%s\n", msg,
		 hint ? hint : "");
}

static const char *published(char *buf, size_t n)
{
	return value("SELECT string_agg(tablename, ',' ORDER BY tablename) "
		     "FROM pg_publication_tables WHERE pubname = 'p'",
		     buf, n);
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_publisher p;
	const char *url = getenv("DATABASE_URL");
	int created;
	char v[256];

	if (!url)
		FAILF(
		    "DATABASE_URL is not set (run through tests/t1008-replicate-session)");
	if (ss_pg_open(url, 0, "test-publisher", &db, &err) < 0)
		FAILF("%s", err.msg);
	sql("CREATE TABLE a (id int PRIMARY KEY)");
	sql("CREATE TABLE m (id int, at date) PARTITION BY RANGE (at)");
	if (ss_publication_create(db, "p", &created, &err) < 0)
		FAILF("%s", err.msg);

	ss_publisher_init(&p);
	p.pub = "p";
	p.retry_us = 1000;
	p.partitions_us = 1000;
	p.warn = on_warn;
	p.ctx = warnings;
	CHECK(ss_publisher_add(&p, "public", "a") == 1);
	CHECK(ss_publisher_add(&p, "public", "a") == 0);
	CHECK(ss_publisher_add(&p, "public", "nope") == 1);
	CHECK(p.n == 2);

	/* a joins; nope fails once, with one warning. */
	CHECK(ss_publisher_tick(&p, db, NULL, 100, &err) == 0);
	CHECK_STR(published(v, sizeof(v)), "a");
	CHECK_STR(value("SELECT relreplident FROM pg_class WHERE relname = 'a'",
			v, sizeof(v)),
		  "f");
	CHECK(p.tables[0].done && !p.tables[1].done);
	CHECK_STR(warnings, "could not publish table \"public\".\"nope\": "
			    "table \"public\".\"nope\" does not exist|\n");
	/* Before the pause is over nothing is tried; after it, nope is
	 * tried again but not warned about again. */
	CHECK(ss_publisher_tick(&p, db, NULL, 500, &err) == 0);
	CHECK(p.tables[1].retry_us == 1100);
	CHECK(ss_publisher_tick(&p, db, NULL, 1100, &err) == 0);
	CHECK(p.tables[1].retry_us == 2100);
	CHECK(!strchr(strchr(warnings, '\n') + 1, '\n'));
	/* Made meanwhile: it joins at the next try. */
	sql("CREATE TABLE nope (id int)");
	CHECK(ss_publisher_tick(&p, db, NULL, 2100, &err) == 0);
	CHECK(p.tables[1].done);
	CHECK_STR(published(v, sizeof(v)), "a,nope");

	/* A partition attached later keeps the default identity until the
	 * next look at the partitions (once a period, or asked for). */
	CHECK(ss_publisher_add(&p, "public", "m") == 1);
	CHECK(ss_publisher_tick(&p, db, NULL, 5000, &err) == 0);
	sql("CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2026-01-01') "
	    "TO ('2027-01-01')");
	CHECK(ss_publisher_tick(&p, db, NULL, 5500, &err) == 0);
	CHECK_STR(
	    value("SELECT relreplident FROM pg_class WHERE relname = 'm_1'", v,
		  sizeof(v)),
	    "d");
	ss_publisher_partitions_soon(&p);
	CHECK(ss_publisher_tick(&p, db, NULL, 5600, &err) == 0);
	CHECK_STR(
	    value("SELECT relreplident FROM pg_class WHERE relname = 'm_1'", v,
		  sizeof(v)),
	    "f");
	CHECK(!strchr(strchr(warnings, '\n') + 1, '\n'));

	ss_publisher_release(&p);
	ss_publisher_release(&p);
	ss_pg_close(db);
	return unit_report();
}
