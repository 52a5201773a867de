/*
 * test-compact.c — lib/compact: folding change messages into rows, on a
 * real scratch SQLite file. Fixed cases with exact output, a random
 * sequence checked against a model, and the memory bound over 200,000
 * rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base.h"
#include "compact.h"
#include "datadir.h"
#include "log.h"
#include "snapshot.h"
#include "unit.h"
#include "unit-registry.h"

static char scratch[256];

static int collect(const char *json, size_t len, void *ctx, struct ss_err *err)
{
	(void)err;
	ss_buf_add(ctx, json, len);
	ss_buf_addc(ctx, '\n');
	return 0;
}

static int add(struct ss_compact *c, const char *json)
{
	struct ss_err err = SS_ERR_INIT;
	int rc = ss_compact_add(c, json, strlen(json), &err);

	if (rc < 0)
		fprintf(stderr, "add: %s\n", err.msg);
	return rc;
}

#define REL "\"relation\":[\"public\",\"t\"]"
#define MSG(key, op, value)                                                    \
	"{\"key\":\"" key "\",\"value\":" value                                \
	",\"headers\":{\"operation\":\"" op "\"," REL "}}"

static void test_fixed(void)
{
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf out = SS_BUF_INIT;

	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	/* a snapshot chunk's entries, as the files hold them */
	CHECK(add(c, "," MSG("a", "insert",
			     "{\"id\":\"1\",\"v\":\"x\"}") "\n") == 0);
	CHECK(add(c, "," MSG("b", "insert",
			     "{\"id\":\"2\",\"v\":\"y\"}") "\n") == 0);
	CHECK(add(c, MSG("c", "insert", "{\"id\":\"3\",\"v\":null}")) == 0);
	CHECK(add(c, ",{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":"
		     "\"1\",\"xmax\":\"2\",\"xip_list\":[]}}\n") == 1);
	/* a move-in event changes no row (its rows come as inserts); a
	 * move-out event cannot be folded */
	CHECK(add(c, "{\"headers\":{\"event\":\"move-in\",\"patterns\":"
		     "[{\"pos\":0,\"value\":\"x\"}],\"txids\":[7]}}") == 1);
	CHECK(add(c, "{\"headers\":{\"event\":\"move-out\",\"patterns\":"
		     "[{\"pos\":0,\"value\":\"x\"}],\"txids\":[7]}}") == -1);
	/* the log: an update of one column, with headers of the log */
	CHECK(add(c, "{\"key\":\"a\",\"value\":{\"id\":\"1\",\"v\":\"x2\"},"
		     "\"headers\":{\"operation\":\"update\"," REL
		     ",\"lsn\":\"9\",\"op_position\":0,\"txids\":[7]},"
		     "\"old_value\":{\"v\":\"x\"}}") == 0);
	CHECK(add(c, MSG("b", "delete", "{\"id\":\"2\"}")) == 0);
	/* a key change: the delete half, then the insert half */
	CHECK(add(c, MSG("c", "delete", "{\"id\":\"3\"}")) == 0);
	CHECK(add(c, MSG("d", "insert", "{\"id\":\"4\",\"v\":\"z\"}")) == 0);
	/* deleted, inserted again: it goes to the end */
	CHECK(add(c, MSG("b", "insert", "{\"id\":\"2\",\"v\":\"y2\"}")) == 0);
	/* an update of a key with no row is its row */
	CHECK(add(c, MSG("e", "update", "{\"id\":\"5\",\"v\":\"w\"}")) == 0);
	/* a null value is a value, not a removed column */
	CHECK(add(c, MSG("d", "update", "{\"v\":null}")) == 0);
	CHECK(ss_compact_folded(c) == 10);
	CHECK(ss_compact_rows(c) == 4);
	CHECK(ss_compact_each(c, collect, &out, &err) == 0);
	CHECK_STR(
	    out.buf,
	    MSG("a", "insert", "{\"id\":\"1\",\"v\":\"x2\"}") "\n" MSG("d", "insert", "{\"id\":\"4\",\"v\":null}") "\n" MSG(
		"b", "insert",
		"{\"id\":\"2\",\"v\":\"y2\"}") "\n" MSG("e", "insert",
							"{\"id\":\"5\",\"v\":\"w\"}") "\n");

	/* what is not a change message */
	CHECK(ss_compact_add(c, "[1]", 3, &err) == -1 &&
	      err.code == SS_ERR_INPUT &&
	      !strcmp(err.msg, "entry is not a change message: not a JSON "
			       "object: [1]"));
	CHECK(ss_compact_add(c, "{\"key\":\"a\"}", 11, &err) == -1 &&
	      !strcmp(err.msg, "entry is not a change message: no key or "
			       "operation: {\"key\":\"a\"}"));
	CHECK(
	    add(c, "{\"key\":\"a\",\"headers\":{\"operation\":\"upsert\"}}") ==
	    -1);
	CHECK(
	    add(c, "{\"key\":\"a\",\"headers\":{\"operation\":\"insert\"}}") ==
	    -1);
	CHECK(ss_compact_rows(c) == 4 && ss_compact_folded(c) == 10);
	ss_compact_close(c);
	CHECK(access(scratch, F_OK) != 0);
	ss_buf_release(&out);
}

