/*
 * test-log.c — unit tests for lib/log (append, commit visibility, chunks,
 * ranges, recovery of uncommitted tails, damaged heads), lib/snapshot
 * (chunk files, done marker) and lib/message (keys, control messages).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <unistd.h>

#include "log.h"
#include "message.h"
#include "snapshot.h"
#include "unit.h"

static char dir[256];

static struct ss_offset off(uint64_t tx, uint64_t op)
{
	return ss_offset_make(tx, op);
}

static void append(struct ss_log_writer *w, uint64_t tx, uint64_t op,
		   const char *json)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset o = off(tx, op);

	if (ss_log_append(w, &o, json, strlen(json), &err) < 0)
		FAILF("append: %s", err.msg);
}

/* The response body for (after, upto]: "[" + bytes[start+1, end) + "]". */
static char *body(struct ss_log_reader *r, struct ss_offset after,
		  struct ss_offset upto, uint64_t *count)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	uint64_t s, e;

	if (ss_log_reader_range(r, &after, &upto, &s, &e, count, &err) < 0)
		FAILF("range: %s", err.msg);
	ss_buf_addc(&b, '[');
	if (e > s) {
		char *tmp = ss_xmalloc(e - s);

		if (ss_log_reader_pread(r, tmp, e - s, s, &err) < 0)
			FAILF("pread: %s", err.msg);
		CHECK(tmp[0] == ',');
		ss_buf_add(&b, tmp + 1, e - s - 1);
		free(tmp);
	}
	ss_buf_addc(&b, ']');
	return ss_buf_detach(&b, NULL);
}

