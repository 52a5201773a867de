/*
 * test-registry.c — unit tests for lib/registry and lib/idmap against real
 * SQLite files in a temporary directory: read-your-writes, get-or-create,
 * removal, id stability and non-reuse across a crash, concurrency,
 * backpressure, the change log, overlays, corrupt files and import.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datadir.h"
#include "idmap.h"
#include "registry.h"
#include "unit.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static struct ss_registry *open_reg(const char *name,
				    struct ss_registry_opts *o)
{
	struct ss_registry_opts d;
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r = NULL;
	char p[512];

	if (!o) {
		ss_registry_opts_init(&d);
		o = &d;
	}
	o->create = 1;
	path_of(p, sizeof(p), name);
	if (strcmp(name, ":memory:") == 0)
		snprintf(p, sizeof(p), ":memory:");
	if (ss_registry_open(p, o, &r, &err) < 0)
		FAILF("open %s: %s", p, err.msg);
	return r;
}

static void def_for(struct ss_shape *s, const char *table, const char *where)
{
	struct ss_err err = SS_ERR_INIT;

	ss_shape_init(s);
	if (ss_shape_parse_table(s, table, &err) < 0)
		FAILF("parse table: %s", err.msg);
	ss_shape_set_where(s, where);
}

static int64_t add(struct ss_registry *r, const char *table, const char *where,
		   int *created, char *handle_out)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape s;
	struct ss_shape_rec rec;
	int c;
	int64_t id;

	def_for(&s, table, where);
	ss_shape_rec_init(&rec);
	if (ss_registry_add(r, &s, NULL, 0, &rec, &c, &err) < 0)
		FAILF("add: %s", err.msg);
	if (created)
		*created = c;
	if (handle_out)
		snprintf(handle_out, SS_HANDLE_MAX, "%s", rec.handle);
	id = rec.id;
	ss_shape_rec_release(&rec);
	ss_shape_release(&s);
	return id;
}

static void close_reg(struct ss_registry *r)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_registry_close(r, &err) < 0)
		FAILF("close: %s", err.msg);
}

static void test_basic(void)
{
	struct ss_registry *r = open_reg("basic.db", NULL);
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	char h1[SS_HANDLE_MAX], h2[SS_HANDLE_MAX];
	int created;
	int64_t id1, id2, id3, n;

	id1 = add(r, "items", "a = 1", &created, h1);
	CHECK(created == 1);
	CHECK(id1 >= 1);
	/* Read-your-writes before any flush. */
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_handle(r, h1, &rec, &err) == 1);
	CHECK(rec.id == id1);
	CHECK_STR(rec.table_name, "items");
	CHECK_STR(rec.schema_name, "public");
	CHECK(rec.snapshot_state == SS_SNAPSHOT_PENDING);
	ss_shape_rec_release(&rec);
	CHECK(ss_registry_get_by_id(r, id1, &rec, &err) == 1);
	CHECK_STR(rec.handle, h1);
	ss_shape_rec_release(&rec);

	/* Get-or-create: same definition, same shape. */
	id2 = add(r, "public.items", "a = 1", &created, h2);
	CHECK(created == 0);
	CHECK(id2 == id1);
	CHECK_STR(h2, h1);
	id2 = add(r, "items", "a = 2", &created, h2);
	CHECK(created == 1);
	CHECK(id2 > id1);
	CHECK(strcmp(h1, h2) != 0);

	CHECK(ss_registry_flush(r, &err) == 0);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 2);
	/* After the flush the entry has left the buffer: SQLite answers. */
	CHECK(ss_registry_get_by_handle(r, h1, &rec, &err) == 1 &&
	      rec.id == id1);
	ss_shape_rec_release(&rec);

	/* Remove: gone at once, also while the delete is still buffered. */
	CHECK(ss_registry_remove(r, id1, &err) == 1);
	CHECK(ss_registry_get_by_handle(r, h1, &rec, &err) == 0);
	CHECK(ss_registry_get_by_id(r, id1, &rec, &err) == 0);
	CHECK(ss_registry_remove(r, id1, &err) == 0);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 1);
	/* The definition can be registered again: a new id and handle. */
	id3 = add(r, "items", "a = 1", &created, h2);
	CHECK(created == 1);
	CHECK(id3 > id2);
	CHECK(strcmp(h1, h2) != 0);
	close_reg(r);

	/* Everything survived close and reopen. */
	r = open_reg("basic.db", NULL);
	CHECK(ss_registry_get_by_id(r, id1, &rec, &err) == 0);
	CHECK(ss_registry_get_by_id(r, id3, &rec, &err) == 1);
	CHECK_STR(rec.handle, h2);
	ss_shape_rec_release(&rec);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 2);
	/* A new process never hands out an id at or below one used before. */
	CHECK(add(r, "items", "a = 3", NULL, NULL) > id3);
	close_reg(r);
}

