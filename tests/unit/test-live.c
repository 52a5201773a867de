/*
 * test-live — lib/live without a server: shape entries and their
 * references, waits that return at once when the shape moved, wake-ups
 * by event, by deadline (in deadline order), by a write in a watched
 * directory and by its removal, every waiter woken when the hub stops, and
 * what locate says of a failed creation, one in progress, and a shape the
 * registry does not have; the bound on open log readers (least recently
 * used closed first, never one being read, descriptors counted in
 * /proc/self/fd) and a look that runs out of descriptors (-2, not gone).
 *
 *   test-live DIR     (a scratch directory)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "unit.h"

struct fake_req {
	struct ss_live_waiter w;
	atomic_int suspended, woken;
	int order;
};

static atomic_int wake_seq;

static void on_suspend(void *ctx)
{
	struct fake_req *r = ctx;

	r->suspended = 1;
}

static void on_wake(void *ctx)
{
	struct fake_req *r = ctx;

	r->suspended = 0;
	r->woken++;
	r->order = atomic_fetch_add(&wake_seq, 1);
}

static void *runner(void *arg)
{
	ss_live_run(arg);
	return NULL;
}

/* Wait up to 5 s for cond. */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		int i_;                                                        \
		for (i_ = 0; i_ < 500 && !(cond); i_++)                        \
			usleep(10000);                                         \
	} while (0)

static int wait_req(struct ss_live *l, struct ss_live_shape *s,
		    struct fake_req *r, int64_t deadline)
{
	uint64_t seq;

	ss_live_lock(l);
	seq = s->seq;
	ss_live_unlock(l);
	return ss_live_wait(l, s, &r->w, seq, deadline, 0, on_suspend, on_wake,
			    r);
}

/* Descriptors open in this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		FAILF("could not open /proc/self/fd");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A shape "t where x = <x>" in reg, and in dir a complete snapshot and a
 * log of one committed change: its id and handle. */
static int64_t make_shape(struct ss_registry *reg, int x, const char *dir,
			  char handle[SS_HANDLE_MAX])
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape sh;
	struct ss_shape_rec rec;
	struct ss_log_opts o;
	struct ss_log_writer *w;
	struct ss_offset off = ss_offset_make(100, 0);
	char where[32], path[4200];
	int created, fd;
	int64_t id;

	ss_shape_init(&sh);
	if (ss_shape_parse_table(&sh, "t", &err) < 0)
		FAILF("parse table: %s", err.msg);
	snprintf(where, sizeof(where), "x = %d", x);
	ss_shape_set_where(&sh, where);
	ss_shape_rec_init(&rec);
	if (ss_registry_add(reg, &sh, NULL, 0, &rec, &created, &err) < 0 ||
	    ss_registry_flush(reg, &err) < 0)
		FAILF("add: %s", err.msg);
	id = rec.id;
	snprintf(handle, SS_HANDLE_MAX, "%s", rec.handle);
	ss_shape_rec_release(&rec);
	ss_shape_release(&sh);
	ss_log_opts_init(&o);
	if (ss_log_writer_open(dir, &o, &w, &err) < 0 ||
	    ss_log_append(w, &off, "{}", 2, &err) < 0 ||
	    ss_log_commit(w, 100, &err) < 0)
		FAILF("log: %s", err.msg);
	ss_log_writer_close(w);
	snprintf(path, sizeof(path), "%s/snapshot.done", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "1\n", 2) != 2 || close(fd) < 0)
		FAILF("could not write '%s'", path);
	return id;
}

/* Locate s and let go of it at once: locate's answer. */
static int look(struct ss_live *l, struct ss_live_shape *s,
		struct ss_registry *reg, const char *dir)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_live_at at;
	int rc = ss_live_locate(l, s, reg, dir, &at, &err);

	if (rc == 1 && (!at.lr || at.head.entries != 1))
		rc = 99;
	ss_live_at_release(&at);
	return rc;
}

/* A hub and a new registry at path (":memory:" or a file), or the test
 * fails. */
