/*
 * statuspage.h — the operator's page of shapesync-serve: a small static
 * HTML document, embedded in the binary and loading nothing else, that
 * scrapes /metrics of its own origin every ?every=MS (default 2000) and
 * shows the shapes, the clients waiting, the bytes served, replication
 * lag and each stage's health. serve answers it at / of --metrics-port.
 * Each number shown carries data-metric=NAME (shapes, active, waiting,
 * bytes, flush_lag, retained_wal, receive_lag_ms, transactions, health,
 * stage_up:STAGE, stage_age:STAGE, stage_rss:STAGE, requests:STATUS) and
 * is the /metrics value as written there.
 */
#ifndef SS_STATUSPAGE_H
#define SS_STATUSPAGE_H

#include "server.h"

/* The page, NUL-terminated. */
extern const char ss_statuspage_html[];

/* lib/server handler (GET, HEAD): the page, 200, text/html, never cached
 * without revalidation, with a content security policy that allows its
 * inline style and script and requests to its own origin only. ctx is
 * unused. */
enum MHD_Result ss_statuspage_get(struct ss_server_req *r, void *ctx);

#endif