/* last_read_us of id as committed (read through a second handle, whose
 * buffer holds nothing). */
static int64_t committed_read(const char *name, int64_t id)
{
	struct ss_registry *o = open_reg(name, NULL);
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int64_t v = -1;

	ss_shape_rec_init(&rec);
	if (ss_registry_get_by_id(o, id, &rec, &err) == 1)
		v = rec.last_read_us;
	ss_shape_rec_release(&rec);
	close_reg(o);
	return v;
}

/* The first touch is committed at once; one soon after it waits
 * touch_interval_ms, or goes with the next other write. */
static void test_touch_interval(void)
{
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	int64_t a, b;
	int i;

	ss_registry_opts_init(&o);
	o.touch_interval_ms = 600000;
	r = open_reg("touch.db", &o);
	a = add(r, "t", NULL, NULL, NULL);
	b = add(r, "u", NULL, NULL, NULL);
	CHECK(ss_registry_flush(r, &err) == 0);
	ss_registry_touch(r, a);
	for (i = 0; i < 500 && committed_read("touch.db", a) <= 0; i++)
		usleep(10000);
	CHECK(committed_read("touch.db", a) > 0);
	ss_registry_touch(r, b);
	usleep(200000); /* 40 flush intervals */
	CHECK(committed_read("touch.db", b) == 0);
	/* another write: the touch goes with it */
	CHECK(ss_registry_mark_active(r, a, 1, &err) == 1);
	for (i = 0; i < 500 && committed_read("touch.db", b) <= 0; i++)
		usleep(10000);
	CHECK(committed_read("touch.db", b) > 0);
	close_reg(r);
}

