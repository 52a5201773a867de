/*
 * test-decode.c — lib/decode: pgoutput messages in, frames out, with the
 * catalog of a real PostgreSQL ($DATABASE_URL, started by tests/t0110)
 * for relation frames: a transaction, a relation frame written once, a
 * missing TOAST value, messages out of place, a reconnect inside and
 * after a transaction, keepalives, progress and endpos.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "unit.h"

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

static uint32_t items_oid;

static struct msg begin(uint64_t lsn, uint32_t xid)
{
	struct msg m = {.n = 0};

	u8(&m, 'B');
	u64(&m, lsn);
	u64(&m, 0);
	u32(&m, xid);
	return m;
}

static struct msg commit(uint64_t lsn, uint64_t end)
{
	struct msg m = {.n = 0};

	u8(&m, 'C');
	u8(&m, 0);
	u64(&m, lsn);
	u64(&m, end);
	u64(&m, 0);
	return m;
}

static struct msg relation(void)
{
	struct msg m = {.n = 0};

	u8(&m, 'R');
	u32(&m, items_oid);
	str(&m, "public");
	str(&m, "items");
	u8(&m, 'f');
	u16(&m, 2);
	u8(&m, 1);
	str(&m, "id");
	u32(&m, 23);
	u32(&m, 0xffffffff);
	u8(&m, 1);
	str(&m, "title");
	u32(&m, 25);
	u32(&m, 0xffffffff);
	return m;
}

static struct msg insert(const char *id, const char *title)
{
	struct msg m = {.n = 0};

	u8(&m, 'I');
	u32(&m, items_oid);
	u8(&m, 'N');
	u16(&m, 2);
	text(&m, id);
	if (title)
		text(&m, title);
	else
		u8(&m, 'u'); /* unchanged TOAST: no value */
	return m;
}

static char *outbuf;
static size_t outlen;

static int feed(struct ss_decode *d, struct msg m, struct ss_err *err)
{
	return ss_decode_xlog(d, m.b, m.n, err);
}

