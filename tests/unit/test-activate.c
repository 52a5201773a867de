/*
 * test-activate.c — unit tests for lib/activate (route's step 2 of the
 * creation protocol) over a real registry file and a real router: shapes
 * become routed only between transactions and at the position reached,
 * their marks reach the registry, existing marks are kept, a new stream
 * holds shapes back until its stream frame, removals drop shapes at once,
 * and after a trimmed change log routed shapes no longer registered go.
 */
#include "activate.h"
#include "registry.h"
#include "unit.h"
#include "unit-registry.h"

/* The registry's mark for id, as another process (serve) reads it:
 * the lsn, or -1 if not active. */
static int64_t mark_of(struct ss_registry *r, int64_t id)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int64_t lsn = -1;

	ss_shape_rec_init(&rec);
	if (ss_registry_get_by_id(r, id, &rec, &err) == 1 && rec.active)
		lsn = (int64_t)rec.active_lsn;
	ss_shape_rec_release(&rec);
	return lsn;
}

struct seen {
	size_t activations, last_n;
	ss_lsn last_pos;
	int warnings;
};

static void on_warn(const char *msg, void *ctx)
{
	struct seen *s = ctx;

	(void)msg;
	s->warnings++;
}

static void on_activated(size_t n, ss_lsn position, void *ctx)
{
	struct seen *s = ctx;

	s->activations++;
	s->last_n = n;
	s->last_pos = position;
}

static const struct ss_activate_ops ops = {on_warn, on_activated};

static void test_protocol(void)
{
	struct ss_registry *serve = unit_open_reg("proto.db", 0);
	struct ss_registry *route, *other;
	struct ss_router *router = ss_router_new(NULL, NULL);
	struct ss_activate *a;
	struct ss_err err = SS_ERR_INIT;
	struct seen s = {0, 0, 0, 0};
	struct ss_stream_id sid;
	int64_t x, y, z, stream, gone;

	x = unit_add_shape(serve, 1);
	route = unit_open_reg("proto.db", 0);
	a = ss_activate_new(route, router, &ops, &s);
	/* Start: every shape is activated at once, at position 0. */
	CHECK(ss_activate_start(a, &err) == 0);
	CHECK(ss_router_has(router, x));
	CHECK(s.activations == 1 && s.last_n == 1 && s.last_pos == 0);
	CHECK(mark_of(serve, x) == 0);
	CHECK(ss_activate_marks(a) == 1);
	/* A shape registered during a transaction waits for its commit. */
	ss_activate_begin(a);
	CHECK(ss_activate_in_txn(a));
	y = unit_add_shape(serve, 2);
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(ss_activate_pending(a) == 1);
	CHECK(!ss_router_has(router, y));
	CHECK(mark_of(serve, y) == -1);
	CHECK(ss_activate_commit(a, 0x100, &err) == 0);
	CHECK(!ss_activate_in_txn(a));
	CHECK(ss_activate_pending(a) == 0);
	CHECK(ss_router_has(router, y));
	CHECK(mark_of(serve, y) == 0x100);
	CHECK(ss_activate_position(a) == 0x100);
	/* Between transactions, a refresh activates at the progress reached;
	 * positions never go back. */
	ss_activate_progress(a, 0x200);
	ss_activate_progress(a, 0x150);
	CHECK(ss_activate_position(a) == 0x200);
	z = unit_add_shape(serve, 3);
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(ss_router_has(router, z));
	CHECK(mark_of(serve, z) == 0x200);
	CHECK(ss_activate_marks(a) == 3);
	/* Nothing new: a refresh activates nothing. */
	s.activations = 0;
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(s.activations == 0);
	/* A removal drops the shape from the router at once, even inside a
	 * transaction. */
	ss_activate_begin(a);
	CHECK(ss_registry_remove(serve, z, &err) == 1 &&
	      ss_registry_flush(serve, &err) == 0);
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(!ss_router_has(router, z));
	CHECK(ss_activate_commit(a, 0x300, &err) == 0);
	/* Another route process starting later keeps the existing marks. */
	other = unit_open_reg("proto.db", 0);
	{
		struct ss_router *r2 = ss_router_new(NULL, NULL);
		struct ss_activate *a2 = ss_activate_new(other, r2, NULL, NULL);

		CHECK(ss_activate_start(a2, &err) == 0);
		CHECK(ss_router_has(r2, x) && ss_router_has(r2, y));
		CHECK(ss_activate_marks(a2) == 0);
		CHECK(mark_of(serve, y) == 0x100);
		ss_activate_free(a2);
		ss_router_free(r2);
	}
	CHECK(ss_registry_close(other, &err) == 0);
	/* replicate begins a new stream: every shape goes; a shape serve
	 * registers now waits for the new stream's frame, whose start is
	 * its mark. */
	memset(&sid, 0, sizeof(sid));
	snprintf(sid.system_id, sizeof(sid.system_id), "1");
	snprintf(sid.slot, sizeof(sid.slot), "s");
	CHECK(ss_registry_stream_start(serve, &sid, "test", 1, 0x1000, &stream,
				       &gone, &err) == 0);
	CHECK(gone == 2);
	z = unit_add_shape(serve, 4);
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(!ss_router_has(router, x) && !ss_router_has(router, y));
	CHECK(!ss_router_has(router, z));
	CHECK(ss_activate_pending(a) == 1);
	ss_activate_progress(a, 0x400); /* still the old stream's frames */
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(!ss_router_has(router, z));
	CHECK(ss_activate_stream(a, stream, 0x1000, &err) == 0);
	CHECK(ss_router_has(router, z));
	CHECK(mark_of(serve, z) == 0x1000);
	/* The same stream again changes nothing. */
	CHECK(ss_activate_stream(a, stream, 0x2000, &err) == 0);
	CHECK(ss_activate_position(a) == 0x1000);
	CHECK(s.warnings == 0);
	ss_activate_free(a);
	ss_activate_free(NULL);
	ss_router_free(router);
	CHECK(ss_registry_close(route, &err) == 0);
	CHECK(ss_registry_close(serve, &err) == 0);
}

/* The change log trimmed past route: routed shapes removed meanwhile are
 * dropped, the others stay routed, new ones are activated. */
static void test_trimmed(void)
{
	struct ss_registry *serve = unit_open_reg("trim.db", 4), *route;
	struct ss_router *router = ss_router_new(NULL, NULL);
	struct ss_activate *a;
	struct ss_err err = SS_ERR_INIT;
	int64_t ids[10];
	int i;

	for (i = 0; i < 3; i++)
		ids[i] = unit_add_shape(serve, i);
	route = unit_open_reg("trim.db", 0);
	a = ss_activate_new(route, router, NULL, NULL);
	CHECK(ss_activate_start(a, &err) == 0);
	CHECK(ss_router_count(router) == 3);
	CHECK(ss_registry_remove(serve, ids[1], &err) == 1);
	for (i = 3; i < 10; i++)
		ids[i] = unit_add_shape(serve, i);
	CHECK(ss_activate_refresh(a, &err) == 0);
	CHECK(!ss_router_has(router, ids[1]));
	for (i = 0; i < 10; i++)
		if (i != 1)
			CHECK(ss_router_has(router, ids[i]));
	CHECK(ss_router_count(router) == 9);
	ss_activate_free(a);
	ss_router_free(router);
	CHECK(ss_registry_close(route, &err) == 0);
	CHECK(ss_registry_close(serve, &err) == 0);
}

int main(void)
{
	unit_mkdtemp("/tmp/ss-unit-activate.XXXXXX");
	test_protocol();
	test_trimmed();
	return unit_finish();
}
