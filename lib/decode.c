/*
 * decode.c — pgoutput messages to frames for shapesync-replicate: the
 * transaction bracket, rows, relation frames from the catalog, and the
 * position kept across reconnects. See decode.h.
 */
#include "decode.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

void ss_decode_init(struct ss_decode *d)
{
	memset(d, 0, sizeof(*d));
	ss_buf_init(&d->line);
	d->cache = ss_pgo_cache_new();
}

void ss_decode_release(struct ss_decode *d)
{
	size_t i;

	ss_pgo_msg_release(&d->msg);
	ss_buf_release(&d->line);
	free(d->newc);
	free(d->oldc);
	for (i = 0; i < d->nrelsent; i++)
		free(d->relsent[i].json);
	free(d->relsent);
	ss_pgo_cache_free(d->cache);
	memset(d, 0, sizeof(*d));
}

/* Write a frame. Output failing is not something reconnecting can fix:
 * the error is fatal. */
int ss_decode_emit(struct ss_decode *d, json_t *frame, struct ss_err *err)
{
	int rc = ss_frame_write(d->out, d->out_name, frame, err);

	json_decref(frame);
	if (rc < 0)
		d->fatal = 1;
	return rc;
}

static const char *type_name(struct ss_decode *d, uint32_t oid,
			     struct ss_err *err)
{
	const char *name = ss_pgo_cache_type(d->cache, oid);
	struct ss_buf b = SS_BUF_INIT;
	int found;

	if (name)
		return name;
	/* pgoutput names only non-built-in types; built-ins were loaded at
	 * connect time, so this is a type created since. */
	if (ss_catalog_type_name(d->catalog, oid, &b, &found, err) < 0) {
		ss_buf_release(&b);
		return NULL;
	}
	if (!found)
		ss_buf_addf(&b, "%" PRIu32, oid);
	ss_pgo_cache_put_type(d->cache, oid, b.buf);
	ss_buf_release(&b);
	return ss_pgo_cache_type(d->cache, oid);
}

static void put_type(uint32_t oid, const char *name, void *ctx)
{
	ss_pgo_cache_put_type(ctx, oid, name);
}

int ss_decode_load_types(struct ss_decode *d, struct ss_err *err)
{
	if (ss_pgo_cache_ntypes(d->cache) > 0)
		return 0;
	return ss_catalog_builtin_types(d->catalog, put_type, d->cache, err);
}

/* Write relation frame f (stolen) for oid unless it is the last one
 * written for that oid and `force` is 0. */
static int emit_relation(struct ss_decode *d, uint32_t oid, json_t *f,
			 int force, struct ss_err *err)
{
	char *json = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct ss_decode_rel *rs = NULL;
	size_t i;

	if (!json) /* out of memory: write it, remember nothing */
		return ss_decode_emit(d, f, err);
	for (i = 0; i < d->nrelsent; i++)
		if (d->relsent[i].oid == oid)
			rs = &d->relsent[i];
	if (rs && !force && !strcmp(rs->json, json)) {
		free(json);
		json_decref(f);
		return 0;
	}
	if (!rs) {
		SS_GROW(d->relsent, d->relsent_alloc, d->nrelsent + 1);
		rs = &d->relsent[d->nrelsent++];
		rs->oid = oid;
		rs->json = NULL;
	}
	free(rs->json);
	rs->json = json;
	return ss_decode_emit(d, f, err);
}

/*
 * A table's columns as relation frame members: those of `rel` (as
 * pgoutput sent them), in the order of `names` when given (the attribute
 * order of a partition's ancestor: the same columns), with the primary
 * key of table `oid`.
 */
static int add_columns(struct ss_decode *d, json_t *f, uint32_t oid,
		       const struct ss_pgo_relation *rel, char **names,
		       size_t nnames, struct ss_err *err)
{
	struct ss_catalog_key pk;
	size_t i, j, n = names ? nnames : rel->ncols;
	int has_pk, k;

	if (ss_catalog_primary_key(d->catalog, oid, &pk, err) < 0)
		return -1;
	has_pk = pk.n > 0;
	for (j = 0; j < n; j++) {
		const struct ss_pgo_column *c = &rel->cols[j];
		const char *t;

		if (names) {
			for (i = 0; i < rel->ncols; i++)
				if (!strcmp(rel->cols[i].name, names[j]))
					break;
			if (i == rel->ncols)
				continue; /* not in the stream's version */
			c = &rel->cols[i];
		}
		t = type_name(d, c->type_oid, err);
		if (!t) {
			ss_catalog_key_release(&pk);
			return -1;
		}
		/* Without a primary key, the whole row is the key. */
		k = has_pk ? ss_catalog_key_index(&pk, c->name) : -1;
		ss_frame_add_column(f, c->name, t, c->type_oid, c->typmod,
				    has_pk ? k >= 0 : 1);
		if (k >= 0)
			ss_frame_set_key_index(f, k);
	}
	ss_catalog_key_release(&pk);
	return 0;
}