static struct ss_live *hub_and_registry(const char *path,
					struct ss_registry **reg)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry_opts o;
	struct ss_live *l = ss_live_open(&err);

	ss_registry_opts_init(&o);
	o.create = 1;
	*reg = NULL;
	if (!l || ss_registry_open(path, &o, reg, &err) < 0)
		FAILF("%s", err.msg);
	return l;
}

/* The bound on open log readers; running out of descriptors; idle
 * entries. */
static void open_logs(const char *top)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	struct ss_live *l = hub_and_registry(":memory:", &reg);
	struct ss_live_shape *s[3];
	struct ss_live_at held;
	struct rlimit rl, low;
	char dir[3][4096], handle[SS_HANDLE_MAX];
	int i, fds, next;

	for (i = 0; i < 3; i++) {
		int64_t id;

		snprintf(dir[i], sizeof(dir[i]), "%s/log%d", top, i);
		id = make_shape(reg, i, dir[i], handle);
		ss_live_lock(l);
		s[i] = ss_live_get_locked(l, handle, id);
		ss_live_unlock(l);
	}
	ss_live_set_max_logs(l, 2);
	fds = count_fds();
	CHECK(look(l, s[0], reg, dir[0]) == 1);
	CHECK(look(l, s[1], reg, dir[1]) == 1);
	CHECK(ss_live_open_logs(l) == 2 && count_fds() == fds + 8);
	/* a third closes the least recently used */
	CHECK(look(l, s[2], reg, dir[2]) == 1);
	CHECK(ss_live_open_logs(l) == 2 && count_fds() == fds + 8);
	CHECK(!s[0]->lr && s[1]->lr && s[2]->lr);
	/* the first opens again, in place of the second */
	CHECK(look(l, s[0], reg, dir[0]) == 1);
	CHECK(s[0]->lr && !s[1]->lr && s[2]->lr);
	CHECK(ss_live_open_logs(l) == 2 && count_fds() == fds + 8);
	/* a reader being read is not closed, even past the bound; the next
	 * look after it is let go closes it */
	ss_live_set_max_logs(l, 1);
	CHECK(ss_live_locate(l, s[2], reg, dir[2], &held, &err) == 1);
	CHECK(!s[0]->lr && ss_live_open_logs(l) == 1);
	CHECK(look(l, s[1], reg, dir[1]) == 1);
	CHECK(s[1]->lr && s[2]->lr && ss_live_open_logs(l) == 2);
	ss_live_at_release(&held);
	CHECK(look(l, s[1], reg, dir[1]) == 1);
	CHECK(s[1]->lr && !s[2]->lr && ss_live_open_logs(l) == 1);
	CHECK(count_fds() == fds + 4);
	/* no descriptor left: -2 (look again later), not gone */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		FAILF("getrlimit");
	next = dup(0);
	if (next < 0 || close(next) < 0)
		FAILF("dup");
	low = rl;
	low.rlim_cur = (rlim_t)next;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		FAILF("setrlimit");
	i = look(l, s[0], reg, dir[0]);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		FAILF("setrlimit");
	CHECK(i == -2 && !s[0]->lr);
	CHECK(look(l, s[0], reg, dir[0]) == 1 && s[0]->lr);
	/* Idle entries. With the bound at 2, a shape let go stays, reader
	 * and all, and the next request gets the same entry back. */
	ss_live_set_max_logs(l, 2);
	CHECK(look(l, s[1], reg, dir[1]) == 1);
	CHECK(ss_live_open_logs(l) == 2 && count_fds() == fds + 8);
	{
		char h0[SS_HANDLE_MAX];
		struct ss_live_shape *again;

		snprintf(h0, sizeof(h0), "%s", s[0]->handle);
		ss_live_put(l, s[0]);
		CHECK(ss_live_idle(l) == 1 && count_fds() == fds + 8);
		ss_live_lock(l);
		again = ss_live_get_locked(l, h0, 0);
		ss_live_unlock(l);
		CHECK(again == s[0] && again->lr && ss_live_idle(l) == 0);
		CHECK(look(l, s[0], reg, dir[0]) == 1 &&
		      count_fds() == fds + 8);
		/* at most 2 idle: the least recently put is freed, its
		 * reader closed */
		ss_live_put(l, s[0]);
		ss_live_put(l, s[1]);
		ss_live_put(l, s[2]);
		CHECK(ss_live_idle(l) == 2 && count_fds() == fds + 4);
		ss_live_lock(l);
		CHECK(!ss_live_find_locked(l, h0));
		CHECK(ss_live_find_locked(l, s[1]->handle) == s[1]);
		s[0] = ss_live_get_locked(l, s[1]->handle, 0);
		ss_live_unlock(l);
		/* A kept entry closes its reader when a file is made in its
		 * directory (a compaction's new generation) and when it is
		 * removed: no kept reader holds files being deleted. */
		{
			pthread_t th;
			char made[4200];
			int fd;

			if (pthread_create(&th, NULL, runner, l))
				FAILF("could not start a thread");
			CHECK(look(l, s[0], reg, dir[1]) == 1 &&
			      count_fds() == fds + 4);
			ss_live_lock(l);
			ss_live_watch_locked(l, s[0], dir[1]);
			ss_live_unwatch_locked(l, s[0]);
			ss_live_put_locked(l, s[0]);
			ss_live_unlock(l);
			CHECK(s[1]->lr && count_fds() == fds + 4);
			snprintf(made, sizeof(made), "%s/base.new", dir[1]);
			fd = open(made, O_WRONLY | O_CREAT, 0600);
			if (fd < 0 || close(fd) < 0)
				FAILF("could not make '%s'", made);
			unlink(made);
			WAIT_FOR(count_fds() == fds);
			CHECK(count_fds() == fds && ss_live_idle(l) == 2);
			ss_live_lock(l);
			s[0] = ss_live_get_locked(l, s[1]->handle, 0);
			ss_live_unlock(l);
			CHECK(s[0] == s[1] && !s[0]->lr);
			CHECK(look(l, s[0], reg, dir[1]) == 1 &&
			      count_fds() == fds + 4);
			ss_live_put(l, s[0]);
			ss_live_removed(l, s[1]->handle);
			CHECK(count_fds() == fds && ss_live_idle(l) == 2);
			ss_live_stop(l);
			pthread_join(th, NULL);
			ss_live_lock(l);
			s[0] = ss_live_get_locked(l, s[1]->handle, 0);
			ss_live_unlock(l);
		}
		/* a failed creation is not kept */
		s[0]->failed = 1;
		ss_live_put(l, s[0]);
		CHECK(ss_live_idle(l) == 1 && count_fds() == fds);
		/* no bound: nothing is kept */
		ss_live_set_max_logs(l, 0);
		CHECK(ss_live_idle(l) == 0);
	}
	CHECK(ss_live_open_logs(l) == 0 && count_fds() == fds);
	ss_registry_close(reg, &err);
	ss_live_close(l);
}

