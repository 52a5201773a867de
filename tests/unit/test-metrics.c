/*
 * test-metrics.c — the /metrics page from known counters and heartbeats:
 * requests by exact status, rejections by kind, shapes, replication
 * gauges, the receive lag histogram, per-stage connections, memory and
 * counters, the health status; unknown values are left out.
 */
#include <string.h>

#include "metrics.h"
#include "unit.h"

#define S 1000000LL
#define NOW (1700000000LL * S)

/* Whether `page` has the line `line` (whole). */
static int has_line(const char *page, const char *line)
{
	size_t n = strlen(line);
	const char *p = page;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == page || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

#define HAS(page, line)                                                        \
	do {                                                                   \
		unit_checks++;                                                 \
		if (!has_line(page, line)) {                                   \
			unit_failures++;                                       \
			fprintf(stderr, "%s:%d: no line '%s'\n", __FILE__,     \
				__LINE__, line);                               \
		}                                                              \
	} while (0)

static struct ss_metrics m;

int main(void)
{
	struct ss_heartbeat hb[3];
	struct ss_metrics_scrape s;
	struct ss_buf page = SS_BUF_INIT;
	int i;

	ss_metrics_count_status(&m, 200);
	ss_metrics_count_status(&m, 200);
	ss_metrics_count_status(&m, 409);
	ss_metrics_count_status(&m, 503);
	ss_metrics_count_status(&m, 99);
	ss_metrics_count_status(&m, 600);
	ss_metrics_count_reject(&m, 1);
	ss_metrics_count_reject(&m, 0);
	ss_metrics_count_reject(&m, 0);

	/* serve alone: no heartbeats. */
	memset(&s, 0, sizeof(s));
	s.shapes = 3;
	s.active_shapes = -1;
	s.acquire_initial = 1;
	s.acquire_existing = 0;
	s.now_us = NOW;
	s.since_us = NOW - 10 * S;
	s.stale_us = 5 * S;
	s.serve_rss = 4096;
	s.serve_connections = 2;
	ss_metrics_render(&m, &s, &page);
	HAS(page.buf, "# TYPE electric_shapes_total_shapes_count gauge");
	HAS(page.buf, "electric_shapes_total_shapes_count 3");
	CHECK(!strstr(page.buf, "active_shapes"));
	HAS(page.buf,
	    "# TYPE electric_plug_serve_shape_requests_count counter");
	HAS(page.buf,
	    "electric_plug_serve_shape_requests_count{status=\"200\"} 2");
	HAS(page.buf,
	    "electric_plug_serve_shape_requests_count{status=\"409\"} 1");
	HAS(page.buf,
	    "electric_plug_serve_shape_requests_count{status=\"503\"} 1");
	CHECK(!strstr(page.buf, "status=\"99\""));
	CHECK(!strstr(page.buf, "status=\"600\""));
	CHECK(!strstr(page.buf, "status=\"404\""));
	HAS(page.buf,
	    "electric_admission_control_acquire_current{kind=\"initial\"} 1");
	HAS(page.buf,
	    "electric_admission_control_acquire_current{kind=\"existing\"} 0");
	HAS(page.buf,
	    "electric_admission_control_reject_count{kind=\"initial\"} 1");
	HAS(page.buf,
	    "electric_admission_control_reject_count{kind=\"existing\"} 2");
	CHECK(!strstr(page.buf, "electric_postgres_replication"));
	HAS(page.buf,
	    "electric_shape_db_sqlite_connections{stage=\"serve\"} 2");
	HAS(page.buf, "shapesync_stage_rss_bytes{stage=\"serve\"} 4096");
	HAS(page.buf, "shapesync_health_status{status=\"starting\"} 1");
	HAS(page.buf, "shapesync_health_status{status=\"active\"} 0");
	HAS(page.buf, "shapesync_stage_up{stage=\"replicate\"} 0");
	CHECK(!strstr(page.buf, "shapesync_replicate_transactions_total"));

	/* The whole pipeline. */
	for (i = 0; i < 3; i++) {
		ss_heartbeat_init(&hb[i], ss_health_stages[i]);
		snprintf(hb[i].state, sizeof(hb[i].state), "%s",
			 i ? "running" : "streaming");
		hb[i].updated_us = NOW - 2 * S - 1;
		hb[i].rss_bytes = (i + 1) * 1000;
		hb[i].registry_connections = i + 1;
		hb[i].received_lsn = 100 + (uint64_t)i;
		hb[i].counters[0] = 10 * (i + 1);
		hb[i].counters[1] = 20 * (i + 1);
		hb[i].counters[2] = 30 * (i + 1);
	}
	hb[0].wal_lsn = 5000;
	hb[0].retained_wal = 4000;
	hb[0].flush_lag = 300;
	hb[0].flushed_lsn = 4700;
	hb[2].flushed_lsn = 4600;
	ss_lag_hist_add(&hb[0].lag, 3);
	ss_lag_hist_add(&hb[0].lag, 30);
	ss_lag_hist_add(&hb[0].lag, 20000);
	s.hb = hb;
	s.nhb = 3;
	s.active_shapes = 2;
	ss_buf_reset(&page);
	ss_metrics_render(&m, &s, &page);
	HAS(page.buf, "electric_shapes_active_shapes_count 2");
	HAS(page.buf,
	    "electric_postgres_replication_slot_retained_wal_size 4000");
	HAS(page.buf,
	    "electric_postgres_replication_slot_confirmed_flush_lsn_lag 300");
	HAS(page.buf, "electric_postgres_replication_pg_wal_offset 5000");
	HAS(page.buf,
	    "# TYPE electric_postgres_replication_transaction_received_receive_lag "
	    "histogram");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_bucket"
	    "{le=\"1\"} 0");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_bucket"
	    "{le=\"5\"} 1");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_bucket"
	    "{le=\"50\"} 2");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_bucket"
	    "{le=\"10000\"} 2");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_bucket"
	    "{le=\"+Inf\"} 3");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_sum 20033");
	HAS(page.buf,
	    "electric_postgres_replication_transaction_received_receive_lag_count 3");
	HAS(page.buf,
	    "electric_shape_db_sqlite_connections{stage=\"serve\"} 2");
	HAS(page.buf,
	    "electric_shape_db_sqlite_connections{stage=\"replicate\"} 1");
	HAS(page.buf,
	    "electric_shape_db_sqlite_connections{stage=\"route\"} 2");
	HAS(page.buf,
	    "electric_shape_db_sqlite_connections{stage=\"store\"} 3");
	HAS(page.buf, "shapesync_stage_rss_bytes{stage=\"store\"} 3000");
	HAS(page.buf,
	    "shapesync_stage_heartbeat_age_seconds{stage=\"route\"} 2");
	HAS(page.buf, "shapesync_stage_received_lsn{stage=\"route\"} 101");
	HAS(page.buf, "shapesync_replicate_flushed_lsn 4700");
	HAS(page.buf, "shapesync_store_durable_lsn 4600");
	HAS(page.buf, "shapesync_health_status{status=\"active\"} 1");
	HAS(page.buf, "shapesync_health_status{status=\"starting\"} 0");
	HAS(page.buf, "shapesync_stage_up{stage=\"store\"} 1");
	HAS(page.buf, "# TYPE shapesync_replicate_transactions_total counter");
	HAS(page.buf, "shapesync_replicate_transactions_total 10");
	HAS(page.buf, "shapesync_replicate_reconnects_total 30");
	HAS(page.buf, "shapesync_route_changes_in_total 40");
	HAS(page.buf, "shapesync_route_changes_out_total 60");
	HAS(page.buf, "shapesync_store_syncs_total 90");

	/* route stale: waiting, route down. */
	hb[1].updated_us = NOW - 6 * S;
	ss_buf_reset(&page);
	ss_metrics_render(&m, &s, &page);
	HAS(page.buf, "shapesync_health_status{status=\"waiting\"} 1");
	HAS(page.buf, "shapesync_stage_up{stage=\"route\"} 0");
	HAS(page.buf, "shapesync_stage_up{stage=\"replicate\"} 1");
	/* Every line is a comment or "name[{labels}] value". */
	{
		const char *p = page.buf;

		while (*p) {
			const char *e = strchr(p, '\n');

			CHECK(e != NULL);
			if (!e)
				break;
			CHECK(*p == '#' ||
			      (memchr(p, ' ', (size_t)(e - p)) &&
			       strspn(p, "abcdefghijklmnopqrstuvwxyz_") > 0));
			p = e + 1;
		}
	}

	/* serve's own counters, last, from the one table */
	CHECK(!strstr(page.buf, "shapesync_serve_"));
	s.has_serve = 1;
	s.pending_writes = 4;
	s.waiting = 2;
	s.created = 7;
	s.evicted = 1;
	s.body_bytes = 12345;
	s.touches_dropped = 3;
	ss_buf_reset(&page);
	ss_metrics_render(&m, &s, &page);
	CHECK(
	    strstr(
		page.buf,
		"# TYPE electric_shape_db_write_buffer_pending_writes_count gauge\n"
		"electric_shape_db_write_buffer_pending_writes_count 4\n"
		"# TYPE shapesync_serve_waiting_requests gauge\n"
		"shapesync_serve_waiting_requests 2\n"
		"# TYPE shapesync_serve_shapes_created counter\n"
		"shapesync_serve_shapes_created 7\n"
		"# TYPE shapesync_serve_shapes_evicted counter\n"
		"shapesync_serve_shapes_evicted 1\n"
		"# TYPE shapesync_serve_body_bytes counter\n"
		"shapesync_serve_body_bytes 12345\n"
		"# TYPE shapesync_registry_pending_writes gauge\n"
		"shapesync_registry_pending_writes 4\n"
		"# TYPE shapesync_registry_touches_dropped counter\n"
		"shapesync_registry_touches_dropped 3\n") != NULL);
	CHECK(page.len > 0 &&
	      strstr(page.buf, "shapesync_registry_touches_dropped 3\n") ==
		  page.buf + page.len -
		      strlen("shapesync_registry_touches_dropped 3\n"));
	ss_buf_release(&page);
	return unit_report();
}
