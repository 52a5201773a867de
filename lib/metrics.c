/*
 * metrics.c — the /metrics page: Electric's names for what serve counts
 * and what the stages' heartbeats report (see metrics.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "metrics.h"

void ss_metrics_count_status(struct ss_metrics *m, int status)
{
	if (status >= SS_METRICS_STATUS_MIN && status <= SS_METRICS_STATUS_MAX)
		atomic_fetch_add_explicit(
		    &m->status[status - SS_METRICS_STATUS_MIN], 1,
		    memory_order_relaxed);
}

void ss_metrics_count_reject(struct ss_metrics *m, int initial)
{
	atomic_fetch_add_explicit(initial ? &m->reject_initial
					  : &m->reject_existing,
				  1, memory_order_relaxed);
}

void ss_metrics_type(struct ss_buf *out, const char *name, const char *type)
{
	ss_buf_addf(out, "# TYPE %s %s\n", name, type);
}

static void gauge(struct ss_buf *out, const char *name, int64_t v)
{
	if (v < 0)
		return;
	ss_metrics_type(out, name, "gauge");
	ss_buf_addf(out, "%s %" PRId64 "\n", name, v);
}

static const struct ss_heartbeat *find(const struct ss_metrics_scrape *s,
				       const char *stage)
{
	size_t i;

	for (i = 0; i < s->nhb; i++)
		if (!strcmp(s->hb[i].stage, stage))
			return &s->hb[i];
	return NULL;
}

static void receive_lag(struct ss_buf *out, const struct ss_lag_hist *h)
{
	static const char name[] =
	    "electric_postgres_replication_transaction_received_receive_lag";
	uint64_t cum = 0;
	int i;

	ss_metrics_type(out, name, "histogram");
	for (i = 0; i < SS_HB_LAG_BUCKETS; i++) {
		cum += h->n[i];
		ss_buf_addf(out, "%s_bucket{le=\"%" PRId64 "\"} %" PRIu64 "\n",
			    name, ss_health_lag_bounds[i], cum);
	}
	cum += h->n[SS_HB_LAG_BUCKETS];
	ss_buf_addf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	ss_buf_addf(out, "%s_sum %" PRId64 "\n", name, h->sum_ms);
	ss_buf_addf(out, "%s_count %" PRIu64 "\n", name, h->count);
}

/* One gauge over serve and the stages: serve's value first (if >= 0),
 * then each stage that has a heartbeat, through `get`. */
static void per_stage(struct ss_buf *out, const struct ss_metrics_scrape *s,
		      const char *name, int64_t serve_value,
		      int64_t (*get)(const struct ss_heartbeat *,
				     int64_t now_us))
{
	int i;

	ss_metrics_type(out, name, "gauge");
	if (serve_value >= 0)
		ss_buf_addf(out, "%s{stage=\"serve\"} %" PRId64 "\n", name,
			    serve_value);
	for (i = 0; i < SS_HEALTH_NSTAGES; i++) {
		const struct ss_heartbeat *h = find(s, ss_health_stages[i]);
		int64_t v;

		if (!h || (v = get(h, s->now_us)) < 0)
			continue;
		ss_buf_addf(out, "%s{stage=\"%s\"} %" PRId64 "\n", name,
			    ss_health_stages[i], v);
	}
}

static int64_t hb_connections(const struct ss_heartbeat *h, int64_t now_us)
{
	(void)now_us;
	return h->registry_connections;
}

static int64_t hb_rss(const struct ss_heartbeat *h, int64_t now_us)
{
	(void)now_us;
	return h->rss_bytes;
}

static int64_t hb_age(const struct ss_heartbeat *h, int64_t now_us)
{
	int64_t age = now_us - h->updated_us;

	return age > 0 ? age / 1000000 : 0;
}

static int64_t hb_received(const struct ss_heartbeat *h, int64_t now_us)
{
	(void)now_us;
	return (int64_t)h->received_lsn;
}

/* serve's counters: one table, one line each after its TYPE line */
static const struct {
	const char *name, *type;
	size_t off;
} serve_table[] = {
#define F(f) offsetof(struct ss_metrics_scrape, f)
    {"electric_shape_db_write_buffer_pending_writes_count", "gauge",
     F(pending_writes)},
    {"shapesync_serve_waiting_requests", "gauge", F(waiting)},
    {"shapesync_serve_shapes_created", "counter", F(created)},
    {"shapesync_serve_shapes_evicted", "counter", F(evicted)},
    {"shapesync_serve_body_bytes", "counter", F(body_bytes)},
    {"shapesync_registry_pending_writes", "gauge", F(pending_writes)},
    {"shapesync_registry_touches_dropped", "counter", F(touches_dropped)},
#undef F
};

