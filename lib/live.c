/*
 * live.c — the hub of waiting requests: per-shape entries, the deadline
 * heap, inotify and explicit wake-ups (see live.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "live.h"
#include "registry_cursor.h"
#include "snapshot.h"

#define BUCKETS 4096
#define LRU_SHAPE(k) SS_CONTAINER_OF(k, struct ss_live_shape, lru)
#define IDLE_SHAPE(k) SS_CONTAINER_OF(k, struct ss_live_shape, idle)

struct ss_live {
	pthread_mutex_t mu;
	struct ss_live_shape *table[BUCKETS];	 /* by handle */
	struct ss_live_shape *wd_table[BUCKETS]; /* by inotify watch */
	struct ss_live_waiter **heap;		 /* by deadline */
	size_t heap_n, heap_alloc;
	atomic_size_t waiting;
	atomic_int stopping;
	int ino_fd;  /* inotify */
	int wake_fd; /* eventfd: wakes the waker */
	/* shapes with an open log reader, most recently used first */
	struct ss_dlist lru;
	size_t max_logs;
	int64_t alive_us;     /* how long the registry's word is trusted */
	uint64_t recheck_gen; /* bumped by ss_live_recheck_all */
	/* ss_live_follow's (its caller's thread) */
	struct ss_registry_cursor *cursor;
	int following;
	/* shapes no request holds, kept for the next one (see live.h),
	 * most recently put first */
	struct ss_dlist idle;
};

static unsigned bucket(const char *s)
{
	return (unsigned)(ss_hash64(s, strlen(s)) % BUCKETS);
}

static void poke(struct ss_live *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->wake_fd, &one, sizeof(one));

	(void)n; /* full: the waker is awake anyway */
}

struct ss_live *ss_live_open(struct ss_err *err)
{
	struct ss_live *l = ss_xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	l->alive_us = SS_LIVE_ALIVE_US;
	l->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->ino_fd < 0 || l->wake_fd < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not set up inotify: %s",
			   strerror(errno));
		ss_live_close(l);
		return NULL;
	}
	return l;
}

static void free_shape_locked(struct ss_live *l, struct ss_live_shape *s);

