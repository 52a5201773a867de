/*
 * snapshot.c — snapshot chunk files: written through a temporary name
 * and renamed, so a chunk file exists only when complete; all of them
 * fsync'd, then a done marker with the chunk count. See snapshot.h.
 */
#include "snapshot.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

struct ss_snapshot_writer {
	char *dir;
	uint64_t chunk_bytes;
	uint64_t n;	/* chunk being written */
	uint64_t bytes; /* bytes in it */
	FILE *f;
	struct ss_buf tmp, final;
};

void ss_snapshot_chunk_path(struct ss_buf *out, const char *dir, uint64_t n)
{
	ss_buf_addf(out, "%s/snapshot.%" PRIu64, dir, n);
}

static int fail(struct ss_err *err, const char *what, const char *path)
{
	return ss_err_set(err, SS_ERR_RUNTIME, "could not %s '%s': %s", what,
			  path, strerror(errno));
}

static int sync_dir(const char *dir, struct ss_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		fail(err, "sync directory", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int open_chunk(struct ss_snapshot_writer *w, struct ss_err *err)
{
	ss_buf_reset(&w->final);
	ss_snapshot_chunk_path(&w->final, w->dir, w->n);
	ss_buf_reset(&w->tmp);
	ss_buf_addf(&w->tmp, "%s.tmp", w->final.buf);
	w->f = fopen(w->tmp.buf, "we");
	if (!w->f)
		return fail(err, "create", w->tmp.buf);
	setvbuf(w->f, NULL, _IOFBF, 64 * 1024);
	w->bytes = 0;
	return 0;
}

/*
 * Flush the chunk being written and rename it into place. The last one
 * is fsync'd first; the others only start their writeback here, and
 * ss_snapshot_finish fsyncs them all before the last one and the done
 * marker: a wait for the disk at every chunk held the next rows back.
 */
static int close_chunk(struct ss_snapshot_writer *w, int last,
		       struct ss_err *err)
{
	FILE *f = w->f;
	int rc;

	w->f = NULL;
	rc = fflush(f) != 0 || ferror(f) ? -1 : 0;
	if (rc == 0 && last)
		rc = fsync(fileno(f));
	else if (rc == 0)
		(void)sync_file_range(fileno(f), 0, 0, SYNC_FILE_RANGE_WRITE);
	if (rc < 0) {
		fail(err, "write", w->tmp.buf);
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return fail(err, "write", w->tmp.buf);
	if (rename(w->tmp.buf, w->final.buf) < 0)
		return fail(err, "rename", w->tmp.buf);
	w->n++;
	return 0;
}

/* Is name one of the files ss_snapshot_remove removes? */
static int snapshot_file(const char *name)
{
	if (strncmp(name, "snapshot.", 9))
		return 0;
	name += 9;
	if (!strcmp(name, "done") || !strcmp(name, "done.tmp"))
		return 1;
	if (!isdigit((unsigned char)*name))
		return 0;
	while (isdigit((unsigned char)*name))
		name++;
	return !*name || !strcmp(name, ".tmp");
}

void ss_snapshot_remove(const char *dir)
{
	struct ss_buf p = SS_BUF_INIT;
	struct dirent *de;
	DIR *d;

	/* snapshot.done first: without it the chunks are no snapshot */
	ss_buf_addf(&p, "%s/snapshot.done", dir);
	unlink(p.buf);
	/* Every chunk the directory lists, not 0, 1, ... until one is
	 * missing: a removal cut short leaves the first ones gone and the
	 * rest there. */
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL) {
		if (!snapshot_file(de->d_name))
			continue;
		ss_buf_reset(&p);
		ss_buf_addf(&p, "%s/%s", dir, de->d_name);
		unlink(p.buf);
	}
	if (d)
		closedir(d);
	ss_buf_release(&p);
}

int ss_snapshot_begin(const char *dir, uint64_t chunk_bytes,
		      struct ss_snapshot_writer **out, struct ss_err *err)
{
	struct ss_snapshot_writer *w;
	struct ss_buf p = SS_BUF_INIT;
	char *s;

	/* mkdir -p */
	ss_buf_adds(&p, dir);
	for (s = p.buf + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p.buf, 0755) < 0 && errno != EEXIST) {
				fail(err, "create directory", p.buf);
				ss_buf_release(&p);
				return -1;
			}
			*s = '/';
		}
	}
	if (mkdir(p.buf, 0755) < 0 && errno != EEXIST) {
		fail(err, "create directory", p.buf);
		ss_buf_release(&p);
		return -1;
	}
	ss_buf_release(&p);
	ss_snapshot_remove(dir);
	w = ss_xcalloc(1, sizeof(*w));
	w->dir = ss_xstrdup(dir);
	w->chunk_bytes = chunk_bytes ? chunk_bytes : ((uint64_t)10 << 20);
	ss_buf_init(&w->tmp);
	ss_buf_init(&w->final);
	if (open_chunk(w, err) < 0) {
		ss_snapshot_abort(w);
		return -1;
	}
	*out = w;
	return 0;
}