static uint64_t base_gen_of(struct ss_live *l, struct ss_live_shape *s)
{
	uint64_t g;

	ss_live_lock(l);
	g = s->base_gen;
	ss_live_unlock(l);
	return g;
}

/* A watched shape's base is read once; a new one renamed into its
 * directory (a compaction) is read again. */
static void base_cache(const char *top)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	struct ss_live *l = hub_and_registry(":memory:", &reg);
	struct ss_live_shape *s;
	struct ss_live_at at;
	struct ss_base b;
	char dir[4096], handle[SS_HANDLE_MAX];
	pthread_t th;
	uint64_t gen;
	int64_t id;

	snprintf(dir, sizeof(dir), "%s/based", top);
	id = make_shape(reg, 9, dir, handle);
	if (pthread_create(&th, NULL, runner, l))
		FAILF("pthread_create");
	ss_live_lock(l);
	s = ss_live_get_locked(l, handle, id);
	ss_live_unlock(l);
	/* not watched: read at each look, never kept */
	CHECK(look(l, s, reg, dir) == 1 && !s->base_known);
	ss_live_lock(l);
	ss_live_watch_locked(l, s, dir);
	ss_live_unlock(l);
	CHECK(s->wd >= 0);
	CHECK(look(l, s, reg, dir) == 1 && s->base_known && s->base.n == 1 &&
	      s->base.g[0].gen == 0);
	/* a base written since: the watch reports it, the next look reads
	 * it */
	memset(&b, 0, sizeof(b));
	b.n = 2;
	b.g[0].gen = 1;
	b.g[0].end = ss_offset_make(100, 0);
	b.g[0].chunks = 1;
	b.g[1].gen = 0;
	ss_live_lock(l);
	gen = s->base_gen;
	ss_live_unlock(l);
	if (ss_base_write(dir, &b, &err) < 0)
		FAILF("%s", err.msg);
	/* base.tmp made, then renamed to base: two events */
	WAIT_FOR(base_gen_of(l, s) >= gen + 2);
	CHECK(base_gen_of(l, s) >= gen + 2);
	CHECK(ss_live_locate(l, s, reg, dir, &at, &err) == 1);
	CHECK(at.base.n == 2 && at.base.g[0].gen == 1);
	ss_live_at_release(&at);
	CHECK(s->base_known && s->base.g[0].gen == 1);
	ss_live_lock(l);
	ss_live_unwatch_locked(l, s);
	ss_live_put_locked(l, s);
	ss_live_unlock(l);
	ss_live_stop(l);
	pthread_join(th, NULL);
	ss_live_close(l);
	ss_registry_close(reg, NULL);
}

