/*
 * message.c — Electric's wire messages: keys and control messages, built
 * as the reference describes them byte for byte.
 */
#include "message.h"

#include "catalog.h"
#include "pg.h"
#include "shape.h"

#include <inttypes.h>

void ss_message_key(struct ss_buf *out, const char *schema, const char *table,
		    const char *const *pk_values, size_t npk)
{
	size_t i;

	ss_shape_quote_ident(out, schema);
	ss_buf_addc(out, '.');
	ss_shape_quote_ident(out, table);
	for (i = 0; i < npk; i++) {
		const char *v = pk_values[i];

		if (!v) {
			ss_buf_adds(out, "/_");
			continue;
		}
		ss_buf_adds(out, "/\"");
		ss_buf_add_doubling(out, v, '/');
		ss_buf_addc(out, '"');
	}
}

void ss_message_up_to_date(struct ss_buf *out, uint64_t lsn)
{
	ss_buf_addf(out,
		    "{\"headers\":{\"control\":\"up-to-date\","
		    "\"global_last_seen_lsn\":\"%" PRIu64 "\"}}",
		    lsn);
}

void ss_message_must_refetch(struct ss_buf *out)
{
	ss_buf_adds(out, "{\"headers\":{\"control\":\"must-refetch\"}}");
}

void ss_message_snapshot_end(struct ss_buf *out, uint64_t xmin, uint64_t xmax,
			     const uint64_t *xip, size_t nxip)
{
	size_t i;

	ss_buf_addf(
	    out,
	    "{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"%" PRIu64
	    "\",\"xmax\":\"%" PRIu64 "\",\"xip_list\":[",
	    xmin, xmax);
	for (i = 0; i < nxip; i++)
		ss_buf_addf(out, "%s\"%" PRIu64 "\"", i ? "," : "", xip[i]);
	ss_buf_adds(out, "]}}");
}

static void row(struct ss_buf *out, const struct ss_message_rel *rel,
		const char *const *vals, const unsigned char *include)
{
	size_t i;
	int first = 1;

	ss_buf_addc(out, '{');
	for (i = 0; i < rel->ncols; i++) {
		if (!rel->selected[i] || (include && !include[i]))
			continue;
		if (!first)
			ss_buf_addc(out, ',');
		first = 0;
		ss_buf_add_json_string(out, rel->names[i],
				       strlen(rel->names[i]));
		ss_buf_addc(out, ':');
		if (vals[i])
			ss_buf_add_json_string(out, vals[i], strlen(vals[i]));
		else
			ss_buf_adds(out, "null");
	}
	ss_buf_addc(out, '}');
}

size_t ss_message_change(struct ss_buf *out, const struct ss_message_rel *rel,
			 const char *key, const struct ss_message_hdr *hdr,
			 const char *const *vals, const unsigned char *include,
			 const char *const *old_vals,
			 const unsigned char *old_include)
{
	size_t last_at;

	ss_buf_adds(out, "{\"key\":");
	ss_buf_add_json_string(out, key, strlen(key));
	ss_buf_adds(out, ",\"value\":");
	row(out, rel, vals, include);
	ss_buf_addf(out, ",\"headers\":{\"operation\":\"%s\",\"relation\":[",
		    hdr->operation);
	ss_buf_add_json_string(out, rel->schema, strlen(rel->schema));
	ss_buf_addc(out, ',');
	ss_buf_add_json_string(out, rel->table, strlen(rel->table));
	ss_buf_addc(out, ']');
	if (hdr->key_change_to) {
		ss_buf_adds(out, ",\"key_change_to\":");
		ss_buf_add_json_string(out, hdr->key_change_to,
				       strlen(hdr->key_change_to));
	}
	if (hdr->key_change_from) {
		ss_buf_adds(out, ",\"key_change_from\":");
		ss_buf_add_json_string(out, hdr->key_change_from,
				       strlen(hdr->key_change_from));
	}
	ss_buf_addf(out,
		    ",\"lsn\":\"%" PRIu64 "\",\"op_position\":%" PRIu64
		    ",\"txids\":[%" PRIu64 "]",
		    hdr->lsn, hdr->op_position, hdr->txid);
	if (hdr->extra)
		ss_buf_adds(out, hdr->extra);
	last_at = out->len;
	if (hdr->last)
		ss_buf_adds(out, ",\"last\":true");
	ss_buf_addc(out, '}');
	if (old_vals) {
		ss_buf_adds(out, ",\"old_value\":");
		row(out, rel, old_vals, old_include);
	}
	ss_buf_addc(out, '}');
	return last_at;
}