void ss_live_close(struct ss_live *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	while (l->idle.tail)
		free_shape_locked(l, IDLE_SHAPE(l->idle.tail));
	pthread_mutex_unlock(&l->mu);
	if (l->ino_fd >= 0)
		close(l->ino_fd);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	ss_registry_cursor_free(l->cursor);
	free(l->heap);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void idle_trim_locked(struct ss_live *l);

void ss_live_set_alive_us(struct ss_live *l, int64_t us)
{
	pthread_mutex_lock(&l->mu);
	l->alive_us = us > 0 ? us : SS_LIVE_ALIVE_US;
	pthread_mutex_unlock(&l->mu);
}

void ss_live_recheck_all(struct ss_live *l)
{
	struct ss_live_shape *s;
	int i;

	pthread_mutex_lock(&l->mu);
	/* a look under way keeps what it found to itself */
	l->recheck_gen++;
	for (i = 0; i < BUCKETS; i++)
		for (s = l->table[i]; s; s = s->next)
			s->alive_us = 0;
	pthread_mutex_unlock(&l->mu);
}

static int follow_removed(int64_t id, const char *handle, void *ctx,
			  struct ss_err *err)
{
	struct ss_live *l = ctx;

	(void)id;
	(void)err;
	if (handle)
		ss_live_removed(l, handle);
	else
		ss_live_recheck_all(l);
	return 0;
}

static int follow_reload(void *ctx, struct ss_err *err)
{
	(void)err;
	ss_live_recheck_all(ctx);
	return 0;
}

int ss_live_follow(struct ss_live *l, struct ss_registry *reg,
		   struct ss_err *err)
{
	static const struct ss_registry_cursor_ops ops = {NULL, follow_removed,
							  follow_reload};
	int rc;

	if (!l->cursor)
		l->cursor = ss_registry_cursor_new(
		    reg, SS_REGISTRY_CURSOR_NO_LIST, &ops, l);
	rc = ss_registry_cursor_poll(l->cursor, 0, err);
	if (rc < 0) {
		/* Removals may go unseen: back to asking the registry. */
		ss_live_set_alive_us(l, 0);
		ss_live_recheck_all(l);
		l->following = 0;
		ss_registry_cursor_free(l->cursor);
		l->cursor = NULL;
		return -1;
	}
	if (!l->following) {
		/* From now on every removal is reported; what was learned
		 * before the first poll is asked again. */
		ss_live_set_alive_us(l, SS_LIVE_FOLLOW_ALIVE_US);
		ss_live_recheck_all(l);
		l->following = 1;
	}
	return 0;
}

void ss_live_set_max_logs(struct ss_live *l, size_t max)
{
	pthread_mutex_lock(&l->mu);
	l->max_logs = max;
	idle_trim_locked(l);
	pthread_mutex_unlock(&l->mu);
}

size_t ss_live_idle(struct ss_live *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->idle.n;
	pthread_mutex_unlock(&l->mu);
	return n;
}

size_t ss_live_open_logs(struct ss_live *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->lru.n;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* ---- the open readers, least recently used last (l->mu held) ---- */

static void lru_unlink_locked(struct ss_live *l, struct ss_live_shape *s)
{
	ss_dlist_unlink(&l->lru, &s->lru);
}

static void lru_front_locked(struct ss_live *l, struct ss_live_shape *s)
{
	ss_dlist_push_front(&l->lru, &s->lru);
}

/* Close s's reader unless it is being read (its lr_mu is only tried,
 * so that the order lr_mu before l->mu of ss_live_locate cannot
 * deadlock). */
static void close_reader_locked(struct ss_live *l, struct ss_live_shape *s)
{
	if (!s->lr || pthread_mutex_trylock(&s->lr_mu))
		return;
	ss_log_reader_close(s->lr);
	s->lr = NULL;
	lru_unlink_locked(l, s);
	pthread_mutex_unlock(&s->lr_mu);
}

/*
 * Close the least recently used readers until at most `max` are open,
 * skipping `keep` (whose lr_mu the caller holds) and readers being read
 * (their lr_mu is taken: only tried, so that the order lr_mu before
 * l->mu of ss_live_locate cannot deadlock).
 */
static void lru_trim_locked(struct ss_live *l, struct ss_live_shape *keep,
			    size_t max)
{
	struct ss_dlink *k = l->lru.tail, *prev;

	while (k && l->lru.n > max) {
		struct ss_live_shape *s = LRU_SHAPE(k);

		prev = k->prev;
		if (s != keep)
			close_reader_locked(l, s);
		k = prev;
	}
}

void ss_live_lock(struct ss_live *l)
{
	pthread_mutex_lock(&l->mu);
}

void ss_live_unlock(struct ss_live *l)
{
	pthread_mutex_unlock(&l->mu);
}

static void idle_unlink_locked(struct ss_live *l, struct ss_live_shape *s);

struct ss_live_shape *ss_live_get_locked(struct ss_live *l, const char *handle,
					 int64_t id)
{
	unsigned b = bucket(handle);
	struct ss_live_shape *s;

	for (s = l->table[b]; s; s = s->next)
		if (!strcmp(s->handle, handle)) {
			if (s->refs++ == 0)
				idle_unlink_locked(l, s);
			return s;
		}
	s = ss_xcalloc(1, sizeof(*s));
	snprintf(s->handle, sizeof(s->handle), "%s", handle);
	s->id = id;
	s->refs = 1;
	s->wd = -1;
	pthread_mutex_init(&s->lr_mu, NULL);
	s->next = l->table[b];
	l->table[b] = s;
	return s;
}

void ss_live_set_def_locked(struct ss_live_shape *s, const char *def)
{
	if (!s->def && def)
		s->def = ss_xstrdup(def);
}

struct ss_live_shape *ss_live_find_locked(struct ss_live *l, const char *handle)
{
	struct ss_live_shape *s;

	for (s = l->table[bucket(handle)]; s; s = s->next)
		if (!strcmp(s->handle, handle))
			return s;
	return NULL;
}

void ss_live_ref_locked(struct ss_live *l, struct ss_live_shape *s)
{
	(void)l;
	s->refs++;
}

static void wd_unlink_locked(struct ss_live *l, struct ss_live_shape *s)
{
	struct ss_live_shape **pp;

	if (s->wd < 0)
		return;
	for (pp = &l->wd_table[(unsigned)s->wd % BUCKETS]; *pp;
	     pp = &(*pp)->wd_next)
		if (*pp == s) {
			*pp = s->wd_next;
			break;
		}
	s->wd_next = NULL;
}

/* ---- entries no request holds (l->mu held) ---- */

static void idle_unlink_locked(struct ss_live *l, struct ss_live_shape *s)
{
	ss_dlist_unlink(&l->idle, &s->idle);
}

static void free_shape_locked(struct ss_live *l, struct ss_live_shape *s)
{
	struct ss_live_shape **pp;

	idle_unlink_locked(l, s);
	if (s->wd >= 0) {
		inotify_rm_watch(l->ino_fd, s->wd);
		wd_unlink_locked(l, s);
	}
	for (pp = &l->table[bucket(s->handle)]; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	lru_unlink_locked(l, s);
	ss_log_reader_close(s->lr);
	pthread_mutex_destroy(&s->lr_mu);
	free(s->def);
	free(s);
}

/* Free the least recently put idle entries beyond max_logs. */
static void idle_trim_locked(struct ss_live *l)
{
	while (l->idle.tail && l->idle.n > l->max_logs)
		free_shape_locked(l, IDLE_SHAPE(l->idle.tail));
}

void ss_live_put_locked(struct ss_live *l, struct ss_live_shape *s)
{
	if (--s->refs > 0)
		return;
	/* A creation that failed or did not finish in this process is not
	 * kept: the next request asks the registry afresh. */
	if (!l->max_logs || s->creating || s->failed) {
		free_shape_locked(l, s);
		return;
	}
	ss_dlist_push_front(&l->idle, &s->idle);
	idle_trim_locked(l);
}

void ss_live_put(struct ss_live *l, struct ss_live_shape *s)
{
	pthread_mutex_lock(&l->mu);
	ss_live_put_locked(l, s);
	pthread_mutex_unlock(&l->mu);
}

void ss_live_watch_locked(struct ss_live *l, struct ss_live_shape *s,
			  const char *dir)
{
	s->watchers++;
	if (s->wd >= 0)
		return;
	s->wd = inotify_add_watch(l->ino_fd, dir,
				  IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
				      IN_CREATE | IN_DELETE_SELF |
				      IN_MOVE_SELF | IN_ONLYDIR);
	if (s->wd >= 0) {
		s->wd_next = l->wd_table[(unsigned)s->wd % BUCKETS];
		l->wd_table[(unsigned)s->wd % BUCKETS] = s;
	}
}

void ss_live_unwatch_locked(struct ss_live *l, struct ss_live_shape *s)
{
	/* The watch itself stays with the entry, for its next request:
	 * removed when the entry is freed or its directory goes. */
	(void)l;
	s->watchers--;
}

/* ---- the deadline heap ---- */

static void heap_swap(struct ss_live *l, size_t a, size_t b)
{
	struct ss_live_waiter *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct ss_live *l, size_t i)
{
	while (i > 0 &&
	       l->heap[(i - 1) / 2]->deadline_us > l->heap[i]->deadline_us) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ss_live *l, size_t i)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < l->heap_n &&
		    l->heap[a]->deadline_us < l->heap[m]->deadline_us)
			m = a;
		if (b < l->heap_n &&
		    l->heap[b]->deadline_us < l->heap[m]->deadline_us)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_del(struct ss_live *l, struct ss_live_waiter *w)
{
	size_t i = w->heap_idx;

	l->heap_n--;
	if (i != l->heap_n) {
		l->heap[i] = l->heap[l->heap_n];
		l->heap[i]->heap_idx = i;
		heap_up(l, i);
		heap_down(l, l->heap[i]->heap_idx);
	}
}

void ss_live_fire_locked(struct ss_live *l, struct ss_live_waiter *w)
{
	if (!w->active)
		return;
	w->active = 0;
	heap_del(l, w);
	if (w->prev)
		w->prev->next = w->next;
	else
		w->sh->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	atomic_fetch_sub(&l->waiting, 1);
	w->wake(w->ctx);
}

void ss_live_event_locked(struct ss_live *l, struct ss_live_shape *s)
{
	s->seq++;
	while (s->waiters)
		ss_live_fire_locked(l, s->waiters);
}

/* An idle entry's reader may hold files that are being replaced (a
 * compaction's new generation) or removed: close it, so that their space
 * is not held until the entry is reused or let go. */
static void idle_close_reader_locked(struct ss_live *l, struct ss_live_shape *s)
{
	if (!s->refs)
		close_reader_locked(l, s);
}

/* s's directory may hold another base now: the one kept is not used, and
 * a read under way is not kept (locate_base). */
static void forget_base_locked(struct ss_live_shape *s)
{
	s->base_known = 0;
	s->base_gen++;
}

void ss_live_invalidate_locked(struct ss_live *l, struct ss_live_shape *s)
{
	forget_base_locked(s);
	s->alive_us = 0;
	s->snap_done = 0;
	s->lr_stale = 1;
	idle_close_reader_locked(l, s);
	ss_live_event_locked(l, s);
}

void ss_live_removed(struct ss_live *l, const char *handle)
{
	struct ss_live_shape *s;

	pthread_mutex_lock(&l->mu);
	s = ss_live_find_locked(l, handle);
	if (s)
		ss_live_invalidate_locked(l, s);
	pthread_mutex_unlock(&l->mu);
}

int ss_live_wait(struct ss_live *l, struct ss_live_shape *s,
		 struct ss_live_waiter *w, uint64_t seen_seq,
		 int64_t deadline_us, int stopping, void (*suspend)(void *ctx),
		 void (*wake)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&l->mu);
	if (s->seq != seen_seq || stopping || atomic_load(&l->stopping)) {
		pthread_mutex_unlock(&l->mu);
		return 1;
	}
	w->wake = wake;
	w->ctx = ctx;
	w->sh = s;
	w->deadline_us = deadline_us;
	w->active = 1;
	w->prev = NULL;
	w->next = s->waiters;
	if (w->next)
		w->next->prev = w;
	s->waiters = w;
	SS_GROW(l->heap, l->heap_alloc, l->heap_n + 1);
	l->heap[l->heap_n] = w;
	w->heap_idx = l->heap_n++;
	heap_up(l, w->heap_idx);
	atomic_fetch_add(&l->waiting, 1);
	suspend(ctx);
	pthread_mutex_unlock(&l->mu);
	poke(l);
	return 0;
}

size_t ss_live_waiting(struct ss_live *l)
{
	return atomic_load(&l->waiting);
}

int64_t ss_live_some_waited(struct ss_live *l)
{
	int64_t id = 0;

	pthread_mutex_lock(&l->mu);
	if (l->heap_n)
		id = l->heap[0]->sh->id;
	pthread_mutex_unlock(&l->mu);
	return id;
}

int ss_live_any_creating(struct ss_live *l)
{
	struct ss_live_shape *s;
	int i, busy = 0;

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < BUCKETS && !busy; i++)
		for (s = l->table[i]; s; s = s->next)
			if (s->creating)
				busy = 1;
	pthread_mutex_unlock(&l->mu);
	return busy;
}

