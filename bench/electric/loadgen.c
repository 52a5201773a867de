/*
 * bench/electric/loadgen.c — HTTP clients for Electric's benchmark
 * workloads: N clients, each following K shapes the way the official
 * client does (offset=-1, then the electric-handle / electric-offset /
 * electric-cursor it is given, live=true long-polls after up-to-date, a
 * 409 starts the shape over), over raw non-blocking sockets, HTTP/1.1
 * keep-alive, one epoll loop on one thread. Measures each client's sync
 * time and, for rows carrying a microsecond timestamp column written by
 * the writer, the time from that timestamp to receipt. Prints one JSON
 * object; --per-client writes TSV. The workloads that drive it are
 * bench/electric/w*.sh and cdn.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum phase { SYNC, LIVE, DONE };

struct stream {
	int client;
	int fd;
	enum phase phase;
	char handle[128];
	char offset[64];
	char cursor[64];
	char *in; /* raw bytes read, not yet consumed */
	size_t in_len, in_cap;
	char *body; /* the body decoded so far */
	size_t body_len, body_cap;
	int head_done;
	int status;
	long clen;   /* content-length, -1 if none */
	int chunked; /* transfer-encoding: chunked */
	long
	    chunk_left; /* bytes left of the current chunk, -1 at a size line */
	int close_after;
	int sent;   /* a request is outstanding on fd */
	size_t got; /* response bytes seen for the outstanding request */
	char *out;  /* the outstanding request */
	size_t out_len, out_off, out_cap;
	int out_pollout; /* EPOLLOUT is on */
	int synced_once;
	int64_t retry_at; /* send the request again then, if not 0 */
	char h_handle[128], h_offset[64], h_cursor[64];
	int h_uptodate;
	long h_retry_after; /* seconds; -1: no retry-after header */
	long rows;	    /* data messages received before up-to-date */
	long changes;	    /* data messages received live */
};

struct client {
	int64_t start_us, synced_us;
	int pending; /* streams not yet synced */
	long rows, changes;
};

struct sample {
	int64_t ts, lat;
};

static struct sockaddr_in addr;
static char host_hdr[256];
static const char *path = "/v1/shape";
static const char *query;
static const char *ts_col;
static char ts_pat[128];
static size_t ts_pat_len;
static int nclients = 1, nshapes = 1, base;
static int sync_only;
static long want_changes = -1;
static double timeout_s = 600;
static const char *ready_file, *per_client_file;
static int epfd;
static struct stream *streams;
static struct client *clients;
static int nstreams, unsynced;
static long total_changes, requests, errors, reconnects, conflicts;
static long total_rows, retries;
static int nretry;
static struct sample *samples;
static size_t nsamples, samples_cap;
static int64_t t0;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "loadgen: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "loadgen: error: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	*p = ss_xrealloc(*p, n);
	*cap = n;
}

/* The query of stream s: the template with {c} (client), {k} (shape of
 * the client) and {s} (stream number) replaced. */
static void build_query(const struct stream *st, int s, struct ss_buf *b)
{
	const char *q = query;
	int k = s % nshapes;
	while (*q) {
		if (q[0] == '{' && q[1] && q[2] == '}' &&
		    (q[1] == 'c' || q[1] == 'k' || q[1] == 's')) {
			int v = q[1] == 'c'   ? base + st->client
				: q[1] == 'k' ? k
					      : base * nshapes + s;
			ss_buf_addf(b, "%d", v);
			q += 3;
		} else {
			ss_buf_addf(b, "%c", *q++);
		}
	}
}

static void open_conn(struct stream *st)
{
	if (reconnects > 1000 + 10L * nstreams)
		die("too many reconnections: is the server up?%s", "");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
				 .data.ptr = st};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	st->fd = fd;
}

static void close_conn(struct stream *st)
{
	if (st->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, st->fd, NULL);
		close(st->fd);
	}
	st->fd = -1;
}

static void reset_response(struct stream *st)
{
	st->in_len = 0;
	st->body_len = 0;
	st->head_done = 0;
	st->status = 0;
	st->clen = -1;
	st->chunked = 0;
	st->chunk_left = -1;
	st->close_after = 0;
	st->got = 0;
	st->h_handle[0] = st->h_offset[0] = st->h_cursor[0] = 0;
	st->h_uptodate = 0;
	st->h_retry_after = -1;
}

