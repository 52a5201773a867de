/*
 * unit-registry.h — helpers for C unit tests over real registry files:
 * a temporary directory, registries opened in it, shapes "t where x = N"
 * added and flushed. Include after unit.h.
 */
#ifndef SS_UNIT_REGISTRY_H
#define SS_UNIT_REGISTRY_H

#include <unistd.h>

#include "registry.h"

static char unit_dir[256];

/* Make the temporary directory, from a template like
 * "/tmp/ss-unit-NAME.XXXXXX". */
static void unit_mkdtemp(const char *tmpl)
{
	snprintf(unit_dir, sizeof(unit_dir), "%s", tmpl);
	if (!mkdtemp(unit_dir))
		FAILF("mkdtemp: %s", strerror(errno));
}

/* The tally as main's status; the directory is removed if all passed. */
static int unit_finish(void)
{
	if (!unit_failures) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", unit_dir);
	}
	return unit_report();
}

/* Open (creating it) registry file `name` in the directory; keep, if not
 * 0, is its changes_keep. */
static struct ss_registry *unit_open_reg(const char *name, int keep)
{
	struct ss_registry_opts o;
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *r = NULL;
	char p[512];

	ss_registry_opts_init(&o);
	o.create = 1;
	if (keep)
		o.changes_keep = keep;
	snprintf(p, sizeof(p), "%s/%s", unit_dir, name);
	if (ss_registry_open(p, &o, &r, &err) < 0)
		FAILF("open %s: %s", p, err.msg);
	return r;
}

/* Add the shape "t where x = <x>", flushed; its id. */
static int64_t unit_add_shape(struct ss_registry *r, int x)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape s;
	struct ss_shape_rec rec;
	char where[32];
	int created;
	int64_t id;

	ss_shape_init(&s);
	if (ss_shape_parse_table(&s, "t", &err) < 0)
		FAILF("parse table: %s", err.msg);
	snprintf(where, sizeof(where), "x = %d", x);
	ss_shape_set_where(&s, where);
	ss_shape_rec_init(&rec);
	if (ss_registry_add(r, &s, NULL, 0, &rec, &created, &err) < 0)
		FAILF("add: %s", err.msg);
	id = rec.id;
	ss_shape_rec_release(&rec);
	ss_shape_release(&s);
	if (ss_registry_flush(r, &err) < 0)
		FAILF("flush: %s", err.msg);
	return id;
}

#endif