/* The inotify queue overflowed: every entry forgets its base and its
 * waiters look again. */
static void overflowed_locked(struct ss_live *l)
{
	struct ss_live_shape *s;
	int i;

	for (i = 0; i < BUCKETS; i++)
		for (s = l->table[i]; s; s = s->next) {
			forget_base_locked(s);
			ss_live_event_locked(l, s);
		}
}

/* Wake the waiters of the shapes whose directories changed. */
static void inotify_events(struct ss_live *l)
{
	char buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(l->ino_fd, buf, sizeof(buf)), off = 0;

	pthread_mutex_lock(&l->mu);
	while (n > 0 && off < n) {
		const struct inotify_event *ev = (const void *)(buf + off);
		struct ss_live_shape *s;

		if (ev->mask & IN_Q_OVERFLOW) {
			/* Events were lost: any directory may have moved on
			 * (a new base, appends). */
			overflowed_locked(l);
			off += (ssize_t)(sizeof(*ev) + ev->len);
			continue;
		}

		for (s = l->wd_table[(unsigned)ev->wd % BUCKETS]; s;
		     s = s->wd_next)
			if (s->wd == ev->wd)
				break;
		if (s) {
			if (ev->mask &
			    (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED))
				ss_live_invalidate_locked(l, s);
			else
				ss_live_event_locked(l, s);
			/* appends write in place; anything made in the
			 * directory is something else */
			if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
				idle_close_reader_locked(l, s);
				forget_base_locked(s);
			}
			if (ev->mask & IN_IGNORED) {
				wd_unlink_locked(l, s);
				s->wd = -1;
				forget_base_locked(s);
			} else if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF)) {
				/* The watch follows the moved directory: a
				 * later request watches the path again. */
				inotify_rm_watch(l->ino_fd, s->wd);
				wd_unlink_locked(l, s);
				s->wd = -1;
			}
		}
		off += (ssize_t)sizeof(*ev) + ev->len;
	}
	pthread_mutex_unlock(&l->mu);
}