/* Random inserts, updates and deletes over 300 keys against a model: the
 * fold leaves exactly the model's rows. */
#define NKEYS 300
static void test_model(void)
{
	static int live[NKEYS], val[NKEYS];
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf m = SS_BUF_INIT, out = SS_BUF_INIT;
	size_t i, nlive = 0, lines = 0;
	char *p;

	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	for (i = 0; i < 20000; i++) {
		int k = (int)(unit_rnd() % NKEYS), v = (int)(unit_rnd() % 1000);

		ss_buf_reset(&m);
		if (!live[k]) {
			ss_buf_addf(&m,
				    "{\"key\":\"k%d\",\"value\":{\"id\":\"%d\","
				    "\"v\":\"%d\"},\"headers\":{\"operation\":"
				    "\"insert\"," REL "}}",
				    k, k, v);
			live[k] = 1;
		} else if (unit_rnd() % 3) {
			ss_buf_addf(&m,
				    "{\"key\":\"k%d\",\"value\":{\"v\":\"%d\"},"
				    "\"headers\":{\"operation\":\"update\"," REL
				    "}}",
				    k, v);
		} else {
			ss_buf_addf(
			    &m,
			    "{\"key\":\"k%d\",\"value\":{\"id\":\"%d\"},"
			    "\"headers\":{\"operation\":\"delete\"," REL "}}",
			    k, k);
			live[k] = 0;
		}
		val[k] = v;
		CHECK(ss_compact_add(c, m.buf, m.len, &err) == 0);
	}
	for (i = 0; i < NKEYS; i++)
		nlive += (size_t)live[i];
	CHECK(ss_compact_rows(c) == nlive);
	CHECK(ss_compact_each(c, collect, &out, &err) == 0);
	for (i = 0; i < NKEYS; i++) {
		if (!live[i])
			continue;
		ss_buf_reset(&m);
		ss_buf_addf(&m,
			    "{\"key\":\"k%zu\",\"value\":{\"id\":\"%zu\",\"v\":"
			    "\"%d\"},\"headers\":{\"operation\":\"insert\"," REL
			    "}}\n",
			    i, i, val[i]);
		CHECK(strstr(out.buf, m.buf) != NULL);
	}
	for (p = out.buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		lines++;
	CHECK(lines == nlive);
	ss_compact_close(c);
	ss_buf_release(&m);
	ss_buf_release(&out);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int count_cb(const char *json, size_t len, void *ctx, struct ss_err *err)
{
	(void)json;
	(void)len;
	(void)err;
	++*(uint64_t *)ctx;
	return 0;
}

/* Counts the rows whose value has the v of their last update: 99 for
 * r0..r999 (updated 100 times), 2 for r1000..r50999, none for the
 * others; fails on any other. */
static int count_v_cb(const char *json, size_t len, void *ctx,
		      struct ss_err *err)
{
	char want[32];
	unsigned long k = 0;

	(void)len;
	if (sscanf(json, "{\"key\":\"r%lu\"", &k) != 1)
		return ss_err_set(err, SS_ERR_INPUT, "no key: %.60s", json);
	snprintf(want, sizeof(want), "\"v\":\"%d\"", k < 1000 ? 99 : 2);
	if (k >= 51000 ? strstr(json, "\"v\":") != NULL : !strstr(json, want))
		return ss_err_set(err, SS_ERR_INPUT, "not %s: %.80s", want,
				  json);
	++*(uint64_t *)ctx;
	return 0;
}

/* 200,000 rows of 200 bytes (40 MB of rows) fold in a bounded page cache:
 * the high-water mark grows by far less than the rows. */
static void test_memory(void)
{
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf m = SS_BUF_INIT;
	char pad[160];
	uint64_t n = 0, i;
	long rss = maxrss_kb();

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	for (i = 0; i < 200000; i++) {
		ss_buf_reset(&m);
		ss_buf_addf(&m,
			    "{\"key\":\"r%" PRIu64
			    "\",\"value\":{\"id\":\"%" PRIu64
			    "\",\"pad\":\"%s\"},\"headers\":{\"operation\":"
			    "\"insert\"," REL "}}",
			    i, i, pad);
		if (ss_compact_add(c, m.buf, m.len, &err) < 0) {
			CHECK(!"add");
			break;
		}
	}
	CHECK(ss_compact_rows(c) == 200000);
	/* then rows updated, the first 1,000 many times (a hot set the
	 * cache holds), the next 50,000 once: the updates go through the
	 * in-memory cache, which must stay bounded and lose nothing */
	for (i = 0; i < 150000; i++) {
		ss_buf_reset(&m);
		ss_buf_addf(&m,
			    "{\"key\":\"r%" PRIu64
			    "\",\"value\":{\"v\":\"%" PRIu64
			    "\",\"pad\":\"%s\"},\"headers\":{\"operation\":"
			    "\"update\"," REL "}}",
			    i < 100000 ? i % 1000 : i - 100000 + 1000,
			    i < 100000 ? i / 1000 : (uint64_t)2, pad);
		if (ss_compact_add(c, m.buf, m.len, &err) < 0) {
			CHECK(!"update");
			break;
		}
	}
	CHECK(ss_compact_rows(c) == 200000);
	CHECK(ss_compact_each(c, count_v_cb, &n, &err) == 0 && n == 200000);
	n = 0;
	CHECK(ss_compact_each(c, count_cb, &n, &err) == 0 && n == 200000);
#ifndef __SANITIZE_ADDRESS__ /* ASan keeps freed memory in quarantine */
	CHECK(maxrss_kb() - rss < 24 * 1024);
#else
	(void)rss;
#endif
	ss_compact_close(c);
	ss_buf_release(&m);
}

/* ---- a shape directory ------------------------------------------- */

static char shape[300];

/* A row as ss_compact_each gives it, and collect adds it. */
#define ROW(key, value) MSG(key, "insert", value) "\n"

static void log_txn(struct ss_log_writer *w, uint64_t lsn, const char *json)
{
	struct ss_offset off;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_offset_for_change(lsn, 0, &off, &err) == 0);
	CHECK(ss_log_append(w, &off, json, strlen(json), &err) == 0);
	CHECK(ss_log_commit(w, lsn, &err) == 0);
}

/* The rows of generation gen's chunk files, as one text. */
static void read_gen(uint64_t gen, struct ss_buf *out)
{
	struct ss_buf d = SS_BUF_INIT, p = SS_BUF_INIT;
	char line[4096];
	uint64_t n;

	ss_base_dir(&d, shape, gen);
	for (n = 0;; n++) {
		FILE *f;

		ss_buf_reset(&p);
		ss_snapshot_chunk_path(&p, d.buf, n);
		f = fopen(p.buf, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			ss_buf_adds(out, line);
		fclose(f);
	}
	ss_buf_release(&d);
	ss_buf_release(&p);
}

#define END "{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"1\"}}"

/* The shape's rows as of lsn (ss_compact_rows_at), one line each; on
 * error the message. */
static void rows_at(uint64_t lsn, struct ss_buf *out)
{
	struct ss_buf sc = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_reset(out);
	ss_buf_addf(&sc, "%s.rows", scratch);
	if (ss_compact_rows_at(shape, lsn, sc.buf, collect, out, &err) < 0) {
		ss_buf_reset(out);
		ss_buf_addf(out, "error: %s", err.msg);
	}
	CHECK(access(sc.buf, F_OK) < 0);
	ss_buf_release(&sc);
}

static void test_shape(void)
{
	struct ss_snapshot_writer *sw;
	struct ss_log_writer *lw;
	struct ss_log_opts lo;
	struct ss_compact_opts o;
	struct ss_compact_result res;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT, p = SS_BUF_INIT;
	struct ss_base base;
	struct ss_compact_size sz;
	struct ss_offset off;
	uint64_t chunks, gen, chunk;
	int64_t t0;
	char zero[8] = {0}, got[8];
	struct ss_log_reader *lr;
	uint64_t pos, len;
	int fd;

	snprintf(shape, sizeof(shape), "%s.shape", scratch);
	CHECK(ss_snapshot_begin(shape, 100, &sw, &err) == 0);
	CHECK(ss_snapshot_add(sw, MSG("a", "insert", "{\"id\":\"1\"}"),
			      strlen(MSG("a", "insert", "{\"id\":\"1\"}")),
			      &err) == 0);
	CHECK(ss_snapshot_add(sw, MSG("b", "insert", "{\"id\":\"2\"}"),
			      strlen(MSG("b", "insert", "{\"id\":\"2\"}")),
			      &err) == 0);
	CHECK(ss_snapshot_add(sw, MSG("c", "insert", "{\"id\":\"3\"}"),
			      strlen(MSG("c", "insert", "{\"id\":\"3\"}")),
			      &err) == 0);
	CHECK(ss_snapshot_finish(sw, END, strlen(END), &chunks, &err) == 0);
	ss_compact_opts_init(&o);
	o.chunk_bytes = 1000;

	/* nothing to do yet: no closed chunk */
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && !res.compacted);
	CHECK_STR(res.skipped, "no closed log chunk past the newest base");

	/* every entry closes its chunk (chunk_bytes 1): five chunks */
	ss_log_opts_init(&lo);
	lo.chunk_bytes = 1;
	CHECK(ss_log_writer_open(shape, &lo, &lw, &err) == 0);
	log_txn(lw, 100, MSG("a", "update", "{\"id\":\"1\",\"v\":\"x\"}"));
	log_txn(lw, 200, MSG("b", "delete", "{\"id\":\"2\"}"));
	log_txn(lw, 300, MSG("d", "insert", "{\"id\":\"4\"}"));
	log_txn(lw, 400, MSG("d", "update", "{\"v\":\"y\"}"));
	log_txn(lw, 500, MSG("e", "insert", "{\"id\":\"5\"}"));

	/* the rows at a position: the snapshot and the log up to it */
	rows_at(150, &b);
	CHECK_STR(b.buf, ROW("a", "{\"id\":\"1\",\"v\":\"x\"}") ROW(
			     "b", "{\"id\":\"2\"}") ROW("c", "{\"id\":\"3\"}"));
	rows_at(99, &b);
	CHECK_STR(b.buf, ROW("a", "{\"id\":\"1\"}") ROW("b", "{\"id\":\"2\"}")
			     ROW("c", "{\"id\":\"3\"}"));
	rows_at(400, &b);
	CHECK_STR(b.buf, ROW("a", "{\"id\":\"1\",\"v\":\"x\"}")
			     ROW("c", "{\"id\":\"3\"}")
				 ROW("d", "{\"id\":\"4\",\"v\":\"y\"}"));
	ss_buf_reset(&b);

	/* keep 2: entries at 100, 200, 300 fold into generation 1 */
	o.now = t0 = 1000000;
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && res.compacted);
	CHECK(res.gen == 1 && res.rows == 3 && res.folded == 6 &&
	      !res.dropped && !res.punched);
	read_gen(1, &b);
	CHECK_STR(
	    b.buf,
	    "," MSG(
		"a", "insert",
		"{\"id\":\"1\",\"v\":\"x\"}") "\n"
					      "," MSG(
						  "c", "insert",
						  "{\"id\":\"3\"}") "\n"
								    "," MSG(
									"d",
									"insert",
									"{\"id\":\"4\"}") "\n"
											  "," END
											  "\n");
	CHECK(ss_base_read(shape, &base, &err) == 0 && base.n == 2 &&
	      base.g[0].gen == 1 && base.g[0].end.tx == 300 &&
	      base.g[0].end.op == 0 && base.g[0].chunks == 1 &&
	      base.g[0].at == t0 && base.g[1].gen == 0 && !base.has_reclaimed);
	/* where offsets stand */
	CHECK(ss_base_locate(&base, &ss_offset_before_all, &gen, &chunk) ==
	      SS_BASE_OK);
	off = ss_offset_make(0, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_CHUNK &&
	      gen == 0 && chunk == 0);
	off = ss_base_chunk_offset(1, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_CHUNK &&
	      gen == 1 && chunk == 0);
	off = ss_base_chunk_offset(2, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_GONE);
	off = ss_offset_make(100, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_OK);

	/* rows at a position the base has passed cannot be told */
	rows_at(250, &b);
	CHECK(!strncmp(b.buf, "error: shape '", 14) &&
	      strstr(b.buf, "' is compacted past LSN 250"));
	rows_at(400, &b);
	CHECK_STR(b.buf, ROW("a", "{\"id\":\"1\",\"v\":\"x\"}")
			     ROW("c", "{\"id\":\"3\"}")
				 ROW("d", "{\"id\":\"4\",\"v\":\"y\"}"));
	rows_at(UINT64_MAX, &b);
	CHECK_STR(b.buf, ROW("a", "{\"id\":\"1\",\"v\":\"x\"}")
			     ROW("c", "{\"id\":\"3\"}")
				 ROW("d", "{\"id\":\"4\",\"v\":\"y\"}")
				     ROW("e", "{\"id\":\"5\"}"));
	ss_buf_reset(&b);
	read_gen(1, &b);

	/* what a fresh client reads now: 3 rows, then the log's last two */
	CHECK(ss_compact_measure(shape, &sz, &err) == 0 && sz.gen == 1 &&
	      sz.snapshot_done && sz.base_rows == 3 && sz.tail_entries == 2 &&
	      sz.base_bytes == b.len &&
	      sz.tail_bytes ==
		  2 * 2 + strlen(MSG("d", "update", "{\"v\":\"y\"}")) +
		      strlen(MSG("e", "insert", "{\"id\":\"5\"}")));

	{
		struct ss_shape_rec rec;
		struct ss_buf line = SS_BUF_INIT;
		char h[] = "1-2";

		ss_shape_rec_init(&rec);
		rec.id = 7;
		rec.handle = h;
		ss_compact_size_line(&rec, &sz, 0, &line);
		ss_buf_addc(&line, '|');
		ss_compact_size_line(&rec, &sz, 1, &line);
		ss_buf_reset(&p);
		ss_buf_addf(
		    &p,
		    "shape 7 (1-2): generation 1: base %" PRIu64
		    " bytes, 3 rows; log after it 2 entries, %" PRIu64
		    " bytes; ratio %.1f|{\"id\":7,\"handle\":\"1-2\","
		    "\"generation\":1,\"base_bytes\":%" PRIu64
		    ",\"base_rows\":3,\"log_entries\":2,\"log_bytes\":%" PRIu64
		    ",\"ratio\":%.1f}",
		    sz.base_bytes, sz.tail_bytes,
		    (double)(sz.base_bytes + sz.tail_bytes) /
			(double)sz.base_bytes,
		    sz.base_bytes, sz.tail_bytes,
		    (double)(sz.base_bytes + sz.tail_bytes) /
			(double)sz.base_bytes);
		CHECK_STR(line.buf, p.buf);
		ss_buf_release(&line);
	}

	/* again: nothing new */
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && !res.compacted);

	/* an hour later generation 0 goes, and the log up to 300 is no
	 * longer served; its bytes stay another hour */
	o.now = t0 + 3600;
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && !res.compacted &&
	      res.dropped == 1 && !res.punched);
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/snapshot.0", shape);
	CHECK(access(p.buf, F_OK) != 0);
	CHECK(ss_base_read(shape, &base, &err) == 0 && base.n == 1 &&
	      base.has_reclaimed && base.reclaimed.tx == 300 &&
	      !base.has_punched);
	off = ss_offset_make(0, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_GONE);
	off = ss_offset_make(200, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_GONE);
	off = ss_offset_make(300, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_GONE);
	off = ss_offset_make(400, 0);
	CHECK(ss_base_locate(&base, &off, &gen, &chunk) == SS_BASE_OK);
	o.now = t0 + 7200;
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && res.punched > 0);
	CHECK(ss_base_read(shape, &base, &err) == 0 && base.has_punched &&
	      base.punched.tx == 300);
	/* the punched bytes read as zeros, the entries after as written */
	CHECK(ss_log_reader_open(shape, &lr, &err) == 0);
	CHECK(ss_log_reader_pread(lr, got, sizeof(got), 0, &err) == 0 &&
	      !memcmp(got, zero, sizeof(got)));
	CHECK(ss_log_reader_entry(lr, 3, &off, &pos, &len, &err) == 0 &&
	      pos == res.punched && off.tx == 400);
	CHECK(ss_log_reader_pread(lr, got, 8, pos, &err) == 0 &&
	      !memcmp(got, ",{\"key\":", 8));
	ss_log_reader_close(lr);

	/* what a run killed after the record dropped generations left, in
	 * the middle of removing their files (the first chunks gone):
	 * generation 0's files and a dropped generation's directory */
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/snapshot.2", shape);
	fd = open(p.buf, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "left", 4) == 4);
	close(fd);
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/base.5", shape);
	CHECK(mkdir(p.buf, 0755) == 0);
	ss_buf_adds(&p, "/snapshot.3");
	fd = open(p.buf, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "left", 4) == 4);
	close(fd);

	/* a partial generation 2 left by a killed run, and a running one */
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/base.2", shape);
	CHECK(mkdir(p.buf, 0755) == 0);
	ss_buf_adds(&p, "/snapshot.0.tmp");
	fd = open(p.buf, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
	close(fd);
	log_txn(lw, 600, MSG("f", "insert", "{\"id\":\"6\"}"));
	log_txn(lw, 700, MSG("a", "delete", "{\"id\":\"1\"}"));
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/compact.lock", shape);
	fd = open(p.buf, O_RDWR);
	CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && !res.compacted);
	CHECK_STR(res.skipped, "another compaction of it is running");
	close(fd);
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && res.compacted &&
	      res.gen == 2 && res.rows == 4);
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/snapshot.2", shape);
	CHECK(access(p.buf, F_OK) != 0 && errno == ENOENT);
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/base.5", shape);
	CHECK(access(p.buf, F_OK) != 0 && errno == ENOENT);
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/base.1/snapshot.0", shape);
	CHECK(access(p.buf, F_OK) == 0); /* listed: kept (its grace) */
	ss_buf_reset(&b);
	read_gen(2, &b);
	CHECK_STR(
	    b.buf,
	    "," MSG(
		"a", "insert",
		"{\"id\":\"1\",\"v\":\"x\"}") "\n"
					      "," MSG(
						  "c", "insert",
						  "{\"id\":\"3\"}") "\n"
								    "," MSG(
									"d",
									"insert",
									"{\"id\":\"4\",\"v\":\"y\"}") "\n"
												      "," MSG(
													  "e",
													  "insert",
													  "{\"id\":\"5\"}") "\n"
															    "," END
															    "\n");
	ss_log_writer_close(lw);

	/* keep 0: the open chunk's committed entries fold too, so that a
	 * fresh client reads rows only */
	lo.chunk_bytes = 1 << 20;
	CHECK(ss_log_writer_open(shape, &lo, &lw, &err) == 0);
	log_txn(lw, 800, MSG("g", "insert", "{\"id\":\"7\"}"));
	log_txn(lw, 900, MSG("c", "update", "{\"v\":\"z\"}"));
	o.keep_chunks = 0;
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && res.compacted &&
	      res.gen == 3 && res.rows == 5 && res.folded == 8);
	CHECK(ss_base_read(shape, &base, &err) == 0 && base.g[0].gen == 3 &&
	      base.g[0].end.tx == 900 && base.g[0].end.op == 0);
	CHECK(ss_compact_measure(shape, &sz, &err) == 0 && sz.gen == 3 &&
	      sz.base_rows == 5 && sz.tail_entries == 0 && sz.tail_bytes == 0);
	ss_buf_reset(&b);
	read_gen(3, &b);
	CHECK(strstr(b.buf, MSG("c", "insert", "{\"id\":\"3\",\"v\":\"z\"}")) &&
	      strstr(b.buf, MSG("g", "insert", "{\"id\":\"7\"}")) &&
	      strstr(b.buf, MSG("f", "insert", "{\"id\":\"6\"}")) &&
	      !strstr(b.buf, "\"a\""));
	/* nothing new: skipped; an entry after it: the next run folds it */
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && !res.compacted);
	log_txn(lw, 1000, MSG("d", "delete", "{\"id\":\"4\"}"));
	CHECK(ss_compact_shape(shape, &o, &res, &err) == 0 && res.compacted &&
	      res.gen == 4 && res.rows == 4 && res.folded == 6);
	ss_log_writer_close(lw);
	o.keep_chunks = 2;

	/* db check's look at it: sound, then a base chunk without its
	 * snapshot-end, then without the chunk file */
	ss_buf_reset(&b);
	CHECK(ss_compact_check(shape, &b, &err) == 0 && b.len == 0);
	{
		struct ss_buf d = SS_BUF_INIT, want = SS_BUF_INIT;

		ss_base_dir(&d, shape, 4);
		ss_buf_reset(&p);
		ss_snapshot_chunk_path(&p, d.buf, 0);
		fd = open(p.buf, O_WRONLY | O_APPEND);
		CHECK(fd >= 0 && write(fd, ",{\"key\":\"x\"}\n", 14) == 14);
		close(fd);
		CHECK(ss_compact_check(shape, &b, &err) == 1);
		ss_buf_addf(&want,
			    "base generation 4 does not end with its "
			    "snapshot-end: '%s'",
			    p.buf);
		CHECK_STR(b.buf, want.buf);
		CHECK(unlink(p.buf) == 0);
		ss_buf_reset(&b);
		ss_buf_reset(&want);
		CHECK(ss_compact_check(shape, &b, &err) == 1);
		ss_buf_addf(&want, "base generation 4 has no chunk file '%s'",
			    p.buf);
		CHECK_STR(b.buf, want.buf);
		ss_buf_release(&d);
		ss_buf_release(&want);
	}

	/* a damaged record */
	ss_buf_reset(&p);
	ss_buf_addf(&p, "%s/base", shape);
	fd = open(p.buf, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "shapesync-base 1\ngen x\n", 23) == 23);
	close(fd);
	CHECK(ss_compact_shape(shape, &o, &res, &err) == -1 &&
	      err.code == SS_ERR_INPUT);
	ss_buf_reset(&b);
	ss_buf_addf(&b, "base record '%s' is damaged: a line it does not know",
		    p.buf);
	CHECK_STR(err.msg, b.buf);
	ss_buf_reset(&p);
	CHECK(ss_compact_check(shape, &p, &err) == 1);
	CHECK_STR(p.buf, b.buf);
	ss_buf_release(&b);
	ss_buf_release(&p);
}

