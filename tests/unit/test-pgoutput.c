/*
 * test-pgoutput.c — lib/pgoutput and the copy messages of lib/pg on bytes
 * laid out as PostgreSQL 15's pgoutput (protocol version 1) and walsender
 * send them: every message type, TOAST markers, every truncation of every
 * message, the caches, and xid extension across epochs and wraparound.
 */
#include <inttypes.h>

#include "pg.h"
#include "pgoutput.h"
#include "unit.h"

/* A message under construction. */
struct msg {
	char b[512];
	size_t n;
};

static void u8(struct msg *m, unsigned v)
{
	m->b[m->n++] = (char)v;
}

static void u16(struct msg *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

static void u32(struct msg *m, uint32_t v)
{
	u16(m, v >> 16);
	u16(m, v & 0xffff);
}

static void u64(struct msg *m, uint64_t v)
{
	u32(m, (uint32_t)(v >> 32));
	u32(m, (uint32_t)v);
}

static void str(struct msg *m, const char *s)
{
	size_t n = strlen(s) + 1;

	memcpy(m->b + m->n, s, n);
	m->n += n;
}

static void text(struct msg *m, const char *s)
{
	u8(m, 't');
	u32(m, (uint32_t)strlen(s));
	memcpy(m->b + m->n, s, strlen(s));
	m->n += strlen(s);
}

/* 2026-11-21T07:38:00.123456Z in PostgreSQL's epoch. */
#define TS_UNIX INT64_C(1795247880123456)
#define TS_PG ((uint64_t)(TS_UNIX - SS_PG_EPOCH_OFFSET_US))

static struct msg begin_msg(void)
{
	struct msg m = {.n = 0};

	u8(&m, 'B');
	u64(&m, 0x16B3748);
	u64(&m, TS_PG);
	u32(&m, 750);
	return m;
}

static struct msg relation_msg(void)
{
	struct msg m = {.n = 0};

	u8(&m, 'R');
	u32(&m, 16384);
	str(&m, "public");
	str(&m, "items");
	u8(&m, 'f');
	u16(&m, 3);
	u8(&m, 1);
	str(&m, "id");
	u32(&m, 23);
	u32(&m, 0xffffffff);
	u8(&m, 0);
	str(&m, "title");
	u32(&m, 1043);
	u32(&m, 84);
	u8(&m, 0);
	str(&m, "body");
	u32(&m, 25);
	u32(&m, 0xffffffff);
	return m;
}

/* A non-transactional logical message (pg_logical_emit_message). */
static struct msg logical_msg(void)
{
	struct msg m = {.n = 0};

	u8(&m, 'M');
	u8(&m, 0);
	u64(&m, 0x2033B10);
	str(&m, "shapesync");
	u32(&m, 6);
	memcpy(m.b + m.n, "move 7", 6);
	m.n += 6;
	return m;
}

static struct msg update_msg(void)
{
	struct msg m = {.n = 0};

	u8(&m, 'U');
	u32(&m, 16384);
	u8(&m, 'O');
	u16(&m, 3);
	text(&m, "1");
	u8(&m, 'n');
	text(&m, "long body");
	u8(&m, 'N');
	u16(&m, 3);
	text(&m, "2");
	text(&m, "t\xc3\xa9");
	u8(&m, 'u');
	return m;
}

static void test_messages(void)
{
	struct ss_pgo_msg d = SS_PGO_MSG_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct msg m;

	m = begin_msg();
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'B' && d.final_lsn == 0x16B3748 && d.xid == 750);
	CHECK(d.ts_us == TS_UNIX);

	m = relation_msg();
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'R' && d.rel.oid == 16384 && d.rel.replident == 'f');
	CHECK_STR(d.rel.schema, "public");
	CHECK_STR(d.rel.table, "items");
	CHECK(d.rel.ncols == 3);
	CHECK_STR(d.rel.cols[1].name, "title");
	CHECK(d.rel.cols[0].key == 1 && d.rel.cols[1].key == 0);
	CHECK(d.rel.cols[0].typmod == -1 && d.rel.cols[1].typmod == 84);
	CHECK(d.rel.cols[1].type_oid == 1043);

	/* pg_catalog is sent as "". */
	m.n = 0;
	u8(&m, 'R');
	u32(&m, 1259);
	str(&m, "");
	str(&m, "pg_class");
	u8(&m, 'd');
	u16(&m, 0);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK_STR(d.rel.schema, "pg_catalog");
	CHECK(d.rel.ncols == 0);

	m = update_msg();
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'U' && d.relid == 16384 && d.old_kind == 'O');
	CHECK(d.old_tuple.ncols == 3 && d.new_tuple.ncols == 3);
	CHECK(d.old_tuple.vals[1].kind == SS_PGO_NULL);
	CHECK(d.old_tuple.vals[2].kind == SS_PGO_TEXT &&
	      d.old_tuple.vals[2].len == 9 &&
	      !memcmp(d.old_tuple.vals[2].data, "long body", 9));
	CHECK(d.new_tuple.vals[1].len == 3);
	CHECK(d.new_tuple.vals[2].kind == SS_PGO_UNCHANGED);

	/* An update without an old tuple (the key did not change). */
	m.n = 0;
	u8(&m, 'U');
	u32(&m, 16384);
	u8(&m, 'N');
	u16(&m, 1);
	text(&m, "");
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.old_kind == 0 && d.new_tuple.ncols == 1 &&
	      d.new_tuple.vals[0].len == 0);

	m.n = 0;
	u8(&m, 'I');
	u32(&m, 16384);
	u8(&m, 'N');
	u16(&m, 2);
	text(&m, "42");
	u8(&m, 'n');
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'I' && d.old_kind == 0 && d.new_tuple.ncols == 2);

	m.n = 0;
	u8(&m, 'D');
	u32(&m, 16384);
	u8(&m, 'K');
	u16(&m, 1);
	text(&m, "42");
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'D' && d.old_kind == 'K' && d.old_tuple.ncols == 1);

	m.n = 0;
	u8(&m, 'T');
	u32(&m, 2);
	u8(&m, 1);
	u32(&m, 16384);
	u32(&m, 16390);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.nrelids == 2 && d.relids[1] == 16390 && d.trunc_flags == 1);

	m.n = 0;
	u8(&m, 'Y');
	u32(&m, 16400);
	str(&m, "public");
	str(&m, "mood");
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type_oid == 16400);
	CHECK_STR(d.type_name, "mood");

	m.n = 0;
	u8(&m, 'O');
	u64(&m, 0x100);
	str(&m, "upstream");
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK_STR(d.origin_name, "upstream");

	m.n = 0;
	u8(&m, 'C');
	u8(&m, 0);
	u64(&m, 0x16B3748);
	u64(&m, 0x16B3778);
	u64(&m, TS_PG);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.commit_lsn == 0x16B3748 && d.end_lsn == 0x16B3778);
	CHECK(d.ts_us == TS_UNIX);

	m = logical_msg();
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.type == 'M' && d.flags == 0 && d.msg_lsn == 0x2033B10);
	CHECK_STR(d.msg_prefix, "shapesync");
	CHECK(d.msg_len == 6 && !memcmp(d.msg_content, "move 7", 6));
	/* content longer than the message */
	m.b[m.n - 7] = 9;
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);

	/* Errors. */
	CHECK(ss_pgo_decode(&d, "S", 1, &err) < 0);
	CHECK_STR(err.msg, "pgoutput: unknown message type 'S'");
	CHECK(ss_pgo_decode(&d, "", 0, &err) < 0);
	m = begin_msg();
	u8(&m, 0);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	CHECK_STR(err.msg, "pgoutput: begin message has 1 bytes after its end");
	m.n = 0;
	u8(&m, 'I');
	u32(&m, 1);
	u8(&m, 'X');
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	m.n = 0;
	u8(&m, 'I');
	u32(&m, 1);
	u8(&m, 'N');
	u16(&m, 1);
	u8(&m, 'b');
	u32(&m, 0);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	/* A truncate claiming more oids than the message holds. */
	m.n = 0;
	u8(&m, 'T');
	u32(&m, 0x40000000);
	u8(&m, 0);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	/* InvalidOid names no relation or type: the caches could not hold
	 * it (found by tests/fuzz/fuzz-pgoutput). */
	m = relation_msg();
	memset(m.b + 1, 0, 4);
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	CHECK_STR(err.msg, "pgoutput: relation message with invalid oid 0");
	m.n = 0;
	u8(&m, 'Y');
	u32(&m, 0);
	str(&m, "public");
	str(&m, "mood");
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	CHECK_STR(err.msg, "pgoutput: type message with invalid oid 0");
	/* A timestamp past PostgreSQL's range (and past int64 once moved
	 * to the Unix epoch: found by tests/fuzz/fuzz-pgoutput). */
	m = begin_msg();
	memset(m.b + 9, 0xff, 8);
	m.b[9] = 0x7f;
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	CHECK_STR(err.msg,
		  "pgoutput: begin message: timestamp out of range at byte 9");
	m = begin_msg();
	memset(m.b + 9, 0, 8);
	m.b[9] = 0x80; /* INT64_MIN: -infinity */
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	/* the last that fits: INT64_MAX Unix microseconds */
	m = begin_msg();
	{
		uint64_t last = (uint64_t)(INT64_MAX - SS_PG_EPOCH_OFFSET_US);
		int k;

		for (k = 0; k < 8; k++)
			m.b[9 + k] = (char)(last >> (56 - 8 * k));
		CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
		CHECK(d.ts_us == INT64_MAX);
		last++;
		for (k = 0; k < 8; k++)
			m.b[9 + k] = (char)(last >> (56 - 8 * k));
		CHECK(ss_pgo_decode(&d, m.b, m.n, &err) < 0);
	}
	m = begin_msg();
	memset(m.b + 9, 0, 8); /* 2000-01-01 */
	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(d.ts_us == SS_PG_EPOCH_OFFSET_US);
	ss_pgo_msg_release(&d);
}