static void test_overlay(void)
{
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	uint64_t xip[] = {105, 107};
	struct ss_pg_snapshot snap = {100, 110, xip, 2};
	uint32_t oids[] = {16384};
	int64_t id;

	ss_registry_opts_init(&o);
	o.flush_interval_ms = 60000; /* keep writes in the buffer */
	r = open_reg("overlay.db", &o);
	id = add(r, "t", NULL, NULL, NULL);
	CHECK(ss_registry_flush(r, &err) == 0);
	CHECK(ss_registry_set_snapshot(r, id, SS_SNAPSHOT_STARTED, &snap,
				       &err) == 1);
	CHECK(ss_registry_set_oids(r, id, oids, 1, &err) == 1);
	CHECK(ss_registry_mark_active(r, id, 0x16B3748, &err) == 1);
	ss_registry_touch(r, id);
	/* Buffered, not flushed: reads overlay them on the SQLite row. */
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(r, id, &rec, &err) == 1);
	CHECK(rec.snapshot_state == SS_SNAPSHOT_STARTED);
	CHECK(rec.snapshot.xmin == 100 && rec.snapshot.xmax == 110);
	CHECK(rec.snapshot.nxip == 2 && rec.snapshot.xip[1] == 107);
	CHECK(rec.noids == 1 && rec.oids[0] == 16384);
	CHECK(rec.active && rec.active_lsn == 0x16B3748);
	CHECK(rec.last_read_us > 0);
	ss_shape_rec_release(&rec);
	CHECK(ss_registry_set_snapshot(r, id, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1);
	CHECK(ss_registry_set_snapshot(r, 99999, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 0);
	CHECK(ss_registry_mark_active(r, 99999, 1, &err) == 0);
	close_reg(r);

	r = open_reg("overlay.db", NULL);
	CHECK(ss_registry_get_by_id(r, id, &rec, &err) == 1);
	CHECK(rec.snapshot_state == SS_SNAPSHOT_COMPLETE);
	CHECK(rec.snapshot.xmin == 100 && rec.snapshot.xmax == 110 &&
	      rec.snapshot.nxip == 2);
	CHECK(rec.noids == 1 && rec.oids[0] == 16384);
	CHECK(rec.active && rec.active_lsn == 0x16B3748);
	CHECK(rec.last_read_us > 0);
	ss_shape_rec_release(&rec);
	close_reg(r);
}

/* Visibility in a snapshot, and when a reader of the stream may stop
 * asking: a transaction the snapshot sees can follow one at or above
 * xmax that it does not, so "past" is far beyond xmax. */
static void test_snapshot_sees(void)
{
	uint64_t xip[] = {802};
	struct ss_pg_snapshot s = {801, 803, xip, 1};
	struct ss_pg_snapshot big = {((uint64_t)5 << 32) + 10,
				     ((uint64_t)5 << 32) + 20, NULL, 0};

	CHECK(ss_pg_snapshot_sees(&s, 700) && ss_pg_snapshot_sees(&s, 801));
	CHECK(!ss_pg_snapshot_sees(&s, 802) && !ss_pg_snapshot_sees(&s, 803));
	CHECK(!ss_pg_snapshot_past(&s, 803) && !ss_pg_snapshot_past(&s, 700));
	CHECK(!ss_pg_snapshot_past(&s, 803 + SS_SNAPSHOT_PAST_XIDS - 1));
	CHECK(ss_pg_snapshot_past(&s, 803 + SS_SNAPSHOT_PAST_XIDS));
	/* 32-bit xids as pgoutput sends them, against a 64-bit snapshot */
	CHECK(ss_pg_snapshot_sees(&big, 9) && !ss_pg_snapshot_sees(&big, 20));
	CHECK(!ss_pg_snapshot_past(&big, 20));
	CHECK(ss_pg_snapshot_past(&big, 20 + SS_SNAPSHOT_PAST_XIDS));
}

/* A write that returned is in every later read, also when the flusher
 * commits it and takes it out of the buffer while the read is in SQLite
 * (the read then saw the row before that commit, and must read again). */
static void test_read_after_flush(void)
{
	enum { K = 4, N = 200, READS = 500 };
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	struct ss_pg_snapshot snap = {100, 110, NULL, 0};
	int64_t ids[K];
	char where[32];
	int i, stale = 0, errors = 0;

	ss_registry_opts_init(&o);
	o.flush_interval_ms = 1;
	r = open_reg("flushread.db", &o);
	for (i = 0; i < K; i++) {
		snprintf(where, sizeof(where), "id = %d", i);
		ids[i] = add(r, "t", where, NULL, NULL);
	}
	CHECK(ss_registry_flush(r, &err) == 0);
	/* Each write is read again and again until the flusher has
	 * committed it: one of those reads straddles that commit. */
	for (i = 0; i < N; i++) {
		int want = i % 2 ? SS_SNAPSHOT_COMPLETE : SS_SNAPSHOT_STARTED;
		int64_t id = ids[i % K];
		int j;

		snap.xmin = snap.xmax = (uint64_t)i + 1;
		if (ss_registry_set_snapshot(r, id, want, &snap, &err) != 1)
			errors++;
		for (j = 0; j < READS; j++) {
			ss_shape_rec_init(&rec);
			if (ss_registry_get_by_id(r, id, &rec, &err) != 1)
				errors++;
			else if (rec.snapshot_state != want ||
				 rec.snapshot.xmin != (uint64_t)i + 1)
				stale++;
			ss_shape_rec_release(&rec);
		}
	}
	if (stale || errors)
		fprintf(stderr, "%d of %d reads stale, %d errors\n", stale,
			N * READS, errors);
	CHECK(errors == 0 && stale == 0);
	close_reg(r);
}

/* A child process registers shapes and dies without closing; the ids it
 * handed out (flushed or not) are never given out again. */
static void test_crash_no_reuse(void)
{
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	int fds[2], status;
	int64_t child_max = 0, v, n, id;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		struct ss_registry_opts o;
		int i;

		close(fds[0]);
		ss_registry_opts_init(&o);
		o.flush_interval_ms = 60000;
		r = open_reg("crash.db", &o);
		for (i = 0; i < 10; i++) {
			char where[32];

			snprintf(where, sizeof(where), "a = %d", i);
			id = add(r, "t", where, NULL, NULL);
			if (i == 4 && ss_registry_flush(r, &err) < 0)
				_exit(2);
			if (write(fds[1], &id, sizeof(id)) != sizeof(id))
				_exit(2);
		}
		_exit(0); /* no close: the buffered half is lost */
	}
	close(fds[1]);
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		if (v > child_max)
			child_max = v;
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(child_max >= 10);
	r = open_reg("crash.db", NULL);
	CHECK(ss_registry_count(r, &n, &err) == 0);
	CHECK(n == 5); /* the flushed five survived, the rest were lost */
	CHECK(ss_registry_check(r, 0, NULL, NULL, &err) == 0);
	id = add(r, "t", "a = 100", NULL, NULL);
	CHECK(id > child_max);
	/* A lost add's definition can be registered again. */
	id = add(r, "t", "a = 9", NULL, NULL);
	CHECK(id > child_max);
	close_reg(r);
}

struct thr {
	struct ss_registry *r;
	int n, k;
	int64_t *ids;
};

static void *adder(void *p)
{
	struct thr *t = p;
	int i;

	for (i = 0; i < t->n; i++) {
		char where[64];

		/* Every 4th shape is shared by all threads. */
		if (i % 4 == 0)
			snprintf(where, sizeof(where), "shared = %d", i);
		else
			snprintf(where, sizeof(where), "t%d = %d", t->k, i);
		t->ids[i] = add(t->r, "t", where, NULL, NULL);
	}
	return NULL;
}