static int put(struct ss_snapshot_writer *w, const char *json, size_t len,
	       struct ss_err *err)
{
	if (!w->f && open_chunk(w, err) < 0)
		return -1;
	/* The writer's own FILE, used by one thread: no stdio locks. */
	if (putc_unlocked(',', w->f) == EOF ||
	    fwrite_unlocked(json, 1, len, w->f) != len ||
	    putc_unlocked('\n', w->f) == EOF)
		return fail(err, "write", w->tmp.buf);
	w->bytes += len + 1;
	return 0;
}

int ss_snapshot_add(struct ss_snapshot_writer *w, const char *json, size_t len,
		    struct ss_err *err)
{
	if (put(w, json, len, err) < 0)
		return -1;
	/* Electric's chunker: each row counts len + 1, and a boundary follows
	 * the row that makes the chunk reach the threshold. */
	if (w->bytes >= w->chunk_bytes)
		return close_chunk(w, 0, err);
	return 0;
}

/* fsync the chunks before the one being written (close_chunk). */
static int sync_chunks(struct ss_snapshot_writer *w, struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;
	uint64_t i;
	int fd, rc = 0;

	for (i = 0; i < w->n && rc == 0; i++) {
		ss_buf_reset(&p);
		ss_snapshot_chunk_path(&p, w->dir, i);
		fd = open(p.buf, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = fail(err, "sync", p.buf);
		if (fd >= 0)
			close(fd);
	}
	ss_buf_release(&p);
	return rc;
}

int ss_snapshot_finish(struct ss_snapshot_writer *w, const char *end_json,
		       size_t len, uint64_t *chunks, struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;
	FILE *f;
	int rc = -1;

	if (put(w, end_json, len, err) < 0 || sync_chunks(w, err) < 0 ||
	    close_chunk(w, 1, err) < 0)
		goto out;
	ss_buf_addf(&p, "%s/snapshot.done.tmp", w->dir);
	f = fopen(p.buf, "we");
	if (!f) {
		fail(err, "create", p.buf);
		goto out;
	}
	fprintf(f, "%" PRIu64 "\n", w->n);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		fail(err, "write", p.buf);
		fclose(f);
		goto out;
	}
	fclose(f);
	{
		struct ss_buf d = SS_BUF_INIT;

		ss_buf_addf(&d, "%s/snapshot.done", w->dir);
		if (rename(p.buf, d.buf) < 0) {
			fail(err, "rename", p.buf);
			ss_buf_release(&d);
			goto out;
		}
		ss_buf_release(&d);
	}
	if (sync_dir(w->dir, err) < 0)
		goto out;
	*chunks = w->n;
	rc = 0;
out:
	ss_buf_release(&p);
	if (rc < 0) {
		ss_snapshot_abort(w);
		return -1;
	}
	ss_buf_release(&w->tmp);
	ss_buf_release(&w->final);
	free(w->dir);
	free(w);
	return 0;
}

void ss_snapshot_abort(struct ss_snapshot_writer *w)
{
	if (!w)
		return;
	if (w->f) {
		fclose(w->f);
		unlink(w->tmp.buf);
	}
	ss_snapshot_remove(w->dir);
	ss_buf_release(&w->tmp);
	ss_buf_release(&w->final);
	free(w->dir);
	free(w);
}

int ss_snapshot_state(const char *dir, uint64_t *ready, int *done,
		      struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;
	struct stat st;
	uint64_t n = 0;
	FILE *f;

	*done = 0;
	ss_buf_addf(&p, "%s/snapshot.done", dir);
	f = fopen(p.buf, "re");
	if (f) {
		char line[32];

		if (fgets(line, sizeof(line), f)) {
			char *end;

			errno = 0;
			n = strtoull(line, &end, 10);
			if (!errno && end != line && (*end == '\n' || !*end))
				*done = 1;
		}
		fclose(f);
		if (!*done) {
			ss_buf_release(&p);
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "snapshot of '%s' is damaged:"
					  " bad snapshot.done",
					  dir);
		}
		*ready = n;
		ss_buf_release(&p);
		return 0;
	}
	for (;; n++) {
		ss_buf_reset(&p);
		ss_snapshot_chunk_path(&p, dir, n);
		if (stat(p.buf, &st) < 0)
			break;
	}
	ss_buf_release(&p);
	*ready = n;
	return 0;
}
