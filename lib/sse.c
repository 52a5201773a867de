/*
 * sse.c — a live shape as Server-Sent Events: the stream's state and
 * framing (see sse.h).
 */
#include <string.h>
#include <unistd.h>

#include "message.h"
#include "sse.h"

void ss_sse_init(struct ss_sse *s, const struct ss_offset *off, int64_t now_us,
		 int64_t timeout_ms)
{
	memset(s, 0, sizeof(*s));
	s->off = *off;
	s->fd = -1;
	s->last_out_us = now_us;
	s->end_us = now_us + timeout_ms * 1000;
	ss_buf_init(&s->out);
	ss_buf_init(&s->carry);
}

void ss_sse_release(struct ss_sse *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ss_buf_release(&s->out);
	ss_buf_release(&s->carry);
}

static void emit(struct ss_sse *s, const char *json, size_t len)
{
	ss_buf_adds(&s->out, "data: ");
	ss_buf_add(&s->out, json, len);
	ss_buf_adds(&s->out, "\n\n");
}

/* Turn up to one block of the log range into "data:" events. */
static void fill_from_range(struct ss_sse *s)
{
	char *buf = ss_xmalloc(65536);
	uint64_t want = s->end - s->pos < 65536 ? s->end - s->pos : 65536;
	ssize_t got = pread(s->fd, buf, (size_t)want, (off_t)s->pos);
	size_t i, start = 0;

	if (got <= 0) {
		s->pos = s->end;
		free(buf);
		return;
	}
	s->pos += (uint64_t)got;
	for (i = 0; i < (size_t)got; i++) {
		if (buf[i] != '\n')
			continue;
		ss_buf_add(&s->carry, buf + start, i - start);
		/* entries are ",<json>" */
		if (s->carry.len > 1)
			emit(s, s->carry.buf + 1, s->carry.len - 1);
		ss_buf_reset(&s->carry);
		start = i + 1;
	}
	ss_buf_add(&s->carry, buf + start, (size_t)got - start);
	free(buf);
}

size_t ss_sse_read(struct ss_sse *s, char *buf, size_t max, int64_t now_us)
{
	for (;;) {
		if (s->out_pos < s->out.len) {
			size_t n = s->out.len - s->out_pos;

			n = n < max ? n : max;
			memcpy(buf, s->out.buf + s->out_pos, n);
			s->out_pos += n;
			s->last_out_us = now_us;
			return n;
		}
		ss_buf_reset(&s->out);
		s->out_pos = 0;
		if (s->fd >= 0) {
			if (s->pos < s->end) {
				fill_from_range(s);
				continue;
			}
			close(s->fd);
			s->fd = -1;
		}
		if (s->send_utd) {
			struct ss_buf m = SS_BUF_INIT;

			/* The client resumes at "<lsn>_0" (see lib/answer): one
			 * past the last transaction sent, as "<tx>_0" would
			 * send that transaction's later changes again and
			 * "0_0" would be a snapshot chunk. */
			ss_message_up_to_date(&m, s->utd_off.tx + 1);
			emit(s, m.buf, m.len);
			ss_buf_release(&m);
			s->send_utd = 0;
			continue;
		}
		return 0;
	}
}

void ss_sse_set_range(struct ss_sse *s, int fd, uint64_t pos, uint64_t len,
		      const struct ss_offset *end, int up_to_date)
{
	if (s->fd >= 0)
		close(s->fd);
	/* From the entry's leading ',' so that every line reads ",<json>". */
	s->fd = fd;
	s->pos = pos - 1;
	s->end = pos + len;
	if (fd < 0)
		s->pos = s->end = 0;
	ss_buf_reset(&s->carry);
	s->off = *end;
	s->send_utd = up_to_date;
	s->utd_off = *end;
}

void ss_sse_keepalive(struct ss_sse *s)
{
	ss_buf_adds(&s->out, ": keep-alive\n\n");
}