static void test_concurrency(int capacity, const char *name)
{
	enum { T = 64, N = 64 };
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_registry_stats st;
	struct ss_err err = SS_ERR_INIT;
	pthread_t th[T];
	struct thr t[T];
	int64_t n;
	int i, j;

	ss_registry_opts_init(&o);
	o.buffer_capacity = capacity;
	o.flush_batch = capacity < 64 ? capacity : 64;
	r = open_reg(name, &o);
	for (i = 0; i < T; i++) {
		t[i].r = r;
		t[i].n = N;
		t[i].k = i;
		t[i].ids = ss_xcalloc(N, sizeof(int64_t));
		CHECK(pthread_create(&th[i], NULL, adder, &t[i]) == 0);
	}
	for (i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	/* Shared definitions got one id across all threads. */
	for (j = 0; j < N; j += 4)
		for (i = 1; i < T; i++)
			CHECK(t[i].ids[j] == t[0].ids[j]);
	CHECK(ss_registry_flush(r, &err) == 0);
	CHECK(ss_registry_count(r, &n, &err) == 0);
	CHECK(n == T * (N - N / 4) + N / 4);
	CHECK(ss_registry_stats(r, &st, &err) == 0);
	CHECK(st.pending_writes == 0);
	if (capacity < 64)
		CHECK(st.writer_waits > 0);
	close_reg(r);
	r = open_reg(name, NULL);
	CHECK(ss_registry_count(r, &n, &err) == 0 &&
	      n == T * (N - N / 4) + N / 4);
	close_reg(r);
	for (i = 0; i < T; i++)
		free(t[i].ids);
}

static void test_idmap(void)
{
	struct ss_registry_opts o;
	struct ss_registry *w, *rd;
	struct ss_idmap *m = ss_idmap_new();
	struct ss_err err = SS_ERR_INIT;
	char h[20][SS_HANDLE_MAX];
	int64_t ids[20];
	size_t changed;
	int i;

	ss_registry_opts_init(&o);
	o.changes_keep = 4;
	w = open_reg("idmap.db", &o);
	rd = open_reg("idmap.db", NULL); /* another connection set: "route" */
	for (i = 0; i < 5; i++) {
		char where[32];

		snprintf(where, sizeof(where), "x = %d", i);
		ids[i] = add(w, "t", where, NULL, h[i]);
	}
	CHECK(ss_registry_flush(w, &err) == 0);
	CHECK(ss_idmap_refresh(m, rd, &changed, &err) == 0);
	CHECK(ss_idmap_count(m) == 5);
	for (i = 0; i < 5; i++) {
		CHECK(ss_idmap_id(m, h[i]) == ids[i]);
		CHECK_STR(ss_idmap_handle(m, ids[i]), h[i]);
	}
	/* Nothing changed: refresh is a no-op. */
	CHECK(ss_idmap_refresh(m, rd, &changed, &err) == 0 && changed == 0);
	/* Incremental: one removal and one add. */
	CHECK(ss_registry_remove(w, ids[2], &err) == 1);
	ids[5] = add(w, "t", "x = 5", NULL, h[5]);
	CHECK(ss_registry_flush(w, &err) == 0);
	CHECK(ss_idmap_refresh(m, rd, &changed, &err) == 0);
	CHECK(changed == 2);
	CHECK(ss_idmap_id(m, h[2]) == -1);
	CHECK(ss_idmap_handle(m, ids[2]) == NULL);
	for (i = 0; i < 6; i++)
		if (i != 2)
			CHECK(ss_idmap_id(m, h[i]) == ids[i]);
	/* Many changes: the log is trimmed past us and we reload; ids stay. */
	for (i = 6; i < 20; i++) {
		char where[32];

		snprintf(where, sizeof(where), "x = %d", i);
		ids[i] = add(w, "t", where, NULL, h[i]);
		CHECK(ss_registry_flush(w, &err) == 0);
	}
	CHECK(ss_idmap_refresh(m, rd, &changed, &err) == 0);
	CHECK(ss_idmap_count(m) == 19);
	for (i = 0; i < 20; i++)
		if (i != 2)
			CHECK(ss_idmap_id(m, h[i]) == ids[i]);
	/* The map refuses to rebind an id or a handle. */
	CHECK(ss_idmap_put(m, ids[0], "1-1", &err) < 0);
	CHECK(ss_idmap_put(m, 999, h[0], &err) < 0);
	CHECK(ss_idmap_put(m, ids[0], h[0], &err) == 0);
	ss_idmap_free(m);
	close_reg(rd);
	close_reg(w);
}

/* The idmap on its own: many ids, removals with backward shifts. */
static void test_idmap_churn(void)
{
	struct ss_idmap *m = ss_idmap_new();
	struct ss_err err = SS_ERR_INIT;
	char h[32];
	int i;

	for (i = 1; i <= 20000; i++) {
		snprintf(h, sizeof(h), "%u-%d", (unsigned)(i * 2654435761u), i);
		CHECK(ss_idmap_put(m, i, h, &err) == 0);
	}
	for (i = 1; i <= 20000; i += 3)
		CHECK(ss_idmap_remove(m, i) == 1);
	for (i = 1; i <= 20000; i++) {
		snprintf(h, sizeof(h), "%u-%d", (unsigned)(i * 2654435761u), i);
		if (i % 3 == 1) {
			CHECK(ss_idmap_id(m, h) == -1);
			CHECK(ss_idmap_handle(m, i) == NULL);
		} else {
			CHECK(ss_idmap_id(m, h) == i);
			CHECK_STR(ss_idmap_handle(m, i), h);
		}
	}
	CHECK(ss_idmap_count(m) == 20000 - 6667);
	ss_idmap_free(m);
}

static void test_memory(void)
{
	struct ss_registry *r = open_reg(":memory:", NULL);
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	char hd[SS_HANDLE_MAX];
	int64_t id, n;

	id = add(r, "t", NULL, NULL, hd);
	CHECK(ss_registry_flush(r, &err) == 0);
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_handle(r, hd, &rec, &err) == 1 &&
	      rec.id == id);
	ss_shape_rec_release(&rec);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 1);
	close_reg(r);
}