/* Every proper prefix of a valid message is an error, never a crash or
 * a read past the end (run under ASan in check-asan). */
static void test_truncations(void)
{
	struct ss_pgo_msg d = SS_PGO_MSG_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct msg ms[4];
	size_t i, k;

	ms[0] = begin_msg();
	ms[1] = relation_msg();
	ms[2] = update_msg();
	ms[3] = logical_msg();
	for (k = 0; k < 4; k++)
		for (i = 1; i < ms[k].n; i++) {
			char *copy = ss_xmalloc(i);

			memcpy(copy, ms[k].b, i);
			CHECK(ss_pgo_decode(&d, copy, i, &err) < 0);
			CHECK(err.code == SS_ERR_INPUT);
			free(copy);
		}
	ss_pgo_msg_release(&d);
}

static void test_cache(void)
{
	struct ss_pgo_cache *c = ss_pgo_cache_new();
	struct ss_pgo_msg d = SS_PGO_MSG_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct msg m = relation_msg();
	const struct ss_pgo_relation *r;
	char name[32];
	uint32_t i;

	CHECK(ss_pgo_decode(&d, m.b, m.n, &err) == 0);
	CHECK(ss_pgo_cache_put_relation(c, &d.rel) == 1);
	CHECK(ss_pgo_cache_put_relation(c, &d.rel) == 0);
	r = ss_pgo_cache_relation(c, 16384);
	CHECK(r && r->ncols == 3 && r != &d.rel);
	CHECK_STR(r->cols[2].name, "body");
	d.rel.cols[1].typmod = 104; /* varchar(100) now */
	CHECK(ss_pgo_cache_put_relation(c, &d.rel) == 1);
	CHECK(ss_pgo_cache_relation(c, 16384)->cols[1].typmod == 104);
	CHECK(ss_pgo_cache_relation(c, 1) == NULL);
	CHECK(ss_pgo_cache_relation(c, 0) == NULL);

	for (i = 1; i <= 5000; i++) {
		snprintf(name, sizeof(name), "t%" PRIu32, i);
		ss_pgo_cache_put_type(c, i * 7, name);
	}
	ss_pgo_cache_put_type(c, 7, "renamed");
	CHECK(ss_pgo_cache_ntypes(c) == 5000);
	CHECK_STR(ss_pgo_cache_type(c, 7), "renamed");
	CHECK_STR(ss_pgo_cache_type(c, 7 * 4321), "t4321");
	CHECK(ss_pgo_cache_type(c, 8) == NULL);
	ss_pgo_cache_free(c);
	ss_pgo_cache_free(NULL);
	ss_pgo_msg_release(&d);
}

