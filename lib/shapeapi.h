/*
 * shapeapi.h — Electric's /v1/shape endpoint as lib/server handlers: GET
 * and HEAD (a snapshot chunk, a log range, up-to-date, a live wait, an SSE
 * stream), POST (a subset snapshot), DELETE and the CORS preflight, over
 * a context of the lib/ modules that do the work: shapereq validates,
 * create gets or creates the shape, live waits, answer decides what to
 * send, http builds the answer, sse streams, subset runs a subset query.
 */
#ifndef SS_SHAPEAPI_H
#define SS_SHAPEAPI_H

#include <stdatomic.h>
#include <stdint.h>

#include "server.h"

struct ss_registry;
struct ss_live;
struct ss_create;
struct ss_tablecache;
struct ss_pgq_pool;
struct ss_metrics;
struct ss_where_limits;

struct ss_shapeapi_cfg {
	/* The modules it works over, borrowed for the api's life. creator
	 * and pool may be NULL when no request creates a shape or asks for
	 * a subset (tests): such a request gets a 503. */
	struct ss_registry *reg;
	struct ss_live *live;
	struct ss_create *creator;
	struct ss_tablecache *tables; /* the catalog, for validation */
	struct ss_pgq_pool *pool;     /* subset snapshots */
	struct ss_metrics *metrics;   /* admission rejects (may be NULL) */
	const char *data_dir;
	const char *secret; /* NULL: none asked */
	const struct ss_where_limits *where_limits;
	int allow_delete; /* DELETE /v1/shape (else 405) */
	int64_t long_poll_ms, sse_timeout_ms, keepalive_ms;
	int64_t create_timeout_ms; /* a snapshot chunk's wait at most */
	int64_t cache_max_age, cache_stale_age;
	int64_t max_initial, max_existing; /* concurrent requests (503) */
	atomic_int *stopping;		   /* set: answers 503, streams end */
	/* Warnings, one line each (may be NULL). */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	int subqueries; /* accept subquery shapes (shapereq's opts) */
};

struct ss_shapeapi;

/* A *new* api over cfg (copied; what it points to is borrowed). Free it
 * with ss_shapeapi_free (NULL: no-op) once its server is closed. */
struct ss_shapeapi *ss_shapeapi_new(const struct ss_shapeapi_cfg *cfg);
void ss_shapeapi_free(struct ss_shapeapi *a);

/*
 * lib/server handlers, each with the api as ctx. check: every /v1/shape
 * request but a preflight has its arguments' bytes checked first, whatever
 * its method (400); other routes pass. get: GET and HEAD. post: a subset
 * (413 when the body was too large). delete: DELETE. options: the CORS
 * preflight.
 */
enum MHD_Result ss_shapeapi_check(struct ss_server_req *r, void *api);
enum MHD_Result ss_shapeapi_get(struct ss_server_req *r, void *api);
enum MHD_Result ss_shapeapi_post(struct ss_server_req *r, void *api);
enum MHD_Result ss_shapeapi_delete(struct ss_server_req *r, void *api);
enum MHD_Result ss_shapeapi_options(struct ss_server_req *r, void *api);

/* Counters for /metrics: requests admitted now (without a handle, with
 * one) and body bytes sent so far. */
struct ss_shapeapi_counts {
	int64_t initial, existing, bytes_sent;
};
void ss_shapeapi_counts(struct ss_shapeapi *a, struct ss_shapeapi_counts *c);

#endif