/* Everything written so far, then forget it. */
static const char *taken(struct ss_decode *d)
{
	static char copy[4096];

	fclose(d->out);
	snprintf(copy, sizeof(copy), "%.*s", (int)outlen, outbuf);
	free(outbuf);
	outbuf = NULL;
	d->out = open_memstream(&outbuf, &outlen);
	return copy;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_decode d;
	struct ss_pg *pg;
	const char *url = getenv("DATABASE_URL"), *out;
	PGresult *r;

	if (!url)
		FAILF("DATABASE_URL is not set (run through tests/t0110)");
	if (ss_pg_open(url, 0, "test-decode", &pg, &err) < 0 ||
	    ss_pg_exec(pg, "setup",
		       "CREATE TABLE items (id int PRIMARY KEY, "
		       "title text)",
		       0, NULL, NULL, NULL, &err) < 0 ||
	    ss_pg_exec(pg, "setup", "SELECT 'items'::regclass::oid", 0, NULL,
		       &r, NULL, &err) < 0)
		FAILF("%s", err.msg);
	items_oid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	ss_decode_init(&d);
	d.out = open_memstream(&outbuf, &outlen);
	d.out_name = "<mem>";
	d.catalog = pg;
	CHECK(ss_decode_load_types(&d, &err) == 0);

	/* A transaction with its relation frame. */
	CHECK(feed(&d, begin(0x1000, 7), &err) == 0);
	CHECK(d.in_txn);
	CHECK(feed(&d, relation(), &err) == 0);
	CHECK(feed(&d, insert("1", "one"), &err) == 0);
	CHECK(feed(&d, commit(0x1000, 0x1010), &err) == 0);
	CHECK(d.flush && !d.in_txn && d.transactions == 1 && d.changes == 1);
	out = taken(&d);
	CHECK(count(out, "\"type\":\"begin\"") == 1);
	CHECK(count(out, "\"type\":\"relation\"") == 1);
	CHECK(count(out, "\"type\":\"commit\"") == 1);
	CHECK(strstr(out, "\"title\":\"one\"") != NULL);
	CHECK(strstr(out, "\"int4\"") != NULL);
	CHECK(d.emitted == 0x1010 && d.written == 0x1010 &&
	      d.received == 0x1010);

	/* The same relation again is not written again. */
	d.flush = 0;
	CHECK(feed(&d, begin(0x2000, 8), &err) == 0);
	CHECK(feed(&d, relation(), &err) == 0);
	out = taken(&d);
	CHECK(count(out, "\"type\":\"relation\"") == 0);

	/* A missing TOAST value is bad input, with the hint. */
	CHECK(feed(&d, insert("2", NULL), &err) == -1);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK_STR(err.msg, "table \"public\".\"items\": no value for unchanged "
			   "TOAST column 'title'");
	CHECK_STR(err.hint, "tables in shapes need REPLICA IDENTITY FULL");

	/* Cut short: sent again from its begin, the written part skipped. */
	CHECK(feed(&d, insert("3", "three"), &err) == 0);
	taken(&d);
	ss_decode_disconnected(&d);
	CHECK(d.resuming);
	CHECK(feed(&d, begin(0x2000, 8), &err) == 0);
	CHECK(!d.resuming);
	CHECK(feed(&d, insert("2", "two"), &err) == 0);
	CHECK(feed(&d, insert("3", "three"), &err) == 0);
	CHECK(feed(&d, insert("4", "four"), &err) == 0);
	CHECK(feed(&d, commit(0x2000, 0x2010), &err) == 0);
	out = taken(&d);
	CHECK(count(out, "\"type\":\"begin\"") == 0);
	CHECK(count(out, "\"title\":\"three\"") == 0);
	CHECK(count(out, "\"title\":\"four\"") == 1);
	CHECK(count(out, "\"type\":\"commit\"") == 1);

	/* A transaction written before a reconnect is skipped whole. */
	CHECK(feed(&d, begin(0x1000, 7), &err) == 0);
	CHECK(d.skip_txn);
	CHECK(feed(&d, insert("1", "one"), &err) == 0);
	CHECK(feed(&d, commit(0x1000, 0x1010), &err) == 0);
	CHECK(!d.skip_txn);
	CHECK_STR(taken(&d), "");

	/* Resumed elsewhere: fatal. */
	CHECK(feed(&d, begin(0x3000, 9), &err) == 0);
	ss_decode_disconnected(&d);
	CHECK(feed(&d, begin(0x3100, 10), &err) == -1);
	CHECK(d.fatal && err.code == SS_ERR_RUNTIME);
	d.fatal = 0;
	ss_decode_restart(&d);
	taken(&d);

	/* Out of place. */
	CHECK(feed(&d, commit(0x1000, 0x1010), &err) == -1);
	CHECK_STR(err.msg, "pgoutput: commit outside a transaction");
	CHECK(feed(&d, insert("5", "five"), &err) == -1);
	CHECK_STR(err.msg, "pgoutput: a change outside a transaction");

	/* Keepalives move the position between transactions; progress is
	 * written once what was written is durable. */
	ss_decode_keepalive(&d, 0x5000);
	CHECK(d.received == 0x5000);
	d.written = 0x2010;
	CHECK(ss_decode_progress(&d, 0x2000, 0, &err) == 0);
	CHECK(ss_decode_progress(&d, 0x2010, 0, &err) == 1);
	CHECK(d.emitted == 0x5000 && d.written == 0x5000);
	CHECK(strstr(taken(&d), "\"type\":\"progress\"") != NULL);
	CHECK(ss_decode_progress(&d, 0x5000, 1, &err) == 0);

	/* endpos: a begin at or after it stops before writing. */
	d.have_endpos = 1;
	d.endpos = 0x6000;
	CHECK(feed(&d, begin(0x6000, 11), &err) == 0);
	CHECK(d.done && !d.in_txn);
	CHECK_STR(taken(&d), "");
	d.done = 0;
	ss_decode_keepalive(&d, 0x6000);
	CHECK(d.done);

	fclose(d.out);
	free(outbuf);
	ss_decode_release(&d);
	ss_pg_close(pg);
	return unit_report();
}