static void test_xids(void)
{
	uint64_t ref = 5ULL << 32 | 1000;

	CHECK(ss_pgo_xid_extend(&ref, 990) == (5ULL << 32 | 990));
	CHECK(ss_pgo_xid_extend(&ref, 1005) == (5ULL << 32 | 1005));
	/* Across wraparound: epoch 5 ends, epoch 6 begins. */
	ref = 5ULL << 32 | 0xFFFFFF00u;
	CHECK(ss_pgo_xid_extend(&ref, 0xFFFFFFF0u) ==
	      (5ULL << 32 | 0xFFFFFFF0u));
	CHECK(ss_pgo_xid_extend(&ref, 3) == (6ULL << 32 | 3));
	CHECK(ss_pgo_xid_extend(&ref, 0xFFFFFFFEu) ==
	      (5ULL << 32 | 0xFFFFFFFEu));
	CHECK(ss_pgo_xid_extend(&ref, 10) == (6ULL << 32 | 10));
	/* A backlog up to 2^31 old. */
	ref = 6ULL << 32 | 100;
	CHECK(ss_pgo_xid_extend(&ref, 0x80000065u) ==
	      (5ULL << 32 | 0x80000065u));
	/* Epoch 0 never goes below zero. */
	ref = 100;
	CHECK(ss_pgo_xid_extend(&ref, 0xFFFFFF00u) == 0xFFFFFF00u);
	ref = 100;
	CHECK(ss_pgo_xid_extend(&ref, 90) == 90);
}

