/*
 * message.h — Electric's wire messages, built byte for byte: change
 * messages (key, value, headers, old_value), keys, and the control
 * messages (up-to-date, must-refetch, snapshot-end). store builds change
 * messages from frames; serve builds control messages and the messages
 * of snapshot rows, from the query ss_message_snapshot_sql writes.
 */
#ifndef SS_MESSAGE_H
#define SS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * A row key: "<schema>"."<table>" then, for each primary-key column in key
 * order, "/" and the value in double quotes with every "/" doubled, or
 * "/_" for NULL (reference 1.7). Schema and table are written with
 * PostgreSQL's quote_ident rules for the quoted form ("" doubles "), as
 * the snapshot SQL does. Appends to out (raw text, not JSON-escaped).
 */
void ss_message_key(struct ss_buf *out, const char *schema, const char *table,
		    const char *const *pk_values, size_t npk);

/*
 * A relation as change messages need it: columns in attnum order, which
 * of them are selected by the shape, and the primary key as column
 * indexes in key order (a table without a primary key uses every column,
 * in attnum order). All pointers are borrowed.
 */
struct ss_message_rel {
	const char *schema, *table;
	size_t ncols;
	const char *const *names;
	const unsigned char *selected; /* ncols flags */
	const size_t *pk;	       /* npk column indexes */
	size_t npk;
};

/* Per-message header fields. */
struct ss_message_hdr {
	const char *operation; /* "insert" | "update" | "delete" */
	uint64_t lsn;	       /* transaction's commit LSN */
	uint64_t op_position;
	uint64_t txid;
	int last;
	const char *key_change_to;   /* delete half of a key change, or NULL */
	const char *key_change_from; /* insert half, or NULL */
	/* More members for the headers, each starting with ',' (a subquery
	 * shape's tags, active_conditions, removed_tags), or NULL. */
	const char *extra;
};

/*
 * Append a change message:
 *   {"key":..,"value":{..},"headers":{"operation":..,"relation":[s,t],
 *    ["key_change_to"|"key_change_from":..,]"lsn":"N","op_position":N,
 *    "txids":[N][,"last":true]}[,"old_value":{..}]}
 * `value` and `old_value` list the selected columns whose `include` flag
 * is set (NULL include: every selected column), with values as JSON
 * strings or null; old_value is omitted when old_vals is NULL. Values are
 * arrays of ncols text-or-NULL pointers in attnum order.
 * Returns the position in out where ',"last":true' goes (just before the
 * headers' closing brace), for a caller that learns only later whether
 * this message is the transaction's last.
 */
size_t ss_message_change(struct ss_buf *out, const struct ss_message_rel *rel,
			 const char *key, const struct ss_message_hdr *hdr,
			 const char *const *vals, const unsigned char *include,
			 const char *const *old_vals,
			 const unsigned char *old_include);

/* The control messages, as compact JSON. */
void ss_message_up_to_date(struct ss_buf *out, uint64_t global_last_seen_lsn);
void ss_message_must_refetch(struct ss_buf *out);
/* {"headers":{"control":"snapshot-end","xmin":"..","xmax":"..","xip_list":[..]}}
 */
void ss_message_snapshot_end(struct ss_buf *out, uint64_t xmin, uint64_t xmax,
			     const uint64_t *xip, size_t nxip);

/*
 * The snapshot query of a shape (lib/pgq runs it) and the message of each
 * of its rows. The query selects, per row, the primary key's columns (in
 * key order; every column for a table without one), then the `sel`
 * columns (nsel indexes into t->cols), then, when headers_sql is not
 * NULL, one text column of more header members: headers_sql is a
 * fragment " || <text expression> ..." whose text starts with ',' (a
 * subquery shape's tags and active_conditions). Rows of table t (all of
 * a partitioned table, else ONLY t), filtered by `where` and `where2`
 * (canonical SQL or NULL each), then `tail` (" ORDER BY ... LIMIT ...",
 * or NULL). The query's text result gives each value as its column's
 * output function writes it, which is what pgoutput sends and so what
 * the log holds. Names are quoted through connection c. Appends to sql.
 *
 * Encoding the rows in C, not in SQL, takes the JSON building out of the
 * one backend that reads the table (five times less of its CPU for a
 * table of three short columns).
 */
struct ss_pg;
struct ss_catalog_table;
void ss_message_snapshot_sql(struct ss_pg *c, const struct ss_catalog_table *t,
			     const size_t *sel, size_t nsel, const char *where,
			     const char *where2, const char *headers_sql,
			     const char *tail, struct ss_buf *sql);

/*
 * The encoder of the rows of ss_message_snapshot_sql's query:
 *   {"key":..,"value":{..},"headers":{"operation":"insert",
 *    "relation":[s,t]<extra_headers><the row's header text>}}
 * (operation: "insert", or `operation` when not NULL: the deletes of a
 * move-out, lib/movein), the key as ss_message_key builds it. Set up once
 * per query (ss_message_rows_init; t, sel, operation and extra_headers
 * are copied from as needed, not kept), then one call per row with the
 * query's columns (NULL for SQL NULL), then ss_message_rows_release.
 */
struct ss_message_rows {
	size_t npk, nsel;
	struct ss_buf prefix; /* the key up to its values, raw */
	struct ss_buf names;  /* per sel column '"name":', NUL-separated */
	size_t *name_at;      /* nsel offsets into names */
	size_t *name_len;     /* and their lengths */
	struct ss_buf tail;   /* '},"headers":{...' up to the row's headers */
	struct ss_buf key;    /* scratch */
};
void ss_message_rows_init(struct ss_message_rows *e,
			  const struct ss_catalog_table *t, const size_t *sel,
			  size_t nsel, const char *operation,
			  const char *extra_headers);
/* Append row `cols` (npk + nsel values, then the header text if the
 * query has one, else NULL there) as a message to out. lens: the values'
 * lengths (read for the non-NULL ones), or NULL to measure them. */
void ss_message_rows_add(struct ss_message_rows *e, struct ss_buf *out,
			 const char *const *cols, const size_t *lens,
			 const char *headers);
void ss_message_rows_release(struct ss_message_rows *e);

#endif