/*
 * The relation frame of a pgoutput relation message, after one for each
 * partitioned table it is a partition of (looked up now in the catalog,
 * as the primary key is): with publish_via_partition_root off, pgoutput
 * sends the changes of a partitioned table under its partitions, and
 * readers match them against the shapes on the ancestors too.
 * `changed`: the message differs from the last one for its oid.
 */
static int relation_frame(struct ss_decode *d,
			  const struct ss_pgo_relation *rel, int changed,
			  struct ss_err *err)
{
	struct ss_catalog_rel *anc = NULL;
	char **names = NULL;
	uint32_t *oids = NULL;
	size_t nnames = 0, nanc;
	json_t *f;
	int i, n, rc = -1;

	if (ss_catalog_ancestors(d->catalog, rel->oid, &anc, &nanc, err) < 0)
		return -1;
	n = (int)nanc;
	oids = ss_xcalloc((size_t)n + 1, sizeof(*oids));
	for (i = 0; i < n; i++)
		oids[i] = anc[i].oid;
	/* The root first: each frame comes before the frames naming it. */
	for (i = n - 1; i >= 0; i--) {
		if (ss_catalog_column_names(d->catalog, oids[i], &names,
					    &nnames, err) < 0)
			goto out;
		f = ss_frame_new_relation(oids[i], anc[i].schema, anc[i].name,
					  anc[i].replident);
		if (add_columns(d, f, oids[i], rel, names, nnames, err) < 0) {
			json_decref(f);
			goto out;
		}
		ss_catalog_names_free(names, nnames);
		names = NULL;
		if (i + 1 < n)
			ss_frame_set_ancestors(f, oids + i + 1,
					       (size_t)(n - i - 1));
		if (emit_relation(d, oids[i], f, 0, err) < 0)
			goto out;
	}
	f = ss_frame_new_relation(rel->oid, rel->schema, rel->table,
				  rel->replident);
	if (add_columns(d, f, rel->oid, rel, NULL, 0, err) < 0) {
		json_decref(f);
		goto out;
	}
	if (n > 0) {
		ss_frame_set_ancestors(f, oids, (size_t)n);
		/* A new partition: give it REPLICA IDENTITY FULL soon. */
		if (rel->replident != 'f')
			d->new_partition = 1;
	}
	rc = emit_relation(d, rel->oid, f, changed, err);
out:
	ss_catalog_names_free(names, nnames);
	ss_catalog_rels_free(anc, nanc);
	free(oids);
	return rc;
}

static int bad_data(struct ss_err *err, const struct ss_pgo_relation *rel,
		    const char *fmt, const char *col)
{
	ss_err_set(err, SS_ERR_INPUT, "table \"%s\".\"%s\": ", rel->schema,
		   rel->table);
	/* The format is ours and takes exactly one string. */
	snprintf(err->msg + strlen(err->msg),
		 sizeof(err->msg) - strlen(err->msg), fmt, col);
	return -1;
}

/* A row from a tuple into cols (grown as needed); unchanged TOAST values
 * come from `fill` (the old row), and with keys_only only key columns
 * keep their values. */
static int row(const struct ss_pgo_relation *rel, const struct ss_pgo_tuple *t,
	       const struct ss_pgo_tuple *fill, int keys_only,
	       struct ss_frame_col **cols, size_t *alloc, struct ss_err *err)
{
	size_t i;