static void test_log(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_opts o;
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_log_head h;
	struct ss_offset end, bad = off(100, 0);
	char d[300], *b;
	uint64_t count;
	int closed, changed;
	json_t *j;

	snprintf(d, sizeof(d), "%s/shape1", dir);
	ss_log_opts_init(&o);
	o.chunk_bytes = 30; /* entries here are 9 bytes: a chunk holds 4 */
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 0 && h.last.kind == SS_OFFSET_BEFORE_ALL);

	append(w, 100, 0, "{\"a\":1}");
	append(w, 100, 2, "{\"a\":2}");
	/* Not visible before commit. */
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && !changed);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 0);
	CHECK(ss_log_commit(w, 100, &err) == 0);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && changed);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 2 && h.last_tx == 100);
	CHECK(h.last.tx == 100 && h.last.op == 2);
	b = body(r, ss_offset_before_all, h.last, &count);
	CHECK_STR(b, "[{\"a\":1}\n,{\"a\":2}\n]");
	CHECK(count == 2);
	j = json_loads(b, 0, NULL);
	CHECK(j && json_array_size(j) == 2);
	json_decref(j);
	free(b);
	/* Offsets must grow. */
	CHECK(ss_log_append(w, &bad, "{}", 2, &err) < 0 &&
	      err.code == SS_ERR_INPUT);

	append(w, 200, 0, "{\"b\":1}");
	append(w, 200, 1, "{\"b\":2}");
	append(w, 200, 4, "{\"b\":3}");
	CHECK(ss_log_commit(w, 200, &err) == 0);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 5);
	CHECK(h.chunks >= 1);
	/* Range in the middle. */
	b = body(r, off(100, 2), off(200, 1), &count);
	CHECK_STR(b, "[{\"b\":1}\n,{\"b\":2}\n]");
	free(b);
	b = body(r, off(200, 4), off(300, 0), &count);
	CHECK_STR(b, "[]");
	CHECK(count == 0);
	free(b);
	/* The first chunk closes after entry 4 (4 x 9 = 36 >= 30 bytes). */
	CHECK(ss_log_reader_chunk_end(r, &ss_offset_before_all, &end, &closed,
				      &err) == 0);
	CHECK(closed == 1 && end.tx == 200 && end.op == 1);
	CHECK(ss_log_reader_chunk_end(r, &end, &end, &closed, &err) == 0);
	CHECK(closed == 0 && end.tx == 200 && end.op == 4);

	/* Uncommitted tail: written, then the writer "crashes". */
	append(w, 300, 0, "{\"c\":1}");
	CHECK(ss_log_pending_bytes(w) == 9);
	ss_log_writer_close(w);
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	ss_log_writer_head(w, &h);
	CHECK(h.entries == 5 && h.last.tx == 200 && h.last.op == 4);
	CHECK(ss_log_pending_bytes(w) == 0);
	/* The same transaction can be written again after recovery. */
	append(w, 300, 0, "{\"c\":1}");
	CHECK(ss_log_commit(w, 300, &err) == 0);
	CHECK(ss_log_sync(w, &err) == 0);
	/* Rollback drops what was appended since the last commit. */
	append(w, 400, 0, "{\"d\":1}");
	CHECK(ss_log_rollback(w, &err) == 0);
	append(w, 400, 0, "{\"d\":2}");
	CHECK(ss_log_commit(w, 400, &err) == 0);
	CHECK(ss_log_reader_refresh(r, NULL, &err) == 0);
	b = body(r, off(200, 4), off(400, 0), &count);
	CHECK_STR(b, "[{\"c\":1}\n,{\"d\":2}\n]");
	free(b);
	/* A commit with no entries still records the transaction. */
	CHECK(ss_log_commit(w, 500, &err) == 0);
	ss_log_writer_head(w, &h);
	CHECK(h.last_tx == 500 && h.last.tx == 400);
	ss_log_writer_close(w);
	ss_log_reader_close(r);

	/* A torn head write damages only one slot: the other still reads. */
	{
		char p[400];
		int fd;

		snprintf(p, sizeof(p), "%s/head", d);
		fd = open(p, O_WRONLY);
		CHECK(fd >= 0);
		/* The last commit (seq 7, say) went to one slot; clobber it. */
		CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
		ss_log_writer_head(w, &h);
		CHECK(h.last_tx == 500);
		ss_log_writer_close(w);
		{
			char junk[80];
			int slot;

			memset(junk, 'x', sizeof(junk));
			/* seq counts commits: 5 so far in this file -> slot 1
			 */
			slot = 1;
			CHECK(pwrite(fd, junk, sizeof(junk), slot * 80) == 80);
		}
		close(fd);
		CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
		ss_log_writer_head(w, &h);
		/* The previous commit (tx 400) is what survives. */
		CHECK(h.last_tx == 400 && h.last.tx == 400);
		ss_log_writer_close(w);
		fd = open(p, O_WRONLY);
		{
			char junk[160];

			memset(junk, 'y', sizeof(junk));
			CHECK(pwrite(fd, junk, sizeof(junk), 0) == 160);
		}
		close(fd);
		CHECK(ss_log_writer_open(d, &o, &w, &err) < 0);
		CHECK(err.code == SS_ERR_INPUT && strstr(err.msg, "damaged"));
	}

	/* A reader of a shape store has not written yet sees an empty log. */
	snprintf(d, sizeof(d), "%s/nothing", dir);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 0 && h.bytes == 0);
	CHECK(ss_log_reader_fd(r) == -1);
	CHECK(ss_log_reader_chunk_end(r, &ss_offset_before_all, &end, &closed,
				      &err) == 0);
	CHECK(end.kind == SS_OFFSET_BEFORE_ALL && !closed);
	ss_log_reader_close(r);
}

/* A reader over damaged data files answers within the committed log or
 * with an error (found by tests/fuzz/fuzz-log: a damaged index record
 * gave an entry of 2^63 bytes). */
/* ss_log_create: an empty log's files where there are none; a log that
 * is there stays as it is. */
static void test_create(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_log_head h;
	struct stat st;
	char d[300], p[400];

	snprintf(d, sizeof(d), "%s/created", dir);
	CHECK(mkdir(d, 0755) == 0);
	CHECK(ss_log_create(d, &err) == 0);
	snprintf(p, sizeof(p), "%s/head", d);
	CHECK(stat(p, &st) == 0 && st.st_size == 0);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 0 && h.last.kind == SS_OFFSET_BEFORE_ALL);
	CHECK(ss_log_writer_open(d, NULL, &w, &err) == 0);
	append(w, 100, 0, "{\"a\":1}");
	CHECK(ss_log_commit(w, 100, &err) == 0);
	/* again, beside the writer: nothing changes */
	CHECK(ss_log_create(d, &err) == 0);
	append(w, 200, 0, "{\"a\":2}");
	CHECK(ss_log_commit(w, 200, &err) == 0);
	ss_log_writer_close(w);
	CHECK(ss_log_reader_refresh(r, NULL, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 2 && h.last.tx == 200);
	ss_log_reader_close(r);
	/* a directory that is not there: an error, nothing made */
	snprintf(p, sizeof(p), "%s/not-there", dir);
	CHECK(ss_log_create(p, &err) < 0 && err.code == SS_ERR_RUNTIME);
}

