/*
 * test-datadir.c — checks of lib/datadir in a mkdtemp directory: shape
 * paths, init (mkdir -p and its errors), the walk over the fan-out with
 * stray entries flagged, trash and empty_trash (symlinks never followed).
 * Prints one line per failure and exits 1 if any check failed.
 */
#include "datadir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shape.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

static char root[4096];

/* root + "/" + rel, in a static buffer (one use at a time). */
static const char *at(const char *rel)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void mkdir_p(const char *path)
{
	char buf[8192];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		mkdir(buf, 0755);
		buf[i] = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		CHECK(0, "mkdir %s: %s", buf, strerror(errno));
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "create %s: %s", path, strerror(errno));
	if (f)
		fclose(f);
}

/* Make the directory of shape handle under data dir d, with a file in it. */
static void make_shape(const char *d, const char *handle)
{
	struct ss_buf p = SS_BUF_INIT;

	ss_datadir_shape_path(&p, d, handle);
	mkdir_p(p.buf);
	ss_buf_adds(&p, "/log");
	touch(p.buf);
	ss_buf_release(&p);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void test_paths(void)
{
	static const char *const cases[][3] = {
	    {"/srv/ss", "3833821-1721812114261000",
	     "/srv/ss/shapes/38/33/3833821-1721812114261000"},
	    {"/srv/ss/", "3833821-1721812114261000",
	     "/srv/ss/shapes/38/33/3833821-1721812114261000"},
	    {"/srv/ss//", "12-3", "/srv/ss/shapes/12/-3/12-3"},
	    {"data", "1-2", "data/shapes/1-/2/1-2"},
	    {"/", "1-23", "/shapes/1-/23/1-23"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ss_buf b = SS_BUF_INIT;

		ss_buf_adds(&b, "x:");
		ss_datadir_shape_path(&b, cases[i][0], cases[i][1]);
		CHECK(!strcmp(b.buf + 2, cases[i][2]), "path %s %s: %s",
		      cases[i][0], cases[i][1], b.buf);
		ss_buf_release(&b);
	}
}

static void test_init(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct stat st;

	CHECK(ss_datadir_init(at("d/a/b"), &err) == 0, "init nested: %s",
	      err.msg);
	CHECK(stat(at("d/a/b/shapes"), &st) == 0 && S_ISDIR(st.st_mode),
	      "shapes created");
	CHECK(stat(at("d/a/b/trash"), &st) == 0 && S_ISDIR(st.st_mode),
	      "trash created");
	CHECK(ss_datadir_init(at("d/a/b"), &err) == 0, "init again: %s",
	      err.msg);
	CHECK(ss_datadir_init(at("d//a/b/"), &err) == 0,
	      "init with extra slashes: %s", err.msg);

	touch(at("file"));
	CHECK(ss_datadir_init(at("file/x"), &err) == -1, "init under a file");
	CHECK(err.code == SS_ERR_RUNTIME && strstr(err.msg, at("file")) &&
		  strstr(err.msg, strerror(ENOTDIR)),
	      "init under a file: %s", err.msg);
	CHECK(ss_datadir_init(at("file"), &err) == -1, "init on a file");
	CHECK(strstr(err.msg, "could not create directory") &&
		  strstr(err.msg, strerror(ENOTDIR)),
	      "init on a file: %s", err.msg);

	mkdir_p(at("e"));
	touch(at("e/shapes"));
	CHECK(ss_datadir_init(at("e"), &err) == -1 &&
		  strstr(err.msg, at("e/shapes")),
	      "shapes is a file: %s", err.msg);

	CHECK(ss_datadir_init("", &err) == -1 && err.code == SS_ERR_USAGE,
	      "empty dir: %s", err.msg);

	if (geteuid() != 0) {
		mkdir_p(at("ro"));
		chmod(at("ro"), 0555);
		CHECK(ss_datadir_init(at("ro/x"), &err) == -1 &&
			  strstr(err.msg, at("ro/x")) &&
			  strstr(err.msg, strerror(EACCES)),
		      "read-only parent: %s", err.msg);
		chmod(at("ro"), 0755);
	}
}

struct seen {
	struct ss_buf list;
	int stop_after; /* 0: never */
	int calls;
	const char *trash_dir; /* trash each shape found here */
};

static int collect(const char *name, const char *path, int is_handle, void *ctx)
{
	struct seen *s = ctx;
	const char *rel = path + strlen(root) + 1;
	struct ss_err err = SS_ERR_INIT;

	s->calls++;
	ss_buf_addf(&s->list, "%d %s %s\n", is_handle, name, rel);
	CHECK(!strcmp(strrchr(path, '/') + 1, name), "name %s path %s", name,
	      path);
	if (is_handle) {
		struct ss_buf p = SS_BUF_INIT;

		/* What foreach finds is where shape_path points. */
		ss_datadir_shape_path(&p, at("w"), name);
		CHECK(!strcmp(p.buf, path), "%s != %s", p.buf, path);
		ss_buf_release(&p);
		if (s->trash_dir)
			CHECK(ss_datadir_trash(s->trash_dir, path, &err) == 0,
			      "trash from cb: %s", err.msg);
	}
	if (s->stop_after && s->calls == s->stop_after)
		return 7;
	return 0;
}

static void test_foreach(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct seen s = {SS_BUF_INIT, 0, 0, NULL};
	char w[8192];
	const char *want;

	snprintf(w, sizeof(w), "%s", at("w"));

	/* No shapes dir: nothing, no error. */
	mkdir_p(at("nothing"));
	CHECK(ss_datadir_foreach_shape(at("nothing"), collect, &s, &err) == 0 &&
		  s.calls == 0,
	      "missing shapes dir: %d calls, %s", s.calls, err.msg);
	CHECK(ss_datadir_foreach_shape(at("nonexistent"), collect, &s, &err) ==
		  0,
	      "missing data dir: %s", err.msg);

	CHECK(ss_datadir_init(w, &err) == 0, "init w: %s", err.msg);
	/* Empty data dir: nothing. */
	CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == 0 &&
		  s.calls == 0,
	      "empty: %d calls", s.calls);

	make_shape(w, "3833822-1721812114261001");
	make_shape(w, "3833821-1721812114261000");
	make_shape(w, "1-2");
	make_shape(w, "4294967295-9223372036854775807");
	/* Strays of every kind. */
	touch(at("w/shapes/38/33/stray.txt"));
	mkdir_p(at("w/shapes/38/33/4000-1")); /* wrong fan-out */
	mkdir_p(at("w/shapes/38/33/01-2"));   /* not a handle */
	CHECK(symlink("3833821-1721812114261000",
		      at("w/shapes/38/33/3833823-1")) == 0,
	      "symlink");
	touch(at("w/shapes/38/junk"));		 /* file, level 2 */
	touch(at("w/shapes/README"));		 /* file, level 1 */
	mkdir_p(at("w/shapes/zz/33/3833821-1")); /* bad fan-out dir */
	mkdir_p(at("w/shapes/1-/2x"));		 /* bad level 2 */
	mkdir_p(at("w/shapes/1-/3"));
	touch(at("w/shapes/1-/3/1-3")); /* handle-named file */
	mkdir_p(at("w/shapes/55/55"));	/* empty fan-out */

	CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == 0,
	      "foreach: %s", err.msg);
	/* Sorted by strcmp within each directory ("01-2" first). */
	want = "1 1-2 w/shapes/1-/2/1-2\n"
	       "0 2x w/shapes/1-/2x\n"
	       "0 1-3 w/shapes/1-/3/1-3\n"
	       "0 01-2 w/shapes/38/33/01-2\n"
	       "1 3833821-1721812114261000 "
	       "w/shapes/38/33/3833821-1721812114261000\n"
	       "1 3833822-1721812114261001 "
	       "w/shapes/38/33/3833822-1721812114261001\n"
	       "0 3833823-1 w/shapes/38/33/3833823-1\n"
	       "0 4000-1 w/shapes/38/33/4000-1\n"
	       "0 stray.txt w/shapes/38/33/stray.txt\n"
	       "0 junk w/shapes/38/junk\n"
	       "1 4294967295-9223372036854775807 "
	       "w/shapes/42/94/4294967295-9223372036854775807\n"
	       "0 README w/shapes/README\n"
	       "0 zz w/shapes/zz\n";
	CHECK(!strcmp(s.list.buf, want), "walk:\n%s--- want:\n%s", s.list.buf,
	      want);

	/* A non-zero return stops the walk and comes back as is. */
	ss_buf_reset(&s.list);
	s.calls = 0;
	s.stop_after = 2;
	CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == 7 &&
		  s.calls == 2,
	      "stop: %d calls", s.calls);
	s.stop_after = 0;

	if (geteuid() != 0) {
		chmod(at("w/shapes/42"), 0);
		s.calls = 0;
		CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == -1 &&
			  err.code == SS_ERR_RUNTIME &&
			  strstr(err.msg, at("w/shapes/42")),
		      "unreadable fan-out dir: %s", err.msg);
		chmod(at("w/shapes/42"), 0755);
	}

	/* The callback may trash what it is given. */
	ss_buf_reset(&s.list);
	s.calls = 0;
	s.trash_dir = w;
	CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == 0,
	      "trash in walk: %s", err.msg);
	CHECK(s.calls == 13, "trash in walk: %d calls", s.calls);
	s.trash_dir = NULL;
	ss_buf_reset(&s.list);
	CHECK(ss_datadir_foreach_shape(w, collect, &s, &err) == 0 &&
		  !strstr(s.list.buf, "\n1 ") && s.list.buf[0] != '1',
	      "after trash:\n%s", s.list.buf);
	ss_buf_release(&s.list);
}

