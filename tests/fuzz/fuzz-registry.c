/*
 * fuzz-registry.c — libFuzzer target for registry import lines
 * (ss_registry_import_line, what `shapesync-db import` reads), on
 * in-memory registries (":memory:"). The input is up to 16 NDJSON lines,
 * imported in one transaction that is rolled back. Invariants: a refused
 * line has a message and the rollback leaves the registry empty; when
 * lines are taken, a fresh registry takes exactly the same ones, holds
 * them after commit with the ids and handles the lines gave, and its
 * export (ss_shape_rec_to_json) imports into a third registry whose
 * export is byte for byte the same.
 */
#include <jansson.h>

#include "fuzz.h"
#include "registry.h"
#include "util.h"

#define MAXLINES 16

static struct ss_registry *open_mem(void)
{
	struct ss_registry *r;
	struct ss_registry_opts o;
	struct ss_err err = SS_ERR_INIT;

	ss_registry_opts_init(&o);
	o.create = 1;
	FUZZ_CHECK(ss_registry_open(":memory:", &o, &r, &err) == 0,
		   "cannot open an in-memory registry: %s", err.msg);
	return r;
}

static void close_mem(struct ss_registry *r)
{
	struct ss_err err = SS_ERR_INIT;

	FUZZ_CHECK(ss_registry_close(r, &err) == 0, "close: %s", err.msg);
}

/* Import lines[0..n) in one transaction; ok[i] says which were taken.
 * Commit unless `abort_`. Returns how many were taken. */
static int64_t import(struct ss_registry *r, char **lines, int n, int *ok,
		      int abort_)
{
	struct ss_registry_import *imp;
	struct ss_err err = SS_ERR_INIT;
	int64_t taken = 0, done = -1;
	int i;

	FUZZ_CHECK(ss_registry_import_begin(r, &imp, &err) == 0,
		   "import_begin: %s", err.msg);
	for (i = 0; i < n; i++) {
		ss_err_clear(&err);
		ok[i] = ss_registry_import_line(imp, lines[i], &err) == 0;
		if (ok[i])
			taken++;
		else
			FUZZ_CHECK(err.code == SS_ERR_INPUT && err.msg[0],
				   "line %d refused without a message or with "
				   "code %d: %s (%s)",
				   i + 1, err.code, lines[i], err.msg);
	}
	FUZZ_CHECK(ss_registry_import_end(imp, abort_, &done, &err) == 0,
		   "import_end: %s", err.msg);
	FUZZ_CHECK(done == (abort_ ? 0 : taken), "imported %lld, took %lld",
		   (long long)done, (long long)taken);
	return taken;
}

static int export_cb(const struct ss_shape_rec *rec, void *ctx)
{
	ss_shape_rec_to_json(rec, ctx);
	ss_buf_addc(ctx, '\n');
	return 0;
}

static void export_all(struct ss_registry *r, struct ss_buf *out)
{
	struct ss_err err = SS_ERR_INIT;

	FUZZ_CHECK(ss_registry_foreach(r, export_cb, out, &err) == 0,
		   "foreach: %s", err.msg);
}

static struct ss_registry *reg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *p = text;
	char *lines[MAXLINES], *exp_lines[MAXLINES];
	int ok[MAXLINES], ok2[MAXLINES], ok3[MAXLINES];
	int n = 0, ne = 0, i;
	int64_t taken, count = -1;
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r2, *r3;
	struct ss_buf e2 = SS_BUF_INIT, e3 = SS_BUF_INIT;

	while (p && n < MAXLINES) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		lines[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	if (!reg)
		reg = open_mem();
	taken = import(reg, lines, n, ok, 1);
	FUZZ_CHECK(ss_registry_count(reg, &count, &err) == 0 && count == 0,
		   "a rolled back import left %lld shapes", (long long)count);
	if (!taken)
		goto out;

	r2 = open_mem();
	FUZZ_CHECK(import(r2, lines, n, ok2, 0) == taken &&
		       !memcmp(ok, ok2, sizeof(ok[0]) * (size_t)n),
		   "a fresh registry takes other lines");
	FUZZ_CHECK(ss_registry_count(r2, &count, &err) == 0 && count == taken,
		   "%lld lines imported, %lld shapes", (long long)taken,
		   (long long)count);
	for (i = 0; i < n; i++) {
		json_t *o;
		struct ss_shape_rec rec;

		if (!ok[i])
			continue;
		o = json_loads(lines[i], 0, NULL);
		FUZZ_CHECK(o, "an imported line is not JSON");
		ss_shape_rec_init(&rec);
		FUZZ_CHECK(ss_registry_get_by_id(
			       r2, json_integer_value(json_object_get(o, "id")),
			       &rec, &err) == 1,
			   "imported shape not found by id: %s", lines[i]);
		FUZZ_CHECK(
		    !strcmp(rec.handle,
			    json_string_value(json_object_get(o, "handle"))),
		    "imported shape has handle %s: %s", rec.handle, lines[i]);
		ss_shape_rec_release(&rec);
		json_decref(o);
	}
	export_all(r2, &e2);
	r3 = open_mem();
	for (p = e2.buf; *p && ne < MAXLINES;) {
		char *nl = strchr(p, '\n');

		*nl = '\0';
		exp_lines[ne++] = p;
		p = nl + 1;
	}
	FUZZ_CHECK(import(r3, exp_lines, ne, ok3, 0) == ne,
		   "an export does not import again");
	for (i = 0; i < ne; i++)
		exp_lines[i][strlen(exp_lines[i])] = '\n';
	export_all(r3, &e3);
	FUZZ_CHECK(e2.len == e3.len && !memcmp(e2.buf, e3.buf, e2.len),
		   "export, import, export changes the export:\n%s---\n%s",
		   e2.buf, e3.buf);
	close_mem(r3);
	close_mem(r2);
out:
	ss_buf_release(&e2);
	ss_buf_release(&e3);
	free(text);
	return 0;
}
