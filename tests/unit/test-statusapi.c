/*
 * test-statusapi.c — lib/statusapi through lib/server on 127.0.0.1, over
 * an in-memory registry with no heartbeats: /v1/health says "starting"
 * (202, never cached), /metrics renders the counters given to it, and
 * the public port's /metrics is 404 unless asked for.
 */

#include "metrics.h"
#include "registry.h"
#include "rawhttp.h"
#include "statusapi.h"

static enum MHD_Result not_found(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(r, 404, "Not found", "text/plain");
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry_opts ro;
	struct ss_registry *reg;
	struct ss_metrics metrics;
	struct ss_statusapi *pub, *priv;
	struct ss_statusapi_cfg c;
	struct ss_server_cfg sc;
	struct ss_server *srv;
	struct sockaddr_storage addr;
	struct ss_buf b = SS_BUF_INIT;
	atomic_llong created = 3, evicted = 2;
	unsigned port;

	ss_registry_opts_init(&ro);
	ro.create = 1;
	if (ss_registry_open(":memory:", &ro, &reg, &err) < 0)
		FAILF("%s", err.msg);
	memset(&metrics, 0, sizeof(metrics));
	memset(&c, 0, sizeof(c));
	c.reg = reg;
	c.metrics = &metrics;
	c.created = &created;
	c.evicted = &evicted;
	c.started_us = ss_now_us();
	pub = ss_statusapi_new(&c);
	c.public_metrics = 1;
	priv = ss_statusapi_new(&c);

	const struct ss_server_route routes[] = {
	    {SS_HTTP_HEALTH, SS_HTTP_GET, ss_statusapi_health, pub},
	    {SS_HTTP_METRICS, SS_HTTP_GET, ss_statusapi_public_metrics, pub},
	    {SS_HTTP_ROOT, SS_HTTP_GET, ss_statusapi_public_metrics, priv},
	};
	ss_sockaddr_parse("127.0.0.1", 0, &addr);
	memset(&sc, 0, sizeof(sc));
	sc.addr = (struct sockaddr *)&addr;
	sc.threads = 1;
	sc.max_connections = 8;
	sc.conn_timeout_s = 10;
	sc.request_timeout_s = 10;
	sc.max_header = 32 * 1024;
	sc.max_body = 1024;
	sc.max_args = 16;
	sc.routes = routes;
	sc.nroutes = sizeof(routes) / sizeof(routes[0]);
	sc.not_found = not_found;
	srv = ss_server_start(&sc, &err);
	if (!srv)
		FAILF("%s", err.msg);
	port = ss_server_port(srv);

	/* no stage has reported since the start: starting */
	rawhttp_req(port, "GET", "/v1/health", "", &b);
	CHECK(rawhttp_status(&b) == 202);
	CHECK_STR(rawhttp_body(&b), "{\"status\":\"starting\"}");
	CHECK(strstr(b.buf, "no-cache, no-store, must-revalidate") != NULL);

	/* /metrics is not public unless asked for */
	rawhttp_req(port, "GET", "/metrics", "", &b);
	CHECK(rawhttp_status(&b) == 404);
	CHECK_STR(rawhttp_body(&b), "Not found");

	/* asked for: the counters given */
	rawhttp_req(port, "GET", "/", "", &b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK(strstr(b.buf, "text/plain; version=0.0.4") != NULL);
	CHECK(strstr(rawhttp_body(&b),
		     "\nshapesync_serve_shapes_created 3\n") != NULL);
	CHECK(strstr(rawhttp_body(&b),
		     "\nshapesync_serve_shapes_evicted 2\n") != NULL);

	ss_server_close(srv);
	ss_statusapi_free(pub);
	ss_statusapi_free(priv);
	ss_statusapi_free(NULL);
	ss_registry_close(reg, &err);
	ss_buf_release(&b);
	return unit_report();
}