/* Count trash entries whose name starts with prefix + "." + digits. */
static int count_trash(const char *dir, const char *prefix)
{
	struct ss_buf p = SS_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int n = 0;

	ss_buf_addf(&p, "%s/trash", dir);
	d = opendir(p.buf);
	ss_buf_release(&p);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t len = strlen(prefix);
		const char *q = de->d_name + len;

		if (strncmp(de->d_name, prefix, len) || *q != '.' || !q[1])
			continue;
		for (q++; *q >= '0' && *q <= '9'; q++)
			;
		n += *q == '\0';
	}
	closedir(d);
	return n;
}

static void test_trash(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf p = SS_BUF_INIT;
	char t[8192], outside[8192];
	const char *h = "3833821-1721812114261000";
	long removed = -1;
	int i;

	snprintf(t, sizeof(t), "%s", at("t"));
	CHECK(ss_datadir_init(t, &err) == 0, "init t: %s", err.msg);
	CHECK(ss_datadir_empty_trash(t, &removed, &err) == 0 && removed == 0,
	      "empty empty trash: %ld %s", removed, err.msg);

	/* The same handle trashed three times in a row: three entries. */
	ss_datadir_shape_path(&p, t, h);
	for (i = 0; i < 3; i++) {
		make_shape(t, h);
		CHECK(ss_datadir_trash(t, p.buf, &err) == 0, "trash %d: %s", i,
		      err.msg);
		CHECK(!exists(p.buf), "trash %d: still there", i);
	}
	CHECK(count_trash(t, h) == 3, "trash entries: %d", count_trash(t, h));

	/* Missing source: fine, nothing added. */
	CHECK(ss_datadir_trash(t, p.buf, &err) == 0, "trash missing: %s",
	      err.msg);
	CHECK(count_trash(t, h) == 3, "trash missing added an entry");

	/* Trailing slash; a file; a symlink (moved, not followed). */
	make_shape(t, "1-2");
	CHECK(ss_datadir_trash(t, at("t/shapes/1-/2/1-2/"), &err) == 0,
	      "trash with slash: %s", err.msg);
	CHECK(count_trash(t, "1-2") == 1, "trash with slash");
	touch(at("t/shapes/stray"));
	CHECK(ss_datadir_trash(t, at("t/shapes/stray"), &err) == 0,
	      "trash file: %s", err.msg);

	/* Links out of the tree must survive empty_trash. */
	mkdir_p(at("outside/sub"));
	touch(at("outside/canary"));
	touch(at("outside/sub/canary"));
	snprintf(outside, sizeof(outside), "%s", at("outside"));
	CHECK(symlink(outside, at("t/shapes/link")) == 0, "symlink: %s",
	      strerror(errno));
	CHECK(ss_datadir_trash(t, at("t/shapes/link"), &err) == 0,
	      "trash symlink: %s", err.msg);
	CHECK(exists(at("outside/canary")), "symlink target moved");
	make_shape(t, "5-6");
	ss_buf_reset(&p);
	ss_datadir_shape_path(&p, t, "5-6");
	ss_buf_adds(&p, "/deep/er/still");
	mkdir_p(p.buf);
	ss_buf_adds(&p, "/f");
	touch(p.buf);
	ss_buf_reset(&p);
	ss_datadir_shape_path(&p, t, "5-6");
	ss_buf_adds(&p, "/deep/out");
	CHECK(symlink(at("outside/sub"), p.buf) == 0, "inner symlink");
	ss_buf_reset(&p);
	ss_datadir_shape_path(&p, t, "5-6");
	CHECK(ss_datadir_trash(t, p.buf, &err) == 0, "trash 5-6: %s", err.msg);

	/* Bad arguments. */
	CHECK(ss_datadir_trash(t, at("t/shapes/."), &err) == -1 &&
		  err.code == SS_ERR_USAGE,
	      "trash .: %s", err.msg);
	CHECK(ss_datadir_trash(t, at("t/shapes/.."), &err) == -1, "trash ..");
	CHECK(ss_datadir_trash(t, "/", &err) == -1, "trash /");
	CHECK(ss_datadir_trash(t, "", &err) == -1, "trash ''");

	/* A removed trash dir is recreated. */
	CHECK(ss_datadir_empty_trash(t, &removed, &err) == 0, "empty trash: %s",
	      err.msg);
	CHECK(removed == 7, "removed %ld, want 7", removed);
	CHECK(count_trash(t, h) == 0, "trash not empty");
	CHECK(exists(at("outside/canary")) && exists(at("outside/sub/canary")),
	      "empty_trash followed a symlink");
	CHECK(rmdir(at("t/trash")) == 0, "rmdir trash: %s", strerror(errno));
	CHECK(ss_datadir_empty_trash(t, NULL, &err) == 0, "missing trash: %s",
	      err.msg);
	make_shape(t, h);
	ss_buf_reset(&p);
	ss_datadir_shape_path(&p, t, h);
	CHECK(ss_datadir_trash(t, p.buf, &err) == 0, "trash, no trash dir: %s",
	      err.msg);
	CHECK(count_trash(t, h) == 1, "trash recreated");

	if (geteuid() != 0) {
		/* A failure names the path and still counts what went. */
		touch(at("t/trash/a-file"));
		mkdir_p(at("t/trash/z-locked/sub"));
		chmod(at("t/trash/z-locked"), 0555);
		CHECK(ss_datadir_empty_trash(t, &removed, &err) == -1 &&
			  err.code == SS_ERR_RUNTIME &&
			  strstr(err.msg, at("t/trash/z-locked/sub")),
		      "locked: %s", err.msg);
		CHECK(removed == 2, "locked: removed %ld", removed);
		chmod(at("t/trash/z-locked"), 0755);
		CHECK(ss_datadir_empty_trash(t, &removed, &err) == 0 &&
			  removed == 1,
		      "unlocked: %ld %s", removed, err.msg);
	}

	/* Another filesystem: EXDEV with a hint (only if /dev/shm is one). */
	{
		char other[] = "/dev/shm/ss-test-datadir.XXXXXX";
		struct stat a, b;

		if (stat(root, &a) == 0 && stat("/dev/shm", &b) == 0 &&
		    a.st_dev != b.st_dev && mkdtemp(other)) {
			CHECK(ss_datadir_trash(t, other, &err) == -1 &&
				  strstr(err.msg, other) && err.hint[0],
			      "EXDEV: %s", err.msg);
			rmdir(other);
		}
	}
	ss_buf_release(&p);
}

