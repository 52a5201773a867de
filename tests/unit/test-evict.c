/*
 * test-evict — lib/evict on an in-memory registry: above the limit, the
 * shapes read least recently go (last read, else created), shapes being
 * created stay, each removal is reported once, and nothing goes at or
 * under the limit.
 *
 *   test-evict DIR     (a scratch directory for the data dir)
 */
#include <inttypes.h>
#include <unistd.h>

#include "datadir.h"
#include "evict.h"
#include "unit.h"

static char gone[16][SS_HANDLE_MAX];
static int ngone;

static void on_removed(void *ctx, const char *handle)
{
	(void)ctx;
	if (ngone < 16)
		snprintf(gone[ngone++], SS_HANDLE_MAX, "%s", handle);
}

static int was_removed(const char *handle)
{
	int i;

	for (i = 0; i < ngone; i++)
		if (!strcmp(gone[i], handle))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct ss_registry_opts o;
	struct ss_registry *reg = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec[6];
	static const int touch_order[] = {2, 0, 4, 1, 3};
	char data[4096];
	int64_t count = 0;
	int i;

	if (argc != 2)
		FAILF("usage: test-evict DIR");
	snprintf(data, sizeof(data), "%s/data", argv[1]);
	if (ss_datadir_init(data, &err) < 0)
		FAILF("%s", err.msg);
	ss_registry_opts_init(&o);
	o.create = 1;
	if (ss_registry_open(":memory:", &o, &reg, &err) < 0)
		FAILF("%s", err.msg);
	for (i = 0; i < 6; i++) {
		struct ss_shape def;
		char where[32];
		uint32_t oid = 16384;
		int made = 0;

		ss_shape_init(&def);
		if (ss_shape_parse_table(&def, "items", &err) < 0)
			FAILF("%s", err.msg);
		snprintf(where, sizeof(where), "id = %d", i);
		ss_shape_set_where(&def, where);
		ss_shape_rec_init(&rec[i]);
		if (ss_registry_add(reg, &def, &oid, 1, &rec[i], &made, &err) <
			0 ||
		    !made)
			FAILF("add: %s", err.msg);
		/* the sixth is being created */
		if (i < 5 && ss_registry_set_snapshot(reg, rec[i].id,
						      SS_SNAPSHOT_COMPLETE,
						      NULL, &err) < 0)
			FAILF("%s", err.msg);
		ss_shape_release(&def);
	}
	for (i = 0; i < 5; i++) {
		usleep(3000);
		ss_registry_touch(reg, rec[touch_order[i]].id);
	}
	if (ss_registry_flush(reg, &err) < 0)
		FAILF("%s", err.msg);

	/* at or under the limit: nothing */
	CHECK(ss_evict_once(reg, data, 6, on_removed, NULL, &err) == 0 &&
	      ngone == 0);
	CHECK(ss_evict_once(reg, data, 100, on_removed, NULL, &err) == 0 &&
	      ngone == 0);
	/* 6 shapes, limit 3: the three read least recently */
	CHECK(ss_evict_once(reg, data, 3, on_removed, NULL, &err) == 3 &&
	      ngone == 3);
	CHECK(was_removed(rec[2].handle) && was_removed(rec[0].handle) &&
	      was_removed(rec[4].handle));
	CHECK(ss_registry_count(reg, &count, &err) == 0 && count == 3);
	/* the pending shape is never a candidate: only complete ones go */
	CHECK(ss_evict_once(reg, data, 1, on_removed, NULL, &err) == 2 &&
	      ngone == 5);
	CHECK(was_removed(rec[1].handle) && was_removed(rec[3].handle));
	CHECK(!was_removed(rec[5].handle));
	CHECK(ss_evict_once(reg, data, 0, on_removed, NULL, &err) == 0 &&
	      ngone == 5);
	CHECK(ss_registry_count(reg, &count, &err) == 0 && count == 1);

	/* A subquery shape's inner shape, never read by a client, goes
	 * only after it. */
	{
		struct ss_shape def;
		struct ss_shape_rec in, out;
		struct ss_buf deps = SS_BUF_INIT;
		int made;

		ss_shape_init(&def);
		CHECK(ss_shape_parse_table(&def, "p", &err) == 0);
		ss_shape_rec_init(&in);
		CHECK(ss_registry_add(reg, &def, NULL, 0, &in, &made, &err) ==
		      0);
		ss_shape_release(&def);
		usleep(3000);
		ss_buf_addf(&deps,
			    "{\"inner\":[%" PRId64 "],\"tables\":[{\"schema\":"
			    "\"public\",\"table\":\"p\",\"columns\":[[\"id\","
			    "\"int4\"]]}]}",
			    in.id);
		ss_shape_init(&def);
		CHECK(ss_shape_parse_table(&def, "items", &err) == 0);
		ss_shape_set_where(&def, "id IN (SELECT id FROM p)");
		ss_shape_rec_init(&out);
		CHECK(ss_registry_add_deps(reg, &def, NULL, 0, deps.buf, &out,
					   &made, &err) == 0);
		ss_shape_release(&def);
		CHECK(ss_registry_set_snapshot(reg, in.id, SS_SNAPSHOT_COMPLETE,
					       NULL, &err) > 0 &&
		      ss_registry_set_snapshot(
			  reg, out.id, SS_SNAPSHOT_COMPLETE, NULL, &err) > 0 &&
		      ss_registry_flush(reg, &err) == 0);
		/* 3 shapes, limit 2: the oldest is the inner one, kept; the
		 * subquery shape goes */
		CHECK(ss_evict_once(reg, data, 2, on_removed, NULL, &err) ==
			  1 &&
		      was_removed(out.handle) && !was_removed(in.handle));
		/* then the inner one can go */
		CHECK(ss_evict_once(reg, data, 1, on_removed, NULL, &err) ==
			  1 &&
		      was_removed(in.handle));
		ss_shape_rec_release(&in);
		ss_shape_rec_release(&out);
		ss_buf_release(&deps);
	}

	for (i = 0; i < 6; i++)
		ss_shape_rec_release(&rec[i]);
	if (ss_registry_close(reg, &err) < 0)
		FAILF("%s", err.msg);
	return unit_report();
}