/* A long-lived reader (which remembers the end before its last refresh
 * and takes a live request's range from it) answers every range as a
 * fresh reader does, over random appends and requests. */
static void test_memo(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_writer *w;
	struct ss_log_reader *r, *f;
	struct ss_log_head h;
	struct ss_offset prev = ss_offset_before_all, offs[400];
	char d[300];
	uint64_t tx = 10, n = 0, s1, e1, c1, s2, e2, c2;
	int round, k;

	srand(7);
	snprintf(d, sizeof(d), "%s/memo", dir);
	CHECK(ss_log_writer_open(d, NULL, &w, &err) == 0);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	for (round = 0; round < 100; round++) {
		int m = 1 + rand() % 3;

		for (k = 0; k < m; k++) {
			offs[n] = off(tx, (uint64_t)k * 2);
			append(w, tx, (uint64_t)k * 2, "{\"x\":1}");
			n++;
		}
		CHECK(ss_log_commit(w, tx, &err) == 0);
		tx += 1 + (uint64_t)(rand() % 3);
		if (rand() % 4 == 0)
			continue; /* two commits between refreshes */
		CHECK(ss_log_reader_refresh(r, NULL, &err) == 0);
		CHECK(ss_log_reader_open(d, &f, &err) == 0);
		for (k = 0; k < 4; k++) {
			struct ss_offset a = prev, u;

			ss_log_reader_head(r, &h);
			u = h.last;
			if (k == 1)
				a = offs[rand() % n];
			if (k == 2)
				u = offs[rand() % n];
			if (k == 3)
				a = ss_offset_before_all;
			CHECK(ss_log_reader_range(r, &a, &u, &s1, &e1, &c1,
						  &err) == 0);
			CHECK(ss_log_reader_range(f, &a, &u, &s2, &e2, &c2,
						  &err) == 0);
			CHECK(s1 == s2 && e1 == e2 && c1 == c2);
		}
		ss_log_reader_close(f);
		ss_log_reader_head(r, &h);
		prev = h.last;
	}
	ss_log_reader_close(r);
	ss_log_writer_close(w);
}

/* A reader leaves the files' access times alone: with relatime a read
 * after each append would otherwise write every file's inode. */
static void test_noatime(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_log_head h;
	struct timespec old[2] = {{1000, 0}, {0, UTIME_OMIT}};
	static const char *const names[] = {"log", "index", "head"};
	struct stat st;
	char d[300], p[400], *b;
	uint64_t count;
	size_t i;

	snprintf(d, sizeof(d), "%s/noatime", dir);
	CHECK(ss_log_writer_open(d, NULL, &w, &err) == 0);
	append(w, 100, 0, "{\"a\":1}");
	CHECK(ss_log_commit(w, 100, &err) == 0);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		CHECK(utimensat(AT_FDCWD, p, old, 0) == 0);
	}
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	CHECK(ss_log_reader_refresh(r, NULL, &err) == 0);
	ss_log_reader_head(r, &h);
	b = body(r, ss_offset_before_all, h.last, &count);
	CHECK_STR(b, "[{\"a\":1}\n]");
	free(b);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		CHECK(stat(p, &st) == 0 && st.st_atim.tv_sec == 1000);
	}
	ss_log_reader_close(r);
	ss_log_writer_close(w);
}

