/*
 * test-statuspage.c — lib/statuspage through lib/server on 127.0.0.1: the
 * page is served whole with its type, caching and security headers, is
 * one self-contained document (nothing loaded from anywhere else, only
 * /metrics fetched), and names every value its header promises. What it
 * shows in a browser is t4200's.
 */

#include "rawhttp.h"
#include "statuspage.h"

static enum MHD_Result not_found(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(r, 404, "Not found", "text/plain");
}

int main(void)
{
	static const char *const metrics[] = {
	    "health",	    "shapes",	      "active",
	    "waiting",	    "bytes",	      "flush_lag",
	    "retained_wal", "receive_lag_ms", "transactions",
	};
	static const char *const elsewhere[] = {
	    "src=", "href=", "http:", "https:", "@import", "url(", "//cdn",
	};
	struct ss_err err = SS_ERR_INIT;
	struct ss_server_cfg sc;
	struct ss_server *srv;
	struct sockaddr_storage addr;
	struct ss_buf b = SS_BUF_INIT;
	const char *page = ss_statuspage_html, *body, *h;
	char want[64], hv[256];
	size_t i;

	/* The document itself. */
	CHECK(strncmp(page, "<!doctype html>\n", 16) == 0);
	CHECK(strstr(page, "</html>\n") == page + strlen(page) - 8);
	for (i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
		CHECK(strstr(page, elsewhere[i]) == NULL);
	CHECK(strstr(page, "fetch(\"metrics\", { cache: \"no-store\" })") !=
	      NULL);
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		snprintf(want, sizeof(want), "data-metric=\"%s\"", metrics[i]);
		CHECK(strstr(page, want) != NULL);
	}
	CHECK(strstr(page, "\"stage_up:\" + s") != NULL);
	CHECK(strstr(page, "\"requests:\" + r.labels.status") != NULL);

	const struct ss_server_route routes[] = {
	    {SS_HTTP_ROOT, SS_HTTP_GET, ss_statuspage_get, NULL},
	    {SS_HTTP_ROOT, SS_HTTP_HEAD, ss_statuspage_get, NULL},
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

	rawhttp_req(ss_server_port(srv), "GET", "/", "", &b);
	CHECK(rawhttp_status(&b) == 200);
	body = rawhttp_body(&b);
	CHECK(body && strcmp(body, page) == 0);
	h = rawhttp_header(&b, "content-type", hv, sizeof(hv));
	CHECK_STR(h, "text/html; charset=utf-8");
	h = rawhttp_header(&b, "cache-control", hv, sizeof(hv));
	CHECK_STR(h, "no-cache");
	h = rawhttp_header(&b, "content-security-policy", hv, sizeof(hv));
	CHECK_STR(h, "default-src 'none'; style-src 'unsafe-inline'; "
		     "script-src 'unsafe-inline'; connect-src 'self'");

	rawhttp_req(ss_server_port(srv), "GET", "/v1/shape", "", &b);
	CHECK(rawhttp_status(&b) == 404);

	ss_server_close(srv);
	ss_buf_release(&b);
	return unit_report();
}
