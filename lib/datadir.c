/*
 * datadir.c — the data dir layout: shape directory paths with a two-level
 * fan-out on the handle, creating the tree, walking it for check and
 * vacuum, and the trash that removed shapes pass through before deletion.
 */
#include "datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shape.h"

/* Append dir without trailing slashes, ready for "/<name>" to follow (so
 * the root "/" appends nothing). */
static void add_dir(struct ss_buf *out, const char *dir)
{
	size_t len = strlen(dir);

	while (len > 0 && dir[len - 1] == '/')
		len--;
	ss_buf_add(out, dir, len);
}

/* The fan-out directory names of a handle: bytes [0,2) and [2,4), shorter
 * when the handle is. */
static void fanout(const char *handle, char a[3], char b[3])
{
	size_t n = strlen(handle);

	memset(a, 0, 3);
	memset(b, 0, 3);
	memcpy(a, handle, n < 2 ? n : 2);
	if (n > 2)
		memcpy(b, handle + 2, n < 4 ? n - 2 : 2);
}

void ss_datadir_shape_path(struct ss_buf *out, const char *dir,
			   const char *handle)
{
	char a[3], b[3];

	fanout(handle, a, b);
	add_dir(out, dir);
	ss_buf_addf(out, "/shapes/%s/%s/%s", a, b, handle);
}

int ss_datadir_init(const char *dir, struct ss_err *err)
{
	struct ss_buf path = SS_BUF_INIT;
	size_t base;
	int ret;

	if (!dir || !*dir)
		return ss_err_set(err, SS_ERR_USAGE, "empty data dir path");
	if (ss_mkdirs(dir, 0, err) < 0)
		return -1;
	add_dir(&path, dir);
	base = path.len;
	ss_buf_adds(&path, "/shapes");
	ret = ss_mkdir(path.buf, err);
	if (ret == 0) {
		ss_buf_setlen(&path, base);
		ss_buf_adds(&path, "/trash");
		ret = ss_mkdir(path.buf, err);
	}
	ss_buf_release(&path);
	return ret;
}

/* The entries of one directory: names and whether each is a directory
 * (never through a symlink). */
struct entry {
	char *name;
	int is_dir;
};

struct entries {
	struct entry *v;
	size_t n, alloc;
};

static void entries_release(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

/*
 * Read all entries of d (but "." and "..") into e, sorted by name.
 * Reading everything first lets callers rename or delete entries while
 * they go. `path` names d in messages. Closes nothing.
 */
static int read_entries(DIR *d, const char *path, struct entries *e,
			struct ss_err *err)
{
	struct dirent *de;

	for (;;) {
		struct stat st;
		int is_dir;

		errno = 0;
		if (!(de = readdir(d)))
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_UNKNOWN) {
			is_dir = de->d_type == DT_DIR;
		} else if (fstatat(dirfd(d), de->d_name, &st,
				   AT_SYMLINK_NOFOLLOW) == 0) {
			is_dir = S_ISDIR(st.st_mode);
		} else if (errno == ENOENT) {
			continue; /* removed under us */
		} else {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not stat '%s/%s': %s", path,
				   de->d_name, strerror(errno));
			entries_release(e);
			return -1;
		}
		SS_GROW(e->v, e->alloc, e->n + 1);
		e->v[e->n].name = ss_xstrdup(de->d_name);
		e->v[e->n].is_dir = is_dir;
		e->n++;
	}
	if (errno) {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "could not read directory '%s': %s", path,
			   strerror(errno));
		entries_release(e);
		return -1;
	}
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), cmp_entry);
	return 0;
}

/* List the directory at path. A missing directory (ENOENT, or ENOTDIR
 * when it was replaced under us) is empty and sets *missing. */
static int list_dir(const char *path, struct entries *e, int *missing,
		    struct ss_err *err)
{
	DIR *d = opendir(path);
	int ret;

	*missing = 0;
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*missing = 1;
			return 0;
		}
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not open directory '%s': %s", path,
				  strerror(errno));
	}
	ret = read_entries(d, path, e, err);
	closedir(d);
	return ret;
}

/* Can name be a fan-out directory (1..2 bytes of a handle)? */
static int fanout_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 1 || n > 2)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

/* Is name, found in shapes/<l1>/<l2>, a shape directory in its place? */
static int is_shape_dir(const struct entry *e, const char *l1, const char *l2)
{
	char a[3], b[3];

	if (!e->is_dir || !ss_shape_handle_valid(e->name, NULL))
		return 0;
	fanout(e->name, a, b);
	return !strcmp(a, l1) && !strcmp(b, l2);
}

/*
 * Walk one level of shapes/: depth 0 and 1 hold fan-out directories,
 * depth 2 the shape directories. path holds this directory's path and
 * is restored on return; names[] are the fan-out names above.
 */
static int walk(struct ss_buf *path, int depth, const char *names[2],
		ss_datadir_cb cb, void *ctx, struct ss_err *err)
{
	struct entries e = {0};
	size_t base = path->len, i;
	int missing, ret = 0;

	if (list_dir(path->buf, &e, &missing, err) < 0)
		return -1;
	for (i = 0; i < e.n && ret == 0; i++) {
		ss_buf_setlen(path, base);
		ss_buf_addf(path, "/%s", e.v[i].name);
		if (depth == 2) {
			ret =
			    cb(e.v[i].name, path->buf,
			       is_shape_dir(&e.v[i], names[0], names[1]), ctx);
		} else if (e.v[i].is_dir && fanout_name(e.v[i].name)) {
			names[depth] = e.v[i].name;
			ret = walk(path, depth + 1, names, cb, ctx, err);
		} else {
			/* A stray file or a directory no handle maps to. */
			ret = cb(e.v[i].name, path->buf, 0, ctx);
		}
	}
	ss_buf_setlen(path, base);
	entries_release(&e);
	return ret;
}

