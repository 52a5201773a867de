/*
 * bench/registry.c — measures the registry. Modes:
 *   concurrent  THREADS SHAPES   64 threads creating shapes through the write
 *                                buffer vs. one synchronous transaction per
 *                                operation, same run, same settings; prints
 * both rates and the ratio fill        PATH SHAPES      register SHAPES shapes
 * (for scale tests) idmap       PATH             load an id map from PATH;
 * print memory per shape and lookup times churn       PATH             add and
 * remove shapes until killed (kill -9 tests); prints "ready" once writes are
 * buffered
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "idmap.h"
#include "registry.h"

static void die(const char *what, const struct ss_err *err)
{
	fprintf(stderr, "bench-registry: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static struct ss_registry *open_reg(const char *path,
				    struct ss_registry_opts *o)
{
	struct ss_registry_opts d;
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r;

	if (!o) {
		ss_registry_opts_init(&d);
		o = &d;
	}
	o->create = 1;
	if (ss_registry_open(path, o, &r, &err) < 0)
		die("open", &err);
	return r;
}

static void make_def(struct ss_shape *s, long n)
{
	char where[64];

	ss_shape_init(s);
	s->schema = ss_xstrdup("public");
	s->table = ss_xstrdup("items");
	snprintf(where, sizeof(where), "user_id = %ld", n);
	ss_shape_set_where(s, where);
}

/* ---------------------------------------------------------- concurrent */

struct job {
	struct ss_registry *reg; /* buffered mode */
	sqlite3 *db;		 /* synchronous mode: shared, under lock */
	pthread_mutex_t *lock;
	long first, n;
};

static void *buffered_worker(void *p)
{
	struct job *j = p;
	struct ss_err err = SS_ERR_INIT;
	long i;

	for (i = 0; i < j->n; i++) {
		struct ss_shape s;
		struct ss_shape_rec rec;
		int created;

		make_def(&s, j->first + i);
		ss_shape_rec_init(&rec);
		if (ss_registry_add(j->reg, &s, NULL, 0, &rec, &created, &err) <
		    0)
			die("add", &err);
		ss_shape_rec_release(&rec);
		ss_shape_release(&s);
	}
	return NULL;
}

/*
 * The synchronous alternative: what a registry without a write buffer does
 * for one get-or-create: look the definition up and insert it (with its
 * change-log row) in one transaction, committed before returning. Writers
 * are serialised by a mutex, which is kinder to it than SQLite's busy
 * handler would be.
 */
static void *sync_worker(void *p)
{
	struct job *j = p;
	sqlite3_stmt *look, *ins, *log;
	long i;

	pthread_mutex_lock(j->lock);
	if (sqlite3_prepare_v2(j->db,
			       "SELECT id FROM shapes WHERE definition = ?1",
			       -1, &look, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		j->db,
		"INSERT INTO shapes (handle, definition, hash,"
		" schema_name, table_name, created_us) VALUES (?1,?2,?3,?4,?5,?6)",
		-1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		j->db,
		"INSERT INTO shape_changes (shape_id, handle, added)"
		" VALUES (last_insert_rowid(), ?1, 1)",
		-1, &log, NULL) != SQLITE_OK)
		die("prepare", NULL);
	pthread_mutex_unlock(j->lock);
	for (i = 0; i < j->n; i++) {
		struct ss_shape s;
		struct ss_buf canon = SS_BUF_INIT;
		char handle[SS_HANDLE_MAX];
		uint32_t hash;

		make_def(&s, j->first + i);
		ss_shape_canonical(&s, &canon);
		hash = ss_shape_hash_canonical(canon.buf, canon.len);
		ss_shape_format_handle(hash,
				       ss_now_us() * 64 + (j->first / j->n),
				       handle, sizeof(handle));
		pthread_mutex_lock(j->lock);
		if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		    SQLITE_OK)
			die("begin", NULL);
		sqlite3_bind_text(look, 1, canon.buf, -1, SQLITE_STATIC);
		if (sqlite3_step(look) != SQLITE_ROW) {
			sqlite3_bind_text(ins, 1, handle, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, canon.buf, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 3, hash);
			sqlite3_bind_text(ins, 4, "public", -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 5, "items", -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 6, ss_now_us());
			if (sqlite3_step(ins) != SQLITE_DONE)
				die(sqlite3_errmsg(j->db), NULL);
			sqlite3_bind_text(log, 1, handle, -1, SQLITE_STATIC);
			if (sqlite3_step(log) != SQLITE_DONE)
				die(sqlite3_errmsg(j->db), NULL);
			sqlite3_reset(ins);
			sqlite3_reset(log);
		}
		sqlite3_reset(look);
		if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			die("commit", NULL);
		pthread_mutex_unlock(j->lock);
		ss_buf_release(&canon);
		ss_shape_release(&s);
	}
	pthread_mutex_lock(j->lock);
	sqlite3_finalize(look);
	sqlite3_finalize(ins);
	sqlite3_finalize(log);
	pthread_mutex_unlock(j->lock);
	return NULL;
}