static void want_out(struct stream *st, int on)
{
	struct epoll_event ev = {.events =
				     EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
				 .data.ptr = st};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, st->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	st->out_pollout = on;
}

/* Writes what is left of the request; a socket still connecting (or
 * full) waits for EPOLLOUT. A connection the server closed while idle
 * is replaced and the request sent again. */
static void flush_out(struct stream *st)
{
	while (st->out_off < st->out_len) {
		ssize_t n = send(st->fd, st->out + st->out_off,
				 st->out_len - st->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			st->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == ENOTCONN)) {
			want_out(st, 1);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		close_conn(st);
		reconnects++;
		open_conn(st);
		st->out_off = 0;
	}
	if (st->out_pollout)
		want_out(st, 0);
	st->out_pollout = 0;
}

/* Sends the stream's next request. */
static void send_request(struct stream *st)
{
	struct ss_buf q, r;
	int s = (int)(st - streams);
	ss_buf_init(&q);
	ss_buf_init(&r);
	build_query(st, s, &q);
	ss_buf_addf(&r, "GET %s?%s&offset=%s", path, q.buf, st->offset);
	if (st->handle[0])
		ss_buf_addf(&r, "&handle=%s", st->handle);
	if (st->phase == LIVE) {
		ss_buf_addf(&r, "&live=true");
		if (st->cursor[0])
			ss_buf_addf(&r, "&cursor=%s", st->cursor);
	}
	ss_buf_addf(&r, " HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n\r\n",
		    host_hdr);
	reset_response(st);
	grow(&st->out, &st->out_cap, r.len);
	memcpy(st->out, r.buf, r.len);
	st->out_len = r.len;
	st->out_off = 0;
	if (st->fd < 0)
		open_conn(st);
	st->sent = 1;
	requests++;
	flush_out(st);
	ss_buf_release(&q);
	ss_buf_release(&r);
}

static void copy_hdr(char *dst, size_t n, const char *v, size_t vlen)
{
	if (vlen >= n)
		vlen = n - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = 0;
}

/* Parses the head in st->in; returns its length, or 0 if incomplete. */
static size_t parse_head(struct stream *st)
{
	char *end = memmem(st->in, st->in_len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	size_t hlen = (size_t)(end - st->in) + 4;
	char *p = st->in, *lim = end + 2;
	char *nl = memchr(p, '\n', (size_t)(lim - p));
	if (st->in_len < 12 || strncmp(p, "HTTP/1.1 ", 9))
		die("bad status line from server%s", "");
	st->status = (int)strtol(p + 9, NULL, 10);
	p = nl + 1;
	while (p < lim) {
		nl = memchr(p, '\n', (size_t)(lim - p));
		if (!nl)
			break;
		char *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon) {
			size_t klen = (size_t)(colon - p);
			char *v = colon + 1;
			while (*v == ' ')
				v++;
			char *ve = nl;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			size_t vlen = (size_t)(ve - v);
#define IS(name) (klen == sizeof name - 1 && !strncasecmp(p, name, klen))
			if (IS("content-length"))
				st->clen = strtol(v, NULL, 10);
			else if (IS("transfer-encoding"))
				st->chunked =
				    vlen >= 7 && !strncasecmp(v, "chunked", 7);
			else if (IS("connection"))
				st->close_after =
				    vlen >= 5 && !strncasecmp(v, "close", 5);
			else if (IS("electric-handle"))
				copy_hdr(st->h_handle, sizeof st->h_handle, v,
					 vlen);
			else if (IS("electric-offset"))
				copy_hdr(st->h_offset, sizeof st->h_offset, v,
					 vlen);
			else if (IS("electric-cursor"))
				copy_hdr(st->h_cursor, sizeof st->h_cursor, v,
					 vlen);
			else if (IS("electric-up-to-date"))
				st->h_uptodate = 1;
			else if (IS("retry-after"))
				st->h_retry_after = strtol(v, NULL, 10);
#undef IS
		}
		p = nl + 1;
	}
	if (st->status == 204 || st->status == 304)
		st->clen = 0;
	return hlen;
}

/* Moves decoded body bytes from st->in to st->body; returns 1 when the
 * body is complete. */