	if (t->ncols != rel->ncols)
		return ss_err_set(err, SS_ERR_INPUT,
				  "table \"%s\".\"%s\": a row of %zu columns "
				  "for a relation of %zu",
				  rel->schema, rel->table, t->ncols,
				  rel->ncols);
	SS_GROW(*cols, *alloc, t->ncols);
	for (i = 0; i < t->ncols; i++) {
		const struct ss_pgo_value *v = &t->vals[i];
		struct ss_frame_col *c = &(*cols)[i];

		if (v->kind == SS_PGO_UNCHANGED && fill &&
		    fill->ncols == t->ncols &&
		    fill->vals[i].kind != SS_PGO_UNCHANGED)
			v = &fill->vals[i];
		c->name = rel->cols[i].name;
		c->data = NULL;
		c->len = 0;
		if ((keys_only && !rel->cols[i].key) || v->kind == SS_PGO_NULL)
			continue;
		if (v->kind != SS_PGO_TEXT) {
			bad_data(err, rel,
				 "no value for unchanged TOAST "
				 "column '%s'",
				 rel->cols[i].name);
			ss_err_hint(err, "tables in shapes need REPLICA "
					 "IDENTITY FULL");
			return -1;
		}
		/* A zero-length value still needs a non-NULL pointer. */
		c->data = v->len ? v->data : "";
		c->len = v->len;
	}
	return 0;
}

static int change(struct ss_decode *d, const struct ss_pgo_msg *m,
		  struct ss_err *err)
{
	const struct ss_pgo_relation *rel;
	const struct ss_pgo_tuple *old = m->old_kind ? &m->old_tuple : NULL;
	enum ss_frame_op op;
	size_t nnew = 0, nold = 0;
	int rc;

	if (!d->in_txn)
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: a change outside a transaction");
	if (d->pos++ < d->skip_below)
		return 0;
	rel = ss_pgo_cache_relation(d->cache, m->relid);
	if (!rel)
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: a change of relation %" PRIu32
				  " before its relation message",
				  m->relid);
	switch (m->type) {
	case 'I':
		op = SS_FRAME_OP_INSERT;
		rc = row(rel, &m->new_tuple, NULL, 0, &d->newc, &d->newc_alloc,
			 err);
		nnew = rel->ncols;
		break;
	case 'U':
		op = SS_FRAME_OP_UPDATE;
		/* Without an old tuple the key did not change: the key
		 * columns of the new row are the old ones. */
		rc = row(rel, &m->new_tuple, old, 0, &d->newc, &d->newc_alloc,
			 err);
		if (rc == 0)
			rc = old ? row(rel, old, NULL, m->old_kind == 'K',
				       &d->oldc, &d->oldc_alloc, err)
				 : row(rel, &m->new_tuple, NULL, 1, &d->oldc,
				       &d->oldc_alloc, err);
		nnew = nold = rel->ncols;
		break;
	default:
		op = SS_FRAME_OP_DELETE;
		rc = row(rel, old, NULL, m->old_kind == 'K', &d->oldc,
			 &d->oldc_alloc, err);
		nold = rel->ncols;
		break;
	}
	if (rc < 0)
		return -1;
	if (ss_frame_write_change(d->out, d->out_name, op, rel->oid, d->xid,
				  d->txn_lsn, d->pos - 1, d->newc, nnew,
				  d->oldc, nold, &d->line, err) < 0) {
		d->fatal = 1;
		if (err->code == SS_ERR_INPUT)
			ss_err_prefix(err, "table \"%s\".\"%s\"", rel->schema,
				      rel->table);
		return -1;
	}
	return 0;
}

/* One pgoutput message. */
/*
 * A logical message: a marker of ours (pg_logical_emit_message(false,
 * 'shapesync', ...), route's move-in markers) becomes a mark frame at its
 * position, between transactions. Everything else is someone else's:
 * transactional messages, other prefixes, content that is not text.
 */
static int logical_message(struct ss_decode *d, const struct ss_pgo_msg *m,
			   struct ss_err *err)
{
	char *text;
	int rc;

	/* Once past a reconnect, one written before is not written again. */
	if ((m->flags & 1) || d->in_txn || d->skip_txn ||
	    m->msg_lsn < d->emitted ||
	    strcmp(m->msg_prefix, SS_DECODE_MARK_PREFIX) ||
	    memchr(m->msg_content, '\0', m->msg_len) ||
	    !ss_utf8_valid(m->msg_content, m->msg_len))
		return 0;
	text = ss_xmalloc(m->msg_len + 1);
	memcpy(text, m->msg_content, m->msg_len);
	text[m->msg_len] = '\0';
	rc = ss_decode_emit(d, ss_frame_new_mark(m->msg_lsn, text), err);
	free(text);
	if (rc == 0)
		d->flush = 1;
	return rc;
}

int ss_decode_xlog(struct ss_decode *d, const char *data, size_t len,
		   struct ss_err *err)
{
	struct ss_pgo_msg *m = &d->msg;
	uint64_t xid;