/* Following the registry: a removal by another process reaches the
 * entry within a poll, and until then the entry trusts what it learned
 * (no registry read per look). */
static void follow(const char *top)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg;
	struct ss_live *l;
	struct ss_live_shape *s;
	char dir[4096], path[4200], handle[SS_HANDLE_MAX];
	int64_t id;

	snprintf(path, sizeof(path), "%s/follow.db", top);
	l = hub_and_registry(path, &reg);
	snprintf(dir, sizeof(dir), "%s/followed", top);
	id = make_shape(reg, 11, dir, handle);
	ss_live_lock(l);
	s = ss_live_get_locked(l, handle, id);
	ss_live_unlock(l);
	CHECK(ss_live_follow(l, reg, &err) == 0);
	CHECK(look(l, s, reg, dir) == 1);
	/* removed (its directory left in place): the entry still trusts the
	 * registry's word, until the next poll reports the removal */
	CHECK(ss_registry_remove(reg, id, &err) == 1 &&
	      ss_registry_flush(reg, &err) == 0);
	CHECK(look(l, s, reg, dir) == 1);
	CHECK(ss_live_follow(l, reg, &err) == 0);
	CHECK(look(l, s, reg, dir) == 0);
	/* a recheck (a trimmed change log): every entry asks the registry
	 * again at its next look */
	ss_live_recheck_all(l);
	CHECK(s->alive_us == 0);
	ss_live_put(l, s);
	ss_live_close(l);
	ss_registry_close(reg, NULL);
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_live *l = ss_live_open(&err);
	struct ss_live_shape *s, *s2;
	struct fake_req a, b, c, d;
	char dir[4096], file[4200], moved[4096];
	pthread_t th;
	uint64_t seq;
	int fd, wd;

	if (argc != 2)
		FAILF("usage: test-live DIR");
	if (!l)
		FAILF("%s", err.msg);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));

	/* entries by handle, counted */
	ss_live_lock(l);
	s = ss_live_get_locked(l, "1-2", 7);
	s2 = ss_live_get_locked(l, "1-2", 7);
	CHECK(s == s2 && s->refs == 2 && s->id == 7);
	CHECK(ss_live_find_locked(l, "1-2") == s);
	CHECK(ss_live_find_locked(l, "1-3") == NULL);
	ss_live_put_locked(l, s2);
	s->creating = 1;
	ss_live_unlock(l);
	CHECK(ss_live_any_creating(l));
	s->creating = 0;
	CHECK(!ss_live_any_creating(l));

	/* a wait after the shape moved returns at once */
	ss_live_lock(l);
	seq = s->seq;
	ss_live_event_locked(l, s);
	ss_live_unlock(l);
	CHECK(ss_live_wait(l, s, &a.w, seq, ss_mono_us() + 1000000, 0,
			   on_suspend, on_wake, &a) == 1);
	CHECK(!a.suspended && ss_live_waiting(l) == 0);
	CHECK(ss_live_wait(l, s, &a.w, seq + 1, ss_mono_us() + 1000000, 1,
			   on_suspend, on_wake, &a) == 1);

	if (pthread_create(&th, NULL, runner, l))
		FAILF("could not start a thread");

	/* an event wakes every waiter of the shape, once; while they wait,
	 * the shape is the one waited on */
	CHECK(ss_live_some_waited(l) == 0);
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 0);
	CHECK(wait_req(l, s, &b, ss_mono_us() + 60000000) == 0);
	CHECK(a.suspended && b.suspended && ss_live_waiting(l) == 2);
	CHECK(ss_live_some_waited(l) == 7);
	ss_live_lock(l);
	ss_live_event_locked(l, s);
	ss_live_unlock(l);
	CHECK(a.woken == 1 && b.woken == 1 && !a.suspended &&
	      ss_live_waiting(l) == 0);
	CHECK(ss_live_some_waited(l) == 0);
	ss_live_lock(l);
	ss_live_fire_locked(l, &a.w); /* not waiting: nothing */
	ss_live_unlock(l);
	CHECK(a.woken == 1);

	/* deadlines, earliest first */
	a.woken = b.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 300000) == 0);
	CHECK(wait_req(l, s, &b, ss_mono_us() + 100000) == 0);
	CHECK(wait_req(l, s, &c, ss_mono_us() + 200000) == 0);
	WAIT_FOR(a.woken && b.woken && c.woken);
	CHECK(a.woken == 1 && b.woken == 1 && c.woken == 1);
	CHECK(b.order < c.order && c.order < a.order);

	/* a firing request leaves the heap in order */
	a.woken = b.woken = c.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 400000) == 0);
	CHECK(wait_req(l, s, &b, ss_mono_us() + 60000000) == 0);
	CHECK(wait_req(l, s, &c, ss_mono_us() + 100000) == 0);
	ss_live_lock(l);
	ss_live_fire_locked(l, &b.w);
	ss_live_unlock(l);
	CHECK(b.woken == 1);
	WAIT_FOR(a.woken && c.woken);
	CHECK(c.order < a.order && ss_live_waiting(l) == 0);

	/* a write in the watched directory wakes, and so does its removal,
	 * which also invalidates what requests cached */
	snprintf(dir, sizeof(dir), "%s/shape", argv[1]);
	snprintf(file, sizeof(file), "%s/head", dir);
	if (mkdir(dir, 0700) < 0)
		FAILF("could not make '%s'", dir);
	ss_live_lock(l);
	ss_live_watch_locked(l, s, dir);
	ss_live_watch_locked(l, s, dir);
	ss_live_unwatch_locked(l, s);
	CHECK(s->wd >= 0 && s->watchers == 1);
	s->snap_done = 1;
	s->alive_us = 5;
	ss_live_unlock(l);
	a.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 0);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
		FAILF("could not write '%s'", file);
	WAIT_FOR(a.woken);
	CHECK(a.woken == 1 && s->snap_done == 1);
	a.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 0);
	unlink(file);
	rmdir(dir);
	WAIT_FOR(a.woken);
	CHECK(a.woken == 1);
	WAIT_FOR(s->snap_done == 0);
	ss_live_lock(l);
	CHECK(s->snap_done == 0 && s->alive_us == 0 && s->lr_stale == 1);
	ss_live_unwatch_locked(l, s);
	ss_live_unlock(l);

	/* removal by handle */
	a.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 0);
	ss_live_removed(l, "1-2");
	ss_live_removed(l, "9-9");
	CHECK(a.woken == 1);

	/* An idle entry keeps its watch: the next request gets it back
	 * watching, and a write wakes it with no new watch. A moved
	 * directory drops the watch; the next watch is on the path again. */
	ss_live_set_max_logs(l, 4);
	snprintf(moved, sizeof(moved), "%s/moved", argv[1]);
	if (mkdir(dir, 0700) < 0)
		FAILF("could not make '%s'", dir);
	ss_live_lock(l);
	s2 = ss_live_get_locked(l, "5-6", 8);
	ss_live_watch_locked(l, s2, dir);
	wd = s2->wd;
	ss_live_unwatch_locked(l, s2);
	ss_live_put_locked(l, s2);
	ss_live_unlock(l);
	CHECK(wd >= 0 && ss_live_idle(l) == 1);
	ss_live_lock(l);
	CHECK(ss_live_get_locked(l, "5-6", 8) == s2 && s2->wd == wd);
	/* the definition learned for the handle stays with the entry */
	ss_live_set_def_locked(s2, "{\"table\":\"t\"}");
	ss_live_set_def_locked(s2, "{\"table\":\"u\"}");
	CHECK(s2->def && !strcmp(s2->def, "{\"table\":\"t\"}"));
	ss_live_watch_locked(l, s2, dir);
	CHECK(s2->wd == wd && s2->watchers == 1);
	ss_live_unlock(l);
	CHECK(ss_live_idle(l) == 0);
	b.woken = 0;
	CHECK(wait_req(l, s2, &b, ss_mono_us() + 60000000) == 0);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
		FAILF("could not write '%s'", file);
	WAIT_FOR(b.woken);
	CHECK(b.woken == 1);
	ss_live_lock(l);
	ss_live_unwatch_locked(l, s2);
	s2->snap_done = 1;
	ss_live_put_locked(l, s2);
	ss_live_unlock(l);
	if (rename(dir, moved) < 0)
		FAILF("could not move '%s'", dir);
	WAIT_FOR(s2->wd < 0);
	ss_live_lock(l);
	CHECK(s2->wd < 0 && s2->lr_stale == 1 && s2->snap_done == 0);
	CHECK(s2->def && !strcmp(s2->def, "{\"table\":\"t\"}"));
	CHECK(ss_live_get_locked(l, "5-6", 8) == s2);
	ss_live_unlock(l);
	if (mkdir(dir, 0700) < 0)
		FAILF("could not make '%s'", dir);
	ss_live_lock(l);
	ss_live_watch_locked(l, s2, dir);
	CHECK(s2->wd >= 0);
	ss_live_unwatch_locked(l, s2);
	ss_live_put_locked(l, s2);
	ss_live_unlock(l);
	ss_live_set_max_logs(l, 0);
	CHECK(ss_live_idle(l) == 0);
	snprintf(file, sizeof(file), "%s/head", moved);
	unlink(file);
	rmdir(moved);
	rmdir(dir);

	/* stopping wakes every waiter; then waits return at once */
	a.woken = d.woken = 0;
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 0);
	CHECK(wait_req(l, s, &d, ss_mono_us() + 60000000) == 0);
	ss_live_stop(l);
	pthread_join(th, NULL);
	CHECK(a.woken == 1 && d.woken == 1 && ss_live_waiting(l) == 0);
	CHECK(wait_req(l, s, &a, ss_mono_us() + 60000000) == 1);

	/* locate: a failed creation, one in progress, a shape the registry
	 * does not have */
	{
		struct ss_registry_opts o;
		struct ss_registry *reg = NULL;
		struct ss_live_at at;

		ss_registry_opts_init(&o);
		o.create = 1;
		if (ss_registry_open(":memory:", &o, &reg, &err) < 0)
			FAILF("%s", err.msg);
		ss_live_lock(l);
		s->failed = 1;
		s->seq = 41;
		ss_live_unlock(l);
		CHECK(ss_live_locate(l, s, reg, dir, &at, &err) == -1 &&
		      at.seen_seq == 41);
		ss_live_lock(l);
		s->failed = 0;
		s->creating = 1;
		s->chunks_ready = 2;
		ss_live_unlock(l);
		CHECK(ss_live_locate(l, s, reg, dir, &at, &err) == 1);
		CHECK(at.ready == 2 && !at.done && !at.locked);
		ss_live_at_release(&at);
		ss_live_lock(l);
		s->creating = 0;
		ss_live_unlock(l);
		CHECK(ss_live_locate(l, s, reg, dir, &at, &err) == 0 &&
		      !at.locked);
		ss_registry_close(reg, &err);
	}

	ss_live_put(l, s);
	ss_live_lock(l);
	CHECK(ss_live_find_locked(l, "1-2") == NULL);
	ss_live_unlock(l);
	ss_live_close(l);
	ss_live_close(NULL);
	open_logs(argv[1]);
	base_cache(argv[1]);
	follow(argv[1]);
	return unit_report();
}
