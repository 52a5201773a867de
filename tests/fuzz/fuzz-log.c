/*
 * fuzz-log.c — libFuzzer target for the shape log reader (lib/log.c) over
 * damaged files. The input's first bytes drive the writer (how many
 * entries, their offsets and sizes, the chunk size, where transactions
 * commit); the rest is a list of damages (a byte overwritten, or a file
 * cut short, in log, index, chunks or head) made before a reader opens
 * the log; some inputs buffer the writer. Invariants: an error has a message;
 * without damage the reader gives back every committed entry, offset and byte
 * as written; with damage, whatever it answers stays inside the committed log:
 * entry and range byte spans lie within head.bytes and can be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"

static char dir[256];
static const char *const files[] = {"log", "index", "chunks", "head"};

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct input *in)
{
	unsigned v;

	if (!in->n)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

static void clean(void)
{
	char path[300];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
}

static void cleanup_dir(void)
{
	clean();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ss-fuzz-log.XXXXXX", base);
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup_dir);
	return 0;
}

/* The committed entries as written, for the undamaged check. */
struct want {
	struct ss_offset off;
	char json[64];
	size_t len;
};

static void damage(struct input *in)
{
	while (in->n >= 4) {
		unsigned what = take(in), hi = take(in), lo = take(in);
		unsigned val = take(in);
		char path[300];
		struct stat st;
		off_t pos;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, files[what & 3]);
		fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0)
			abort();
		pos = (off_t)((hi << 8 | lo) % ((unsigned)st.st_size + 1));
		if (what & 4) {
			if (ftruncate(fd, pos) < 0)
				abort();
		} else if (pos < st.st_size) {
			unsigned char c = (unsigned char)val;

			if (pwrite(fd, &c, 1, pos) != 1)
				abort();
		}
		close(fd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_log_opts opts;
	struct ss_log_head h;
	struct ss_err err = SS_ERR_INIT;
	struct want want[32];
	size_t nwant = 0, pending = 0, i;
	unsigned n, k;
	uint64_t tx = 1, op = 0;
	int damaged;

	clean();
	ss_log_opts_init(&opts);
	k = take(&in);
	n = k % 32;
	/* The first byte's bit 5 buffers the writer (lib/log's write
	 * buffer): 40 to 220 bytes, so that it fills, flushes early and
	 * writes big entries at once. */
	if (k & 0x20)
		opts.buffer_bytes = 40 + (k >> 6) * 60;
	opts.chunk_bytes = 16 + take(&in) * 4;
	FUZZ_CHECK(ss_log_writer_open(dir, &opts, &w, &err) == 0,
		   "writer open: %s", err.msg);
	for (k = 0; k < n; k++) {
		unsigned b = take(&in);
		struct ss_offset off;
		struct want *e = &want[nwant + pending];

		if (b & 0x80) { /* a new transaction: commit what is open */
			FUZZ_CHECK(ss_log_commit(w, tx, &err) == 0,
				   "commit: %s", err.msg);
			nwant += pending;
			pending = 0;
			tx += 1 + (b & 0x0f);
			op = 0;
			e = &want[nwant];
		}
		if (b & 0x40)
			op = SS_OFFSET_INF; /* the tx's last entry */
		off = ss_offset_make(tx, op);
		e->len = (size_t)snprintf(
		    e->json, sizeof(e->json), "{\"n\":%u,\"pad\":\"%.*s\"}", k,
		    (int)(b & 0x1f), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		e->off = off;
		FUZZ_CHECK(ss_log_append(w, &off, e->json, e->len, &err) == 0,
			   "append: %s", err.msg);
		pending++;
		if (op == SS_OFFSET_INF) {
			tx++;
			op = 0;
		} else {
			op += 2;
		}
	}
	if (take(&in) & 1) { /* the last transaction commits, or not */
		FUZZ_CHECK(ss_log_commit(w, tx, &err) == 0, "commit: %s",
			   err.msg);
		nwant += pending;
	}
	ss_log_writer_close(w);
	damaged = in.n >= 4;
	damage(&in);

	if (ss_log_reader_open(dir, &r, &err) < 0) {
		FUZZ_CHECK(damaged && err.msg[0],
			   "reader open fails on an undamaged log, or without "
			   "a message: %s",
			   err.msg);
		return 0;
	}
	ss_log_reader_head(r, &h);
	if (!damaged)
		FUZZ_CHECK(h.entries == nwant,
			   "head has %llu entries, %zu "
			   "committed",
			   (unsigned long long)h.entries, nwant);
	for (i = 0; i < h.entries && i < 64; i++) {
		struct ss_offset off;
		uint64_t pos, len;
		char buf[256];

		ss_err_clear(&err);
		if (ss_log_reader_entry(r, i, &off, &pos, &len, &err) < 0) {
			FUZZ_CHECK(damaged && err.msg[0],
				   "entry %zu: error on an undamaged log, or "
				   "without a message: %s",
				   i, err.msg);
			continue;
		}
		FUZZ_CHECK(len > 0 && pos < h.bytes && len <= h.bytes - pos,
			   "entry %zu spans [%llu, +%llu), outside the %llu "
			   "committed bytes",
			   i, (unsigned long long)pos, (unsigned long long)len,
			   (unsigned long long)h.bytes);
		if (len > sizeof(buf))
			continue;
		if (ss_log_reader_pread(r, buf, len, pos, &err) < 0) {
			FUZZ_CHECK(damaged, "pread of entry %zu fails: %s", i,
				   err.msg);
			continue;
		}
		if (!damaged)
			FUZZ_CHECK(
			    !ss_offset_compare(&off, &want[i].off) &&
				len == want[i].len + 2 && buf[0] == ',' &&
				buf[len - 1] == '\n' &&
				!memcmp(buf + 1, want[i].json, want[i].len),
			    "entry %zu does not read back as written", i);
	}
	/* ranges and chunk ends between offsets of the log and around it */
	for (i = 0; i <= nwant + 1 && i < 40; i++) {
		struct ss_offset a = i == 0	  ? ss_offset_before_all
				     : i <= nwant ? want[i - 1].off
						  : ss_offset_last;
		struct ss_offset b = ss_offset_last, end;
		uint64_t start, stop, count;
		int closed;

		if (ss_log_reader_range(r, &a, &b, &start, &stop, &count,
					&err) == 0) {
			FUZZ_CHECK(start <= stop && stop <= h.bytes &&
				       count <= h.entries,
				   "range [%llu, %llu) of %llu, %llu entries",
				   (unsigned long long)start,
				   (unsigned long long)stop,
				   (unsigned long long)h.bytes,
				   (unsigned long long)count);
			if (!damaged)
				FUZZ_CHECK(count ==
					       nwant - (i < nwant ? i : nwant),
					   "range after entry %zu has %llu "
					   "entries",
					   i, (unsigned long long)count);
		} else {
			FUZZ_CHECK(damaged && err.msg[0], "range: %s", err.msg);
		}
		if (ss_log_reader_chunk_end(r, &a, &end, &closed, &err) < 0)
			FUZZ_CHECK(damaged && err.msg[0], "chunk_end: %s",
				   err.msg);
		else if (ss_offset_compare(&a, &h.last) < 0)
			FUZZ_CHECK(ss_offset_compare(&end, &a) > 0 &&
				       ss_offset_compare(&end, &h.last) <= 0 &&
				       (closed == 0 || closed == 1),
				   "chunk end not after the offset asked, or "
				   "past the last");
	}
	ss_log_reader_close(r);
	return 0;
}