/* Read connections open lazily and close after the idle timeout; the
 * write connection too (scale to zero). */
static void test_scale_to_zero(void)
{
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_registry_stats st;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int64_t id;
	int i;

	ss_registry_opts_init(&o);
	o.idle_timeout_ms = 200;
	r = open_reg("idle.db", &o);
	CHECK(ss_registry_stats(r, &st, &err) == 0);
	CHECK(st.read_connections == 0); /* none opened yet: lazy */
	CHECK(st.write_connection == 1); /* opened to migrate */
	id = add(r, "t", NULL, NULL, NULL);
	CHECK(ss_registry_flush(r, &err) == 0);
	/* The flusher reaps once a second; a stats call itself uses a read
	 * connection, so poll slowly enough for it to go idle again. */
	for (i = 0; i < 5; i++) {
		usleep(1500 * 1000);
		CHECK(ss_registry_stats(r, &st, &err) == 0);
		if (st.read_connections == 0 && st.write_connection == 0)
			break;
	}
	CHECK(i < 5);
	/* And they come back on demand. */
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(r, id, &rec, &err) == 1);
	ss_shape_rec_release(&rec);
	CHECK(ss_registry_stats(r, &st, &err) == 0 && st.read_connections >= 1);
	CHECK(add(r, "t", "x = 1", NULL, NULL) > id);
	CHECK(ss_registry_flush(r, &err) == 0);
	close_reg(r);
}

/* A clean close gives its unused ids back: no gap per restart. */
static void test_no_gap_on_close(void)
{
	struct ss_registry *r = open_reg("gap.db", NULL);
	int64_t a, b;

	a = add(r, "t", "a = 1", NULL, NULL);
	close_reg(r);
	r = open_reg("gap.db", NULL);
	b = add(r, "t", "a = 2", NULL, NULL);
	CHECK(b == a + 1);
	close_reg(r);
}

static void test_bad_files(void)
{
	struct ss_registry_opts o;
	struct ss_registry *r = NULL;
	struct ss_err err = SS_ERR_INIT;
	char p[512];
	FILE *f;

	ss_registry_opts_init(&o);
	path_of(p, sizeof(p), "missing.db");
	CHECK(ss_registry_open(p, &o, &r, &err) < 0);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK(strstr(err.msg, "No such file") != NULL);

	/* An empty file is not silently turned into a registry. */
	path_of(p, sizeof(p), "empty.db");
	f = fopen(p, "w");
	fclose(f);
	o.create = 0;
	CHECK(ss_registry_open(p, &o, &r, &err) < 0);
	CHECK(strstr(err.msg, "empty file") != NULL);
	{
		FILE *g = fopen(p, "r");

		CHECK(g && fgetc(g) == EOF);
		if (g)
			fclose(g);
	}

	path_of(p, sizeof(p), "garbage.db");
	f = fopen(p, "w");
	fputs("this is not a database, just some text that is long enough\n",
	      f);
	for (int i = 0; i < 200; i++)
		fputs("garbage garbage garbage garbage garbage garbage\n", f);
	fclose(f);
	CHECK(ss_registry_open(p, &o, &r, &err) < 0);
	CHECK(err.code == SS_ERR_RUNTIME);
	CHECK(strstr(err.msg, "not a database") != NULL);

	/* A SQLite database of somebody else's. */
	{
		char cmd[700];

		path_of(p, sizeof(p), "foreign.db");
		snprintf(cmd, sizeof(cmd),
			 "sqlite3 '%s' 'CREATE TABLE x(a)' 2>/dev/null", p);
		if (system(cmd) == 0) {
			CHECK(ss_registry_open(p, &o, &r, &err) < 0);
			CHECK(strstr(err.msg, "not a shapesync registry") !=
			      NULL);
		}
	}
}