static void test_copy_messages(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pg_copymsg cm;
	struct msg m = {.n = 0};
	char st[34];

	u8(&m, 'w');
	u64(&m, 0x100);
	u64(&m, 0x200);
	u64(&m, TS_PG);
	str(&m, "B");
	CHECK(ss_pg_copymsg_parse(m.b, m.n, &cm, &err) == 0);
	CHECK(cm.kind == 'w' && cm.data_start == 0x100 && cm.wal_end == 0x200);
	CHECK(cm.send_time_us == TS_UNIX && cm.len == 2 && cm.data[0] == 'B');
	CHECK(ss_pg_copymsg_parse(m.b, 24, &cm, &err) < 0);

	m.n = 0;
	u8(&m, 'k');
	u64(&m, 0xABCDEF);
	u64(&m, TS_PG);
	u8(&m, 1);
	CHECK(ss_pg_copymsg_parse(m.b, m.n, &cm, &err) == 0);
	CHECK(cm.kind == 'k' && cm.wal_end == 0xABCDEF && cm.reply == 1);
	CHECK(ss_pg_copymsg_parse(m.b, 17, &cm, &err) < 0);
	CHECK(ss_pg_copymsg_parse("x", 1, &cm, &err) < 0);
	CHECK(ss_pg_copymsg_parse("", 0, &cm, &err) < 0);

	CHECK(ss_pg_status_build(st, 0x1122334455667788ULL, 0x10, 0x20, TS_UNIX,
				 1) == 34);
	m.n = 0;
	u8(&m, 'r');
	u64(&m, 0x1122334455667788ULL);
	u64(&m, 0x10);
	u64(&m, 0x20);
	u64(&m, TS_PG);
	u8(&m, 1);
	CHECK(m.n == 34 && !memcmp(st, m.b, 34));

	CHECK(ss_pg_slot_name_valid("shapesync_1"));
	CHECK(!ss_pg_slot_name_valid(""));
	CHECK(!ss_pg_slot_name_valid("Upper"));
	CHECK(!ss_pg_slot_name_valid("a-b"));
	CHECK(!ss_pg_slot_name_valid("a234567890123456789012345678901"
				     "234567890123456789012345678901234"));
}

int main(void)
{
	test_messages();
	test_truncations();
	test_cache();
	test_xids();
	test_copy_messages();
	return unit_report();
}