/* The policy alone. */
static void test_due(void)
{
	struct ss_compact_size sz;

	memset(&sz, 0, sizeof(sz));
	sz.snapshot_done = 1;
	sz.base_bytes = 1000;
	sz.tail_bytes = 3000;
	CHECK(!ss_compact_due(&sz, 4, 100)); /* 4000 is not > 4000 */
	sz.tail_bytes = 3001;
	CHECK(ss_compact_due(&sz, 4, 100));
	CHECK(!ss_compact_due(&sz, 4, 4000)); /* under the minimum */
	sz.snapshot_done = 0;
	CHECK(!ss_compact_due(&sz, 4, 100));
	sz.snapshot_done = 1;
	sz.base_bytes = 0; /* an empty base counts as the minimum */
	sz.tail_bytes = 400;
	CHECK(!ss_compact_due(&sz, 4, 100));
	sz.tail_bytes = 401;
	CHECK(ss_compact_due(&sz, 4, 100));
}

/* ---- the shapes of a registry ------------------------------------ */

/* A complete snapshot of one row and `n` one-entry log chunks. */
static void make_shape(const char *dir, int n)
{
	struct ss_snapshot_writer *sw;
	struct ss_log_writer *lw;
	struct ss_log_opts lo;
	struct ss_err err = SS_ERR_INIT;
	uint64_t chunks;
	int i;

	CHECK(ss_snapshot_begin(dir, 100, &sw, &err) == 0);
	CHECK(ss_snapshot_add(sw, MSG("a", "insert", "{\"id\":\"1\"}"),
			      strlen(MSG("a", "insert", "{\"id\":\"1\"}")),
			      &err) == 0);
	CHECK(ss_snapshot_finish(sw, END, strlen(END), &chunks, &err) == 0);
	ss_log_opts_init(&lo);
	lo.chunk_bytes = 1;
	CHECK(ss_log_writer_open(dir, &lo, &lw, &err) == 0);
	for (i = 0; i < n; i++)
		log_txn(lw, 100 + (uint64_t)i,
			MSG("a", "update", "{\"id\":\"1\",\"v\":\"x\"}"));
	ss_log_writer_close(lw);
}