static void test_damage(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_opts o;
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_offset a = off(5, 0), end;
	char d[300], p[340];
	uint64_t pos, len, s, e, n;
	unsigned char junk[8];
	int fd, closed;

	snprintf(d, sizeof(d), "%s/damaged", dir);
	ss_log_opts_init(&o);
	o.chunk_bytes = 10;
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	append(w, 5, 0, "{\"a\":1}");
	append(w, 5, 2, "{\"a\":2}");
	append(w, 6, 0, "{\"a\":3}");
	CHECK(ss_log_commit(w, 6, &err) == 0);
	ss_log_writer_close(w);

	/* index record 1: its byte position made huge */
	snprintf(p, sizeof(p), "%s/index", d);
	fd = open(p, O_WRONLY);
	memset(junk, 0x7f, sizeof(junk));
	CHECK(pwrite(fd, junk, 8, 24 + 16) == 8);
	close(fd);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	CHECK(ss_log_reader_entry(r, 0, &end, &pos, &len, &err) < 0);
	CHECK(strstr(err.msg, "is damaged: index record 1 is out of place") !=
	      NULL);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK(ss_log_reader_range(r, &a, &ss_offset_last, &s, &e, &n, &err) <
	      0);
	CHECK(strstr(err.msg, "is damaged: index record 1 is out of place") !=
	      NULL);
	/* a chunk that ends past the last committed offset */
	snprintf(p, sizeof(p), "%s/chunks", d);
	fd = open(p, O_WRONLY);
	memset(junk, 0x7f, sizeof(junk));
	CHECK(pwrite(fd, junk, 8, 0) == 8);
	close(fd);
	CHECK(ss_log_reader_chunk_end(r, &ss_offset_before_all, &end, &closed,
				      &err) < 0);
	CHECK(strstr(err.msg, "is damaged: chunks record 0 is out of place") !=
	      NULL);
	ss_log_reader_close(r);

	/* a log file cut short of what the head says */
	snprintf(p, sizeof(p), "%s/log", d);
	CHECK(truncate(p, 5) == 0);
	CHECK(ss_log_reader_open(d, &r, &err) < 0);
	CHECK(err.code == SS_ERR_INPUT &&
	      strstr(err.msg,
		     "is damaged: its files are shorter than its head says"));
}

static void test_snapshot(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_snapshot_writer *w;
	struct ss_buf end = SS_BUF_INIT, p = SS_BUF_INIT;
	uint64_t ready, chunks, xip[] = {7};
	char d[300];
	int done, i;
	FILE *f;
	char line[200];

	snprintf(d, sizeof(d), "%s/snap", dir);
	CHECK(ss_snapshot_begin(d, 30, &w, &err) == 0);
	for (i = 0; i < 5; i++) {
		char row[32];

		snprintf(row, sizeof(row), "{\"row\":%d}", i);
		CHECK(ss_snapshot_add(w, row, strlen(row), &err) == 0);
	}
	/* Each row counts 9 + 1 bytes: chunk 0 closes after row 2 (30). */
	CHECK(ss_snapshot_state(d, &ready, &done, &err) == 0);
	CHECK(ready == 1 && !done);
	ss_message_snapshot_end(&end, 5, 9, xip, 1);
	CHECK(ss_snapshot_finish(w, end.buf, end.len, &chunks, &err) == 0);
	CHECK(chunks == 2);
	CHECK(ss_snapshot_state(d, &ready, &done, &err) == 0);
	CHECK(ready == 2 && done);
	/* Chunk 1: rows 3 and 4, then snapshot-end. */
	ss_snapshot_chunk_path(&p, d, 1);
	f = fopen(p.buf, "r");
	CHECK(f != NULL);
	CHECK(f && fgets(line, sizeof(line), f) &&
	      !strcmp(line, ",{\"row\":3}\n"));
	CHECK(f && fgets(line, sizeof(line), f) &&
	      !strcmp(line, ",{\"row\":4}\n"));
	CHECK(f && fgets(line, sizeof(line), f) &&
	      !strcmp(
		  line,
		  ",{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"5\","
		  "\"xmax\":\"9\",\"xip_list\":[\"7\"]}}\n"));
	if (f)
		fclose(f);
	/* Starting again removes the old files. */
	CHECK(ss_snapshot_begin(d, 1000, &w, &err) == 0);
	CHECK(ss_snapshot_state(d, &ready, &done, &err) == 0);
	CHECK(ready == 0 && !done);
	ss_snapshot_abort(w);
	ss_buf_release(&end);
	ss_buf_release(&p);
}

static void test_message(void)
{
	struct ss_buf b = SS_BUF_INIT;
	const char *one[] = {"1"};
	const char *two[] = {"a", "b/c"};
	const char *nul[] = {NULL, "x"};

	ss_message_key(&b, "public", "items", one, 1);
	CHECK_STR(b.buf, "\"public\".\"items\"/\"1\"");
	ss_buf_reset(&b);
	ss_message_key(&b, "public", "t", two, 2);
	CHECK_STR(b.buf, "\"public\".\"t\"/\"a\"/\"b//c\"");
	ss_buf_reset(&b);
	ss_message_key(&b, "my\"s", "t", nul, 2);
	CHECK_STR(b.buf, "\"my\"\"s\".\"t\"/_/\"x\"");
	ss_buf_reset(&b);
	ss_message_up_to_date(&b, 12345);
	CHECK_STR(b.buf, "{\"headers\":{\"control\":\"up-to-date\","
			 "\"global_last_seen_lsn\":\"12345\"}}");
	ss_buf_reset(&b);
	ss_message_must_refetch(&b);
	CHECK_STR(b.buf, "{\"headers\":{\"control\":\"must-refetch\"}}");
	ss_buf_reset(&b);
	ss_message_snapshot_end(&b, 1, 2, NULL, 0);
	CHECK_STR(b.buf,
		  "{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"1\","
		  "\"xmax\":\"2\",\"xip_list\":[]}}");
	ss_buf_release(&b);
}

