/*
 * test-stream.c — ss_stream_decide: every way a session can break the
 * lineage of the shape logs gives SS_STREAM_NEW with its reason, and a
 * session that continues gives SS_STREAM_SAME; ss_stream_ack_target
 * bounds the acknowledgement.
 */
#include <string.h>

#include "stream.h"
#include "unit.h"

static struct ss_stream_id recorded(void)
{
	struct ss_stream_id id;

	memset(&id, 0, sizeof(id));
	snprintf(id.system_id, sizeof(id.system_id), "%s",
		 "7301234567890123456");
	id.timeline = 1;
	id.db_oid = 16384;
	snprintf(id.db_name, sizeof(id.db_name), "%s", "app");
	snprintf(id.slot, sizeof(id.slot), "%s", "shapesync");
	id.slot_lsn = 0x1000;
	return id;
}

/* A session that continues `recorded()`. */
static struct ss_stream_session same(void)
{
	struct ss_stream_session s;

	memset(&s, 0, sizeof(s));
	s.id = recorded();
	s.slot_confirmed = 0x2000;
	s.durable = 0x2400;
	s.server_lsn = 0x3000;
	s.shapes = 3;
	return s;
}

static void expect(const struct ss_stream_id *rec,
		   const struct ss_stream_session *s,
		   enum ss_stream_verdict want, const char *reason)
{
	struct ss_buf r = SS_BUF_INIT;
	enum ss_stream_verdict v = ss_stream_decide(rec, s, &r);

	CHECK_STR(ss_stream_verdict_name(v), ss_stream_verdict_name(want));
	CHECK_STR(r.buf, reason);
	ss_buf_release(&r);
}

/* The acknowledgement: durable, bounded by what was written out, never
 * backwards. */
static void test_ack(void)
{
	/* durable, emitted, slot_confirmed, max_flush, ack_received */
	CHECK(ss_stream_ack_target(0x300, 0x500, 0x100, 0x200, 0) == 0x300);
	CHECK(ss_stream_ack_target(0x300, 0x500, 0x100, 0x200, 1) == 0x500);
	CHECK(ss_stream_ack_target(0x900, 0x500, 0x100, 0x200, 0) == 0x500);
	CHECK(ss_stream_ack_target(0x050, 0x500, 0x100, 0x000, 0) == 0x100);
	CHECK(ss_stream_ack_target(0x050, 0x500, 0x100, 0x400, 0) == 0x400);
	CHECK(ss_stream_ack_target(0, 0, 0, 0, 0) == 0);
}

/* --idle-timeout: due after the timeout, a newer registry use restarts
 * it from when the use happened (never from the future), an old one
 * does not. */
static void test_idle(void)
{
	struct ss_stream_idle idle = {0, 1000, 0};

	CHECK(!ss_stream_idle_due(&idle, 1000000000)); /* no timeout */
	idle.timeout_us = 5000;
	CHECK(!ss_stream_idle_due(&idle, 5999));
	CHECK(ss_stream_idle_due(&idle, 6000));
	/* A use 2 ms ago (wall clock) seen at monotonic 7000. */
	CHECK(ss_stream_idle_use(&idle, 50000, 7000, 52000) == 1);
	CHECK(idle.last_use == 50000 && idle.active_us == 5000);
	CHECK(!ss_stream_idle_due(&idle, 7000));
	CHECK(ss_stream_idle_due(&idle, 10000));
	/* The same use again, or an older one: nothing new. */
	CHECK(ss_stream_idle_use(&idle, 50000, 20000, 70000) == 0);
	CHECK(ss_stream_idle_use(&idle, 40000, 20000, 70000) == 0);
	CHECK(idle.active_us == 5000);
	/* A use the wall clock puts in the future counts as now. */
	CHECK(ss_stream_idle_use(&idle, 90000, 20000, 70000) == 1);
	CHECK(idle.active_us == 20000 && idle.last_use == 90000);
	CHECK(!ss_stream_idle_due(&idle, 24999));
	CHECK(ss_stream_idle_due(&idle, 25000));
}