	if (ss_pgo_decode(m, data, len, err) < 0)
		return -1;
	switch (m->type) {
	case 'B':
		if (d->have_endpos && m->final_lsn >= d->endpos) {
			d->done = 1;
			return 0;
		}
		xid = ss_pgo_xid_extend(&d->xid_ref, m->xid);
		if (d->resuming) {
			char a[SS_LSN_STRMAX], b[SS_LSN_STRMAX];

			d->resuming = 0;
			if (m->final_lsn != d->txn_lsn || xid != d->xid) {
				d->fatal = 1;
				return ss_err_set(
				    err, SS_ERR_RUNTIME,
				    "after reconnecting, the server sent "
				    "transaction %" PRIu64 " at %s instead "
				    "of %" PRIu64 " at %s",
				    xid, ss_lsn_format(m->final_lsn, a), d->xid,
				    ss_lsn_format(d->txn_lsn, b));
			}
			d->skip_below = d->pos;
			d->pos = 0;
			return 0;
		}
		if (d->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: begin inside a "
					  "transaction");
		if (m->final_lsn < d->emitted) {
			d->skip_txn = 1; /* written before a reconnect */
			return 0;
		}
		d->in_txn = 1;
		d->xid = xid;
		d->txn_lsn = m->final_lsn;
		d->pos = d->skip_below = 0;
		return ss_decode_emit(
		    d, ss_frame_new_begin(xid, m->final_lsn, m->ts_us), err);
	case 'C':
		if (d->skip_txn) {
			d->skip_txn = 0;
			return 0;
		}
		if (!d->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: commit outside a "
					  "transaction");
		if (ss_decode_emit(d,
				   ss_frame_new_commit(d->xid, d->txn_lsn,
						       m->end_lsn, m->ts_us),
				   err) < 0)
			return -1;
		d->flush = 1;
		d->in_txn = 0;
		d->transactions++;
		ss_lag_hist_add(&d->lag, (ss_now_us() - m->ts_us) / 1000);
		if (m->end_lsn > d->emitted)
			d->emitted = m->end_lsn;
		d->written = m->end_lsn;
		if (m->end_lsn > d->received)
			d->received = m->end_lsn;
		if (d->have_endpos && m->end_lsn >= d->endpos)
			d->done = 1;
		return 0;
	case 'R':
		return relation_frame(
		    d, &m->rel, ss_pgo_cache_put_relation(d->cache, &m->rel),
		    err);
	case 'Y':
		ss_pgo_cache_put_type(d->cache, m->type_oid, m->type_name);
		return 0;
	case 'I':
	case 'U':
	case 'D':
		if (d->skip_txn)
			return 0;
		d->changes++;
		return change(d, m, err);
	case 'T':
		if (d->skip_txn)
			return 0;
		if (!d->in_txn)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: truncate outside a "
					  "transaction");
		if (d->pos++ < d->skip_below)
			return 0;
		return ss_decode_emit(
		    d,
		    ss_frame_new_truncate(d->xid, d->txn_lsn, d->pos - 1,
					  m->relids, m->nrelids),
		    err);
	case 'M':
		return logical_message(d, m, err);
	default:
		/* Origin: the origin of a replicated transaction, which
		 * changes nothing for shapes. */
		return 0;
	}
}

void ss_decode_keepalive(struct ss_decode *d, ss_lsn wal_end)
{
	if (d->in_txn || d->skip_txn)
		return;
	if (wal_end > d->received)
		d->received = wal_end;
	if (d->have_endpos && wal_end >= d->endpos)
		d->done = 1;
}

int ss_decode_progress(struct ss_decode *d, ss_lsn durable, int always,
		       struct ss_err *err)
{
	if (d->in_txn || d->skip_txn || d->received <= d->emitted ||
	    (!always && durable < d->written))
		return 0;
	if (ss_decode_emit(d, ss_frame_new_progress(d->received), err) < 0)
		return -1;
	d->flush = 1;
	d->emitted = d->written = d->received;
	return 1;
}

void ss_decode_disconnected(struct ss_decode *d)
{
	/* A transaction cut short is sent again from its begin: skip what
	 * was already written of it. */
	if (d->in_txn)
		d->resuming = 1;
	d->skip_txn = 0;
}

void ss_decode_restart(struct ss_decode *d)
{
	d->in_txn = 0;
	d->resuming = 0;
	d->skip_txn = 0;
	d->written = 0;
}