void ss_live_run(struct ss_live *l)
{
	while (!atomic_load(&l->stopping)) {
		struct pollfd pfd[2] = {{l->ino_fd, POLLIN, 0},
					{l->wake_fd, POLLIN, 0}};
		int timeout = 1000;
		int64_t now = ss_mono_us();

		pthread_mutex_lock(&l->mu);
		while (l->heap_n && l->heap[0]->deadline_us <= now)
			ss_live_fire_locked(l, l->heap[0]);
		if (l->heap_n) {
			int64_t d = (l->heap[0]->deadline_us - now) / 1000 + 1;

			timeout = d < timeout ? (int)d : timeout;
		}
		pthread_mutex_unlock(&l->mu);
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t n = read(l->wake_fd, &v, sizeof(v));

			(void)n;
		}
		if (pfd[0].revents & POLLIN)
			inotify_events(l);
	}
	/* Shutting down: every waiting request answers now. */
	pthread_mutex_lock(&l->mu);
	while (l->heap_n)
		ss_live_fire_locked(l, l->heap[0]);
	pthread_mutex_unlock(&l->mu);
}

void ss_live_stop(struct ss_live *l)
{
	atomic_store(&l->stopping, 1);
	poke(l);
}

void ss_live_at_release(struct ss_live_at *at)
{
	if (at->locked)
		pthread_mutex_unlock(&at->locked->lr_mu);
	at->locked = NULL;
	at->lr = NULL;
}

