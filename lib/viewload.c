/*
 * viewload.c — subquery views read from their inner shapes' files at a
 * durable stream position (viewload.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "compact.h"
#include "datadir.h"
#include "viewload.h"

struct load {
	struct ss_subq *q;
	int64_t id;
};

static int count_row(const char *json, size_t len, void *ctx,
		     struct ss_err *err)
{
	struct load *l = ctx;

	return ss_subq_load_message(l->q, l->id, json, len, err);
}

static void fail(const struct ss_viewload_ops *ops, void *ctx, int64_t id,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(const struct ss_viewload_ops *ops, void *ctx, int64_t id,
		 const char *fmt, ...)
{
	char why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ops && ops->failed)
		ops->failed(id, why, ctx);
}

/* Wait until store's durable LSN reaches lsn: 0, or 1 when it did not
 * (timeout or given up), -1 with err. */
static int wait_durable(struct ss_registry *reg, ss_lsn lsn, int64_t timeout_ms,
			const struct ss_viewload_ops *ops, void *ctx,
			struct ss_err *err)
{
	int64_t deadline = ss_mono_us() + timeout_ms * 1000;
	uint64_t durable;

	for (;;) {
		if (ss_registry_get_durable_lsn(reg, &durable, err) < 0)
			return -1;
		if (durable >= lsn)
			return 0;
		if (ss_mono_us() >= deadline ||
		    (ops && ops->waiting && ops->waiting(ctx)))
			return 1;
		usleep(2000);
	}
}

int ss_viewload_run(struct ss_subq *q, struct ss_registry *reg,
		    const char *datadir, ss_lsn lsn, int64_t timeout_ms,
		    const struct ss_viewload_ops *ops, void *ctx,
		    struct ss_err *err)
{
	struct ss_buf dir = SS_BUF_INIT, scratch = SS_BUF_INIT;
	char at[SS_LSN_STRMAX];
	int64_t *ids;
	size_t n = ss_subq_unloaded(q, &ids), i;
	int loaded = 0, rc = 0;

	if (!n)
		goto out;
	if (lsn == 0) {
		uint64_t durable;

		if (ss_registry_get_durable_lsn(reg, &durable, err) < 0) {
			loaded = -1;
			goto out;
		}
		lsn = durable;
	} else {
		rc = wait_durable(reg, lsn, timeout_ms, ops, ctx, err);
		if (rc < 0) {
			loaded = -1;
			goto out;
		}
	}
	ss_lsn_format(lsn, at);
	ss_buf_addf(&scratch, "%s/route-view.scratch", datadir);
	for (i = 0; i < n; i++) {
		struct ss_shape_rec rec;
		struct ss_err e2 = SS_ERR_INIT;
		struct load l = {q, ids[i]};
		int got;

		if (rc == 1) {
			fail(ops, ctx, ids[i],
			     "store did not make %s durable within %" PRId64
			     " ms",
			     at, timeout_ms);
			continue;
		}
		ss_shape_rec_init(&rec);
		got = ss_registry_get_by_id(reg, ids[i], &rec, err);
		if (got < 0) {
			loaded = -1;
			goto out;
		}
		if (!got || rec.snapshot_state != SS_SNAPSHOT_COMPLETE) {
			fail(ops, ctx, ids[i],
			     got ? "its snapshot is not complete"
				 : "it is not in the registry");
			ss_shape_rec_release(&rec);
			continue;
		}
		ss_buf_reset(&dir);
		ss_datadir_shape_path(&dir, datadir, rec.handle);
		/*
		 * Entries are at their commit LSN: those below the end. Not
		 * those at lsn - 1: no commit starts there (its record
		 * would run past the end), so they are the lines of a
		 * move of a nested subquery's shape written before the
		 * changes of the transaction committed at lsn, (lsn - 1)_k,
		 * which comes again and counts them (lib/movein).
		 */
		if (ss_compact_rows_at(dir.buf, lsn > 1 ? lsn - 2 : 0,
				       scratch.buf, count_row, &l, &e2) < 0 ||
		    ss_subq_loaded(q, ids[i], lsn, &rec.snapshot, &e2) < 0)
			fail(ops, ctx, ids[i], "its rows at %s: %s", at,
			     e2.msg);
		else
			loaded++;
		ss_shape_rec_release(&rec);
	}
out:
	free(ids);
	ss_buf_release(&dir);
	ss_buf_release(&scratch);
	return loaded;
}