int ss_datadir_foreach_shape(const char *dir, ss_datadir_cb cb, void *ctx,
			     struct ss_err *err)
{
	struct ss_buf path = SS_BUF_INIT;
	const char *names[2] = {NULL, NULL};
	int ret;

	add_dir(&path, dir);
	ss_buf_adds(&path, "/shapes");
	ret = walk(&path, 0, names, cb, ctx, err);
	ss_buf_release(&path);
	return ret;
}

/* rename(2) that never replaces an existing target (rename would silently
 * replace an empty directory). */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat st;

#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
		/* The filesystem cannot do it atomically: check, then rename.
		 */
#endif
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT)
		return -1;
	return rename(from, to);
}

int ss_datadir_trash(const char *dir, const char *path, struct ss_err *err)
{
	struct ss_buf to = SS_BUF_INIT;
	const char *name;
	size_t len, base, start;
	int64_t us;
	int tries, ret = -1;
	struct stat st;

	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	name = path + start;
	len -= start;
	if (len == 0 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return ss_err_set(err, SS_ERR_USAGE,
				  "cannot move '%s' to the trash", path);
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not stat '%s': %s", path,
				  strerror(errno));
	}

	add_dir(&to, dir);
	ss_buf_adds(&to, "/trash");
	/* Recreate a trash an operator removed, so that ENOENT from rename
	 * below can only mean the source went away. */
	if (ss_mkdir(to.buf, err) < 0)
		goto out;
	ss_buf_addc(&to, '/');
	ss_buf_add(&to, name, len);
	base = to.len;
	us = ss_now_us();
	/* The suffix keeps successive shapes with one handle apart; bump it
	 * if two land in the same microsecond. */
	for (tries = 0; tries < 1000; tries++, us++) {
		ss_buf_setlen(&to, base);
		ss_buf_addf(&to, ".%" PRId64, us);
		if (rename_noreplace(path, to.buf) == 0) {
			ret = 0;
			goto out;
		}
		if (errno == ENOENT) {
			ret = 0; /* removed under us: nothing to trash */
			goto out;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
			break;
	}
	ss_err_set(err, SS_ERR_RUNTIME, "could not move '%s' to '%s': %s", path,
		   to.buf, strerror(errno));
	if (errno == EXDEV)
		ss_err_hint(err,
			    "the path must be on the data dir's filesystem");
out:
	ss_buf_release(&to);
	return ret;
}

/*
 * Remove name (in the directory open as dfd) and everything below it,
 * never following symlinks: directories are opened with O_NOFOLLOW and
 * entries removed relative to their parent's fd, so a symlink is removed
 * itself, never what it points to. path names dfd/name for messages and
 * is restored on return.
 */
static int remove_at(int dfd, const char *name, struct ss_buf *path,
		     struct ss_err *err)
{
	size_t base = path->len;
	struct stat st;
	int ret = 0;

	ss_buf_addf(path, "/%s", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			ret = ss_err_set(err, SS_ERR_RUNTIME,
					 "could not stat '%s': %s", path->buf,
					 strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		struct entries e = {0};
		DIR *d;
		size_t i;
		int fd = openat(
		    dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 || !(d = fdopendir(fd))) {
			ret = ss_err_set(err, SS_ERR_RUNTIME,
					 "could not open directory '%s': %s",
					 path->buf, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		ret = read_entries(d, path->buf, &e, err);
		for (i = 0; i < e.n && ret == 0; i++)
			ret = remove_at(dirfd(d), e.v[i].name, path, err);
		entries_release(&e);
		closedir(d);
		if (ret < 0)
			goto out;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			ret = ss_err_set(err, SS_ERR_RUNTIME,
					 "could not remove directory '%s': %s",
					 path->buf, strerror(errno));
	} else if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		ret =
		    ss_err_set(err, SS_ERR_RUNTIME, "could not remove '%s': %s",
			       path->buf, strerror(errno));
	}
out:
	ss_buf_setlen(path, base);
	return ret;
}

int ss_datadir_empty_trash(const char *dir, long *removed, struct ss_err *err)
{
	struct ss_buf path = SS_BUF_INIT;
	struct entries e = {0};
	DIR *d;
	size_t i;
	int ret = 0;

	if (removed)
		*removed = 0;
	add_dir(&path, dir);
	ss_buf_adds(&path, "/trash");
	if (!(d = opendir(path.buf))) {
		if (errno != ENOENT)
			ret = ss_err_set(err, SS_ERR_RUNTIME,
					 "could not open directory '%s': %s",
					 path.buf, strerror(errno));
		goto out;
	}
	ret = read_entries(d, path.buf, &e, err);
	for (i = 0; i < e.n && ret == 0; i++) {
		ret = remove_at(dirfd(d), e.v[i].name, &path, err);
		if (ret == 0 && removed)
			(*removed)++;
	}
	entries_release(&e);
	closedir(d);
out:
	ss_buf_release(&path);
	return ret;
}
