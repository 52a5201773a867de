/*
 * statusapi.h — the operators' endpoints of shapesync-serve as lib/server
 * handlers: Electric's /v1/health from the stages' heartbeats (lib/health)
 * and /metrics in Prometheus text (lib/metrics) from the registry, the
 * waiting requests (lib/live) and the counters of lib/shapeapi.
 */
#ifndef SS_STATUSAPI_H
#define SS_STATUSAPI_H

#include <stdatomic.h>
#include <stdint.h>

#include "server.h"

struct ss_registry;
struct ss_live;
struct ss_metrics;
struct ss_shapeapi;

struct ss_statusapi_cfg {
	/* Borrowed for the api's life; shapes and live may be NULL (their
	 * counters read 0). */
	struct ss_registry *reg;
	struct ss_live *live;
	struct ss_shapeapi *shapes;
	struct ss_metrics *metrics;
	atomic_llong *created, *evicted; /* shapes; may be NULL */
	int64_t started_us; /* wall clock: stages not seen since start */
	int public_metrics; /* ss_statusapi_public_metrics answers */
};

struct ss_statusapi;

/* A *new* api over cfg (copied). ss_statusapi_free(NULL) is a no-op. */
struct ss_statusapi *ss_statusapi_new(const struct ss_statusapi_cfg *cfg);
void ss_statusapi_free(struct ss_statusapi *a);

/*
 * lib/server handlers with the api as ctx. health: {"status":"active"}
 * with 200 when every stage's heartbeat is fresh, else "starting" or
 * "waiting" with 202; never cached. metrics: the Prometheus text
 * (text/plain; version=0.0.4). public_metrics: metrics when
 * public_metrics is set, else 404 "Not found" (operators' counters are
 * not for the public port unless asked for).
 */
enum MHD_Result ss_statusapi_health(struct ss_server_req *r, void *api);
enum MHD_Result ss_statusapi_metrics(struct ss_server_req *r, void *api);
enum MHD_Result ss_statusapi_public_metrics(struct ss_server_req *r, void *api);

#endif