int main(void)
{
	struct ss_stream_id rec = recorded();
	struct ss_stream_session s;

	/* Continues: positions in order, the slot behind what is durable. */
	s = same();
	expect(&rec, &s, SS_STREAM_SAME, "");
	/* The slot may stand exactly at what is durable, or at the stream's
	 * start when nothing was made durable since. */
	s.slot_confirmed = s.durable;
	expect(&rec, &s, SS_STREAM_SAME, "");
	s.durable = 0;
	s.slot_confirmed = rec.slot_lsn;
	expect(&rec, &s, SS_STREAM_SAME, "");

	s = same();
	s.slot_created = 1;
	s.id.slot_lsn = 0x5000;
	expect(&rec, &s, SS_STREAM_NEW,
	       "replication slot 'shapesync' was missing and was created anew "
	       "at 0/5000: changes written while it was gone are not in the "
	       "shape logs");

	s = same();
	s.slot_lost = 1;
	s.slot_created = 1;
	s.id.slot_lsn = 0x5000;
	expect(&rec, &s, SS_STREAM_NEW,
	       "replication slot 'shapesync' was invalidated by the server "
	       "(wal_status lost): WAL it still needed was removed, so changes "
	       "are missing from the shape logs; it was dropped and created "
	       "anew at 0/5000");

	s = same();
	snprintf(s.id.system_id, sizeof(s.id.system_id), "%s",
		 "7309999999999999999");
	expect(&rec, &s, SS_STREAM_NEW,
	       "the server is another cluster: system identifier "
	       "7309999999999999999, the shape logs were built from "
	       "7301234567890123456");

	s = same();
	s.id.db_oid = 16999;
	snprintf(s.id.db_name, sizeof(s.id.db_name), "%s", "other");
	expect(&rec, &s, SS_STREAM_NEW,
	       "the database is another one: 'other' (oid 16999), the shape "
	       "logs were built from 'app' (oid 16384)");

	/* Same name, dropped and created again: a new oid. */
	s = same();
	s.id.db_oid = 16385;
	expect(&rec, &s, SS_STREAM_NEW,
	       "the database is another one: 'app' (oid 16385), the shape "
	       "logs were built from 'app' (oid 16384)");

	s = same();
	s.id.timeline = 2;
	expect(&rec, &s, SS_STREAM_NEW,
	       "the server's timeline changed from 1 to 2: it was restored "
	       "from a backup, recovered to a point in time or promoted");

	s = same();
	snprintf(s.id.slot, sizeof(s.id.slot), "%s", "other_slot");
	expect(&rec, &s, SS_STREAM_NEW,
	       "the replication slot is another one: 'other_slot', the shape "
	       "logs were built from 'shapesync'");

	s = same();
	s.server_lsn = 0x2300;
	expect(&rec, &s, SS_STREAM_NEW,
	       "the server's WAL position 0/2300 is behind what the shape logs "
	       "hold (0/2400): the database was restored to an earlier point "
	       "or is another one");

	s = same();
	s.slot_confirmed = 0x2401;
	expect(&rec, &s, SS_STREAM_NEW,
	       "replication slot 'shapesync' was moved to 0/2401, past what "
	       "the shape logs hold (0/2400): something else consumed or "
	       "advanced it");

	/* Nothing recorded: a new registry, or one from before streams. */
	s = same();
	s.shapes = 0;
	s.slot_created = 1;
	expect(NULL, &s, SS_STREAM_FIRST,
	       "first stream: slot 'shapesync' on database 'app' of system "
	       "7301234567890123456, timeline 1");
	s.shapes = 2;
	s.slot_created = 0;
	expect(NULL, &s, SS_STREAM_FIRST,
	       "first stream: slot 'shapesync' on database 'app' of system "
	       "7301234567890123456, timeline 1");
	/* ... but shapes whose slot is gone lost changes. */
	s.slot_created = 1;
	s.id.slot_lsn = 0x5000;
	expect(NULL, &s, SS_STREAM_NEW,
	       "replication slot 'shapesync' was missing and was created anew "
	       "at 0/5000: changes written while it was gone are not in the "
	       "shape logs");
	s.slot_created = 0;
	s.server_lsn = 0x100;
	expect(NULL, &s, SS_STREAM_NEW,
	       "the server's WAL position 0/100 is behind what the shape logs "
	       "hold (0/2400): the database was restored to an earlier point "
	       "or is another one");

	CHECK(ss_stream_verdict_name((enum ss_stream_verdict)9) == NULL);
	test_ack();
	test_idle();
	return unit_report();
}
