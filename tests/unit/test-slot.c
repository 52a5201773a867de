/*
 * test-slot.c — lib/slot against a real PostgreSQL ($DATABASE_URL with
 * wal_level=logical, started by tests/t1008): the session lock and its
 * take-over, the publication and the slot looked up, a missing slot
 * created, a publication newer than its slot refused.
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "slot.h"
#include "unit.h"

static const char *url;
static struct ss_pg *db;
static char notices[1024];

static void sql(const char *q)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_pg_exec(db, "setup", q, 0, NULL, NULL, NULL, &err) < 0)
		FAILF("%s: %s", q, err.msg);
}

static struct ss_pg *connect_admin(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg *pg = NULL;

	if (ss_pg_open(url, 0, "test-slot", &pg, &err) < 0)
		FAILF("%s", err.msg);
	return pg;
}

static void on_notice(const char *msg, void *ctx)
{
	size_t n = strlen(notices);

	(void)ctx;
	snprintf(notices + n, sizeof(notices) - n, "%s\n", msg);
}

static void slot_init(struct ss_slot *s, const char *slot)
{
	memset(s, 0, sizeof(*s));
	s->conninfo = url;
	s->appname = "test-slot";
	s->slot = slot;
	s->pub = "test_pub";
	s->notice = on_notice;
}

/* One holder at a time; --take-over-slot ends the other. */
static void test_lock(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg *first = connect_admin(), *second = connect_admin();
	struct ss_slot s;

	slot_init(&s, "locked");
	CHECK(ss_slot_lock(&s, first, &err) == 0 && !s.fatal);
	/* Taking it again on the same session is no conflict. */
	CHECK(ss_slot_lock(&s, first, &err) == 0);

	slot_init(&s, "locked");
	CHECK(ss_slot_lock(&s, second, &err) < 0);
	CHECK(s.fatal && err.code == SS_ERR_RUNTIME);
	CHECK_STR(err.msg,
		  "another shapesync-replicate is using slot 'locked'");
	CHECK_STR(err.hint, "run one instance per slot, choose another with "
			    "--slot, or end a stale one with --take-over-slot");

	/* Another slot's lock is free. */
	ss_err_clear(&err);
	slot_init(&s, "other");
	CHECK(ss_slot_lock(&s, second, &err) == 0);

	ss_err_clear(&err);
	notices[0] = '\0';
	slot_init(&s, "locked");
	s.take_over = 1;
	CHECK(ss_slot_lock(&s, second, &err) == 0 && !s.fatal);
	CHECK_STR(notices, "took slot 'locked' over: ended 1 backend holding "
			   "it\n");
	ss_pg_close(first);
	ss_pg_close(second);
}

/* A fresh publication and slot; the second session finds both. */
static void test_lookup_ready(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg *admin = connect_admin(), *repl = NULL;
	struct ss_slot s;

	slot_init(&s, "fresh");
	CHECK(ss_slot_lookup(&s, admin, &err) == 0);
	CHECK(s.pub_created && !s.exists && !s.lost && !s.created);
	CHECK(ss_slot_ready(&s, admin, &repl, &err) == 0);
	CHECK(s.created && s.exists && s.confirmed > 0);
	ss_pg_close(repl);
	repl = NULL;

	slot_init(&s, "fresh");
	CHECK(ss_slot_lookup(&s, admin, &err) == 0);
	CHECK(!s.pub_created && s.exists && !s.lost && s.confirmed > 0);
	CHECK(ss_slot_ready(&s, admin, &repl, &err) == 0);
	CHECK(!s.created && s.exists);
	ss_pg_close(repl);
	repl = NULL;

	/* The publication dropped and made again: the slot's WAL from
	 * before it cannot be decoded. */
	sql("DROP PUBLICATION test_pub");
	slot_init(&s, "fresh");
	CHECK(ss_slot_lookup(&s, admin, &err) == 0);
	CHECK(s.pub_created && s.exists);
	CHECK(ss_slot_ready(&s, admin, &repl, &err) < 0);
	CHECK(s.fatal && !repl);
	CHECK_STR(err.msg, "publication 'test_pub' was created after slot "
			   "'fresh'");
	CHECK_STR(err.detail, "pgoutput cannot decode the slot's WAL from "
			      "before the publication existed");
	CHECK_STR(err.hint, "drop the slot with --drop-slot (shapes must then "
			    "be created anew)");
	ss_err_clear(&err);

	/* A temporary slot is made too (it goes with its connection). */
	slot_init(&s, "temp");
	s.temporary = 1;
	CHECK(ss_slot_lookup(&s, admin, &err) == 0 && !s.exists);
	CHECK(ss_slot_ready(&s, admin, &repl, &err) == 0 && s.created);
	ss_pg_close(repl);
	ss_pg_close(admin);

	/* The orderly stop's drop, on a connection of its own. */
	CHECK(ss_slot_drop_now(url, "test-slot", "fresh", &err) == 0);
	CHECK(ss_slot_drop_now(url, "test-slot", "fresh", &err) < 0);
	CHECK(err.code == SS_ERR_INPUT &&
	      !strncmp(err.msg, "could not drop slot 'fresh': ", 29));
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;

	url = getenv("DATABASE_URL");
	if (!url)
		FAILF(
		    "DATABASE_URL is not set (run through tests/t1008-replicate-session)");
	if (ss_pg_open(url, 0, "test-slot", &db, &err) < 0)
		FAILF("%s", err.msg);
	test_lock();
	test_lookup_ready();
	ss_pg_close(db);
	return unit_report();
}
