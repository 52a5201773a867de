/*
 * statusapi.c — /v1/health and /metrics (see statusapi.h): one scrape of
 * the registry, the heartbeats and the counters, rendered by lib/metrics;
 * the health verdict of lib/health.
 */
#include "statusapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "live.h"
#include "metrics.h"
#include "registry.h"
#include "shapeapi.h"

struct ss_statusapi {
	struct ss_statusapi_cfg cfg;
};

struct ss_statusapi *ss_statusapi_new(const struct ss_statusapi_cfg *cfg)
{
	struct ss_statusapi *a = ss_xcalloc(1, sizeof(*a));

	a->cfg = *cfg;
	return a;
}

void ss_statusapi_free(struct ss_statusapi *a)
{
	free(a);
}

enum MHD_Result ss_statusapi_metrics(struct ss_server_req *r, void *api)
{
	struct ss_statusapi *a = api;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_registry_stats st;
	struct ss_metrics_scrape sc;
	struct ss_shapeapi_counts counts;
	struct ss_heartbeat *hb = NULL;
	size_t nhb = 0;
	struct ss_err err = SS_ERR_INIT;
	enum MHD_Result ret;

	memset(&sc, 0, sizeof(sc));
	memset(&counts, 0, sizeof(counts));
	ss_registry_connections(a->cfg.reg, &st);
	sc.serve_connections = st.read_connections + st.write_connection;
	if (ss_registry_stats(a->cfg.reg, &st, &err) < 0)
		st.shapes = -1;
	if (ss_registry_count_active(a->cfg.reg, &sc.active_shapes, &err) < 0)
		sc.active_shapes = -1;
	ss_registry_heartbeats(a->cfg.reg, &hb, &nhb, &err);
	if (a->cfg.shapes)
		ss_shapeapi_counts(a->cfg.shapes, &counts);
	sc.shapes = st.shapes;
	sc.acquire_initial = counts.initial;
	sc.acquire_existing = counts.existing;
	sc.hb = hb;
	sc.nhb = nhb;
	sc.now_us = ss_now_us();
	sc.since_us = a->cfg.started_us;
	sc.stale_us = SS_HEALTH_STALE_MS * 1000LL;
	sc.serve_rss = ss_health_rss();
	sc.has_serve = 1;
	sc.pending_writes = st.pending_writes;
	sc.waiting = a->cfg.live ? (int64_t)ss_live_waiting(a->cfg.live) : 0;
	sc.created = a->cfg.created ? atomic_load(a->cfg.created) : 0;
	sc.evicted = a->cfg.evicted ? atomic_load(a->cfg.evicted) : 0;
	sc.body_bytes = counts.bytes_sent;
	sc.touches_dropped = st.touches_dropped;
	ss_metrics_render(a->cfg.metrics, &sc, &b);
	free(hb);
	ret = ss_server_send_text(r, 200, b.buf, "text/plain; version=0.0.4");
	ss_buf_release(&b);
	return ret;
}

enum MHD_Result ss_statusapi_public_metrics(struct ss_server_req *r, void *api)
{
	struct ss_statusapi *a = api;

	if (a->cfg.public_metrics)
		return ss_statusapi_metrics(r, api);
	return ss_server_send_text(r, 404, "Not found", "text/plain");
}

enum MHD_Result ss_statusapi_health(struct ss_server_req *r, void *api)
{
	struct ss_statusapi *a = api;
	struct ss_heartbeat *hb = NULL;
	size_t nhb = 0;
	struct ss_err err = SS_ERR_INIT;
	enum ss_health_status status = SS_HEALTH_WAITING;
	struct MHD_Response *resp;
	char body[64];

	if (ss_registry_heartbeats(a->cfg.reg, &hb, &nhb, &err) == 0)
		status = ss_health_eval(hb, nhb, ss_now_us(), a->cfg.started_us,
					SS_HEALTH_STALE_MS * 1000LL, NULL);
	free(hb);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}",
		 ss_health_status_name(status));
	resp = ss_http_buffer(body, strlen(body));
	MHD_add_response_header(resp, "content-type", "application/json");
	MHD_add_response_header(resp, "cache-control",
				"no-cache, no-store, must-revalidate");
	return ss_server_queue(r, status == SS_HEALTH_ACTIVE ? 200 : 202, resp);
}