static int take_body(struct stream *st, size_t *pos)
{
	if (!st->chunked) {
		size_t avail = st->in_len - *pos;
		size_t want = (size_t)st->clen - st->body_len;
		size_t n = avail < want ? avail : want;
		grow(&st->body, &st->body_cap, st->body_len + n + 1);
		memcpy(st->body + st->body_len, st->in + *pos, n);
		st->body_len += n;
		*pos += n;
		return st->body_len == (size_t)st->clen;
	}
	/* chunk_left: > 0 data bytes left; -1 at a size line; -2 the CRLF
	 * after the last chunk; -3 the CRLF after a chunk's data. */
	for (;;) {
		if (st->chunk_left == -2 || st->chunk_left == -3) {
			if (st->in_len - *pos < 2)
				return 0;
			*pos += 2;
			if (st->chunk_left == -2)
				return 1;
			st->chunk_left = -1;
		}
		if (st->chunk_left == -1) {
			char *nl =
			    memmem(st->in + *pos, st->in_len - *pos, "\r\n", 2);
			if (!nl)
				return 0;
			st->chunk_left = strtol(st->in + *pos, NULL, 16);
			*pos = (size_t)(nl - st->in) + 2;
			if (st->chunk_left == 0) {
				/* No trailers are sent: a CRLF ends the body.
				 */
				st->chunk_left = -2;
				continue;
			}
		}
		size_t avail = st->in_len - *pos;
		size_t n = avail < (size_t)st->chunk_left
			       ? avail
			       : (size_t)st->chunk_left;
		grow(&st->body, &st->body_cap, st->body_len + n + 1);
		memcpy(st->body + st->body_len, st->in + *pos, n);
		st->body_len += n;
		*pos += n;
		st->chunk_left -= (long)n;
		if (st->chunk_left > 0)
			return 0;
		st->chunk_left = -3;
	}
}

static void add_sample(int64_t ts, int64_t lat)
{
	if (nsamples == samples_cap) {
		samples_cap = samples_cap ? samples_cap * 2 : 4096;
		samples = ss_xrealloc(samples, samples_cap * sizeof *samples);
	}
	samples[nsamples].ts = ts;
	samples[nsamples].lat = lat;
	nsamples++;
}

/* Counts the data messages of a body and takes a latency sample for each
 * timestamp found. */
static long scan_body(struct stream *st, int64_t rx)
{
	long n = 0;
	const char *p = st->body, *end = st->body + st->body_len;
	static const char op[] = "\"operation\":\"";
	while ((p = memmem(p, (size_t)(end - p), op, sizeof op - 1))) {
		n++;
		p += sizeof op - 1;
	}
	if (ts_col && st->phase == LIVE) {
		p = st->body;
		while ((p = memmem(p, (size_t)(end - p), ts_pat, ts_pat_len))) {
			p += ts_pat_len;
			int64_t ts = strtoll(p, NULL, 10);
			if (ts > 0)
				add_sample(ts, rx - ts);
		}
	}
	return n;
}

static void write_ready(void)
{
	if (!ready_file)
		return;
	FILE *f = fopen(ready_file, "w");
	if (!f || fprintf(f, "synced %d\n", nstreams) < 0 || fclose(f))
		die("could not write '%s'", ready_file);
}

static void stream_synced(struct stream *st, int64_t rx)
{
	if (st->synced_once)
		return;
	st->synced_once = 1;
	struct client *c = &clients[st->client];
	if (--c->pending == 0)
		c->synced_us = rx;
	if (--unsynced == 0) {
		fprintf(stderr, "loadgen: all %d streams synced in %.3f s\n",
			nstreams, (double)(rx - t0) / 1e6);
		write_ready();
	}
}