/* Descriptors this process holds. */
static int nfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		FAILF("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A parked writer: no descriptor between calls (each call that writes
 * opens its files and closes them again), nothing lost; a rollback while
 * parked cuts what was not committed; unparked, it keeps its files. */
static void test_park(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_writer *w;
	struct ss_log_reader *r;
	struct ss_log_head h;
	char d[300], *b;
	uint64_t count;
	int changed, n0;

	snprintf(d, sizeof(d), "%s/parked", dir);
	CHECK(ss_log_writer_open(d, NULL, &w, &err) == 0);
	CHECK(!ss_log_writer_parked(w));
	n0 = nfds();
	append(w, 100, 0, "{\"a\":1}");
	ss_log_writer_park(w);
	CHECK(ss_log_writer_parked(w) && nfds() == n0 - 4);
	append(w, 100, 2, "{\"a\":2}");
	CHECK(ss_log_writer_parked(w) && nfds() == n0 - 4);
	CHECK(ss_log_commit(w, 100, &err) == 0);
	CHECK(ss_log_sync(w, &err) == 0);
	CHECK(ss_log_writer_parked(w) && nfds() == n0 - 4);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 2 && h.last_tx == 100);
	b = body(r, ss_offset_before_all, ss_offset_last, &count);
	CHECK_STR(b, "[{\"a\":1}\n,{\"a\":2}\n]");
	free(b);
	/* parked with an entry not committed, then rolled back */
	append(w, 200, 0, "{\"a\":3}");
	CHECK(ss_log_rollback(w, &err) == 0);
	append(w, 300, 0, "{\"a\":4}");
	CHECK(ss_log_commit(w, 300, &err) == 0);
	CHECK(ss_log_writer_parked(w));
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && changed);
	b = body(r, ss_offset_before_all, ss_offset_last, &count);
	CHECK_STR(b, "[{\"a\":1}\n,{\"a\":2}\n,{\"a\":4}\n]");
	free(b);
	ss_log_reader_close(r);
	/* unparked: the next write opens the files and keeps them */
	CHECK(nfds() == n0 - 4);
	ss_log_writer_unpark(w);
	CHECK(!ss_log_writer_parked(w) && nfds() == n0 - 4);
	append(w, 400, 0, "{\"a\":5}");
	CHECK(nfds() == n0);
	CHECK(ss_log_commit(w, 400, &err) == 0);
	ss_log_writer_close(w);
	/* a parked writer whose files went away says so */
	CHECK(ss_log_writer_open(d, NULL, &w, &err) == 0);
	ss_log_writer_park(w);
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/head", d);
		CHECK(unlink(p) == 0);
	}
	CHECK(ss_log_commit(w, 400, &err) < 0 &&
	      strstr(err.msg, "lost its files while parked"));
	ss_log_writer_close(w);
}

/* Size of file `name` in log directory d. */
static long long fsize(const char *d, const char *name)
{
	char p[400];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	if (stat(p, &st) < 0)
		return -1;
	return (long long)st.st_size;
}

static char *whole(struct ss_log_reader *r)
{
	uint64_t count;

	return body(r, ss_offset_before_all, ss_offset_last, &count);
}

/*
 * A buffered writer: entries reach the files only at a flush (commit,
 * ss_log_flush, a full buffer, an exhausted budget), one write per file;
 * parked, it buffers without opening its files; readers see whole transactions
 * only; a crash between two flushes of one transaction loses nothing committed
 * and keeps nothing that was not; the budget bounds the buffers of all its
 * writers together.
 */
