/*
 * live.h — the hub of serve's waiting requests: one entry per shape that
 * requests are using (its creation state, what serve learned of it, its
 * waiting requests), the deadlines of every wait in one heap, and the
 * wake-ups: an inotify watch on each watched shape directory (store
 * rewrites `head` at every commit, snapshot chunks are renamed in,
 * removal moves the directory) and explicit events (creation progress,
 * removal by DELETE or eviction).
 *
 * One mutex guards the hub and every shape's fields: functions named
 * _locked expect it held (ss_live_lock). A waiter is woken once, by an
 * event on its shape, its deadline, or the hub stopping; its wake
 * callback runs with the mutex held and must not take it.
 *
 * The waker thread runs ss_live_run, which returns when ss_live_stop is
 * called, after waking every waiter.
 *
 * Open logs: each shape in use keeps one log reader (up to four
 * descriptors) between requests. At most ss_live_set_max_logs of them
 * stay open: the least recently used reader that no request is reading
 * is closed first, so descriptors do not grow with the number of shapes
 * that clients follow (a closed reader is opened again at the shape's
 * next look).
 *
 * Idle entries: when the last request of a shape ends, its entry (what
 * serve learned of the shape, its open reader, its directory watch) is
 * kept for the next request, as a client's next long-poll comes right
 * after the last one's answer. At most as many as ss_live_set_max_logs
 * are kept, the least recently used freed first; with no bound set, an
 * entry is freed with its last reference. A creation that failed or did
 * not finish is never kept. A kept entry closes its reader when its
 * directory gets a new file or moves (a compaction's new generation, a
 * removal): no kept reader holds files that are deleted.
 */
#ifndef SS_LIVE_H
#define SS_LIVE_H

#include <pthread.h>
#include <stdint.h>

#include "base.h"
#include "log.h"
#include "offset.h"
#include "registry.h"
#include "shape.h"
#include "util.h"

struct ss_live;
struct ss_live_shape;

/* A waiting request. Embedded in the caller's request; the fields are
 * the hub's (zero it once before first use). */
struct ss_live_waiter {
	void (*wake)(void *ctx);
	void *ctx;
	struct ss_live_shape *sh;
	int64_t deadline_us;
	size_t heap_idx;
	struct ss_live_waiter *prev, *next;
	int active;
};

/*
 * What the process knows about a shape beyond the registry. Found by
 * handle; lives while referenced (ss_live_get_locked / ss_live_put),
 * then maybe idle (above). The fields under "creation" and "cache" are
 * the caller's, read and written with the hub's mutex held; the log
 * reader with lr_mu held.
 */
struct ss_live_shape {
	char handle[SS_HANDLE_MAX];
	int64_t id;
	/* the registry's canonical definition of the handle, once known
	 * (ss_live_set_def_locked): a handle names one definition for
	 * good, so a request may check its own against this instead of
	 * the registry (whether the shape still exists is ss_live_locate's
	 * question) */
	char *def;
	/* creation in this process */
	int creating, failed, fail_status;
	char fail_msg[300];
	uint64_t chunks_ready;
	int done;
	uint64_t seq; /* bumped on every event */
	/* cache of what requests learned: the snapshot once complete does
	 * not change; the registry is asked again after a while or when
	 * the directory moves (ss_live_invalidate_locked clears these) */
	int snap_done;
	uint64_t snap_chunks;
	int64_t alive_us;
	/* its base (lib/base.h), read once while the directory is watched:
	 * a compaction writes a new one by a rename into it, which the
	 * watch reports (base_gen counts such events) */
	struct ss_base base;
	int base_known;
	uint64_t base_gen;
	/* one log reader shared by the shape's requests (lr_mu), reopened
	 * when the directory moved (lr_stale) */
	pthread_mutex_t lr_mu;
	struct ss_log_reader *lr;
	int lr_stale;
	/* the hub's */
	struct ss_dlink lru;  /* on the hub's list of open readers */
	struct ss_dlink idle; /* no reference: on the hub's idle list */
	int refs;
	int wd, watchers;
	struct ss_live_waiter *waiters;
	struct ss_live_shape *next, *wd_next;
};

/* A new hub (*new*: ss_live_close), or NULL with err (inotify or eventfd
 * could not be set up: SS_ERR_RUNTIME). */
struct ss_live *ss_live_open(struct ss_err *err);

/* Free the hub and its idle entries; every shape must have been put.
 * NULL is a no-op. */
void ss_live_close(struct ss_live *l);

/* Keep at most max shapes' log readers open (0: no bound, the default),
 * and at most max idle entries (0: none). A reader being read is never
 * closed, so the count may pass max by the number of requests looking
 * at their shapes at that moment. */
void ss_live_set_max_logs(struct ss_live *l, size_t max);

/* How long the registry's word that a shape exists is trusted (us; 0:
 * SS_LIVE_ALIVE_US). A process that learns of removals otherwise (it
 * follows the registry's change log, and calls ss_live_removed for each)
 * may trust it longer. */
void ss_live_set_alive_us(struct ss_live *l, int64_t us);
/* Ask the registry again at every entry's next look (the change log was
 * trimmed past its follower: removals may have gone unseen). */
void ss_live_recheck_all(struct ss_live *l);

/* How long the registry's word is trusted while ss_live_follow follows
 * its change log: a removal is reported within a poll, this is only the
 * bound should one go unseen. */
#define SS_LIVE_FOLLOW_ALIVE_US 10000000

/*
 * Follow reg's change log (lib/registry_cursor), to be called every 100
 * ms or so, always from the same thread: each shape removed (by any
 * process) is invalidated at once (ss_live_removed), a trimmed log makes
 * every entry ask again, and once a first poll succeeded the registry's
 * word that a shape exists is trusted for SS_LIVE_FOLLOW_ALIVE_US, so
 * that a live answer does not read the registry. Returns 0, or -1 with
 * err (the registry failed): back to SS_LIVE_ALIVE_US until a poll
 * succeeds again.
 */