/* ss_mkdirs (lib/util), which init, shapesync-db init and shapesync up
 * use: whole paths, parents only, "//" and trailing '/', files in the way. */
static void test_mkdirs(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct stat st;

	CHECK(ss_mkdirs(at("m/a//b/"), 0, &err) == 0, "mkdirs: %s", err.msg);
	CHECK(stat(at("m/a/b"), &st) == 0 && S_ISDIR(st.st_mode), "m/a/b made");
	CHECK(ss_mkdirs(at("m/a/b"), 0, &err) == 0, "again: %s", err.msg);
	CHECK(ss_mkdirs(at("m/p/q/registry.db"), 1, &err) == 0, "parents: %s",
	      err.msg);
	CHECK(stat(at("m/p/q"), &st) == 0 && S_ISDIR(st.st_mode), "m/p/q made");
	CHECK(stat(at("m/p/q/registry.db"), &st) < 0 && errno == ENOENT,
	      "the last component is left alone");
	CHECK(ss_mkdirs("plainfile", 1, &err) == 0, "no parents to make");
	touch(at("m/f"));
	ss_err_clear(&err);
	CHECK(ss_mkdirs(at("m/f/x"), 0, &err) == -1 &&
		  strstr(err.msg, at("m/f")),
	      "a file in the way: %s", err.msg);
	ss_err_clear(&err);
	CHECK(ss_mkdirs(at("m/f"), 0, &err) == -1 &&
		  strstr(err.msg, strerror(ENOTDIR)),
	      "a file at the end: %s", err.msg);
	ss_err_clear(&err);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/ss-datadir.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_paths();
	test_init();
	test_foreach();
	test_trash();
	test_mkdirs();
	printf("%d checks, %d failed\n", checks, failures);
	if (failures)
		fprintf(stderr, "kept %s\n", root);
	else
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failures ? 1 : 0;
}
