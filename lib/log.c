/*
 * log.c — the per-shape log: append with index and chunk records, commit
 * through a two-slot head, recovery by truncation, and binary-searched
 * reads for serve. See log.h and shapesync-datadir(5).
 */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define REC 24	/* index and chunk record size */
#define SLOT 80 /* one head slot; the head file holds two */
static const char MAGIC[8] = {'S', 'S', 'L', 'O', 'G', 'v', '0', '1'};

/* ---------------------------------------------------------------- files */

static int sys_fail(struct ss_err *err, const char *what, const char *dir,
		    const char *file)
{
	return ss_err_set(err, SS_ERR_RUNTIME, "could not %s '%s/%s': %s", what,
			  dir, file, strerror(errno));
}

static int open_file(const char *dir, const char *name, int flags, int *fd,
		     struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;

	ss_buf_addf(&p, "%s/%s", dir, name);
	/* A reader reads a log just after each append, and with relatime
	 * every such read would write the inode's access time (a journal
	 * write per read). O_NOATIME is for the files' owner only. */
	*fd = -1;
	if (flags == O_RDONLY)
		*fd = open(p.buf, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (*fd < 0 && (flags != O_RDONLY || errno == EPERM))
		*fd = open(p.buf, flags | O_CLOEXEC, 0644);
	ss_buf_release(&p);
	if (*fd < 0) {
		if (errno == ENOENT && !(flags & O_CREAT))
			return 0;
		return sys_fail(err, "open", dir, name);
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t pos)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
	return 0;
}

/* mkdir -p from the leaf up: a new shape directory under existing
 * fan-out directories costs one call, under a new fan-out two or three. */
static int mkdir_p(const char *dir, struct ss_err *err)
{
	char *parent, *slash;
	int rc;

	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		goto fail;
	parent = ss_xstrdup(dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		free(parent);
		goto fail;
	}
	*slash = '\0';
	rc = mkdir_p(parent, err);
	free(parent);
	if (rc < 0)
		return -1;
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
fail:
	return ss_err_set(err, SS_ERR_RUNTIME,
			  "could not create directory '%s': %s", dir,
			  strerror(errno));
}

/* ----------------------------------------------------------------- head */

static void head_encode(unsigned char *b, const struct ss_log_head *h,
			uint64_t seq)
{
	memset(b, 0, SLOT);
	memcpy(b, MAGIC, 8);
	ss_put64be(b + 8, seq);
	ss_put64be(b + 16, h->bytes);
	ss_put64be(b + 24, h->entries);
	ss_put64be(b + 32, h->chunks);
	ss_offset_encode(&h->last, b + 40, NULL);
	ss_put64be(b + 56, h->last_tx);
	ss_put64be(b + 64, h->flags);
	ss_put64be(b + 72, ss_hash64(b, 72));
}

static int head_decode(const unsigned char *b, struct ss_log_head *h,
		       uint64_t *seq)
{
	if (memcmp(b, MAGIC, 8) || ss_get64be(b + 72) != ss_hash64(b, 72))
		return -1;
	*seq = ss_get64be(b + 8);
	h->bytes = ss_get64be(b + 16);
	h->entries = ss_get64be(b + 24);
	h->chunks = ss_get64be(b + 32);
	if (ss_offset_decode(b + 40, &h->last, NULL) < 0)
		return -1;
	h->last_tx = ss_get64be(b + 56);
	h->flags = (uint32_t)ss_get64be(b + 64);
	return 0;
}

static void head_empty(struct ss_log_head *h)
{
	memset(h, 0, sizeof(*h));
	h->last = ss_offset_before_all;
}

/*
 * Read the newest valid slot. An empty (new) head file is an empty log.
 * 1 if a head was found, 0 for an empty file, -1 if the file holds no
 * valid slot (damaged).
 */
static int head_read(int fd, struct ss_log_head *h, uint64_t *seq)
{
	unsigned char b[2 * SLOT];
	struct ss_log_head a[2];
	uint64_t s[2];
	int ok[2], i;
	ssize_t n;

	head_empty(h);
	*seq = 0;
	if (fd < 0)
		return 0;
	do
		n = pread(fd, b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (i = 0; i < 2; i++)
		ok[i] = n >= (i + 1) * SLOT &&
			head_decode(b + i * SLOT, &a[i], &s[i]) == 0;
	if (!ok[0] && !ok[1])
		return -1;
	i = ok[0] && (!ok[1] || s[0] > s[1]) ? 0 : 1;
	*h = a[i];
	*seq = s[i];
	return 1;
}

/* --------------------------------------------------------------- writer */

/*
 * Bytes appended to one file but not written yet: they go at file
 * position `at` (where the file's written part ends). `cap` is the
 * allocated size, what the budget counts.
 */
struct pend {
	unsigned char *buf;
	size_t len, cap;
	uint64_t at;
};

struct ss_log_writer {
	char *dir;
	int log_fd, idx_fd, chk_fd, head_fd;
	struct ss_log_opts o;
	struct ss_log_head head; /* committed */
	uint64_t seq;		 /* of the last head slot written */
	uint64_t bytes, entries, chunks;
	struct ss_offset last; /* last appended */
	uint64_t chunk_start;  /* byte where the open chunk starts */
	uint32_t flags;
	/* the write buffer: log bytes, index and chunk records */
	struct pend plog, pidx, pchk;
	/* on the budget's list while the buffer holds memory */
	struct ss_log_writer *bprev, *bnext;
	int on_budget;
	int parked; /* no descriptors held between calls */
};

struct ss_log_budget {
	uint64_t limit, used;
	struct ss_log_writer *holders; /* writers whose buffers hold memory */
};

struct ss_log_budget *ss_log_budget_new(uint64_t limit)
{
	struct ss_log_budget *b = ss_xcalloc(1, sizeof(*b));

	b->limit = limit;
	return b;
}

void ss_log_budget_free(struct ss_log_budget *b)
{
	free(b);
}

uint64_t ss_log_budget_used(const struct ss_log_budget *b)
{
	return b->used;
}

void ss_log_opts_init(struct ss_log_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
}

static int chunk_start_of(struct ss_log_writer *w, struct ss_err *err)
{
	unsigned char rec[REC];

	w->chunk_start = 0;
	if (!w->chunks)
		return 0;
	if (ss_pread_all(w->chk_fd, rec, REC, (w->chunks - 1) * REC) < 0)
		return sys_fail(err, "read", w->dir, "chunks");
	w->chunk_start = ss_get64be(rec + 16);
	return 0;
}

/* ---------------------------------------------------------- write buffer */

static size_t buffer_mem(const struct ss_log_writer *w)
{
	return w->plog.cap + w->pidx.cap + w->pchk.cap;
}

static size_t buffer_len(const struct ss_log_writer *w)
{
	return w->plog.len + w->pidx.len + w->pchk.len;
}

/* The allocation p needs for n more bytes: doubling from 1 KiB, never
 * past what is needed beyond `max` (the writer's buffer_bytes). */
static size_t pend_cap(const struct pend *p, size_t n, size_t max)
{
	size_t want = p->len + n, cap = p->cap;

	if (want <= cap)
		return cap;
	if (cap < 1024)
		cap = 1024;
	while (cap < want)
		cap *= 2;
	if (cap > max)
		cap = max > want ? max : want;
	return cap;
}

static void budget_link(struct ss_log_writer *w)
{
	struct ss_log_budget *b = w->o.budget;

	if (!b || w->on_budget)
		return;
	w->bprev = NULL;
	w->bnext = b->holders;
	if (b->holders)
		b->holders->bprev = w;
	b->holders = w;
	w->on_budget = 1;
}

static void budget_unlink(struct ss_log_writer *w)
{
	struct ss_log_budget *b = w->o.budget;

	if (!b || !w->on_budget)
		return;
	if (w->bprev)
		w->bprev->bnext = w->bnext;
	else
		b->holders = w->bnext;
	if (w->bnext)
		w->bnext->bprev = w->bprev;
	w->bprev = w->bnext = NULL;
	w->on_budget = 0;
}

/* Free the buffer (its contents are dropped) and give its memory back to
 * the budget. */
static void buffer_free(struct ss_log_writer *w)
{
	struct pend *ps[3] = {&w->plog, &w->pidx, &w->pchk};
	size_t i;

	if (w->o.budget)
		w->o.budget->used -= buffer_mem(w);
	budget_unlink(w);
	for (i = 0; i < 3; i++) {
		free(ps[i]->buf);
		memset(ps[i], 0, sizeof(*ps[i]));
	}
}

static void pend_add(struct pend *p, const void *data, size_t len)
{
	memcpy(p->buf + p->len, data, len);
	p->len += len;
}

static int open_files(struct ss_log_writer *w, struct ss_err *err);
static void settle(struct ss_log_writer *w);

/* Write the buffer to the files: log data first, then its index and chunk
 * records (head, written only by a commit, comes after all of them).
 * `keep`: keep the allocation for more entries (a writer whose buffer
 * filled up in a long transaction) instead of freeing it. */
static int buffer_write(struct ss_log_writer *w, int keep, struct ss_err *err)
{
	struct pend *ps[3] = {&w->plog, &w->pidx, &w->pchk};
	const int *fds[3] = {&w->log_fd, &w->idx_fd, &w->chk_fd};
	static const char *const names[3] = {"log", "index", "chunks"};
	size_t i;

	if (buffer_len(w) && open_files(w, err) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (!ps[i]->len)
			continue;
		if (pwrite_all(*fds[i], ps[i]->buf, ps[i]->len, ps[i]->at) < 0)
			return sys_fail(err, "write", w->dir, names[i]);
		/* Written: a failure in the next file must not write this
		 * again at a position past its new end. */
		ps[i]->at += ps[i]->len;
		ps[i]->len = 0;
	}
	if (!keep)
		buffer_free(w);
	return 0;
}

/* Flush every writer of the budget that holds a buffer, freeing them.
 * A parked one opens its files for it and closes them again. */
static int budget_flush(struct ss_log_budget *b, struct ss_err *err)
{
	while (b->holders) {
		struct ss_log_writer *h = b->holders;
		int rc = buffer_write(h, 0, err);

		settle(h);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * Make room in w's buffer for an entry of `n` log bytes, its index record
 * and `nchk` (0 or 1) chunk records. 1 if the entry is to be
 * buffered (room made), 0 if it is to be written at once (w's buffer is
 * empty then), -1 on error.
 */
static int buffer_room(struct ss_log_writer *w, size_t n, size_t nchk,
		       struct ss_err *err)
{
	struct ss_log_budget *b = w->o.budget;
	size_t max = w->o.buffer_bytes, need = n + REC + nchk * REC;
	size_t cl, ci, cc, grow;

	if (!max || need > max) {
		if (buffer_write(w, 0, err) < 0)
			return -1;
		return 0;
	}
	if (buffer_len(w) + need > max && buffer_write(w, 1, err) < 0)
		return -1;
	for (;;) {
		cl = pend_cap(&w->plog, n, max);
		ci = pend_cap(&w->pidx, REC, max);
		cc = nchk ? pend_cap(&w->pchk, REC, max) : w->pchk.cap;
		grow = cl + ci + cc - buffer_mem(w);
		if (!b || !grow || b->used + grow <= b->limit)
			break;
		/* Over budget: everyone's buffers (w's too) go to their
		 * files; if w alone still does not fit, write at once. */
		if (!buffer_mem(w) && grow > b->limit)
			return 0;
		if (budget_flush(b, err) < 0)
			return -1;
	}
	if (cl != w->plog.cap) {
		w->plog.buf = ss_xrealloc(w->plog.buf, cl);
		w->plog.cap = cl;
	}
	if (ci != w->pidx.cap) {
		w->pidx.buf = ss_xrealloc(w->pidx.buf, ci);
		w->pidx.cap = ci;
	}
	if (cc != w->pchk.cap) {
		w->pchk.buf = ss_xrealloc(w->pchk.buf, cc);
		w->pchk.cap = cc;
	}
	if (b) {
		b->used += grow;
		if (buffer_mem(w))
			budget_link(w);
	}
	/* Where each file's unwritten part begins. */
	if (!w->plog.len)
		w->plog.at = w->bytes;
	if (!w->pidx.len)
		w->pidx.at = w->entries * REC;
	if (!w->pchk.len)
		w->pchk.at = w->chunks * REC;
	return 1;
}

int ss_log_flush(struct ss_log_writer *w, struct ss_err *err)
{
	int rc;

	if (!buffer_mem(w))
		return 0;
	rc = buffer_write(w, 0, err);
	settle(w);
	return rc;
}

uint64_t ss_log_buffered_bytes(const struct ss_log_writer *w)
{
	return buffer_mem(w);
}

/* ---------------------------------------------------------------- files */

static void close_files(struct ss_log_writer *w)
{
	int *fds[4] = {&w->log_fd, &w->idx_fd, &w->chk_fd, &w->head_fd};
	size_t i;

	for (i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

void ss_log_writer_close(struct ss_log_writer *w)
{
	if (!w)
		return;
	buffer_free(w);
	close_files(w);
	free(w->dir);
	free(w);
}

void ss_log_writer_park(struct ss_log_writer *w)
{
	w->parked = 1;
	close_files(w);
}

void ss_log_writer_unpark(struct ss_log_writer *w)
{
	w->parked = 0;
}

int ss_log_writer_parked(const struct ss_log_writer *w)
{
	return w->parked;
}

/* A parked writer holds no descriptor once a call is over. */
static void settle(struct ss_log_writer *w)
{
	if (w->parked)
		close_files(w);
}

/* The files of a writer that closed them (parked), opened again as they
 * are (no recovery). */
static int open_files(struct ss_log_writer *w, struct ss_err *err)
{
	if (w->log_fd >= 0)
		return 0;
	if (open_file(w->dir, "log", O_RDWR, &w->log_fd, err) < 0 ||
	    open_file(w->dir, "index", O_RDWR, &w->idx_fd, err) < 0 ||
	    open_file(w->dir, "chunks", O_RDWR, &w->chk_fd, err) < 0 ||
	    open_file(w->dir, "head", O_RDWR, &w->head_fd, err) < 0) {
		close_files(w);
		return -1;
	}
	if (w->log_fd < 0 || w->idx_fd < 0 || w->chk_fd < 0 || w->head_fd < 0) {
		close_files(w);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "log '%s' lost its files while parked",
				  w->dir);
	}
	return 0;
}

int ss_log_create(const char *dir, struct ss_err *err)
{
	static const char *const names[] = {"log", "index", "chunks", "head"};
	size_t i;
	int fd;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (open_file(dir, names[i], O_RDWR | O_CREAT, &fd, err) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

int ss_log_writer_open(const char *dir, const struct ss_log_opts *opts,
		       struct ss_log_writer **out, struct ss_err *err)
{
	struct ss_log_writer *w = ss_xcalloc(1, sizeof(*w));
	struct stat st[3];
	int rc;

	w->log_fd = w->idx_fd = w->chk_fd = w->head_fd = -1;
	w->dir = ss_xstrdup(dir);
	if (opts)
		w->o = *opts;
	else
		ss_log_opts_init(&w->o);
	if (!w->o.chunk_bytes)
		w->o.chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
	if (mkdir_p(dir, err) < 0 ||
	    open_file(dir, "log", O_RDWR | O_CREAT, &w->log_fd, err) < 0 ||
	    open_file(dir, "index", O_RDWR | O_CREAT, &w->idx_fd, err) < 0 ||
	    open_file(dir, "chunks", O_RDWR | O_CREAT, &w->chk_fd, err) < 0 ||
	    open_file(dir, "head", O_RDWR | O_CREAT, &w->head_fd, err) < 0)
		goto fail;
	rc = head_read(w->head_fd, &w->head, &w->seq);
	if (rc < 0) {
		ss_err_set(err, SS_ERR_INPUT,
			   "log '%s' is damaged: no valid head record", dir);
		goto fail;
	}
	if (fstat(w->log_fd, &st[0]) < 0 || fstat(w->idx_fd, &st[1]) < 0 ||
	    fstat(w->chk_fd, &st[2]) < 0) {
		sys_fail(err, "stat", dir, "log");
		goto fail;
	}
	/* Only a lost OS write (power failure before an fsync) can leave the
	 * files shorter than a head that was published for readers. */
	if ((uint64_t)st[0].st_size < w->head.bytes ||
	    (uint64_t)st[1].st_size < w->head.entries * REC ||
	    (uint64_t)st[2].st_size < w->head.chunks * REC) {
		ss_err_set(
		    err, SS_ERR_INPUT,
		    "log '%s' is damaged: its files are shorter than its head records",
		    dir);
		goto fail;
	}
	/* Recovery: whatever lies past the committed head was never
	 * published; cut it off. */
	if (((uint64_t)st[0].st_size > w->head.bytes &&
	     ftruncate(w->log_fd, (off_t)w->head.bytes) < 0) ||
	    ((uint64_t)st[1].st_size > w->head.entries * REC &&
	     ftruncate(w->idx_fd, (off_t)(w->head.entries * REC)) < 0) ||
	    ((uint64_t)st[2].st_size > w->head.chunks * REC &&
	     ftruncate(w->chk_fd, (off_t)(w->head.chunks * REC)) < 0)) {
		sys_fail(err, "truncate", dir, "log");
		goto fail;
	}
	w->bytes = w->head.bytes;
	w->entries = w->head.entries;
	w->chunks = w->head.chunks;
	w->last = w->head.last;
	w->flags = w->head.flags;
	if (chunk_start_of(w, err) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	ss_log_writer_close(w);
	return -1;
}

void ss_log_writer_head(const struct ss_log_writer *w, struct ss_log_head *h)
{
	*h = w->head;
}

/* Write an entry and its index record at once (an unbuffered writer, or
 * an entry too big for the buffer): a pwritev of ",", json and "\n", and a
 * pwrite of the record. w's buffer is empty. */
static int append_direct(struct ss_log_writer *w, const unsigned char *rec,
			 const char *json, size_t len, struct ss_err *err)
{
	struct iovec iov[3];
	char comma = ',', nl = '\n';
	uint64_t pos = w->bytes;
	size_t left;
	int i;

	iov[0].iov_base = &comma;
	iov[0].iov_len = 1;
	iov[1].iov_base = (void *)json;
	iov[1].iov_len = len;
	iov[2].iov_base = &nl;
	iov[2].iov_len = 1;
	left = len + 2;
	i = 0;
	while (left) {
		ssize_t n = pwritev(w->log_fd, iov + i, 3 - i, (off_t)pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sys_fail(err, "write", w->dir, "log");
		}
		pos += (uint64_t)n;
		left -= (size_t)n;
		/* Short write: advance the iovecs. */
		while (n > 0 && i < 3) {
			if ((size_t)n >= iov[i].iov_len) {
				n -= (ssize_t)iov[i].iov_len;
				i++;
			} else {
				iov[i].iov_base = (char *)iov[i].iov_base + n;
				iov[i].iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	if (pwrite_all(w->idx_fd, rec, REC, w->entries * REC) < 0)
		return sys_fail(err, "write", w->dir, "index");
	return 0;
}

static int append(struct ss_log_writer *w, const struct ss_offset *off,
		  const char *json, size_t len, struct ss_err *err)
{
	unsigned char rec[REC], chk[REC];
	uint64_t end = w->bytes + len + 2;
	int closes, buffered;

	if (off->kind != SS_OFFSET_NORMAL ||
	    ss_offset_compare(off, &w->last) <= 0) {
		char a[SS_OFFSET_STRMAX], b[SS_OFFSET_STRMAX];

		ss_offset_format(off, a);
		ss_offset_format(&w->last, b);
		return ss_err_set(err, SS_ERR_INPUT,
				  "log '%s': offset %s does not follow %s",
				  w->dir, a, b);
	}
	closes = end - w->chunk_start >= w->o.chunk_bytes;
	ss_put64be(rec, off->tx);
	ss_put64be(rec + 8, off->op);
	ss_put64be(rec + 16, w->bytes);
	memcpy(chk, rec, 16);
	ss_put64be(chk + 16, end);
	buffered = buffer_room(w, len + 2, (size_t)closes, err);
	if (buffered < 0)
		return -1;
	if (buffered) {
		char c = ',';

		pend_add(&w->plog, &c, 1);
		pend_add(&w->plog, json, len);
		c = '\n';
		pend_add(&w->plog, &c, 1);
		pend_add(&w->pidx, rec, REC);
		if (closes)
			pend_add(&w->pchk, chk, REC);
	} else {
		/* (a buffered entry needs no descriptor: a parked writer
		 * buffers without opening its files) */
		if (open_files(w, err) < 0 ||
		    append_direct(w, rec, json, len, err) < 0)
			return -1;
		if (closes &&
		    pwrite_all(w->chk_fd, chk, REC, w->chunks * REC) < 0)
			return sys_fail(err, "write", w->dir, "chunks");
	}
	w->bytes = end;
	w->entries++;
	w->last = *off;
	if (closes) {
		w->chunks++;
		w->chunk_start = w->bytes;
	}
	return 0;
}

int ss_log_append(struct ss_log_writer *w, const struct ss_offset *off,
		  const char *json, size_t len, struct ss_err *err)
{
	int rc = append(w, off, json, len, err);

	settle(w);
	return rc;
}

static int write_head(struct ss_log_writer *w, const struct ss_log_head *h,
		      struct ss_err *err)
{
	unsigned char b[SLOT];
	uint64_t seq = w->seq + 1;

	if (open_files(w, err) < 0)
		return -1;
	head_encode(b, h, seq);
	/* Alternate slots: a torn write can only damage the slot being
	 * written, never the last good one. */
	if (pwrite_all(w->head_fd, b, SLOT, (seq % 2) * SLOT) < 0)
		return sys_fail(err, "write", w->dir, "head");
	w->seq = seq;
	return 0;
}

static int commit(struct ss_log_writer *w, uint64_t tx, struct ss_err *err)
{
	struct ss_log_head h;

	/* Everything head will name is in the files before head is. */
	if (buffer_mem(w) && buffer_write(w, 0, err) < 0)
		return -1;
	h.bytes = w->bytes;
	h.entries = w->entries;
	h.chunks = w->chunks;
	h.last = w->last;
	h.last_tx = tx;
	h.flags = w->flags;
	if (write_head(w, &h, err) < 0)
		return -1;
	w->head = h;
	return 0;
}

int ss_log_commit(struct ss_log_writer *w, uint64_t tx, struct ss_err *err)
{
	int rc = commit(w, tx, err);

	settle(w);
	return rc;
}

int ss_log_rollback(struct ss_log_writer *w, struct ss_err *err)
{
	int rc;

	buffer_free(w);
	w->bytes = w->head.bytes;
	w->entries = w->head.entries;
	w->chunks = w->head.chunks;
	w->last = w->head.last;
	w->chunk_start = 0;
	if (!w->chunks)
		return 0;
	rc = open_files(w, err);
	if (rc == 0)
		rc = chunk_start_of(w, err);
	settle(w);
	return rc;
}

void ss_log_set_flags(struct ss_log_writer *w, uint32_t flags)
{
	w->flags = flags;
}

static int sync_files(struct ss_log_writer *w, struct ss_err *err)
{
	if (open_files(w, err) < 0)
		return -1;
	if (fdatasync(w->log_fd) < 0)
		return sys_fail(err, "sync", w->dir, "log");
	if (fdatasync(w->idx_fd) < 0)
		return sys_fail(err, "sync", w->dir, "index");
	if (fdatasync(w->chk_fd) < 0)
		return sys_fail(err, "sync", w->dir, "chunks");
	if (fdatasync(w->head_fd) < 0)
		return sys_fail(err, "sync", w->dir, "head");
	return 0;
}

int ss_log_sync(struct ss_log_writer *w, struct ss_err *err)
{
	int rc = sync_files(w, err);

	settle(w);
	return rc;
}

uint64_t ss_log_pending_bytes(const struct ss_log_writer *w)
{
	return w->bytes - w->head.bytes;
}

/* --------------------------------------------------------------- reader */

struct ss_log_reader {
	char *dir;
	int log_fd, idx_fd, chk_fd, head_fd;
	struct ss_log_head head;
	uint64_t seq;
	/* The end before the last refresh that moved it: a live request
	 * asks for what follows it (memo_i entries end at memo_off). */
	struct ss_offset memo_off;
	uint64_t memo_i;
};

void ss_log_reader_close(struct ss_log_reader *r)
{
	if (!r)
		return;
	if (r->log_fd >= 0)
		close(r->log_fd);
	if (r->idx_fd >= 0)
		close(r->idx_fd);
	if (r->chk_fd >= 0)
		close(r->chk_fd);
	if (r->head_fd >= 0)
		close(r->head_fd);
	free(r->dir);
	free(r);
}

static int reader_open_files(struct ss_log_reader *r, struct ss_err *err)
{
	/* The head is opened last by the writer's order of creation, and is
	 * what makes anything visible: open the data files first. */
	if (r->log_fd < 0 &&
	    open_file(r->dir, "log", O_RDONLY, &r->log_fd, err) < 0)
		return -1;
	if (r->idx_fd < 0 &&
	    open_file(r->dir, "index", O_RDONLY, &r->idx_fd, err) < 0)
		return -1;
	if (r->chk_fd < 0 &&
	    open_file(r->dir, "chunks", O_RDONLY, &r->chk_fd, err) < 0)
		return -1;
	if (r->head_fd < 0 && r->log_fd >= 0 && r->idx_fd >= 0 &&
	    r->chk_fd >= 0 &&
	    open_file(r->dir, "head", O_RDONLY, &r->head_fd, err) < 0)
		return -1;
	return 0;
}

int ss_log_reader_open(const char *dir, struct ss_log_reader **out,
		       struct ss_err *err)
{
	struct ss_log_reader *r = ss_xcalloc(1, sizeof(*r));

	r->log_fd = r->idx_fd = r->chk_fd = r->head_fd = -1;
	r->dir = ss_xstrdup(dir);
	head_empty(&r->head);
	if (ss_log_reader_refresh(r, NULL, err) < 0) {
		ss_log_reader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* 1 if the file behind fd is shorter than `len` bytes (or unknown). */
static int short_file(int fd, uint64_t len)
{
	struct stat st;

	if (fd < 0)
		return len > 0;
	if (fstat(fd, &st) < 0)
		return 1;
	return (uint64_t)st.st_size < len;
}

static int damaged(struct ss_log_reader *r, const char *name, uint64_t i,
		   struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT,
			  "log '%s' is damaged: %s record %" PRIu64
			  " is out of place",
			  r->dir, name, i);
}

int ss_log_reader_refresh(struct ss_log_reader *r, int *changed,
			  struct ss_err *err)
{
	struct ss_log_head h;
	uint64_t seq;
	int rc;

	if (changed)
		*changed = 0;
	if (reader_open_files(r, err) < 0)
		return -1;
	rc = head_read(r->head_fd, &h, &seq);
	if (rc < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "log '%s' is damaged: no valid head record",
				  r->dir);
	if (rc == 0)
		return 0;
	/* The writer extends the data files before it writes a head, so
	 * files shorter than the head says were cut or damaged since: a
	 * range the head allows would read past their end. */
	if (h.entries > UINT64_MAX / REC || h.chunks > UINT64_MAX / REC ||
	    short_file(r->log_fd, h.bytes) ||
	    short_file(r->idx_fd, h.entries * REC) ||
	    short_file(r->chk_fd, h.chunks * REC))
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "log '%s' is damaged: its files are shorter than its head says",
		    r->dir);
	if (changed)
		*changed = seq != r->seq;
	if (r->head.entries && r->head.entries < h.entries) {
		r->memo_off = r->head.last;
		r->memo_i = r->head.entries;
	}
	r->head = h;
	r->seq = seq;
	return 0;
}

void ss_log_reader_head(const struct ss_log_reader *r, struct ss_log_head *h)
{
	*h = r->head;
}

static int read_rec(struct ss_log_reader *r, int fd, const char *name,
		    uint64_t i, struct ss_offset *off, uint64_t *pos,
		    struct ss_err *err)
{
	unsigned char rec[REC];

	if (ss_pread_all(fd, rec, REC, i * REC) < 0)
		return sys_fail(err, "read", r->dir, name);
	*off = ss_offset_make(ss_get64be(rec), ss_get64be(rec + 8));
	*pos = ss_get64be(rec + 16);
	if (!ss_offset_is_valid(off) || *pos > r->head.bytes)
		return damaged(r, name, i, err);
	return 0;
}

/* First record index in [0, n) whose offset is > `key`, or n. */
static int search(struct ss_log_reader *r, int fd, const char *name, uint64_t n,
		  const struct ss_offset *key, uint64_t *out,
		  struct ss_err *err)
{
	uint64_t lo = 0, hi = n, pos;
	struct ss_offset off;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (read_rec(r, fd, name, mid, &off, &pos, err) < 0)
			return -1;
		if (ss_offset_compare(&off, key) > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*out = lo;
	return 0;
}

int ss_log_reader_chunk_end(struct ss_log_reader *r,
			    const struct ss_offset *after,
			    struct ss_offset *end, int *closed,
			    struct ss_err *err)
{
	uint64_t i, pos;

	*end = r->head.last;
	*closed = 0;
	if (!r->head.chunks || ss_offset_compare(after, &r->head.last) >= 0)
		return 0;
	if (search(r, r->chk_fd, "chunks", r->head.chunks, after, &i, err) < 0)
		return -1;
	if (i < r->head.chunks) {
		if (read_rec(r, r->chk_fd, "chunks", i, end, &pos, err) < 0)
			return -1;
		if (ss_offset_compare(end, after) <= 0 ||
		    ss_offset_compare(end, &r->head.last) > 0)
			return damaged(r, "chunks", i, err);
		*closed = 1;
	}
	return 0;
}

/* search() for `after` when it is the remembered end: the first entry
 * past it is memo_i, checked against the records on both sides (two
 * reads instead of a binary search). *out is UINT64_MAX when `after` is
 * not that end (search then). */
static int memo_find(struct ss_log_reader *r, const struct ss_offset *after,
		     uint64_t *out, struct ss_err *err)
{
	struct ss_offset o;
	uint64_t pos;

	*out = UINT64_MAX;
	if (!r->memo_i || r->memo_i > r->head.entries ||
	    ss_offset_compare(after, &r->memo_off))
		return 0;
	if (read_rec(r, r->idx_fd, "index", r->memo_i - 1, &o, &pos, err) < 0)
		return -1;
	if (ss_offset_compare(&o, after) > 0)
		return 0;
	if (r->memo_i < r->head.entries) {
		if (read_rec(r, r->idx_fd, "index", r->memo_i, &o, &pos, err) <
		    0)
			return -1;
		if (ss_offset_compare(&o, after) <= 0)
			return 0;
	}
	*out = r->memo_i;
	return 0;
}

int ss_log_reader_range(struct ss_log_reader *r, const struct ss_offset *after,
			const struct ss_offset *upto, uint64_t *start,
			uint64_t *end, uint64_t *count, struct ss_err *err)
{
	uint64_t i, j, pos;
	struct ss_offset off;

	*start = *end = r->head.bytes;
	*count = 0;
	if (!r->head.entries || ss_offset_compare(upto, after) <= 0)
		return 0;
	if (memo_find(r, after, &i, err) < 0 ||
	    (i == UINT64_MAX && search(r, r->idx_fd, "index", r->head.entries,
				       after, &i, err) < 0))
		return -1;
	/* Every entry is at or before the last offset. */
	if (ss_offset_compare(upto, &r->head.last) >= 0)
		j = r->head.entries;
	else if (search(r, r->idx_fd, "index", r->head.entries, upto, &j, err) <
		 0)
		return -1;
	if (i >= j)
		return 0;
	if (read_rec(r, r->idx_fd, "index", i, &off, start, err) < 0)
		return -1;
	if (j < r->head.entries) {
		if (read_rec(r, r->idx_fd, "index", j, &off, &pos, err) < 0)
			return -1;
		*end = pos;
	} else {
		*end = r->head.bytes;
	}
	if (*start >= *end) /* i < j: at least one entry */
		return damaged(r, "index", i, err);
	*count = j - i;
	return 0;
}

int ss_log_reader_find(struct ss_log_reader *r, const struct ss_offset *after,
		       uint64_t *index, struct ss_err *err)
{
	return search(r, r->idx_fd, "index", r->head.entries, after, index,
		      err);
}

int ss_log_reader_entry(struct ss_log_reader *r, uint64_t i,
			struct ss_offset *off, uint64_t *pos, uint64_t *len,
			struct ss_err *err)
{
	struct ss_offset next;
	uint64_t end;

	if (i >= r->head.entries)
		return ss_err_set(err, SS_ERR_INPUT,
				  "log '%s' has no entry %" PRIu64, r->dir, i);
	if (read_rec(r, r->idx_fd, "index", i, off, pos, err) < 0)
		return -1;
	end = r->head.bytes;
	if (i + 1 < r->head.entries &&
	    read_rec(r, r->idx_fd, "index", i + 1, &next, &end, err) < 0)
		return -1;
	if (end <= *pos)
		return damaged(r, "index", i, err);
	*len = end - *pos;
	return 0;
}

int ss_log_reader_fd(const struct ss_log_reader *r)
{
	return r->log_fd;
}

int ss_log_reader_pread(struct ss_log_reader *r, void *buf, size_t len,
			uint64_t pos, struct ss_err *err)
{
	if (r->log_fd < 0 || ss_pread_all(r->log_fd, buf, len, pos) < 0)
		return sys_fail(err, "read", r->dir, "log");
	return 0;
}

int ss_log_reader_each(struct ss_log_reader *r, const struct ss_offset *after,
		       const struct ss_offset *upto,
		       int (*cb)(const struct ss_offset *off, const char *entry,
				 size_t len, void *ctx, struct ss_err *err),
		       void *ctx, struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	uint64_t i, j = r->head.entries;
	int rc = 0;

	if (ss_log_reader_find(r, after, &i, err) < 0 ||
	    (upto && ss_log_reader_find(r, upto, &j, err) < 0))
		return -1;
	for (; rc == 0 && i < j; i++) {
		struct ss_offset off;
		uint64_t pos, len;

		ss_buf_reset(&b);
		if (ss_log_reader_entry(r, i, &off, &pos, &len, err) < 0) {
			rc = -1;
			break;
		}
		ss_buf_grow(&b, len + 1);
		if (ss_log_reader_pread(r, b.buf, len, pos, err) < 0) {
			rc = -1;
			break;
		}
		b.buf[len] = '\0';
		rc = cb(&off, b.buf, len, ctx, err);
	}
	ss_buf_release(&b);
	return rc < 0 ? -1 : 0;
}

int ss_log_reader_each_chunk(struct ss_log_reader *r,
			     const struct ss_offset *after, uint64_t max,
			     int (*cb)(const struct ss_offset *end, void *ctx,
				       struct ss_err *err),
			     void *ctx, struct ss_err *err)
{
	struct ss_offset at = *after, end;
	uint64_t n;
	int closed;

	for (n = 0; !max || n < max; n++) {
		if (ss_log_reader_chunk_end(r, &at, &end, &closed, err) < 0)
			return -1;
		if (!closed)
			break;
		if (cb(&end, ctx, err) < 0)
			return -1;
		at = end;
	}
	return 0;
}
