/*
 * message.c — Electric's wire messages: keys and control messages, built
 * as the reference describes them byte for byte.
 */
#include "message.h"

#include "catalog.h"
#include "pg.h"
#include "shape.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A key's values: "/\"v\"" each, '/' doubled, "/_" for NULL. */
static void key_values(struct ss_buf *out, const char *const *pk_values,
		       size_t npk)
{
	size_t i;

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

void ss_message_key(struct ss_buf *out, const char *schema, const char *table,
		    const char *const *pk_values, size_t npk)
{
	ss_shape_quote_ident(out, schema);
	ss_buf_addc(out, '.');
	ss_shape_quote_ident(out, table);
	key_values(out, pk_values, npk);
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

/* ---- snapshot rows ------------------------------------------------- */

void ss_message_snapshot_sql(struct ss_pg *c, const struct ss_catalog_table *t,
			     const size_t *sel, size_t nsel, const char *where,
			     const char *where2, const char *headers_sql,
			     const char *tail, struct ss_buf *sql)
{
	size_t i, n = 0;

	ss_buf_adds(sql, "SELECT ");
	for (i = 0; i < t->npk; i++, n++) {
		if (n)
			ss_buf_adds(sql, ", ");
		ss_pg_add_ident(c, sql, t->cols[t->pk[i]].name);
	}
	for (i = 0; i < nsel; i++, n++) {
		if (n)
			ss_buf_adds(sql, ", ");
		ss_pg_add_ident(c, sql, t->cols[sel[i]].name);
	}
	if (headers_sql) {
		if (n)
			ss_buf_adds(sql, ", ");
		ss_buf_adds(sql, "(''");
		ss_buf_adds(sql, headers_sql);
		ss_buf_adds(sql, ")");
		n++;
	}
	if (!n)
		ss_buf_adds(sql, "NULL");
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
}

void ss_message_rows_init(struct ss_message_rows *e,
			  const struct ss_catalog_table *t, const size_t *sel,
			  size_t nsel, const char *operation,
			  const char *extra_headers)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	e->npk = t->npk;
	e->nsel = nsel;
	ss_message_key(&e->prefix, t->schema, t->name, NULL, 0);
	e->name_at = ss_xcalloc(nsel ? nsel : 1, sizeof(*e->name_at));
	e->name_len = ss_xcalloc(nsel ? nsel : 1, sizeof(*e->name_len));
	for (i = 0; i < nsel; i++) {
		const char *name = t->cols[sel[i]].name;

		e->name_at[i] = e->names.len;
		if (i)
			ss_buf_addc(&e->names, ',');
		ss_buf_add_json_string(&e->names, name, strlen(name));
		ss_buf_addc(&e->names, ':');
		e->name_len[i] = e->names.len - e->name_at[i];
		ss_buf_add(&e->names, "", 1); /* the NUL between names */
	}
	if (!operation)
		operation = "insert";
	ss_buf_adds(&e->tail, "},\"headers\":{\"operation\":");
	ss_buf_add_json_string(&e->tail, operation, strlen(operation));
	ss_buf_adds(&e->tail, ",\"relation\":[");
	ss_buf_add_json_string(&e->tail, t->schema, strlen(t->schema));
	ss_buf_addc(&e->tail, ',');
	ss_buf_add_json_string(&e->tail, t->name, strlen(t->name));
	ss_buf_addc(&e->tail, ']');
	if (extra_headers)
		ss_buf_adds(&e->tail, extra_headers);
}

void ss_message_rows_add(struct ss_message_rows *e, struct ss_buf *out,
			 const char *const *cols, const size_t *lens,
			 const char *headers)
{
	size_t i;

	ss_buf_reset(&e->key);
	ss_buf_add(&e->key, e->prefix.buf, e->prefix.len);
	key_values(&e->key, cols, e->npk);
	ss_buf_adds(out, "{\"key\":");
	ss_buf_add_json_string(out, e->key.buf, e->key.len);
	ss_buf_adds(out, ",\"value\":{");
	for (i = 0; i < e->nsel; i++) {
		const char *v = cols[e->npk + i];

		ss_buf_add(out, e->names.buf + e->name_at[i], e->name_len[i]);
		if (v)
			ss_buf_add_json_string(
			    out, v, lens ? lens[e->npk + i] : strlen(v));
		else
			ss_buf_adds(out, "null");
	}
	ss_buf_add(out, e->tail.buf, e->tail.len);
	if (headers)
		ss_buf_adds(out, headers);
	ss_buf_adds(out, "}}");
}

void ss_message_rows_release(struct ss_message_rows *e)
{
	ss_buf_release(&e->prefix);
	ss_buf_release(&e->names);
	ss_buf_release(&e->tail);
	ss_buf_release(&e->key);
	free(e->name_at);
	free(e->name_len);
	memset(e, 0, sizeof(*e));
}
