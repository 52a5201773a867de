/*
 * test-health.c — ss_health_eval through every state (starting, waiting,
 * active) from heartbeats and the time; the receive lag histogram and its
 * text form; heartbeats through a real registry file; a beat writes its
 * heartbeat at once and "stopped" when it stops.
 */
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "health.h"
#include "registry.h"
#include "unit.h"

#define S 1000000LL
#define NOW (1700000000LL * S)
#define SINCE (NOW - 60 * S)
#define STALE (5 * S)

static struct ss_heartbeat hb[3];

/* Every stage up, replicate streaming, written `age` ago. */
static void all_up(int64_t age)
{
	int i;

	for (i = 0; i < 3; i++) {
		ss_heartbeat_init(&hb[i], ss_health_stages[i]);
		snprintf(hb[i].state, sizeof(hb[i].state), "%s",
			 i ? "running" : "streaming");
		hb[i].updated_us = NOW - age;
	}
}

static void expect(size_t n, const char *status, const char *why)
{
	struct ss_buf w = SS_BUF_INIT;

	CHECK_STR(
	    ss_health_status_name(ss_health_eval(hb, n, NOW, SINCE, STALE, &w)),
	    status);
	CHECK_STR(w.buf, why);
	ss_buf_release(&w);
}

static void test_eval(void)
{
	/* Nothing reported: starting. */
	expect(0, "starting", "replicate has not started");
	all_up(S);
	expect(3, "active", "");
	/* Any order; other stages are ignored. */
	{
		struct ss_heartbeat t = hb[0];

		hb[0] = hb[2];
		hb[2] = t;
		expect(3, "active", "");
		all_up(S);
	}
	/* A stage missing: starting. */
	expect(2, "starting", "store has not started");
	/* Exactly at the window: still up; one microsecond more: down. */
	all_up(STALE);
	expect(3, "active", "");
	hb[1].updated_us = NOW - STALE - 1;
	expect(3, "waiting", "route is down: no heartbeat for 5000 ms");
	/* A stale heartbeat from before the asker started: not yet. */
	all_up(S);
	hb[2].updated_us = SINCE - 1;
	expect(3, "starting", "store has not started");
	/* Down wins over not yet. */
	hb[0].updated_us = NOW - 7 * S;
	expect(3, "waiting", "replicate is down: no heartbeat for 7000 ms");
	/* Stopped is down at once. */
	all_up(S);
	snprintf(hb[2].state, sizeof(hb[2].state), "stopped");
	expect(3, "waiting", "store stopped");
	/* Replicate's own state. */
	all_up(S);
	snprintf(hb[0].state, sizeof(hb[0].state), "connecting");
	expect(3, "starting", "replicate is connecting");
	snprintf(hb[0].state, sizeof(hb[0].state), "error");
	snprintf(hb[0].detail, sizeof(hb[0].detail), "could not connect");
	expect(3, "waiting", "replicate is error: could not connect");
	/* Asleep under its idle timeout: active, it wakes on a read. */
	all_up(S);
	snprintf(hb[0].state, sizeof(hb[0].state), "sleeping");
	expect(3, "active", "");
	/* A sleeping replicate whose heartbeat stopped is still down. */
	hb[0].updated_us = NOW - 7 * S;
	expect(3, "waiting", "replicate is down: no heartbeat for 7000 ms");
	/* A clock behind (heartbeat from the future): up. */
	all_up(-3 * S);
	expect(3, "active", "");
	CHECK(ss_health_up(&hb[0], NOW, STALE));
}

static void test_hist(void)
{
	struct ss_lag_hist h, g;
	struct ss_buf t = SS_BUF_INIT;

	memset(&h, 0, sizeof(h));
	ss_lag_hist_add(&h, -3);    /* 0: le 1 */
	ss_lag_hist_add(&h, 1);	    /* le 1 */
	ss_lag_hist_add(&h, 2);	    /* le 5 */
	ss_lag_hist_add(&h, 10000); /* le 10000 */
	ss_lag_hist_add(&h, 10001); /* +Inf */
	ss_lag_hist_format(&h, &t);
	CHECK_STR(t.buf, "20004 5 2 1 0 0 0 0 0 0 0 0 0 1 1");
	CHECK(ss_lag_hist_parse(&g, t.buf) == 0);
	CHECK(!memcmp(&g, &h, sizeof(g)));
	CHECK(ss_lag_hist_parse(&g, "1 2 1") < 0);
	CHECK(g.count == 0);
	CHECK(ss_lag_hist_parse(&g, "20004 6 2 1 0 0 0 0 0 0 0 0 0 1 1") < 0);
	CHECK(ss_lag_hist_parse(&g, "20004 5 2 1 0 0 0 0 0 0 0 0 0 1 1 0") < 0);
	CHECK(ss_lag_hist_parse(&g, "") < 0);
	ss_buf_release(&t);
	CHECK_STR(ss_health_counter_name("replicate", 0), "transactions");
	CHECK_STR(ss_health_counter_name("store", 2), "syncs");
	CHECK(ss_health_counter_name("serve", 0) == NULL);
	CHECK(ss_health_counter_name("route", 3) == NULL);
	CHECK(ss_health_rss() > 0);
}