static double run_threads(int nthreads, long shapes, void *(*fn)(void *),
			  struct job *proto)
{
	pthread_t *th = ss_xcalloc((size_t)nthreads, sizeof(*th));
	struct job *jobs = ss_xcalloc((size_t)nthreads, sizeof(*jobs));
	long per = shapes / nthreads;
	int64_t t0 = ss_mono_us();
	int i;

	for (i = 0; i < nthreads; i++) {
		jobs[i] = *proto;
		jobs[i].first = (long)i * per;
		jobs[i].n = per;
		pthread_create(&th[i], NULL, fn, &jobs[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (proto->reg) {
		struct ss_err err = SS_ERR_INIT;

		/* Count the time until everything is committed. */
		if (ss_registry_flush(proto->reg, &err) < 0)
			die("flush", &err);
	}
	free(th);
	free(jobs);
	return (double)(per * nthreads) / ((double)(ss_mono_us() - t0) / 1e6);
}

static int concurrent(int nthreads, long shapes, const char *dir)
{
	char p1[512], p2[512];
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct job proto = {0};
	sqlite3 *db;
	double buffered, sync;
	int64_t n;

	snprintf(p1, sizeof(p1), "%s/buffered.db", dir);
	snprintf(p2, sizeof(p2), "%s/sync.db", dir);
	unlink(p1);
	unlink(p2);

	r = open_reg(p1, NULL);
	proto.reg = r;
	buffered = run_threads(nthreads, shapes, buffered_worker, &proto);
	if (ss_registry_count(r, &n, &err) < 0 || n != shapes)
		die("buffered count mismatch", &err);
	ss_registry_close(r, NULL);

	/* Same schema, same pragmas (WAL, synchronous=FULL). */
	r = open_reg(p2, NULL);
	ss_registry_close(r, NULL);
	if (sqlite3_open_v2(p2, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK)
		die("open sync", NULL);
	sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=-4096;",
		     NULL, NULL, NULL);
	memset(&proto, 0, sizeof(proto));
	proto.db = db;
	proto.lock = &lock;
	sync = run_threads(nthreads, shapes, sync_worker, &proto);
	sqlite3_close(db);

	printf(
	    "registry: %d threads creating %ld shapes (WAL, synchronous=FULL)\n",
	    nthreads, shapes);
	printf("  write buffer        %10.0f shapes/s\n", buffered);
	printf("  sync txn per op     %10.0f shapes/s\n", sync);
	printf("  ratio               %10.1fx\n", buffered / sync);
	return 0;
}

/* ---------------------------------------------------------------- fill */

static int fill(const char *path, long shapes)
{
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_err err = SS_ERR_INIT;
	int64_t t0 = ss_mono_us();
	long i;

	ss_registry_opts_init(&o);
	o.flush_batch = 4096;
	o.id_block = 65536;
	r = open_reg(path, &o);
	for (i = 0; i < shapes; i++) {
		struct ss_shape s;
		struct ss_shape_rec rec;
		int created;

		make_def(&s, i);
		ss_shape_rec_init(&rec);
		if (ss_registry_add(r, &s, NULL, 0, &rec, &created, &err) < 0)
			die("add", &err);
		ss_shape_rec_release(&rec);
		ss_shape_release(&s);
	}
	if (ss_registry_close(r, &err) < 0)
		die("close", &err);
	printf("filled %ld shapes in %.1f s\n", shapes,
	       (double)(ss_mono_us() - t0) / 1e6);
	return 0;
}

/* --------------------------------------------------------------- idmap */

static int idmap(const char *path)
{
	struct ss_registry *r = open_reg(path, NULL);
	struct ss_idmap *m = ss_idmap_new();
	struct ss_err err = SS_ERR_INIT;
	size_t n, i, probes = 1000000;
	int64_t t0, maxid = 0;
	const char **handles;
	volatile uint64_t sink = 0;

	t0 = ss_mono_us();
	if (ss_idmap_refresh(m, r, NULL, &err) < 0)
		die("refresh", &err);
	n = ss_idmap_count(m);
	printf("idmap: %zu shapes loaded in %.2f s\n", n,
	       (double)(ss_mono_us() - t0) / 1e6);
	printf("idmap: overhead %.1f bytes/shape (array + hash table), "
	       "handle storage %.1f bytes/shape\n",
	       (double)ss_idmap_overhead_bytes(m) / (double)n,
	       (double)ss_idmap_string_bytes(m) / (double)n);
	/* Lookup cost, both directions, over random ids. */
	handles = ss_xcalloc(n, sizeof(*handles));
	for (i = 1; n && i < 4 * n + 2048; i++) {
		const char *h = ss_idmap_handle(m, (int64_t)i);

		if (h) {
			handles[maxid++] = h;
			if ((size_t)maxid == n)
				break;
		}
	}
	if (n) {
		uint64_t x = 88172645463325252ULL;

		t0 = ss_mono_us();
		for (i = 0; i < probes; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			sink += (uint64_t)ss_idmap_id(m, handles[x % n]);
		}
		printf("idmap: handle->id %.0f ns/lookup\n",
		       (double)(ss_mono_us() - t0) * 1000.0 / (double)probes);
		t0 = ss_mono_us();
		for (i = 0; i < probes; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			sink += (uintptr_t)ss_idmap_handle(
			    m, (int64_t)(x % (n + 1)));
		}
		printf("idmap: id->handle %.0f ns/lookup\n",
		       (double)(ss_mono_us() - t0) * 1000.0 / (double)probes);
	}
	/* Print the sink so the lookups cannot be optimised away. */
	fprintf(stderr, "idmap: checksum %" PRIu64 "\n", (uint64_t)sink);
	free(handles);
	ss_idmap_free(m);
	ss_registry_close(r, NULL);
	return 0;
}

/* --------------------------------------------------------------- churn */

/*
 * Keep the write buffer full until killed: a working set of 5000 shapes
 * per run, then forever remove one, re-add its definition (a new id),
 * record a snapshot and touch. The flush batch equals the capacity and the
 * interval is long, so writers fill the buffer and wait on it. Prints
 * "ready" once the buffer has been full.
 */
static int churn(const char *path)
{
	enum { SET = 5000 };
	struct ss_registry_opts o;
	struct ss_registry *r;
	struct ss_registry_stats st;
	struct ss_err err = SS_ERR_INIT;
	int64_t *ids = ss_xcalloc(SET, sizeof(*ids));
	long base = (long)getpid() * 1000000L, i;
	int ready = 0;

	/* Never outlive the test that started us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	ss_registry_opts_init(&o);
	o.buffer_capacity = 2048;
	o.flush_batch = 2048;
	o.flush_interval_ms = 250;
	r = open_reg(path, &o);
	for (i = 0;; i++) {
		struct ss_shape s;
		struct ss_shape_rec rec;
		struct ss_pg_snapshot snap = {5, 9, NULL, 0};
		long slot = i % SET;
		int created;

		if (i >= SET && ss_registry_remove(r, ids[slot], &err) < 0)
			die("remove", &err);
		make_def(&s, base + slot);
		ss_shape_rec_init(&rec);
		if (ss_registry_add(r, &s, NULL, 0, &rec, &created, &err) < 0)
			die("add", &err);
		ids[slot] = rec.id;
		if (i % 3 == 0)
			ss_registry_set_snapshot(r, rec.id, SS_SNAPSHOT_STARTED,
						 &snap, &err);
		if (i % 5 == 0)
			ss_registry_touch(r, ids[(slot + 7) % SET]);
		ss_shape_rec_release(&rec);
		ss_shape_release(&s);
		if (!ready && i % 256 == 0 && i > SET) {
			if (ss_registry_stats(r, &st, &err) < 0)
				die("stats", &err);
			if (st.writer_waits > 0) {
				printf("ready\n");
				fflush(stdout);
				ready = 1;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "concurrent")) {
		char dir[] = "/tmp/ss-bench-registry.XXXXXX";
		int rc;

		if (!mkdtemp(dir))
			die("mkdtemp", NULL);
		rc = concurrent((int)strtol(argv[2], NULL, 10),
				strtol(argv[3], NULL, 10), dir);
		{
			char cmd[128];

			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
			if (system(cmd) != 0)
				fprintf(stderr, "could not remove %s\n", dir);
		}
		return rc;
	}
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return fill(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "idmap"))
		return idmap(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "churn"))
		return churn(argv[2]);
	fprintf(stderr,
		"usage: registry concurrent THREADS SHAPES | fill PATH SHAPES |"
		" idmap PATH | churn PATH\n");
	return 2;
}
