/*
 * health.c — heartbeats: the beat thread that writes a stage's heartbeat
 * to the registry, the receive lag histogram, and the status /v1/health
 * answers from the heartbeats (see health.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "registry.h"

const char *const ss_health_stages[SS_HEALTH_NSTAGES] = {
    "replicate",
    "route",
    "store",
};

const int64_t ss_health_lag_bounds[SS_HB_LAG_BUCKETS] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
};

void ss_lag_hist_add(struct ss_lag_hist *h, int64_t ms)
{
	int i;

	if (ms < 0)
		ms = 0;
	for (i = 0; i < SS_HB_LAG_BUCKETS && ms > ss_health_lag_bounds[i]; i++)
		;
	h->n[i]++;
	h->count++;
	h->sum_ms += ms;
}

void ss_lag_hist_format(const struct ss_lag_hist *h, struct ss_buf *out)
{
	int i;

	ss_buf_addf(out, "%" PRId64 " %" PRIu64, h->sum_ms, h->count);
	for (i = 0; i <= SS_HB_LAG_BUCKETS; i++)
		ss_buf_addf(out, " %" PRIu64, h->n[i]);
}

int ss_lag_hist_parse(struct ss_lag_hist *h, const char *text)
{
	const char *p = text;
	char *end;
	uint64_t total = 0;
	int i;

	memset(h, 0, sizeof(*h));
	errno = 0;
	h->sum_ms = strtoll(p, &end, 10);
	if (end == p || errno || h->sum_ms < 0)
		goto bad;
	p = end;
	for (i = -1; i <= SS_HB_LAG_BUCKETS; i++) {
		uint64_t v;

		if (*p != ' ' || p[1] < '0' || p[1] > '9')
			goto bad;
		errno = 0;
		v = strtoull(p + 1, &end, 10);
		if (errno)
			goto bad;
		p = end;
		if (i < 0)
			h->count = v;
		else
			h->n[i] = v, total += v;
	}
	if (*p || total != h->count)
		goto bad;
	return 0;
bad:
	memset(h, 0, sizeof(*h));
	return -1;
}

void ss_heartbeat_init(struct ss_heartbeat *hb, const char *stage)
{
	memset(hb, 0, sizeof(*hb));
	snprintf(hb->stage, sizeof(hb->stage), "%s", stage);
	hb->wal_lsn = hb->retained_wal = hb->flush_lag = -1;
	hb->rss_bytes = -1;
}

const char *ss_health_counter_name(const char *stage, int i)
{
	static const char *const names[SS_HEALTH_NSTAGES][SS_HB_COUNTERS] = {
	    {"transactions", "changes", "reconnects"},
	    {"transactions", "changes_in", "changes_out"},
	    {"transactions", "changes", "syncs"},
	};
	int s;

	if (i < 0 || i >= SS_HB_COUNTERS)
		return NULL;
	for (s = 0; s < SS_HEALTH_NSTAGES; s++)
		if (!strcmp(stage, ss_health_stages[s]))
			return names[s][i];
	return NULL;
}

int64_t ss_health_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size, resident;
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%lld %lld", &size, &resident);
	fclose(f);
	if (n != 2)
		return -1;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* ---------------------------------------------------------------- status */

int ss_health_up(const struct ss_heartbeat *hb, int64_t now_us,
		 int64_t stale_us)
{
	return now_us - hb->updated_us <= stale_us &&
	       strcmp(hb->state, "stopped");
}

const char *ss_health_status_name(enum ss_health_status s)
{
	switch (s) {
	case SS_HEALTH_ACTIVE:
		return "active";
	case SS_HEALTH_WAITING:
		return "waiting";
	default:
		return "starting";
	}
}

