/*
 * test-serve-fake — stands in for route and store in serve's tests, so
 * serve can be tested alone:
 *
 *   test-serve-fake route REGISTRY SECONDS
 *       for SECONDS, set route's active mark on every shape that has
 *       none, every 5 ms, as shapesync-route would.
 *   test-serve-fake store DIR
 *       append to the shape log in DIR from stdin, one command a line:
 *       "<tx> <op> <json>" appends an entry, "commit <tx>" commits,
 *       "sleep <ms>" pauses (to test live requests).
 *
 * Exit 0 on success, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"

struct pending {
	int64_t ids[256];
	size_t n;
};

static int collect(const struct ss_shape_rec *rec, void *ctx)
{
	struct pending *p = ctx;

	if (!rec->active && p->n < 256)
		p->ids[p->n++] = rec->id;
	return 0;
}

/* Mark every shape that is not active yet, for `secs` seconds. */
static int fake_route(const char *path, const char *secs_text)
{
	struct ss_registry *reg = NULL;
	struct ss_err err = SS_ERR_INIT;
	long i, rounds = strtol(secs_text, NULL, 10) * 200;

	if (ss_registry_open(path, NULL, &reg, &err) < 0)
		goto fail;
	for (i = 0; i < rounds; i++) {
		struct pending p;
		size_t k;

		p.n = 0;
		if (ss_registry_foreach(reg, collect, &p, &err) < 0)
			goto fail;
		for (k = 0; k < p.n; k++)
			if (ss_registry_mark_active(reg, p.ids[k], 1, &err) < 0)
				goto fail;
		if (p.n && ss_registry_flush(reg, &err) < 0)
			goto fail;
		usleep(5000);
	}
	return ss_registry_close(reg, &err) < 0 ? 1 : 0;
fail:
	fprintf(stderr, "test-serve-fake: %s\n", err.msg);
	ss_registry_close(reg, &err);
	return 1;
}

static int fake_store(const char *dir)
{
	struct ss_log_writer *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	char line[65536];

	if (ss_log_writer_open(dir, NULL, &w, &err) < 0)
		goto fail;
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\n");
		char *sp;

		line[n] = '\0';
		if (!strncmp(line, "commit ", 7)) {
			if (ss_log_commit(w, strtoull(line + 7, NULL, 10),
					  &err) < 0)
				goto fail;
		} else if (!strncmp(line, "sleep ", 6)) {
			usleep((useconds_t)strtoul(line + 6, NULL, 10) * 1000);
		} else if (n) {
			struct ss_offset off;
			char *p = line;
			uint64_t tx = strtoull(p, &p, 10);
			uint64_t op = strtoull(p, &p, 10);

			sp = p + strspn(p, " ");
			off = ss_offset_make(tx, op);
			if (ss_log_append(w, &off, sp, strlen(sp), &err) < 0)
				goto fail;
		}
	}
	ss_log_writer_close(w);
	return 0;
fail:
	fprintf(stderr, "test-serve-fake: %s\n", err.msg);
	ss_log_writer_close(w);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "route"))
		return fake_route(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "store"))
		return fake_store(argv[2]);
	fprintf(stderr, "usage: test-serve-fake route REGISTRY SECONDS\n"
			"       test-serve-fake store DIR\n");
	return 2;
}
