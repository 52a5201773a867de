/*
 * frame_lines.c — raw lines from a file descriptor, for readers that want
 * the bytes of each frame line (route's fast path) rather than decoded
 * JSON: large reads, a line limit, and no blocking on a descriptor set
 * O_NONBLOCK. See ss_frame_lines_next in frame.h.
 */
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ss_frame_lines_init(struct ss_frame_lines *in, int fd, const char *name,
			 size_t max)
{
	memset(in, 0, sizeof(*in));
	in->fd = fd;
	in->name = name;
	in->cap = 1 << 18;
	in->buf = ss_xmalloc(in->cap);
	in->max = max ? max : SS_FRAME_MAX_LINE_DEFAULT;
}

void ss_frame_lines_release(struct ss_frame_lines *in)
{
	free(in->buf);
	in->buf = NULL;
	in->cap = in->start = in->end = in->scanned = 0;
}

int ss_frame_lines_buffered(const struct ss_frame_lines *in)
{
	return memchr(in->buf + in->scanned, '\n', in->end - in->scanned) !=
	       NULL;
}

int ss_frame_lines_next(struct ss_frame_lines *in, const char **line,
			size_t *len, struct ss_err *err)
{
	for (;;) {
		char *nl =
		    memchr(in->buf + in->scanned, '\n', in->end - in->scanned);
		ssize_t n;

		if (nl) {
			*line = in->buf + in->start;
			*len = (size_t)(nl - *line);
			in->start = in->scanned = (size_t)(nl - in->buf) + 1;
			in->lineno++;
			if (*len > in->max)
				return ss_err_set(err, SS_ERR_INPUT,
						  "%s:%" PRIu64 ": line too "
						  "long (more than %zu bytes)",
						  in->name, in->lineno,
						  in->max);
			return SS_FRAME_LINE_OK;
		}
		in->scanned = in->end;
		if (in->end - in->start > in->max)
			return ss_err_set(err, SS_ERR_INPUT,
					  "%s:%" PRIu64 ": line too long "
					  "(more than %zu bytes)",
					  in->name, in->lineno + 1, in->max);
		if (in->eof) {
			if (in->end > in->start) {
				in->start = in->end;
				return ss_err_set(err, SS_ERR_INPUT,
						  "%s:%" PRIu64 ": incomplete "
						  "line at end of input",
						  in->name, in->lineno + 1);
			}
			return SS_FRAME_LINE_EOF;
		}
		if (in->start > 0) {
			memmove(in->buf, in->buf + in->start,
				in->end - in->start);
			in->end -= in->start;
			in->scanned -= in->start;
			in->start = 0;
		}
		if (in->end == in->cap) {
			in->cap = in->cap ? in->cap * 2 : 1 << 18;
			in->buf = ss_xrealloc(in->buf, in->cap);
		}
		n = read(in->fd, in->buf + in->end, in->cap - in->end);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return SS_FRAME_LINE_AGAIN;
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "could not read "
					  "'%s': %s",
					  in->name, strerror(errno));
		}
		if (n == 0)
			in->eof = 1;
		in->end += (size_t)n;
	}
}

void ss_frame_row_values(json_t *row, const char *const *names,
			 const size_t *idx, size_t n, const char **out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *v = row ? json_object_get(row, names[i]) : NULL;

		out[idx ? idx[i] : i] =
		    json_is_string(v) ? json_string_value(v) : NULL;
	}
}
