/*
 * health.h — what the pipeline's stages say about themselves, and what
 * /v1/health answers from it.
 *
 * Each stage (replicate, route, store) keeps one heartbeat row in the
 * registry, written about once a second by a thread of its own (a beat):
 * its pid, its state ("connecting", "streaming", "sleeping" (replicate
 * closed its connections under its idle timeout), "running", "error",
 * "stopped"), the last error, its positions, a few counters, its memory
 * and the registry connections it holds open. serve reads the rows and
 * ss_health_eval() turns them and the time into Electric's status: a
 * stage whose row is older than the staleness window is down.
 */
#ifndef SS_HEALTH_H
#define SS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ss_registry;

/* The stages that write heartbeats, in the order they are reported. */
#define SS_HEALTH_NSTAGES 3
extern const char *const ss_health_stages[SS_HEALTH_NSTAGES];

/* Counters a heartbeat carries; what each means depends on the stage
 * (ss_health_counter_name). */
#define SS_HB_COUNTERS 3

/* Upper bounds (ms) of the receive lag histogram's buckets; one more
 * bucket (+Inf) follows the last. */
#define SS_HB_LAG_BUCKETS 12
extern const int64_t ss_health_lag_bounds[SS_HB_LAG_BUCKETS];

/* A receive lag histogram: non-cumulative counts per bucket. */
struct ss_lag_hist {
	uint64_t n[SS_HB_LAG_BUCKETS + 1];
	uint64_t count;
	int64_t sum_ms;
};

/* Count one observation of `ms` (negative counts as 0). */
void ss_lag_hist_add(struct ss_lag_hist *h, int64_t ms);

/* One stage's heartbeat. Transparent value type; strings are fixed
 * buffers. Values a stage does not know are 0 (lsns, counters) or -1
 * (wal_lsn, retained_wal, flush_lag). */
struct ss_heartbeat {
	char stage[16];
	int64_t pid;
	char state[16];
	char detail[256];      /* the last error, "" if none */
	uint64_t received_lsn; /* replicate: server position read;
				  route: last commit routed;
				  store: last commit stored */
	uint64_t flushed_lsn;  /* replicate: acknowledged to the slot;
				  store: durable */
	int64_t wal_lsn;       /* replicate: pg_current_wal_lsn() */
	int64_t retained_wal;  /* replicate: bytes the slot retains */
	int64_t flush_lag;     /* replicate: bytes past the slot's
				  confirmed_flush_lsn */
	int64_t rss_bytes;
	int64_t registry_connections;
	int64_t counters[SS_HB_COUNTERS];
	struct ss_lag_hist lag; /* replicate: receive lag */
	int64_t updated_us;	/* Unix microseconds */
};

/* An empty heartbeat of `stage` (unknown values as described above). */
void ss_heartbeat_init(struct ss_heartbeat *hb, const char *stage);

/* The name of counter i of `stage` (e.g. "transactions"), or NULL if the
 * stage does not use it. */
const char *ss_health_counter_name(const char *stage, int i);

/* The receive lag histogram as text ("sum count n0 n1 ... n12") and
 * back; parse returns -1 on malformed text (h is then zeroed). */
void ss_lag_hist_format(const struct ss_lag_hist *h, struct ss_buf *out);
int ss_lag_hist_parse(struct ss_lag_hist *h, const char *text);

/* The resident set size of this process in bytes, or -1. */
int64_t ss_health_rss(void);

enum ss_health_status {
	SS_HEALTH_STARTING = 0, /* a stage has not reported since `since` */
	SS_HEALTH_WAITING = 1,	/* a stage is down, or replication is not
				   streaming */
	SS_HEALTH_ACTIVE = 2,	/* every stage is up, replication streams */
};

/* Default staleness window: a heartbeat older than this is a stage down. */
#define SS_HEALTH_STALE_MS 5000

/*
 * The pipeline's status from its heartbeats (n of them, any order, other
 * stages ignored) at `now_us`. A stage is up when its heartbeat is at
 * most stale_us old and its state is not "stopped". A stage that is not
 * up is "not yet" when it has no heartbeat, or its last one predates
 * `since_us` (when the asker started: it has not seen the stage since),
 * and down otherwise. Then: any stage down -> WAITING; any not yet ->
 * STARTING; replicate "connecting" -> STARTING; replicate neither
 * "streaming" nor "sleeping" -> WAITING; else ACTIVE (a sleeping
 * replicate wakes on the next shape read, as Electric's stack does). `why` (may
 * be NULL) gets a short reason, empty when active.
 */
enum ss_health_status ss_health_eval(const struct ss_heartbeat *hb, size_t n,
				     int64_t now_us, int64_t since_us,
				     int64_t stale_us, struct ss_buf *why);

/* "starting", "waiting", "active". */
const char *ss_health_status_name(enum ss_health_status s);

/* Whether heartbeat hb counts as up at now_us (see ss_health_eval). */
int ss_health_up(const struct ss_heartbeat *hb, int64_t now_us,
		 int64_t stale_us);

/*
 * A beat: a thread that writes this process's heartbeat for `stage` to
 * the registry every interval_ms (at once, then on). The stage's own
 * fields are set by the caller between ss_beat_hold() (returns the
 * heartbeat, borrowed, under the beat's lock: set fields, then call
 * ss_beat_release() promptly) and ss_beat_release(); pid, rss, registry
 * connections and the time are filled by the beat. A failed write is
 * counted and retried at the next interval (the stage goes on).
 * ss_beat_stop() stops the thread and writes a last heartbeat with state
 * `final_state` (e.g. "stopped"; NULL: none). reg must outlive the beat.
 * *out is *new*, freed by ss_beat_stop; ss_beat_stop(NULL, ...) is a
 * no-op.
 */
struct ss_beat;
int ss_beat_start(struct ss_registry *reg, const char *stage, int interval_ms,
		  struct ss_beat **out, struct ss_err *err);
struct ss_heartbeat *ss_beat_hold(struct ss_beat *b);
void ss_beat_release(struct ss_beat *b);
/* Set state and detail (detail may be NULL for ""), under the lock. */
void ss_beat_state(struct ss_beat *b, const char *state, const char *detail);
/* Writes that failed so far. */
int64_t ss_beat_failures(struct ss_beat *b);
void ss_beat_stop(struct ss_beat *b, const char *final_state);

#endif
