/*
 * test-sse — lib/sse without a server: a log range becomes one "data:"
 * event per entry, read in any block size, lines split across reads
 * rejoined; the up-to-date message after a batch names one past the last
 * transaction; keep-alives; an empty range with up-to-date; the stream's
 * offset moves to each range's end.
 *
 *   test-sse DIR     (a scratch directory)
 */
#include <fcntl.h>
#include <unistd.h>

#include "sse.h"
#include "unit.h"

/* Everything pending, read max bytes at a time. */
static void drain(struct ss_sse *s, size_t max, struct ss_buf *out)
{
	char buf[4096];
	size_t n;

	while ((n = ss_sse_read(s, buf, max, 42)) > 0)
		ss_buf_add(out, buf, n);
}

int main(int argc, char **argv)
{
	static const char log[] =
	    ",{\"a\":1}\n,{\"b\":2}\n,{\"c\":\"x\\ny\"}\n";
	struct ss_offset start = ss_offset_make(3, 1),
			 end = ss_offset_make(7, 2);
	struct ss_buf out = SS_BUF_INIT;
	struct ss_sse s;
	char path[4096];
	size_t max;
	int fd;

	if (argc != 2)
		FAILF("usage: test-sse DIR");
	snprintf(path, sizeof(path), "%s/log", argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	/* a header byte before the entries, as a log's range starts mid-file */
	if (fd < 0 || write(fd, "#", 1) != 1 ||
	    write(fd, log, sizeof(log) - 1) != (ssize_t)sizeof(log) - 1)
		FAILF("could not write '%s'", path);

	for (max = 1; max <= 64; max = max * 2 + 1) {
		ss_sse_init(&s, &start, 1000, 60000);
		CHECK(s.end_us == 1000 + 60000000 && s.fd == -1);
		CHECK(ss_sse_read(&s, path, 10, 5) == 0); /* nothing yet */
		/* the range's first entry at byte 2, after its leading ',' */
		ss_sse_set_range(&s, dup(fd), 2, sizeof(log) - 2, &end, 1);
		CHECK(ss_offset_compare(&s.off, &end) == 0);
		ss_buf_reset(&out);
		drain(&s, max, &out);
		CHECK_STR(out.buf,
			  "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"
			  "data: {\"c\":\"x\\ny\"}\n\n"
			  "data: {\"headers\":{\"control\":\"up-to-date\","
			  "\"global_last_seen_lsn\":\"8\"}}\n\n");
		CHECK(s.last_out_us == 42 && s.fd == -1);
		ss_sse_release(&s);
	}

	/* no entries, up to date; then a keep-alive; then nothing */
	ss_sse_init(&s, &start, 0, 1000);
	ss_sse_set_range(&s, -1, 0, 0, &start, 1);
	ss_buf_reset(&out);
	drain(&s, 7, &out);
	CHECK_STR(out.buf, "data: {\"headers\":{\"control\":\"up-to-date\","
			   "\"global_last_seen_lsn\":\"4\"}}\n\n");
	ss_sse_keepalive(&s);
	ss_buf_reset(&out);
	drain(&s, 100, &out);
	CHECK_STR(out.buf, ": keep-alive\n\n");
	/* a range without up-to-date sends only its entries */
	ss_sse_set_range(&s, dup(fd), 2, 8, &end, 0);
	ss_buf_reset(&out);
	drain(&s, 100, &out);
	CHECK_STR(out.buf, "data: {\"a\":1}\n\n");
	ss_sse_release(&s);
	ss_buf_release(&out);
	close(fd);
	unlink(path);
	return unit_report();
}