/* What a failed look means: files found damaged make the shape gone;
 * anything else (descriptors, I/O, the registry) is for now only. */
static int look_failed(const struct ss_err *err)
{
	return err && err->code == SS_ERR_INPUT ? 0 : -2;
}

/* Open or refresh s's shared reader (lr_mu held). */
static int reader_ready(struct ss_live *l, struct ss_live_shape *s,
			const char *dir, int stale, struct ss_err *err)
{
	int rc = 0;

	if (stale || !s->lr) {
		ss_log_reader_close(s->lr);
		s->lr = NULL;
		/* Room first: the reader about to open takes descriptors. */
		pthread_mutex_lock(&l->mu);
		lru_unlink_locked(l, s);
		if (l->max_logs)
			lru_trim_locked(l, s, l->max_logs - 1);
		pthread_mutex_unlock(&l->mu);
		rc = ss_log_reader_open(dir, &s->lr, err);
	} else if (ss_log_reader_refresh(s->lr, NULL, err) < 0) {
		ss_log_reader_close(s->lr);
		s->lr = NULL;
		rc = -1;
	}
	pthread_mutex_lock(&l->mu);
	if (s->lr) {
		lru_front_locked(l, s);
		if (l->max_logs)
			lru_trim_locked(l, s, l->max_logs);
	} else {
		lru_unlink_locked(l, s);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* s's base: the one kept while its directory is watched and nothing was
 * made in it since, else read (and kept when the watch was on before the
 * read and reported nothing during it). */
static int locate_base(struct ss_live *l, struct ss_live_shape *s,
		       const char *dir, struct ss_base *b, struct ss_err *err)
{
	uint64_t gen;
	int watched;

	pthread_mutex_lock(&l->mu);
	if (s->base_known && s->wd >= 0) {
		*b = s->base;
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	gen = s->base_gen;
	watched = s->wd >= 0;
	pthread_mutex_unlock(&l->mu);
	if (ss_base_read(dir, b, err) < 0)
		return -1;
	pthread_mutex_lock(&l->mu);
	if (watched && s->wd >= 0 && s->base_gen == gen) {
		s->base = *b;
		s->base_known = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}

int ss_live_locate(struct ss_live *l, struct ss_live_shape *s,
		   struct ss_registry *reg, const char *dir,
		   struct ss_live_at *at, struct ss_err *err)
{
	int creating, failed, stale;

	memset(at, 0, sizeof(*at));
	pthread_mutex_lock(&l->mu);
	creating = s->creating;
	failed = s->failed;
	at->ready = s->chunks_ready;
	at->done = s->done;
	at->seen_seq = s->seq;
	pthread_mutex_unlock(&l->mu);
	if (failed)
		return -1;
	/* A compacted shape: its base, not its snapshot, starts the log
	 * (the snapshot files may be gone). A damaged record leaves the
	 * shape unservable: as gone. */
	if (!creating && locate_base(l, s, dir, &at->base, err) < 0)
		return look_failed(err);
	if (!creating) {
		struct ss_shape_rec rec;
		int64_t now = ss_mono_us(), alive, ttl;
		uint64_t recheck;
		int found, known_done;

		pthread_mutex_lock(&l->mu);
		alive = s->alive_us;
		ttl = l->alive_us;
		recheck = l->recheck_gen;
		known_done = s->snap_done;
		if (known_done)
			at->ready = s->snap_chunks;
		pthread_mutex_unlock(&l->mu);
		if (now - alive > ttl || !alive) {
			ss_shape_rec_init(&rec);
			found = ss_registry_get_by_id(reg, s->id, &rec, err);
			ss_shape_rec_release(&rec);
			if (found < 0)
				return -2;
			if (found == 0)
				return 0;
		}
		if (known_done) {
			at->done = 1;
		} else {
			if (ss_snapshot_state(dir, &at->ready, &at->done, err) <
			    0)
				return look_failed(err);
			if (at->base.g[0].gen)
				at->done = 1; /* compacted: the snapshot
						 was complete */
			if (!at->done)
				return 0;
		}
		pthread_mutex_lock(&l->mu);
		if (s->seq == at->seen_seq && l->recheck_gen == recheck) {
			/* Nothing moved while we looked: cache it. */
			if (now - alive > ttl || !alive)
				s->alive_us = now;
			s->snap_done = 1;
			s->snap_chunks = at->ready;
		}
		pthread_mutex_unlock(&l->mu);
	}
	if (!at->done)
		return 1;
	pthread_mutex_lock(&l->mu);
	stale = s->lr_stale;
	s->lr_stale = 0;
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_lock(&s->lr_mu);
	at->locked = s;
	if (reader_ready(l, s, dir, stale, err) < 0) {
		ss_live_at_release(at);
		return look_failed(err);
	}
	at->lr = s->lr;
	ss_log_reader_head(at->lr, &at->head);
	if (at->head.entries)
		at->last = at->head.last;
	else
		at->last = ss_offset_make(0, at->ready ? at->ready - 1 : 0);
	return 1;
}