/* A complete response: follow the protocol, then send the next request. */
static void on_response(struct stream *st, int64_t rx)
{
	st->sent = 0;
	if (st->status == 409) {
		/* The shape was rotated: start it over, with the new handle. */
		conflicts++;
		copy_hdr(st->handle, sizeof st->handle, st->h_handle,
			 strlen(st->h_handle));
		snprintf(st->offset, sizeof st->offset, "-1");
		st->cursor[0] = 0;
		/* What the client held is dropped: it starts over. */
		clients[st->client].rows -= st->rows;
		clients[st->client].changes -= st->changes;
		total_rows -= st->rows;
		total_changes -= st->changes;
		st->rows = st->changes = 0;
		st->phase = st->phase == LIVE ? SYNC : st->phase;
		send_request(st);
		return;
	}
	if (st->status < 200 || st->status > 299) {
		if (st->body_len)
			st->body[st->body_len] = 0;
		if (st->status == 503 || st->status == 429) {
			/* Overloaded: the client backs off and retries. */
			retries++;
		} else {
			errors++;
			fprintf(stderr, "loadgen: stream %d: HTTP %d: %.200s\n",
				(int)(st - streams), st->status,
				st->body_len ? st->body : "");
			if (errors > 100)
				die("too many errors%s", "");
		}
		if (st->close_after)
			close_conn(st);
		/* As the official client: the server's retry-after (capped
		 * at 60 s, jittered by up to 50 ms), else 50-100 ms. */
		if (st->h_retry_after >= 0)
			st->retry_at = rx +
				       (int64_t)(st->h_retry_after > 60
						     ? 60
						     : st->h_retry_after) *
					   1000000 +
				       (int64_t)(rand() % 50000);
		else
			st->retry_at = rx + 50000 + (int64_t)(rand() % 50000);
		nretry++;
		return;
	}
	if (st->body_len)
		st->body[st->body_len] = 0;
	long n = st->body_len ? scan_body(st, rx) : 0;
	if (st->h_handle[0])
		copy_hdr(st->handle, sizeof st->handle, st->h_handle,
			 strlen(st->h_handle));
	if (st->h_offset[0])
		copy_hdr(st->offset, sizeof st->offset, st->h_offset,
			 strlen(st->h_offset));
	if (st->h_cursor[0])
		copy_hdr(st->cursor, sizeof st->cursor, st->h_cursor,
			 strlen(st->h_cursor));
	if (st->phase == SYNC) {
		st->rows += n;
		clients[st->client].rows += n;
		total_rows += n;
		if (st->h_uptodate) {
			st->phase = sync_only ? DONE : LIVE;
			stream_synced(st, rx);
		}
	} else {
		st->changes += n;
		clients[st->client].changes += n;
		total_changes += n;
	}
	if (st->phase == DONE) {
		close_conn(st);
		return;
	}
	if (st->close_after)
		close_conn(st);
	send_request(st);
}

static void on_readable(struct stream *st)
{
	for (;;) {
		grow(&st->in, &st->in_cap, st->in_len + 65536);
		ssize_t n = recv(st->fd, st->in + st->in_len,
				 st->in_cap - st->in_len, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR)
				continue;
			n = 0; /* reset: as a close */
		}
		if (n == 0) {
			/* Closed: before any byte of a response, resend it
			 * on a new connection (an idle keep-alive closed). */
			int resend = st->sent && st->got == 0;
			close_conn(st);
			if (resend) {
				reconnects++;
				send_request(st);
			} else if (st->sent) {
				die("connection closed mid-response%s", "");
			}
			return;
		}
		st->in_len += (size_t)n;
		st->got += (size_t)n;
		size_t pos = 0;
		for (;;) {
			if (!st->head_done) {
				size_t h = parse_head(st);
				if (!h)
					break;
				st->head_done = 1;
				pos = h;
				if (st->clen < 0 && !st->chunked)
					die("a response without a length%s",
					    "");
			}
			if (!take_body(st, &pos))
				break;
			int64_t rx = now_us();
			size_t rest = st->in_len - pos;
			if (rest)
				die("server sent bytes after a response%s", "");
			on_response(st, rx);
			return;
		}
		memmove(st->in, st->in + pos, st->in_len - pos);
		st->in_len -= pos;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* Percentile (nearest rank) of sorted v[n], in ms. */
static double pct(const int64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1000.0;
}

static double mean(const int64_t *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)v[i];
	return n ? s / (double)n / 1000.0 : 0;
}

