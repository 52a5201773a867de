/*
 * metrics.h — serve's /metrics page in Prometheus text format: Electric's
 * metric names (electric.x.y -> electric_x_y) for requests by exact
 * status, admission control, shapes and replication, and shapesync's own
 * per-stage gauges and counters read from the stages' heartbeats
 * (health.h). Every metric is listed in shapesync-serve(1).
 */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "health.h"
#include "util.h"

#define SS_METRICS_STATUS_MIN 100
#define SS_METRICS_STATUS_MAX 599

/* Counters updated by request threads (lock-free). Zero-initialise. */
struct ss_metrics {
	atomic_llong status[SS_METRICS_STATUS_MAX - SS_METRICS_STATUS_MIN + 1];
	atomic_llong reject_initial, reject_existing;
};

/* One /v1/shape answer with HTTP status `status` (outside 100..599:
 * ignored). */
void ss_metrics_count_status(struct ss_metrics *m, int status);
/* One request refused by admission control, of kind initial or not. */
void ss_metrics_count_reject(struct ss_metrics *m, int initial);

/* What the scrape knows besides the counters. Unknown values are -1
 * (then the metric is left out). */
struct ss_metrics_scrape {
	int64_t shapes, active_shapes;
	int64_t acquire_initial, acquire_existing;
	const struct ss_heartbeat *hb; /* the stages' heartbeats, borrowed */
	size_t nhb;
	int64_t now_us, since_us, stale_us;   /* as ss_health_eval */
	int64_t serve_rss, serve_connections; /* serve's own */
	/* serve's own counters and gauges, rendered last (when has_serve) in
	 * the order of the table in metrics.c */
	int has_serve;
	int64_t pending_writes;	  /* the registry's write buffer */
	int64_t waiting;	  /* live requests waiting */
	int64_t created, evicted; /* shapes, since start */
	int64_t body_bytes;	  /* response body bytes sent */
	int64_t touches_dropped;  /* last-read updates not recorded */
};

/* Append the metrics page (every line ends with \n). */
void ss_metrics_render(const struct ss_metrics *m,
		       const struct ss_metrics_scrape *s, struct ss_buf *out);

/* Append one "# TYPE name type" line. */
void ss_metrics_type(struct ss_buf *out, const char *name, const char *type);

#endif