static void test_buffered(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_log_budget *bud;
	struct ss_log_opts o;
	struct ss_log_writer *w, *w2;
	struct ss_log_reader *r;
	struct ss_log_head h;
	struct ss_offset end;
	char d[300], d2[300], big[200], *b;
	int changed, closed;

	snprintf(d, sizeof(d), "%s/buf1", dir);
	snprintf(d2, sizeof(d2), "%s/buf2", dir);
	ss_log_opts_init(&o);
	CHECK(o.buffer_bytes == 0 && o.budget == NULL);
	o.buffer_bytes = 100; /* ",{\"a\":1}\n" (9) + its record (24): 3 */
	o.chunk_bytes = 30;   /* a chunk closes every 4 entries */
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	CHECK(ss_log_reader_open(d, &r, &err) == 0);

	/* Buffered: nothing in the files yet. */
	append(w, 100, 0, "{\"a\":1}");
	append(w, 100, 2, "{\"a\":2}");
	CHECK(fsize(d, "log") == 0 && fsize(d, "index") == 0);
	CHECK(ss_log_buffered_bytes(w) > 0);
	CHECK(ss_log_pending_bytes(w) == 18);
	/* The third entry (3 x 33 = 99 bytes) still fits, the fourth does
	 * not: the first three go out, still uncommitted. */
	append(w, 100, 4, "{\"a\":3}");
	CHECK(fsize(d, "log") == 0);
	append(w, 100, 6, "{\"a\":4}");
	CHECK(fsize(d, "log") == 27 && fsize(d, "index") == 3 * 24);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && !changed);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 0);
	/* Commit writes the rest, chunk record included, then head. */
	CHECK(ss_log_commit(w, 100, &err) == 0);
	CHECK(ss_log_buffered_bytes(w) == 0);
	CHECK(fsize(d, "log") == 36 && fsize(d, "index") == 4 * 24 &&
	      fsize(d, "chunks") == 24);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && changed);
	b = whole(r);
	CHECK_STR(b, "[{\"a\":1}\n,{\"a\":2}\n,{\"a\":3}\n,{\"a\":4}\n]");
	free(b);
	CHECK(ss_log_reader_chunk_end(r, &ss_offset_before_all, &end, &closed,
				      &err) == 0);
	CHECK(closed == 1 && end.tx == 100 && end.op == 6);

	/* An explicit flush, then a crash before the commit: the flushed
	 * part is in the files, but no head names it; recovery cuts it and
	 * readers never saw it. */
	append(w, 200, 0, "{\"b\":1}");
	CHECK(ss_log_flush(w, &err) == 0);
	CHECK(ss_log_buffered_bytes(w) == 0 && fsize(d, "log") == 45);
	append(w, 200, 2, "{\"b\":2}");
	CHECK(fsize(d, "log") == 45);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && !changed);
	ss_log_writer_close(w); /* "crash": the buffered entry is lost */
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	CHECK(fsize(d, "log") == 36 && fsize(d, "index") == 4 * 24);
	ss_log_writer_head(w, &h);
	CHECK(h.entries == 4 && h.last_tx == 100);
	/* Rollback drops buffered and flushed entries alike. */
	append(w, 200, 0, "{\"b\":1}");
	CHECK(ss_log_flush(w, &err) == 0);
	append(w, 200, 2, "{\"b\":2}");
	CHECK(ss_log_rollback(w, &err) == 0);
	CHECK(ss_log_buffered_bytes(w) == 0);
	append(w, 300, 0, "{\"c\":1}");
	CHECK(ss_log_commit(w, 300, &err) == 0);
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && changed);
	b = whole(r);
	CHECK_STR(b, "[{\"a\":1}\n,{\"a\":2}\n,{\"a\":3}\n,{\"a\":4}\n,"
		     "{\"c\":1}\n]");
	free(b);

	/* An entry larger than the buffer is written at once. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"x\":\"", 6);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	append(w, 400, 0, big);
	CHECK(ss_log_buffered_bytes(w) == 0 &&
	      fsize(d, "log") == 45 + (long long)sizeof(big) + 1);
	CHECK(ss_log_commit(w, 400, &err) == 0);

	/* Parked, it keeps its buffer and buffers on without a descriptor;
	 * a flush or commit opens the files for its length only. */
	{
		long long sz = fsize(d, "log");
		int n0 = nfds();

		CHECK(ss_log_reader_refresh(r, NULL, &err) == 0);

		append(w, 500, 0, "{\"d\":1}");
		CHECK(ss_log_buffered_bytes(w) > 0);
		ss_log_writer_park(w);
		CHECK(ss_log_writer_parked(w) && ss_log_buffered_bytes(w) > 0);
		CHECK(nfds() == n0 - 4);
		append(w, 500, 2, "{\"d\":2}");
		CHECK(nfds() == n0 - 4 && fsize(d, "log") == sz);
		CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 &&
		      !changed);
		CHECK(ss_log_commit(w, 500, &err) == 0);
		CHECK(nfds() == n0 - 4 && fsize(d, "log") == sz + 18);
		CHECK(ss_log_writer_parked(w) && ss_log_buffered_bytes(w) == 0);
	}
	CHECK(ss_log_reader_refresh(r, &changed, &err) == 0 && changed);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 8 && h.last.tx == 500 && h.last.op == 2);
	ss_log_writer_close(w);
	ss_log_reader_close(r);

	/* A budget shared by two writers: when one needs more than is left,
	 * both are flushed; their memory together stays within the limit. */
	bud = ss_log_budget_new(5000);
	o.buffer_bytes = 1 << 20;
	o.chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
	o.budget = bud;
	CHECK(ss_log_writer_open(d2, &o, &w2, &err) == 0);
	snprintf(d, sizeof(d), "%s/buf3", dir);
	CHECK(ss_log_writer_open(d, &o, &w, &err) == 0);
	append(w, 100, 0, "{\"a\":1}");
	append(w2, 100, 0, "{\"a\":1}");
	/* 1 KiB for each file's buffer so far */
	CHECK(ss_log_budget_used(bud) == 4096);
	CHECK(ss_log_buffered_bytes(w) == 2048 &&
	      ss_log_buffered_bytes(w2) == 2048);
	CHECK(fsize(d, "log") == 0 && fsize(d2, "log") == 0);
	/* w parked: the budget's flush opens its files for the flush only */
	ss_log_writer_park(w);
	{
		uint64_t op;
		int n0 = nfds();

		/* w2 grows past the limit: both go to their files */
		for (op = 2; fsize(d, "log") == 0 && op < 400; op += 2)
			append(w2, 100, op, "{\"a\":1}");
		CHECK(fsize(d, "log") == 9 && fsize(d, "index") == 24);
		CHECK(fsize(d2, "log") > 0 && nfds() == n0);
		CHECK(ss_log_buffered_bytes(w) == 0);
		CHECK(ss_log_budget_used(bud) <= 5000);
		CHECK(ss_log_budget_used(bud) == ss_log_buffered_bytes(w2));
		for (; op < 400; op += 2) {
			append(w2, 100, op, "{\"a\":1}");
			CHECK(ss_log_budget_used(bud) <= 5000);
		}
	}
	/* An entry that does not fit an empty budget is written at once. */
	{
		char *huge = ss_xmalloc(4000);

		memset(huge, 'y', 3999);
		huge[3999] = '\0';
		memcpy(huge, "{\"y\":\"", 6);
		memcpy(huge + 3997, "\"}", 3);
		append(w, 100, 2, huge);
		CHECK(fsize(d, "log") == 9 + 4001);
		CHECK(ss_log_budget_used(bud) <= 5000);
		free(huge);
	}
	CHECK(ss_log_commit(w, 100, &err) == 0);
	CHECK(ss_log_commit(w2, 100, &err) == 0);
	CHECK(ss_log_budget_used(bud) == 0);
	CHECK(ss_log_reader_open(d2, &r, &err) == 0);
	ss_log_reader_head(r, &h);
	CHECK(h.entries == 200 && h.bytes == 200 * 9 &&
	      (long long)h.bytes == fsize(d2, "log"));
	ss_log_reader_close(r);
	/* Closing a writer with a buffer gives its memory back. */
	append(w, 200, 0, "{\"a\":1}");
	CHECK(ss_log_budget_used(bud) > 0);
	ss_log_writer_close(w);
	CHECK(ss_log_budget_used(bud) == 0);
	ss_log_writer_close(w2);
	ss_log_budget_free(bud);
}

int main(void)
{
	char tmpl[] = "/tmp/ss-unit-log.XXXXXX";

	if (!mkdtemp(tmpl))
		FAILF("mkdtemp: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_log();
	test_park();
	test_buffered();
	test_create();
	test_noatime();
	test_memo();
	test_damage();
	test_snapshot();
	test_message();
	if (!unit_failures) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return unit_report();
}