static void test_import(void)
{
	struct ss_registry *r = open_reg("import.db", NULL);
	struct ss_registry_import *imp;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	struct ss_buf line = SS_BUF_INIT;
	int64_t n, id;
	const char *good2 =
	    "{\"id\":9,\"handle\":\"123-999\",\"definition\":{\"schema\":\"public\","
	    "\"table\":\"u\",\"where\":null,\"params\":[],\"columns\":null,"
	    "\"replica\":\"default\",\"log\":\"full\"},\"created\":\"1\"}";
	const char *good =
	    "{\"id\":7,\"handle\":\"123-456\",\"definition\":{\"schema\":\"public\","
	    "\"table\":\"t\",\"where\":null,\"params\":[],\"columns\":null,"
	    "\"replica\":\"default\",\"log\":\"full\"},\"oids\":[5],"
	    "\"snapshot_state\":\"complete\",\"xmin\":\"10\",\"xmax\":\"12\","
	    "\"xip\":[\"11\"],\"created\":\"1700000000000000\",\"last_read\":null,"
	    "\"active_lsn\":\"0/10\"}";

	CHECK(ss_registry_import_begin(r, &imp, &err) == 0);
	CHECK(ss_registry_import_line(imp, good, &err) == 0);
	if (err.msg[0])
		fprintf(stderr, "import: %s\n", err.msg);
	/* A duplicate of the same line conflicts. */
	CHECK(ss_registry_import_line(imp, good, &err) < 0 &&
	      err.code == SS_ERR_INPUT);
	CHECK(ss_registry_import_end(imp, 1, &n, &err) == 0 && n == 0);
	CHECK(ss_registry_count(r, &n, &err) == 0 && n == 0);

	CHECK(ss_registry_import_begin(r, &imp, &err) == 0);
	CHECK(ss_registry_import_line(imp, good, &err) == 0);
	CHECK(ss_registry_import_line(imp, "{\"id\":1}", &err) < 0);
	CHECK(ss_registry_import_line(imp, "[1]", &err) < 0);
	CHECK(ss_registry_import_line(imp, "{", &err) < 0);
	CHECK(strstr(err.msg, "invalid JSON") != NULL);
	/* a time past a signed 64-bit microsecond count: it would come
	 * back negative from an export (fuzz-registry) */
	ss_err_clear(&err);
	CHECK(ss_registry_import_line(
		  imp,
		  "{\"id\":8,\"handle\":\"123-457\",\"definition\":{\"schema\":"
		  "\"public\",\"table\":\"t\",\"where\":null,\"params\":[],"
		  "\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},"
		  "\"created\":\"17000000000000000000\"}",
		  &err) < 0);
	CHECK(strstr(err.msg, "field 'created' is out of range") != NULL);
	CHECK(ss_registry_import_end(imp, 0, &n, &err) == 0 && n == 1);
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_handle(r, "123-456", &rec, &err) == 1);
	CHECK(rec.id == 7 && rec.snapshot_state == SS_SNAPSHOT_COMPLETE);
	CHECK(rec.active && rec.active_lsn == 16);
	ss_shape_rec_to_json(&rec, &line);
	ss_shape_rec_release(&rec);
	/* The export form of what we imported has the same fields. */
	CHECK(strstr(line.buf, "\"id\":7,\"handle\":\"123-456\"") ==
	      line.buf + 1);
	CHECK(strstr(line.buf, "\"xip\":[\"11\"]") != NULL);
	/* New ids go past imported ones. */
	id = add(r, "t", "b = 1", NULL, NULL);
	CHECK(id > 7);
	/* Ids at or below the reservation may belong to a running process:
	 * an import may not take them. */
	CHECK(ss_registry_import_begin(r, &imp, &err) == 0);
	CHECK(ss_registry_import_line(imp, good2, &err) < 0);
	CHECK(strstr(err.msg, "not above the ids already reserved") != NULL);
	CHECK(ss_registry_import_end(imp, 1, &n, &err) == 0);
	ss_buf_release(&line);
	close_reg(r);
}

/* A subquery shape's deps: kept with the shape, through a reopen, an
 * export and an import (which re-renders them canonical and refuses
 * malformed ones). */