static void test_registry(const char *path)
{
	struct ss_registry_opts o;
	struct ss_registry *reg;
	struct ss_err err = SS_ERR_INIT;
	struct ss_heartbeat w, *got;
	struct ss_beat *beat;
	size_t n;

	ss_registry_opts_init(&o);
	o.create = 1;
	if (ss_registry_open(path, &o, &reg, &err) < 0)
		FAILF("open: %s", err.msg);
	CHECK(ss_registry_heartbeats(reg, &got, &n, &err) == 0 && n == 0 &&
	      !got);
	ss_heartbeat_init(&w, "replicate");
	w.pid = 42;
	snprintf(w.state, sizeof(w.state), "streaming");
	snprintf(w.detail, sizeof(w.detail), "it's \"fine\"");
	w.received_lsn = 0x16B3748;
	w.flushed_lsn = 0x16B3700;
	w.wal_lsn = 0x16B3750;
	w.retained_wal = 1234;
	w.flush_lag = 80;
	w.rss_bytes = 1 << 20;
	w.registry_connections = 2;
	w.counters[0] = 7;
	w.counters[1] = 70;
	w.counters[2] = 1;
	ss_lag_hist_add(&w.lag, 3);
	w.updated_us = NOW;
	CHECK(ss_registry_heartbeat_put(reg, &w, &err) == 0);
	/* Replaced, not added. */
	CHECK(ss_registry_heartbeat_put(reg, &w, &err) == 0);
	CHECK(ss_registry_heartbeats(reg, &got, &n, &err) == 0 && n == 1);
	if (n == 1)
		CHECK(!memcmp(got, &w, sizeof(w)));
	free(got);

	/* A beat writes at once, and "stopped" at its end. */
	if (ss_beat_start(reg, "store", 50, &beat, &err) < 0)
		FAILF("beat: %s", err.msg);
	ss_beat_state(beat, "running", NULL);
	ss_beat_hold(beat)->flushed_lsn = 99;
	ss_beat_release(beat);
	usleep(200000);
	CHECK(ss_registry_heartbeats(reg, &got, &n, &err) == 0 && n == 2);
	if (n == 2) {
		CHECK_STR(got[1].stage, "store");
		CHECK_STR(got[1].state, "running");
		CHECK(got[1].pid == (int64_t)getpid());
		CHECK(got[1].flushed_lsn == 99);
		CHECK(got[1].rss_bytes > 0);
		CHECK(got[1].registry_connections >= 1);
		CHECK(got[1].wal_lsn == -1);
		CHECK(ss_now_us() - got[1].updated_us < 60 * S);
	}
	free(got);
	CHECK(ss_beat_failures(beat) == 0);
	ss_beat_stop(beat, "stopped");
	ss_beat_stop(NULL, "stopped");
	CHECK(ss_registry_heartbeats(reg, &got, &n, &err) == 0 && n == 2);
	if (n == 2)
		CHECK_STR(got[1].state, "stopped");
	free(got);
	ss_registry_close(reg, &err);
}

/* A registry of schema 2 (before heartbeats) is migrated when opened. */
static void test_migration(const char *path)
{
	struct ss_registry_opts o;
	struct ss_registry *reg;
	struct ss_registry_stats st;
	struct ss_err err = SS_ERR_INIT;
	struct ss_heartbeat w, *got;
	sqlite3 *db;
	size_t n;

	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "DROP TABLE heartbeats; DROP TABLE partition_sets; "
			   "ALTER TABLE shapes DROP COLUMN deps; "
			   "PRAGMA user_version=2",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	ss_registry_opts_init(&o);
	if (ss_registry_open(path, &o, &reg, &err) < 0)
		FAILF("open: %s", err.msg);
	CHECK(ss_registry_stats(reg, &st, &err) == 0 &&
	      st.schema_version == SS_REGISTRY_SCHEMA_VERSION);
	ss_heartbeat_init(&w, "route");
	CHECK(ss_registry_heartbeat_put(reg, &w, &err) == 0);
	CHECK(ss_registry_heartbeats(reg, &got, &n, &err) == 0 && n == 1);
	free(got);
	ss_registry_close(reg, &err);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	{
		sqlite3_stmt *q;

		CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q,
					 NULL) == SQLITE_OK);
		CHECK(sqlite3_step(q) == SQLITE_ROW &&
		      sqlite3_column_int(q, 0) == SS_REGISTRY_SCHEMA_VERSION);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
}

int main(int argc, char **argv)
{
	char path[4096];

	test_eval();
	test_hist();
	snprintf(path, sizeof(path), "%s/health-registry.db",
		 argc > 1 ? argv[1] : ".");
	unlink(path);
	test_registry(path);
	test_migration(path);
	return unit_report();
}
