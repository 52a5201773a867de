/*
 * sse.h — a live shape as Server-Sent Events (Electric's live_sse): the
 * stream's state and its framing. Each log entry becomes "data: <json>\n\n",
 * an up-to-date message ends each batch, ": keep-alive\n\n" fills silence.
 * The caller decides what comes next (lib/answer) when the stream has
 * nothing pending, and hands log ranges over with ss_sse_set_range.
 */
#ifndef SS_SSE_H
#define SS_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "offset.h"
#include "util.h"

struct ss_sse {
	struct ss_offset off;	     /* where the stream is: the next plan's
					offset */
	int64_t end_us, last_out_us; /* the stream's end; last output */
	struct ss_buf out;	     /* bytes waiting to be sent */
	size_t out_pos;
	int fd; /* log range being sent; -1: none */
	uint64_t pos, end;
	struct ss_buf carry; /* a partial line of the range */
	int send_utd;	     /* an up-to-date message is due */
	struct ss_offset utd_off;
};

/* Start a stream at off, now_us, lasting timeout_ms. */
void ss_sse_init(struct ss_sse *s, const struct ss_offset *off, int64_t now_us,
		 int64_t timeout_ms);

/* Close the range's file and free the buffers. */
void ss_sse_release(struct ss_sse *s);

/*
 * Copy up to max pending bytes to buf; returns how many (0: nothing is
 * pending and nothing more can be made without a new range). Makes events
 * from the range and the due up-to-date message as needed. Copying
 * something sets last_out_us to now_us.
 */
size_t ss_sse_read(struct ss_sse *s, char *buf, size_t max, int64_t now_us);

/*
 * The next part of the stream: the log file's bytes [pos, pos + len)
 * (entries ",<json>\n", fd *stolen*; fd -1: no entries), then, when
 * up_to_date, an up-to-date message. The stream moves on to end.
 */
void ss_sse_set_range(struct ss_sse *s, int fd, uint64_t pos, uint64_t len,
		      const struct ss_offset *end, int up_to_date);

/* A keep-alive comment. */
void ss_sse_keepalive(struct ss_sse *s);

#endif