/* ---- the same message, rendered by PostgreSQL (snapshots) ---------- */

/* The text of a column as its output function writes it, which is what
 * pgoutput sends and so what the log holds: a ::text cast differs for
 * some types (bool gives "true" where the output function gives "t",
 * inet adds "/128", bpchar loses its padding). NULL stays NULL. */
static void add_text_expr(struct ss_pg *c, struct ss_buf *b,
			  const struct ss_catalog_column *col)
{
	ss_buf_adds(b, "(CASE WHEN ");
	ss_pg_add_ident(c, b, col->name);
	ss_buf_adds(b, " IS NULL THEN NULL ELSE concat(");
	ss_pg_add_ident(c, b, col->name);
	ss_buf_adds(b, ", '') END)");
}

int ss_message_snapshot_sql(struct ss_pg *c, const struct ss_catalog_table *t,
			    const size_t *sel, size_t nsel, const char *where,
			    const char *where2, const char *operation,
			    const char *extra_headers, const char *headers_sql,
			    const char *tail, struct ss_buf *sql,
			    struct ss_err *err)
{
	struct ss_buf tmp = SS_BUF_INIT;
	size_t i;
	int rc = -1;

	ss_buf_adds(sql, "SELECT '{\"key\":' || to_json(");
	ss_message_key(&tmp, t->schema, t->name, NULL, 0);
	if (ss_pg_add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
		goto out;
	for (i = 0; i < t->npk; i++) {
		ss_buf_adds(sql, " || '/' || coalesce('\"' || replace(");
		add_text_expr(c, sql, &t->cols[t->pk[i]]);
		ss_buf_adds(sql, ", '/', '//') || '\"', '_')");
	}
	ss_buf_adds(sql, ")::text || ',\"value\":{'");
	for (i = 0; i < nsel; i++) {
		const struct ss_catalog_column *col = &t->cols[sel[i]];

		ss_buf_reset(&tmp);
		if (i)
			ss_buf_addc(&tmp, ',');
		ss_buf_add_json_string(&tmp, col->name, strlen(col->name));
		ss_buf_addc(&tmp, ':');
		ss_buf_adds(sql, " || ");
		if (ss_pg_add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
			goto out;
		ss_buf_adds(sql, " || coalesce(to_json(");
		add_text_expr(c, sql, col);
		ss_buf_adds(sql, ")::text, 'null')");
	}
	ss_buf_reset(&tmp);
	ss_buf_adds(&tmp, "},\"headers\":{\"operation\":");
	ss_buf_add_json_string(&tmp, operation ? operation : "insert",
			       strlen(operation ? operation : "insert"));
	ss_buf_adds(&tmp, ",\"relation\":[");
	ss_buf_add_json_string(&tmp, t->schema, strlen(t->schema));
	ss_buf_addc(&tmp, ',');
	ss_buf_add_json_string(&tmp, t->name, strlen(t->name));
	ss_buf_adds(&tmp, "]");
	if (extra_headers)
		ss_buf_adds(&tmp, extra_headers);
	if (headers_sql) {
		ss_buf_adds(sql, " || ");
		if (ss_pg_add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
			goto out;
		ss_buf_adds(sql, headers_sql);
		ss_buf_reset(&tmp);
	}
	ss_buf_adds(&tmp, "}}");
	ss_buf_adds(sql, " || ");
	if (ss_pg_add_literal(c, sql, tmp.buf, tmp.len, err) < 0)
		goto out;
	ss_buf_adds(sql, " FROM ONLY ");
	if (t->relkind == 'p') {
		/* ONLY would hide every row of a partitioned table. */
		ss_buf_setlen(sql, sql->len - 5);
	}
	ss_pg_add_qualified(c, sql, t->schema, t->name);
	if (where) {
		ss_buf_adds(sql, " WHERE (");
		ss_buf_adds(sql, where);
		ss_buf_adds(sql, ")");
	}
	if (where2) {
		ss_buf_adds(sql, where ? " AND (" : " WHERE (");
		ss_buf_adds(sql, where2);
		ss_buf_adds(sql, ")");
	}
	if (tail)
		ss_buf_adds(sql, tail);
	rc = 0;
out:
	ss_buf_release(&tmp);
	return rc;
}