static void render_serve(const struct ss_metrics_scrape *s, struct ss_buf *out)
{
	size_t i;

	for (i = 0; i < sizeof(serve_table) / sizeof(serve_table[0]); i++) {
		int64_t v =
		    *(const int64_t *)(const void *)((const char *)s +
						     serve_table[i].off);

		ss_metrics_type(out, serve_table[i].name, serve_table[i].type);
		ss_buf_addf(out, "%s %" PRId64 "\n", serve_table[i].name, v);
	}
}

void ss_metrics_render(const struct ss_metrics *m,
		       const struct ss_metrics_scrape *s, struct ss_buf *out)
{
	const struct ss_heartbeat *repl = find(s, "replicate");
	enum ss_health_status status;
	int i, st;

	gauge(out, "electric_shapes_total_shapes_count", s->shapes);
	gauge(out, "electric_shapes_active_shapes_count", s->active_shapes);

	ss_metrics_type(out, "electric_plug_serve_shape_requests_count",
			"counter");
	for (st = SS_METRICS_STATUS_MIN; st <= SS_METRICS_STATUS_MAX; st++) {
		long long n =
		    atomic_load_explicit(&m->status[st - SS_METRICS_STATUS_MIN],
					 memory_order_relaxed);

		if (n)
			ss_buf_addf(out,
				    "electric_plug_serve_shape_requests_count"
				    "{status=\"%d\"} %lld\n",
				    st, n);
	}
	ss_metrics_type(out, "electric_admission_control_acquire_current",
			"gauge");
	ss_buf_addf(
	    out,
	    "electric_admission_control_acquire_current{kind=\"initial\"} %" PRId64
	    "\n",
	    s->acquire_initial);
	ss_buf_addf(
	    out,
	    "electric_admission_control_acquire_current{kind=\"existing\"} %" PRId64
	    "\n",
	    s->acquire_existing);
	ss_metrics_type(out, "electric_admission_control_reject_count",
			"counter");
	ss_buf_addf(
	    out,
	    "electric_admission_control_reject_count{kind=\"initial\"} %lld\n",
	    (long long)atomic_load(&m->reject_initial));
	ss_buf_addf(
	    out,
	    "electric_admission_control_reject_count{kind=\"existing\"} %lld\n",
	    (long long)atomic_load(&m->reject_existing));

	if (repl) {
		gauge(out,
		      "electric_postgres_replication_slot_retained_wal_size",
		      repl->retained_wal);
		gauge(
		    out,
		    "electric_postgres_replication_slot_confirmed_flush_lsn_lag",
		    repl->flush_lag);
		gauge(out, "electric_postgres_replication_pg_wal_offset",
		      repl->wal_lsn);
		receive_lag(out, &repl->lag);
	}
	per_stage(out, s, "electric_shape_db_sqlite_connections",
		  s->serve_connections, hb_connections);

	status = ss_health_eval(s->hb, s->nhb, s->now_us, s->since_us,
				s->stale_us, NULL);
	ss_metrics_type(out, "shapesync_health_status", "gauge");
	for (i = SS_HEALTH_STARTING; i <= SS_HEALTH_ACTIVE; i++)
		ss_buf_addf(out, "shapesync_health_status{status=\"%s\"} %d\n",
			    ss_health_status_name((enum ss_health_status)i),
			    i == (int)status);
	ss_metrics_type(out, "shapesync_stage_up", "gauge");
	for (i = 0; i < SS_HEALTH_NSTAGES; i++) {
		const struct ss_heartbeat *h = find(s, ss_health_stages[i]);

		ss_buf_addf(out, "shapesync_stage_up{stage=\"%s\"} %d\n",
			    ss_health_stages[i],
			    h && ss_health_up(h, s->now_us, s->stale_us));
	}
	per_stage(out, s, "shapesync_stage_heartbeat_age_seconds", -1, hb_age);
	per_stage(out, s, "shapesync_stage_rss_bytes", s->serve_rss, hb_rss);
	per_stage(out, s, "shapesync_stage_received_lsn", -1, hb_received);
	if (repl)
		gauge(out, "shapesync_replicate_flushed_lsn",
		      (int64_t)repl->flushed_lsn);
	if (find(s, "store"))
		gauge(out, "shapesync_store_durable_lsn",
		      (int64_t)find(s, "store")->flushed_lsn);
	for (i = 0; i < SS_HEALTH_NSTAGES; i++) {
		const struct ss_heartbeat *h = find(s, ss_health_stages[i]);
		int c;

		for (c = 0; h && c < SS_HB_COUNTERS; c++) {
			const char *cn = ss_health_counter_name(h->stage, c);
			struct ss_buf name = SS_BUF_INIT;

			if (!cn)
				continue;
			ss_buf_addf(&name, "shapesync_%s_%s_total", h->stage,
				    cn);
			ss_metrics_type(out, name.buf, "counter");
			ss_buf_addf(out, "%s %" PRId64 "\n", name.buf,
				    h->counters[c]);
			ss_buf_release(&name);
		}
	}
	if (s->has_serve)
		render_serve(s, out);
}
