/*
 * base.c — the record of a shape's base generations (see base.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

static int damaged(const char *path, const char *why, struct ss_err *err)
{
	return ss_err_set(err, SS_ERR_INPUT, "base record '%s' is damaged: %s",
			  path, why);
}

static void only_gen0(struct ss_base *b)
{
	memset(b, 0, sizeof(*b));
	b->n = 1;
	b->g[0].end = ss_offset_last_before_real;
}

/* Parse "<tx>_<op>" of the record. */
static int parse_off(const char *s, struct ss_offset *o)
{
	struct ss_err e = SS_ERR_INIT;

	return ss_offset_parse(s, 0, o, &e) == 0 && o->kind == SS_OFFSET_NORMAL
		   ? 0
		   : -1;
}

static int parse(const char *path, char *text, struct ss_base *b,
		 struct ss_err *err)
{
	char *line, *save = NULL;
	int first = 1;

	memset(b, 0, sizeof(*b));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char off[SS_OFFSET_STRMAX + 1];
		uint64_t gen, chunks;
		int64_t at;
		int used = 0;

		if (first) {
			if (strcmp(line, "shapesync-base 1"))
				return damaged(
				    path, "no 'shapesync-base 1' line", err);
			first = 0;
			continue;
		}
		if (sscanf(line,
			   "gen %" SCNu64 " end %42s chunks %" SCNu64
			   " at %" SCNd64 "%n",
			   &gen, off, &chunks, &at, &used) == 4 &&
		    !line[used]) {
			struct ss_base_gen *g;

			if (b->has_reclaimed || b->n == SS_BASE_MAX)
				return damaged(
				    path, "a generation out of place", err);
			g = &b->g[b->n];
			g->gen = gen;
			g->chunks = chunks;
			g->at = at;
			if (gen > SS_BASE_GEN_MAX ||
			    parse_off(off, &g->end) < 0 ||
			    (gen == 0) != ss_offset_is_virtual(&g->end) ||
			    (gen && !chunks) ||
			    (b->n && (gen >= b->g[b->n - 1].gen ||
				      ss_offset_compare(
					  &g->end, &b->g[b->n - 1].end) >= 0)))
				return damaged(
				    path, "a generation out of place", err);
			b->n++;
			continue;
		}
		if (sscanf(line, "reclaimed %42s at %" SCNd64 "%n", off, &at,
			   &used) == 2 &&
		    !line[used] && !b->has_reclaimed && b->n &&
		    parse_off(off, &b->reclaimed) == 0 &&
		    ss_offset_is_real(&b->reclaimed) &&
		    ss_offset_compare(&b->reclaimed, &b->g[b->n - 1].end) <=
			0) {
			b->has_reclaimed = 1;
			b->reclaimed_at = at;
			continue;
		}
		if (sscanf(line, "punched %42s%n", off, &used) == 1 &&
		    !line[used] && b->has_reclaimed && !b->has_punched &&
		    parse_off(off, &b->punched) == 0 &&
		    ss_offset_is_real(&b->punched) &&
		    ss_offset_compare(&b->punched, &b->reclaimed) <= 0) {
			b->has_punched = 1;
			continue;
		}
		return damaged(path, "a line it does not know", err);
	}
	if (first || !b->n)
		return damaged(path, "no generation", err);
	return 0;
}

int ss_base_read(const char *dir, struct ss_base *b, struct ss_err *err)
{
	struct ss_buf path = SS_BUF_INIT, text = SS_BUF_INIT;
	char chunk[4096];
	size_t got;
	FILE *f;
	int rc = 0;

	ss_buf_addf(&path, "%s/base", dir);
	f = fopen(path.buf, "re");
	if (!f) {
		if (errno == ENOENT)
			only_gen0(b);
		else
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"could not open '%s': %s", path.buf,
					strerror(errno));
		ss_buf_release(&path);
		return rc;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
	       text.len < 64 * 1024)
		ss_buf_add(&text, chunk, got);
	if (ferror(f))
		rc = ss_err_set(err, SS_ERR_RUNTIME, "could not read '%s': %s",
				path.buf, strerror(errno));
	else if (text.len >= 64 * 1024 || memchr(text.buf, '\0', text.len))
		rc = damaged(path.buf, "not a text record", err);
	else
		rc = parse(path.buf, text.buf, b, err);
	fclose(f);
	ss_buf_release(&path);
	ss_buf_release(&text);
	return rc;
}

int ss_base_write(const char *dir, const struct ss_base *b, struct ss_err *err)
{
	struct ss_buf path = SS_BUF_INIT, t = SS_BUF_INIT;
	char o[SS_OFFSET_STRMAX];
	size_t i;
	int rc = -1;

	ss_buf_adds(&t, "shapesync-base 1\n");
	for (i = 0; i < b->n; i++)
		ss_buf_addf(&t,
			    "gen %" PRIu64 " end %s chunks %" PRIu64
			    " at %" PRId64 "\n",
			    b->g[i].gen, ss_offset_format(&b->g[i].end, o),
			    b->g[i].chunks, b->g[i].at);
	if (b->has_reclaimed)
		ss_buf_addf(&t, "reclaimed %s at %" PRId64 "\n",
			    ss_offset_format(&b->reclaimed, o),
			    b->reclaimed_at);
	if (b->has_reclaimed && b->has_punched)
		ss_buf_addf(&t, "punched %s\n",
			    ss_offset_format(&b->punched, o));
	ss_buf_addf(&path, "%s/base", dir);
	if (ss_write_file_atomic(path.buf, t.buf, t.len, err) < 0)
		goto out;
	rc = 0;
out:
	ss_buf_release(&path);
	ss_buf_release(&t);
	return rc;
}

void ss_base_dir(struct ss_buf *out, const char *dir, uint64_t gen)
{
	if (gen)
		ss_buf_addf(out, "%s/base.%" PRIu64, dir, gen);
	else
		ss_buf_adds(out, dir);
}

struct ss_offset ss_base_chunk_offset(uint64_t gen, uint64_t n)
{
	return ss_offset_make(0, gen << SS_BASE_GEN_SHIFT | n);
}

const struct ss_base_gen *ss_base_find(const struct ss_base *b, uint64_t gen)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->g[i].gen == gen)
			return &b->g[i];
	return NULL;
}

enum ss_base_where ss_base_locate(const struct ss_base *b,
				  const struct ss_offset *o, uint64_t *gen,
				  uint64_t *chunk)
{
	*gen = 0;
	*chunk = 0;
	if (o->kind != SS_OFFSET_NORMAL)
		return SS_BASE_OK;
	if (ss_offset_is_real(o))
		return b->has_reclaimed &&
			       ss_offset_compare(o, &b->reclaimed) <= 0
			   ? SS_BASE_GONE
			   : SS_BASE_OK;
	if (ss_offset_is_inf(o))
		return ss_base_find(b, 0) ? SS_BASE_OK : SS_BASE_GONE;
	*gen = o->op >> SS_BASE_GEN_SHIFT;
	*chunk = o->op & (((uint64_t)1 << SS_BASE_GEN_SHIFT) - 1);
	return ss_base_find(b, *gen) ? SS_BASE_CHUNK : SS_BASE_GONE;
}