int ss_live_follow(struct ss_live *l, struct ss_registry *reg,
		   struct ss_err *err);

/* Entries kept with no reference now. */
size_t ss_live_idle(struct ss_live *l);

/* Log readers open now. */
size_t ss_live_open_logs(struct ss_live *l);

void ss_live_lock(struct ss_live *l);
void ss_live_unlock(struct ss_live *l);

/* The entry of handle, made (with id) if there is none: +1 reference. */
struct ss_live_shape *ss_live_get_locked(struct ss_live *l, const char *handle,
					 int64_t id);

/* Remember def as s's definition (copied), if none is known yet. */
void ss_live_set_def_locked(struct ss_live_shape *s, const char *def);

/* The entry of handle or NULL; no reference taken. */
struct ss_live_shape *ss_live_find_locked(struct ss_live *l,
					  const char *handle);

/* Take one more reference to s. */
void ss_live_ref_locked(struct ss_live *l, struct ss_live_shape *s);

/* Drop a reference; after the last one s is kept idle (see above) or
 * freed with its watch and its log reader. */
void ss_live_put_locked(struct ss_live *l, struct ss_live_shape *s);
void ss_live_put(struct ss_live *l, struct ss_live_shape *s);

/* Watch (count one more watcher of) s's directory dir; unwatch drops
 * one. The watch stays until s is freed or the directory moves or goes
 * (a later watch then watches dir again). A directory that cannot be
 * watched is not: its waiters wake at their deadlines. */
void ss_live_watch_locked(struct ss_live *l, struct ss_live_shape *s,
			  const char *dir);
void ss_live_unwatch_locked(struct ss_live *l, struct ss_live_shape *s);

/* An event on s: bump its seq and wake every waiter. */
void ss_live_event_locked(struct ss_live *l, struct ss_live_shape *s);

/* The shape's directory moved or went (removal): forget the cache, mark
 * the log reader stale, and signal the event. */
void ss_live_invalidate_locked(struct ss_live *l, struct ss_live_shape *s);

/* ss_live_invalidate_locked on the entry of handle, if any (takes the
 * mutex). */
void ss_live_removed(struct ss_live *l, const char *handle);

/*
 * Wait on s until an event or deadline_us (monotonic). Returns 1 without
 * waiting when s's seq is not seen_seq any more (an event happened since
 * the caller looked) or stopping is set: look again. Else enqueues w
 * with wake(ctx), calls suspend(ctx) with the mutex held (so that no
 * wake-up can come before it), and returns 0.
 */
int ss_live_wait(struct ss_live *l, struct ss_live_shape *s,
		 struct ss_live_waiter *w, uint64_t seen_seq,
		 int64_t deadline_us, int stopping, void (*suspend)(void *ctx),
		 void (*wake)(void *ctx), void *ctx);

/* Wake w now if it waits (its wake callback runs). */
void ss_live_fire_locked(struct ss_live *l, struct ss_live_waiter *w);

/* What a request learned of its shape (ss_live_locate). */
struct ss_live_at {
	uint64_t ready;	     /* snapshot chunks complete */
	int done;	     /* the snapshot is complete */
	struct ss_base base; /* its base generations (lib/base.h), read at
				each look: a compaction may switch them */
	struct ss_log_head head;
	struct ss_offset last;	      /* the shape's latest offset */
	struct ss_log_reader *lr;     /* the shape's shared reader, locked */
	struct ss_live_shape *locked; /* whose lr_mu is held */
	uint64_t seen_seq;	      /* the shape's seq when looked at: the
					 seen_seq of a following wait */
};

/* How long the registry's word that a shape exists is trusted (us), by
 * default (ss_live_set_alive_us). */
#define SS_LIVE_ALIVE_US 100000

/*
 * Where shape s (directory dir, registry id s->id) is: the creation's
 * progress when this process creates it, else the registry (asked again
 * after SS_LIVE_ALIVE_US or an invalidation) and the snapshot's files
 * (cached once complete); then, when the snapshot is complete, the log's
 * head through the shape's shared reader, which stays locked until
 * ss_live_at_release. Returns 1 (at filled), 0 gone (removed from the
 * registry, a snapshot that no process completes, or files found
 * damaged: SS_ERR_INPUT in err), -1 its creation failed (s->fail_msg),
 * -2 it could not be looked at now (err: the registry failed, or a file
 * could not be opened or read, e.g. for want of descriptors): the shape
 * may well be there, ask again later.
 */
int ss_live_locate(struct ss_live *l, struct ss_live_shape *s,
		   struct ss_registry *reg, const char *dir,
		   struct ss_live_at *at, struct ss_err *err);

/* Unlock the shared reader ss_live_locate left locked, if any. */
void ss_live_at_release(struct ss_live_at *at);

/* Requests waiting now. */
size_t ss_live_waiting(struct ss_live *l);

/* The registry id of a shape that a request waits on now (the one
 * whose wait ends first), or 0 when no request waits. serve marks it
 * read about once a second, so that replicate's idle timeout counts
 * a client in a long-poll as a reader. */
int64_t ss_live_some_waited(struct ss_live *l);

/* 1 when some shape is being created in this process. */
int ss_live_any_creating(struct ss_live *l);

/*
 * The waker: wakes waiters at their deadlines and on inotify events,
 * until ss_live_stop; then wakes every waiter and returns. Run it in a
 * thread of its own.
 */
void ss_live_run(struct ss_live *l);

/* Make ss_live_run return (safe from any thread). */
void ss_live_stop(struct ss_live *l);

#endif