static void test_deps(void)
{
	struct ss_registry *r = open_reg("deps.db", NULL);
	struct ss_registry_import *imp;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape s;
	struct ss_shape_rec rec, again;
	struct ss_buf line = SS_BUF_INIT;
	const char *deps = "{\"inner\":[3],\"tables\":[{\"schema\":\"public\","
			   "\"table\":\"p\",\"columns\":[[\"id\",\"int4\"],"
			   "[\"m\",\"mood\",\"enum\"]]}]}";
	int64_t id, n;
	int c;

	def_for(&s, "t", "a IN (SELECT id FROM p)");
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_add_deps(r, &s, NULL, 0, deps, &rec, &c, &err) == 0 &&
	      c == 1);
	CHECK_STR(rec.deps, deps);
	id = rec.id;
	ss_shape_rec_release(&rec);
	/* The same definition again: the shape found keeps its deps. */
	CHECK(ss_registry_add_deps(r, &s, NULL, 0, "{}", &rec, &c, &err) == 0 &&
	      c == 0 && rec.id == id);
	CHECK_STR(rec.deps, deps);
	ss_shape_rec_release(&rec);
	ss_shape_release(&s);
	/* A plain shape has none. */
	id = add(r, "t", "a = 1", NULL, NULL);
	CHECK(ss_registry_get_by_id(r, id, &rec, &err) == 1 && !rec.deps);
	ss_shape_rec_release(&rec);
	close_reg(r);

	r = open_reg("deps.db", NULL);
	CHECK(ss_registry_get_by_id(r, id - 1, &rec, &err) == 1);
	CHECK_STR(rec.deps, deps);
	ss_shape_rec_to_json(&rec, &line);
	CHECK(strstr(line.buf, ",\"deps\":{\"inner\":[3],") != NULL);
	ss_shape_rec_release(&rec);
	close_reg(r);

	/* Import: spacing does not matter, the stored text is canonical. */
	r = open_reg("deps2.db", NULL);
	CHECK(ss_registry_import_begin(r, &imp, &err) == 0);
	{
		struct ss_buf spaced = SS_BUF_INIT;
		char *p = strstr(line.buf, "\"deps\":{\"inner\":[3]");

		ss_buf_add(&spaced, line.buf, (size_t)(p - line.buf));
		ss_buf_adds(&spaced, "\"deps\": { \"inner\" : [ 3 ] ");
		ss_buf_adds(&spaced, p + strlen("\"deps\":{\"inner\":[3]"));
		CHECK(ss_registry_import_line(imp, spaced.buf, &err) == 0);
		ss_buf_release(&spaced);
	}
	{
		static const char *const bad[] = {
		    "[1]",
		    "{\"inner\":[],\"tables\":[]}",
		    "{\"inner\":[0],\"tables\":[{\"schema\":\"s\",\"table\":"
		    "\"t\",\"columns\":[[\"a\",\"int4\"]]}]}",
		    "{\"inner\":[1],\"tables\":[{\"schema\":\"s\",\"table\":"
		    "\"t\",\"columns\":[[\"a\"]]}]}",
		    "{\"inner\":[1],\"tables\":[{\"schema\":\"s\",\"table\":"
		    "\"t\",\"columns\":[[\"a\",\"int4\"]]},{\"schema\":\"s\","
		    "\"table\":\"t\",\"columns\":[[\"a\",\"int4\"]]}]}",
		    "{\"inner\":[1],\"tables\":[],\"x\":1}",
		    "\"1\"",
		    "[]",
		    "7"};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct ss_buf l = SS_BUF_INIT;

			ss_buf_addf(&l,
				    "{\"id\":%zu,\"handle\":\"9-%zu\","
				    "\"definition\":{\"schema\":\"public\","
				    "\"table\":\"t\",\"where\":\"b = %zu\","
				    "\"params\":[],\"columns\":null,"
				    "\"replica\":\"default\",\"log\":\"full\"},"
				    "\"created\":\"1\",\"deps\":%s}",
				    100 + i, i, i, bad[i]);
			ss_err_clear(&err);
			CHECK(ss_registry_import_line(imp, l.buf, &err) < 0 &&
			      err.code == SS_ERR_INPUT &&
			      !strncmp(err.msg, "field 'deps': ", 14));
			ss_buf_release(&l);
		}
	}
	CHECK(ss_registry_import_end(imp, 0, &n, &err) == 0 && n == 1);
	ss_shape_rec_init(&again);
	CHECK(ss_registry_get_by_id(r, id - 1, &again, &err) == 1);
	CHECK_STR(again.deps, deps);
	ss_shape_rec_release(&again);
	ss_buf_release(&line);
	close_reg(r);
}

/* The admin side: a record for people (show, ls) and the registry
 * compared with a data dir (check), with its counts (stats). */