static void report(const struct ss_shape_rec *rec,
		   const struct ss_compact_size *before,
		   const struct ss_compact_result *res,
		   const struct ss_err *err, size_t n, size_t total, void *ctx)
{
	struct ss_buf *b = ctx;
	struct ss_buf line = SS_BUF_INIT;

	/* the one-line account names the shape and says the same */
	ss_compact_describe(rec, before, res, err, &line);
	CHECK(!strncmp(line.buf, "shape ", 6) &&
	      (err->code	? strstr(line.buf, err->msg) != NULL
	       : res->compacted ? strstr(line.buf, ": generation ") != NULL
				: strstr(line.buf, ": skipped: ") != NULL));
	CHECK(n >= 1 && n <= total && (total == 2 || total == 1));
	ss_buf_release(&line);

	ss_buf_addf(b, "%" PRId64 " tail=%" PRIu64 " ", rec->id,
		    before->tail_entries);
	if (err->code)
		ss_buf_addf(b, "error %s\n", err->msg);
	else if (res->compacted)
		ss_buf_addf(b, "gen=%" PRIu64 " rows=%" PRIu64 "\n", res->gen,
			    res->rows);
	else
		ss_buf_addf(b, "skipped: %s\n", res->skipped);
}

static void test_shapes(void)
{
	struct ss_registry *reg;
	struct ss_compact_opts o;
	struct ss_compact_policy p;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf datadir = SS_BUF_INIT, d = SS_BUF_INIT, out = SS_BUF_INIT;
	struct ss_shape_rec rec;
	int64_t id1, id2, id3;

	unit_mkdtemp("/tmp/ss-unit-compact.XXXXXX");
	reg = unit_open_reg("registry.db", 0);
	ss_buf_addf(&datadir, "%s/data", unit_dir);
	CHECK(ss_datadir_init(datadir.buf, &err) == 0);
	id1 = unit_add_shape(reg, 1);
	id2 = unit_add_shape(reg, 2);
	id3 = unit_add_shape(reg, 3); /* snapshot pending: not looked at */
	CHECK(ss_registry_set_snapshot(reg, id1, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_set_snapshot(reg, id2, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(reg, id1, &rec, &err) == 1);
	ss_datadir_shape_path(&d, datadir.buf, rec.handle);
	make_shape(d.buf, 6);
	ss_shape_rec_release(&rec);
	ss_buf_reset(&d);
	CHECK(ss_registry_get_by_id(reg, id2, &rec, &err) == 1);
	ss_datadir_shape_path(&d, datadir.buf, rec.handle);
	make_shape(d.buf, 1);
	ss_shape_rec_release(&rec);

	ss_compact_opts_init(&o);
	ss_compact_policy_init(&p);
	/* the policy: 1 MiB of log at least; these are bytes */
	CHECK(ss_compact_shapes(reg, datadir.buf, NULL, 0, &o, &p, report, &out,
				&err) == 0);
	ss_buf_reset(&d);
	ss_buf_addf(&d,
		    "%" PRId64 " tail=6 skipped: under the policy's ratio and "
		    "minimum\n%" PRId64 " tail=1 skipped: under the policy's "
		    "ratio and minimum\n",
		    id1, id2);
	CHECK_STR(out.buf, d.buf);
	/* forced: the first has 4 chunks past the 2 kept, the second none */
	p.force = 1;
	ss_buf_reset(&out);
	CHECK(ss_compact_shapes(reg, datadir.buf, NULL, 0, &o, &p, report, &out,
				&err) == 0);
	ss_buf_reset(&d);
	ss_buf_addf(&d,
		    "%" PRId64 " tail=6 gen=1 rows=1\n%" PRId64
		    " tail=1 skipped: no closed log chunk past the newest "
		    "base\n",
		    id1, id2);
	CHECK_STR(out.buf, d.buf);
	/* only the shapes named; the first now reads 2 entries after its
	 * base */
	ss_buf_reset(&out);
	CHECK(ss_compact_shapes(reg, datadir.buf, &id1, 1, &o, &p, report, &out,
				&err) == 0);
	ss_buf_reset(&d);
	ss_buf_addf(&d,
		    "%" PRId64 " tail=2 skipped: no closed log chunk past the "
		    "newest base\n",
		    id1);
	CHECK_STR(out.buf, d.buf);
	/* a shape whose directory is damaged fails alone */
	ss_buf_reset(&d);
	CHECK(ss_registry_get_by_id(reg, id2, &rec, &err) == 1);
	ss_datadir_shape_path(&d, datadir.buf, rec.handle);
	ss_shape_rec_release(&rec);
	ss_buf_adds(&d, "/base");
	{
		FILE *f = fopen(d.buf, "w");

		CHECK(f && fputs("junk\n", f) >= 0 && fclose(f) == 0);
	}
	ss_buf_reset(&out);
	CHECK(ss_compact_shapes(reg, datadir.buf, NULL, 0, &o, &p, report, &out,
				&err) == 1);
	CHECK(strstr(out.buf, "error base record") != NULL);
	/* a subquery shape is never folded: a move-out's rows would come
	 * back in the base */
	{
		struct ss_shape def;
		int64_t id4;
		int created;

		ss_shape_init(&def);
		CHECK(ss_shape_parse_table(&def, "t", &err) == 0);
		ss_shape_set_where(&def, "x IN (SELECT y FROM u)");
		CHECK(ss_registry_add_deps(reg, &def, NULL, 0,
					   "{\"inner\":[1],\"tables\":[]}",
					   &rec, &created, &err) == 0);
		id4 = rec.id;
		ss_buf_reset(&d);
		ss_datadir_shape_path(&d, datadir.buf, rec.handle);
		ss_shape_rec_release(&rec);
		ss_shape_release(&def);
		make_shape(d.buf, 6);
		CHECK(ss_registry_set_snapshot(reg, id4, SS_SNAPSHOT_COMPLETE,
					       NULL, &err) == 1);
		ss_buf_reset(&out);
		CHECK(ss_compact_shapes(reg, datadir.buf, &id4, 1, &o, &p,
					report, &out, &err) == 0);
		ss_buf_reset(&d);
		ss_buf_addf(&d,
			    "%" PRId64 " tail=6 skipped: a subquery shape (its "
			    "move events cannot be folded)\n",
			    id4);
		CHECK_STR(out.buf, d.buf);
	}
	(void)id3;
	ss_buf_release(&datadir);
	ss_buf_release(&d);
	ss_buf_release(&out);
	CHECK(ss_registry_close(reg, &err) == 0);
}

int main(void)
{
	char dir[] = "/tmp/test-compact.XXXXXX";

	if (!mkdtemp(dir))
		FAILF("mkdtemp");
	snprintf(scratch, sizeof(scratch), "%s/scratch.db", dir);
	test_fixed();
	test_model();
	test_memory();
	test_shape();
	test_due();
	test_shapes();
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			FAILF("rm");
	}
	return unit_finish();
}