enum ss_health_status ss_health_eval(const struct ss_heartbeat *hb, size_t n,
				     int64_t now_us, int64_t since_us,
				     int64_t stale_us, struct ss_buf *why)
{
	const struct ss_heartbeat *repl = NULL;
	const char *down = NULL, *notyet = NULL;
	int64_t down_age = 0;
	const char *down_state = "";
	int s;
	size_t i;

	for (s = 0; s < SS_HEALTH_NSTAGES; s++) {
		const struct ss_heartbeat *h = NULL;

		for (i = 0; i < n; i++)
			if (!strcmp(hb[i].stage, ss_health_stages[s]))
				h = &hb[i];
		if (s == 0)
			repl = h;
		if (h && ss_health_up(h, now_us, stale_us))
			continue;
		if (!h || h->updated_us < since_us) {
			if (!notyet)
				notyet = ss_health_stages[s];
		} else if (!down) {
			down = ss_health_stages[s];
			down_age = now_us - h->updated_us;
			down_state = h->state;
		}
	}
	if (down) {
		if (why && !strcmp(down_state, "stopped"))
			ss_buf_addf(why, "%s stopped", down);
		else if (why)
			ss_buf_addf(
			    why, "%s is down: no heartbeat for %" PRId64 " ms",
			    down, down_age / 1000);
		return SS_HEALTH_WAITING;
	}
	if (notyet) {
		if (why)
			ss_buf_addf(why, "%s has not started", notyet);
		return SS_HEALTH_STARTING;
	}
	if (!strcmp(repl->state, "connecting")) {
		if (why)
			ss_buf_adds(why, "replicate is connecting");
		return SS_HEALTH_STARTING;
	}
	if (strcmp(repl->state, "streaming") &&
	    strcmp(repl->state, "sleeping")) {
		if (why)
			ss_buf_addf(why, "replicate is %s%s%s", repl->state,
				    *repl->detail ? ": " : "", repl->detail);
		return SS_HEALTH_WAITING;
	}
	return SS_HEALTH_ACTIVE;
}

/* ------------------------------------------------------------------ beat */

struct ss_beat {
	struct ss_registry *reg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	int64_t interval_us;
	int64_t failures;
	struct ss_heartbeat hb;
};

/* Copy the heartbeat, complete it, write it. */
static void beat_write(struct ss_beat *b, const char *final_state)
{
	struct ss_heartbeat hb;
	struct ss_registry_stats st;
	struct ss_err err = SS_ERR_INIT;

	pthread_mutex_lock(&b->mu);
	hb = b->hb;
	pthread_mutex_unlock(&b->mu);
	if (final_state)
		snprintf(hb.state, sizeof(hb.state), "%s", final_state);
	hb.pid = (int64_t)getpid();
	hb.rss_bytes = ss_health_rss();
	ss_registry_connections(b->reg, &st);
	hb.registry_connections = st.read_connections + st.write_connection;
	hb.updated_us = ss_now_us();
	if (ss_registry_heartbeat_put(b->reg, &hb, &err) < 0) {
		pthread_mutex_lock(&b->mu);
		b->failures++;
		pthread_mutex_unlock(&b->mu);
	}
}

static void *beat_main(void *arg)
{
	struct ss_beat *b = arg;
	struct timespec ts;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		pthread_mutex_unlock(&b->mu);
		beat_write(b, NULL);
		pthread_mutex_lock(&b->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(b->interval_us / 1000000);
		ts.tv_nsec += (long)(b->interval_us % 1000000) * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!b->stop && pthread_cond_timedwait(&b->cond, &b->mu,
							  &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

int ss_beat_start(struct ss_registry *reg, const char *stage, int interval_ms,
		  struct ss_beat **out, struct ss_err *err)
{
	struct ss_beat *b = ss_xmalloc(sizeof(*b));
	pthread_condattr_t ca;
	int rc;

	memset(b, 0, sizeof(*b));
	b->reg = reg;
	b->interval_us = (int64_t)(interval_ms > 0 ? interval_ms : 1000) * 1000;
	ss_heartbeat_init(&b->hb, stage);
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = ss_thread_start(&b->thread, NULL, beat_main, b);
	if (rc) {
		pthread_cond_destroy(&b->cond);
		pthread_mutex_destroy(&b->mu);
		free(b);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not start the heartbeat "
				  "thread: %s",
				  strerror(rc));
	}
	*out = b;
	return 0;
}

struct ss_heartbeat *ss_beat_hold(struct ss_beat *b)
{
	pthread_mutex_lock(&b->mu);
	return &b->hb;
}

void ss_beat_release(struct ss_beat *b)
{
	pthread_mutex_unlock(&b->mu);
}

void ss_beat_state(struct ss_beat *b, const char *state, const char *detail)
{
	pthread_mutex_lock(&b->mu);
	snprintf(b->hb.state, sizeof(b->hb.state), "%s", state);
	snprintf(b->hb.detail, sizeof(b->hb.detail), "%s",
		 detail ? detail : "");
	pthread_mutex_unlock(&b->mu);
}

int64_t ss_beat_failures(struct ss_beat *b)
{
	int64_t n;

	pthread_mutex_lock(&b->mu);
	n = b->failures;
	pthread_mutex_unlock(&b->mu);
	return n;
}

void ss_beat_stop(struct ss_beat *b, const char *final_state)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->thread, NULL);
	if (final_state)
		beat_write(b, final_state);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