static void test_admin(void)
{
	struct ss_registry *r = open_reg("admin.db", NULL);
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_datadir_counts dc;
	char data[300], cmd[700], handle[SS_HANDLE_MAX];
	int64_t id, id2;
	int idw = 2, tw = 5, found;

	id = add(r, "public.\"Items\"", "x = 1", NULL, handle);
	ss_shape_rec_init(&rec);
	CHECK(ss_registry_get_by_id(r, id, &rec, &err) == 1);
	CHECK(ss_shape_rec_to_text(&rec, &b, &err) == 0);
	CHECK(strstr(b.buf,
		     "table: public.\"Items\"\nwhere: x = 1\nparams: -\n"
		     "columns: *\nreplica: default\nlog: full\n") != NULL);
	CHECK(strstr(b.buf, "snapshot: pending\npg_snapshot: -\n") != NULL);
	ss_shape_rec_measure(&rec, &idw, &tw);
	CHECK(idw == 2 && tw == (int)strlen("public.\"Items\""));
	ss_buf_reset(&b);
	ss_shape_rec_table_header(&b, idw, tw);
	CHECK(strncmp(b.buf, "ID HANDLE ", 10) == 0);
	ss_buf_reset(&b);
	CHECK(ss_shape_rec_to_row(&rec, idw, tw, &b, &err) == 0);
	CHECK(b.buf[b.len - 1] == '\n' && strstr(b.buf, " pending  ") &&
	      strstr(b.buf, " x = 1\n"));
	/* An unreadable definition shows as '?', and says so. */
	free(rec.definition);
	rec.definition = ss_xstrdup("{not json");
	ss_buf_reset(&b);
	CHECK(ss_shape_rec_to_text(&rec, &b, &err) == -1);
	CHECK(strstr(err.msg, "has an unreadable definition") != NULL);
	CHECK(strstr(b.buf, "where: ?\n") != NULL);
	ss_shape_rec_release(&rec);

	/* A data dir: the shape's directory, an orphan, a stray file. */
	snprintf(data, sizeof(data), "%s/admin-data", dir);
	CHECK(ss_datadir_init(data, &err) == 0);
	CHECK(ss_registry_datadir_counts(data, &dc, &err) == 0);
	CHECK(dc.shape_dirs == 0 && dc.stray_entries == 0 &&
	      dc.trash_entries == 0);
	id2 = add(r, "t", "x = 2", NULL, NULL);
	CHECK(ss_registry_set_snapshot(r, id2, SS_SNAPSHOT_COMPLETE, NULL,
				       &err) == 1);
	CHECK(ss_registry_flush(r, &err) == 0);
	ss_buf_reset(&b);
	ss_datadir_shape_path(&b, data, handle);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && touch '%s/shapes/stray'",
		 b.buf, data);
	CHECK(system(cmd) == 0);
	CHECK(ss_registry_remove(r, id, &err) == 1 &&
	      ss_registry_flush(r, &err) == 0);
	CHECK(ss_registry_datadir_counts(data, &dc, &err) == 0);
	CHECK(dc.shape_dirs == 1 && dc.stray_entries == 1);
	/* Orphan, stray, complete shape without data: 3 findings. */
	found = ss_registry_check_datadir(r, data, 0, NULL, NULL, &err);
	CHECK(found == 3);
	found = ss_registry_check_datadir(r, data, 1, NULL, NULL, &err);
	CHECK(found == 3);
	CHECK(ss_registry_get_by_id(r, id2, &rec, &err) == 0);
	CHECK(ss_registry_check_datadir(r, data, 0, NULL, NULL, &err) == 0);
	CHECK(ss_registry_datadir_counts(data, &dc, &err) == 0);
	CHECK(dc.shape_dirs == 0 && dc.stray_entries == 0 &&
	      dc.trash_entries == 2);
	ss_buf_release(&b);
	close_reg(r);
}

/* Every program's open: a missing file says so with the hint, as a
 * runtime error; an existing one (or :memory:) opens. */
static void test_open_existing(void)
{
	struct ss_registry_opts o;
	struct ss_registry *r = NULL;
	struct ss_err err = SS_ERR_INIT;
	char p[512];

	path_of(p, sizeof(p), "missing.db");
	CHECK(ss_registry_open_existing(p, NULL, &r, &err) == -1);
	CHECK(err.code == SS_ERR_RUNTIME);
	CHECK(strstr(err.msg, "registry '") &&
	      strstr(err.msg, "missing.db' does not exist"));
	CHECK_STR(err.hint,
		  "run 'shapesync-db init' first, or check --registry and "
		  "$SHAPESYNC_REGISTRY");
	ss_registry_opts_init(&o);
	o.create = 1;
	ss_err_clear(&err);
	CHECK(ss_registry_open_existing(p, &o, &r, &err) == 0);
	close_reg(r);
	ss_err_clear(&err);
	CHECK(ss_registry_open_existing(p, NULL, &r, &err) == 0);
	close_reg(r);
	CHECK(ss_registry_open_existing(":memory:", NULL, &r, &err) == 0);
	close_reg(r);
}

int main(void)
{
	char tmpl[] = "/tmp/ss-unit-registry.XXXXXX";

	if (!mkdtemp(tmpl))
		FAILF("mkdtemp: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_basic();
	test_overlay();
	test_touch_interval();
	test_read_after_flush();
	test_snapshot_sees();
	test_crash_no_reuse();
	test_concurrency(16384, "conc.db");
	test_concurrency(8, "conc-small.db");
	test_idmap();
	test_idmap_churn();
	test_memory();
	test_scale_to_zero();
	test_no_gap_on_close();
	test_bad_files();
	test_import();
	test_deps();
	test_admin();
	test_open_existing();
	if (!unit_failures) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return unit_report();
}