static void report(int64_t end)
{
	int64_t *sync = ss_xcalloc((size_t)nclients + 1, sizeof *sync);
	size_t ns = 0;
	for (int i = 0; i < nclients; i++)
		if (clients[i].synced_us)
			sync[ns++] = clients[i].synced_us - clients[i].start_us;
	qsort(sync, ns, sizeof *sync, cmp_i64);

	int64_t *lat = ss_xcalloc(nsamples + 1, sizeof *lat);
	for (size_t i = 0; i < nsamples; i++)
		lat[i] = samples[i].lat;
	qsort(lat, nsamples, sizeof *lat, cmp_i64);
	/* Per transaction (one timestamp): when its last row arrived. */
	if (nsamples) /* samples is NULL when there are none */
		qsort(samples, nsamples, sizeof *samples, cmp_sample);
	int64_t *txn = ss_xcalloc(nsamples + 1, sizeof *txn);
	size_t nt = 0;
	int64_t first_ts = nsamples ? samples[0].ts : 0, last_rx = 0;
	for (size_t i = 0; i < nsamples; i++) {
		if (i == 0 || samples[i].ts != samples[i - 1].ts)
			txn[nt++] = 0;
		if (samples[i].lat > txn[nt - 1])
			txn[nt - 1] = samples[i].lat;
		if (samples[i].ts + samples[i].lat > last_rx)
			last_rx = samples[i].ts + samples[i].lat;
	}
	qsort(txn, nt, sizeof *txn, cmp_i64);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"clients\":%d,\"streams\":%d,\"synced\":%zu,"
	       "\"rows\":%ld,\"changes\":%ld,"
	       "\"sync_mean_ms\":%.3f,\"sync_p50_ms\":%.3f,"
	       "\"sync_p99_ms\":%.3f,\"sync_max_ms\":%.3f,"
	       "\"samples\":%zu,\"lat_mean_ms\":%.3f,\"lat_p50_ms\":%.3f,"
	       "\"lat_p99_ms\":%.3f,\"lat_max_ms\":%.3f,"
	       "\"txns\":%zu,\"txn_all_mean_ms\":%.3f,\"txn_all_max_ms\":%.3f,"
	       "\"live_span_ms\":%.3f,\"last_rx_us\":%lld,"
	       "\"requests\":%ld,\"errors\":%ld,\"retries\":%ld,"
	       "\"conflicts\":%ld,"
	       "\"reconnects\":%ld,\"wall_s\":%.3f,"
	       "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"maxrss_kib\":%ld}\n",
	       nclients, nstreams, ns, total_rows, total_changes,
	       mean(sync, ns), pct(sync, ns, 50), pct(sync, ns, 99),
	       pct(sync, ns, 100), nsamples, mean(lat, nsamples),
	       pct(lat, nsamples, 50), pct(lat, nsamples, 99),
	       pct(lat, nsamples, 100), nt, mean(txn, nt), pct(txn, nt, 100),
	       nsamples ? (double)(last_rx - first_ts) / 1000.0 : 0.0,
	       (long long)last_rx, requests, errors, retries, conflicts,
	       reconnects, (double)(end - t0) / 1e6,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	       ru.ru_maxrss);
	if (per_client_file) {
		FILE *f = fopen(per_client_file, "w");
		if (!f)
			die("could not open '%s'", per_client_file);
		fprintf(f, "client\tsync_ms\trows\tchanges\n");
		for (int i = 0; i < nclients; i++)
			fprintf(f, "%d\t%.3f\t%ld\t%ld\n", i,
				clients[i].synced_us
				    ? (double)(clients[i].synced_us -
					       clients[i].start_us) /
					  1000.0
				    : -1.0,
				clients[i].rows, clients[i].changes);
		if (ferror(f) || fclose(f))
			die("could not write '%s'", per_client_file);
	}
	free(sync);
	free(lat);
	free(txn);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: loadgen --url http://HOST:PORT --query Q [OPTION]...\n"
	    "\n"
	    "  --url URL           server (http only, numeric host or localhost)\n"
	    "  --path P            request path (default: /v1/shape)\n"
	    "  --query Q           shape query, e.g. table=items&where=...;\n"
	    "                      {c} client, {k} shape of the client and\n"
	    "                      {s} stream number are replaced\n"
	    "  --clients N         clients (default: 1)\n"
	    "  --shapes K          shapes followed by each client (default: 1)\n"
	    "  --sync-only         stop each shape at its first up-to-date\n"
	    "  --changes N         stop after N live data messages in all\n"
	    "  --ts-column NAME    column holding the write's time in us since\n"
	    "                      the epoch: latency samples\n"
	    "  --ready FILE        write 'synced N' to FILE once all are synced\n"
	    "  --per-client FILE   per-client TSV results\n"
	    "  --timeout SEC       give up after SEC (default: 600); exit 1\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"path", required_argument, NULL, 'p'},
	    {"query", required_argument, NULL, 'q'},
	    {"clients", required_argument, NULL, 'c'},
	    {"shapes", required_argument, NULL, 'k'},
	    {"sync-only", no_argument, NULL, 'S'},
	    {"changes", required_argument, NULL, 'n'},
	    {"ts-column", required_argument, NULL, 't'},
	    {"ready", required_argument, NULL, 'r'},
	    {"per-client", required_argument, NULL, 'P'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"base", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *url = NULL;
	int o;
	signal(SIGPIPE, SIG_IGN);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			url = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'q':
			query = optarg;
			break;
		case 'c':
			nclients =
			    (int)parse_num(optarg, 1, 1000000, "--clients");
			break;
		case 'k':
			nshapes =
			    (int)parse_num(optarg, 1, 1000000, "--shapes");
			break;
		case 'S':
			sync_only = 1;
			break;
		case 'n':
			want_changes =
			    parse_num(optarg, 0, 1L << 40, "--changes");
			break;
		case 't':
			ts_col = optarg;
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'P':
			per_client_file = optarg;
			break;
		case 'T':
			timeout_s =
			    (double)parse_num(optarg, 1, 86400, "--timeout");
			break;
		case 'b':
			base = (int)parse_num(optarg, 0, 100000000, "--base");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!url || !query || optind != argc) {
		usage(stderr);
		return 2;
	}
	char hostname[200];
	int port = 80;
	if (sscanf(url, "http://%199[^:/]:%d", hostname, &port) < 1) {
		fprintf(stderr, "loadgen: error: bad --url '%s'\n", url);
		return 2;
	}
	snprintf(host_hdr, sizeof host_hdr, "%s:%d", hostname, port);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET,
		      strcmp(hostname, "localhost") ? hostname : "127.0.0.1",
		      &addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: error: bad host in --url '%s'\n",
			url);
		return 2;
	}
	if (ts_col) {
		snprintf(ts_pat, sizeof ts_pat, "\"%s\":\"", ts_col);
		ts_pat_len = strlen(ts_pat);
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	nstreams = nclients * nshapes;
	unsynced = nstreams;
	streams = ss_xcalloc((size_t)nstreams, sizeof *streams);
	clients = ss_xcalloc((size_t)nclients, sizeof *clients);
	t0 = now_us();
	for (int c = 0; c < nclients; c++) {
		clients[c].start_us = now_us();
		clients[c].pending = nshapes;
		for (int k = 0; k < nshapes; k++) {
			struct stream *st = &streams[c * nshapes + k];
			st->client = c;
			st->fd = -1;
			snprintf(st->offset, sizeof st->offset, "-1");
			send_request(st);
		}
	}
	int64_t deadline = t0 + (int64_t)(timeout_s * 1e6);
	struct epoll_event evs[256];
	int rc = 0;
	for (;;) {
		if (unsynced == 0 &&
		    (sync_only ||
		     (want_changes >= 0 && total_changes >= want_changes)))
			break;
		int64_t left = deadline - now_us();
		if (left <= 0) {
			fprintf(
			    stderr,
			    "loadgen: timeout: %d streams not synced, %ld of %ld changes\n",
			    unsynced, total_changes, want_changes);
			rc = 1;
			break;
		}
		int wait_ms =
		    left / 1000 > 1000 ? 1000 : (int)(left / 1000) + 1;
		if (nretry) {
			int64_t t = now_us(), next = INT64_MAX;
			for (int s = 0; s < nstreams; s++) {
				struct stream *st = &streams[s];
				if (!st->retry_at)
					continue;
				if (st->retry_at <= t) {
					st->retry_at = 0;
					nretry--;
					send_request(st);
				} else if (st->retry_at < next) {
					next = st->retry_at;
				}
			}
			if (nretry && (next - t) / 1000 + 1 < wait_ms)
				wait_ms = (int)((next - t) / 1000) + 1;
		}
		int n = epoll_wait(epfd, evs, 256, wait_ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct stream *st = evs[i].data.ptr;
			if (st->fd >= 0 && (evs[i].events & EPOLLOUT))
				flush_out(st);
			if (st->fd >= 0 &&
			    (evs[i].events &
			     (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				on_readable(st);
		}
	}
	report(now_us());
	if (fflush(stdout) || ferror(stdout))
		rc = 1;
	return rc;
}
