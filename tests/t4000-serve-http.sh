#!/bin/sh
# shapesync-serve over raw HTTP (curl), serve alone against PostgreSQL:
# routes, headers, ETag and 304, CORS preflight, every validation error
# body, the secret, and hostile input.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text, n numeric(10,2), c char(5), tags text[], v varchar(20) NOT NULL DEFAULT 'x')" \
	"INSERT INTO items (id, title, n, c, tags) SELECT g, 'item ' || g, g * 1.5, 'ab', ARRAY['a/b', NULL] FROM generate_series(1, 5) g" \
	"INSERT INTO items (id) VALUES (6)" \
	'CREATE TABLE "Mixed" ("Id" int PRIMARY KEY, "a/b" text)' \
	"INSERT INTO \"Mixed\" VALUES (1, 'x/y')" \
	"CREATE TABLE nopk (a int, b text)" \
	"INSERT INTO nopk VALUES (1, 'p/q'), (NULL, 'r')"
serve_start --no-active-wait

# invalid QUERY FIELD MESSAGE: the request gets exactly Electric's 400.
invalid() {
	_st=$(get "/v1/shape?$1") &&
	test_eq 400 "$_st" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"$2\":[\"$3\"]}}" "$(cat b)" &&
	test_eq "no-store" "$(hdr cache-control)" &&
	test_eq "application/json" "$(hdr content-type)"
}

test_expect_success 'GET / is 200 with an empty body; unknown paths 404' '
	test_eq 200 "$(get /)" && test_eq "" "$(cat b)" &&
	test_eq 404 "$(get /nope)" && test_eq "Not found" "$(cat b)" &&
	test_eq 404 "$(get /v1/shapes)" &&
	test_eq 202 "$(get /v1/health)" &&
	test_eq "{\"status\":\"starting\"}" "$(cat b)" &&
	test_eq "application/json" "$(hdr content-type)" &&
	test_eq "no-cache, no-store, must-revalidate" "$(hdr cache-control)"
'

test_expect_success 'initial request: headers and snapshot body' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	H=$(hdr electric-handle) &&
	test -n "$H" &&
	test_eq 0_0 "$(hdr electric-offset)" &&
	test_eq true "$(hdr electric-has-data)" &&
	test_eq "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746" \
		"$(hdr cache-control)" &&
	test_eq "\"$H:-1:0_0\"" "$(hdr etag)" &&
	! hdr electric-up-to-date >/dev/null &&
	! hdr electric-cursor >/dev/null &&
	test_eq "{\"c\":{\"length\":5,\"type\":\"bpchar\"},\"id\":{\"not_null\":true,\"pk_index\":0,\"type\":\"int4\"},\"n\":{\"precision\":10,\"scale\":2,\"type\":\"numeric\"},\"tags\":{\"dims\":1,\"type\":\"text\"},\"title\":{\"type\":\"text\"},\"v\":{\"max_length\":20,\"not_null\":true,\"type\":\"varchar\"}}" \
		"$(hdr electric-schema)" &&
	case "$(hdr electric-server)" in ElectricSQL/*) ;; *) false ;; esac &&
	test_eq "*" "$(hdr access-control-allow-origin)" &&
	! hdr vary >/dev/null &&
	test_eq "electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after" \
		"$(hdr access-control-expose-headers)" &&
	node -e "
		const b = JSON.parse(require(\"fs\").readFileSync(\"b\", \"utf8\"));
		const rows = b.filter(m => m.headers.operation);
		if (rows.length !== 6) throw new Error(\"rows \" + rows.length);
		const r1 = rows.find(m => m.value.id === \"1\");
		const want = {key: \"\\\"public\\\".\\\"items\\\"/\\\"1\\\"\",
			value: {id: \"1\", title: \"item 1\", n: \"1.50\", c: \"ab   \", tags: \"{a/b,NULL}\", v: \"x\"},
			headers: {operation: \"insert\", relation: [\"public\", \"items\"]}};
		if (JSON.stringify(r1) !== JSON.stringify(want)) throw new Error(JSON.stringify(r1));
		const r6 = rows.find(m => m.value.id === \"6\");
		if (r6.value.title !== null || r6.value.c !== null) throw new Error(\"nulls\");
		const end = b[b.length - 1].headers;
		if (end.control !== \"snapshot-end\" || typeof end.xmin !== \"string\" ||
		    !Array.isArray(end.xip_list)) throw new Error(JSON.stringify(end));
	"
'

test_expect_success 'the same definition gets the same handle' '
	get "/v1/shape?table=items&offset=-1" >/dev/null && H1=$(hdr electric-handle) &&
	get "/v1/shape?table=public.items&offset=-1" >/dev/null &&
	test_eq "$H1" "$(hdr electric-handle)" &&
	get "/v1/shape?table=ITEMS&offset=-1" >/dev/null &&
	test_eq "$H1" "$(hdr electric-handle)" &&
	get "/v1/shape?table=items&offset=-1&replica=full" >/dev/null &&
	test "$H1" != "$(hdr electric-handle)"
'

test_expect_success 'second request: up-to-date at the end of the snapshot' '
	get "/v1/shape?table=items&offset=-1" >/dev/null && H=$(hdr electric-handle) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=0_0&handle=$H")" &&
	test_eq "[{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"0\"}}]" "$(cat b)" &&
	test_eq 0_0 "$(hdr electric-offset)" &&
	test_eq "" "$(hdr electric-up-to-date)" &&
	test_eq false "$(hdr electric-has-data)" &&
	test_eq "public, max-age=60, stale-while-revalidate=300" "$(hdr cache-control)" &&
	test_eq "\"$H:0_0:0_0\"" "$(hdr etag)"
'

test_expect_success 'If-None-Match with the etag gives 304 and no body' '
	get "/v1/shape?table=items&offset=-1" >/dev/null && E=$(hdr etag) &&
	test_eq 304 "$(get "/v1/shape?table=items&offset=-1" -H "If-None-Match: $E")" &&
	test_eq "" "$(cat b)" &&
	test_eq 304 "$(get "/v1/shape?table=items&offset=-1" -H "If-None-Match: \"x\", $E")" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1" -H "If-None-Match: \"x\"")"
'

test_expect_success 'offset=now: up-to-date, no data, unique etag' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=now")" &&
	test_eq "[{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"0\"}}]" "$(cat b)" &&
	test_eq false "$(hdr electric-has-data)" && test_eq 0_0 "$(hdr electric-offset)" &&
	E1=$(hdr etag) && get "/v1/shape?table=items&offset=now" >/dev/null &&
	test "$E1" != "$(hdr etag)"
'

test_expect_success 'live request: waits, then up-to-date with a cursor' '
	get "/v1/shape?table=items&offset=-1" >/dev/null && H=$(hdr electric-handle) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=0_0&handle=$H&live=true&cursor=5")" &&
	test_eq "public, max-age=5, stale-while-revalidate=5" "$(hdr cache-control)" &&
	test_eq false "$(hdr electric-has-data)" &&
	C=$(hdr electric-cursor) && test "$C" -gt 5 &&
	! hdr electric-schema >/dev/null
'

test_expect_success 'unknown handle or another definition: 409 with the current handle' '
	get "/v1/shape?table=items&offset=-1" >/dev/null && H=$(hdr electric-handle) &&
	test_eq 409 "$(get "/v1/shape?table=items&offset=0_0&handle=1-2")" &&
	test_eq "[{\"headers\":{\"control\":\"must-refetch\"}}]" "$(cat b)" &&
	test_eq "$H" "$(hdr electric-handle)" &&
	test_eq "public, max-age=60, must-revalidate" "$(hdr cache-control)" &&
	test_eq 409 "$(get "/v1/shape?table=items&offset=0_0&handle=$H&where=id>1")" &&
	H2=$(hdr electric-handle) && test -n "$H2" && test "$H2" != "$H" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&where=id%20>%201")" &&
	test_eq "$H2" "$(hdr electric-handle)"
'

test_expect_success 'where, params and columns select what they say' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&where=id>\$1&params[1]=4&columns=title,id")" &&
	node -e "
		const b = JSON.parse(require(\"fs\").readFileSync(\"b\", \"utf8\"));
		const ids = b.filter(m => m.value).map(m => m.value.id).sort().join();
		if (ids !== \"5,6\") throw new Error(ids);
		if (Object.keys(b[0].value).join() !== \"id,title\") throw new Error(Object.keys(b[0].value));
	" &&
	test_eq "{\"id\":{\"not_null\":true,\"pk_index\":0,\"type\":\"int4\"},\"title\":{\"type\":\"text\"}}" \
		"$(hdr electric-schema)" &&
	H=$(hdr electric-handle) &&
	get "/v1/shape?table=items&offset=-1&where=(ID%20>%20\$1)&params[1]=4&columns=id,title" >/dev/null &&
	test_eq "$H" "$(hdr electric-handle)"
'

test_expect_success 'keys: quoted names, slashes doubled, tables without a key' '
	test_eq 200 "$(get "/v1/shape?table=\"Mixed\"&offset=-1")" &&
	grep -F "\"key\":\"\\\"public\\\".\\\"Mixed\\\"/\\\"1\\\"\"" b &&
	test_eq 200 "$(get "/v1/shape?table=nopk&offset=-1")" &&
	grep -F "\"key\":\"\\\"public\\\".\\\"nopk\\\"/\\\"1\\\"/\\\"p//q\\\"\"" b &&
	grep -F "\"key\":\"\\\"public\\\".\\\"nopk\\\"/_/\\\"r\\\"\"" b
'

test_expect_success 'validation errors: Electric bodies, exactly' '
	invalid "" offset "can'\''t be blank" &&
	invalid "table=items" offset "can'\''t be blank" &&
	invalid "offset=-1" table "can'\''t be blank" &&
	invalid "table=items&offset=foo" offset "has invalid format" &&
	invalid "table=items&offset=10" offset "has invalid format" &&
	invalid "table=items&offset=1_2_3" offset "has invalid format" &&
	invalid "table=items&offset=0_0" handle "can'\''t be blank when offset != -1" &&
	invalid "table=items&offset=-1&live=true" live "can'\''t be true when offset == -1" &&
	invalid "table=items&offset=now&live" live "can'\''t be true when offset is '\''now'\''" &&
	invalid "table=items&offset=0_0&handle=1-1&live_sse=true" live_sse "can'\''t be true unless live is also true" &&
	invalid "table=items&offset=-1&replica=half" replica "is invalid" &&
	invalid "table=items&offset=-1&log=some" log "is invalid" &&
	invalid "table=items&offset=-1&params=x" params "is invalid" &&
	invalid "table=items&offset=-1&params[a]=x" params "Parameters can only use numbers as keys" &&
	invalid "table=items&offset=-1&params[2]=x" params "Parameters must be numbered sequentially, starting from 1" &&
	invalid "table=foo&offset=-1" table "Table \\\"public\\\".\\\"foo\\\" does not exist. If the table name contains capitals or special characters you must quote it." &&
	invalid "table=Mixed&offset=-1" table "Table \\\"public\\\".\\\"mixed\\\" does not exist. If the table name contains capitals or special characters you must quote it." &&
	invalid "table=a.b.c&offset=-1" table "Invalid relation identifier, too many delimiters: a.b.c" &&
	invalid "table=items&offset=-1&columns=title" columns "The list of columns must include all primary key columns, missing: id" &&
	invalid "table=items&offset=-1&columns=id," columns "Invalid zero-length delimited identifier" &&
	invalid "table=items&offset=-1&where=nope=1" where "At location 0: unknown reference nope" &&
	invalid "table=items&offset=-1&where=id" where "WHERE clause must return a boolean" &&
	invalid "table=items&offset=-1&where=id=\$1" where "At location 3: parameter \$1 was not provided"
'

# Subqueries (issue 14): the tables they name come from the real catalog.
test_expect_success 'subquery where clauses get Electric'\''s errors' '
	invalid "table=items&offset=-1&where=id%20IN%20(SELECT%20%22Id%22%20FROM%20%22Mixed%22)&experimental_compaction=true" experimental_compaction "can'\''t be enabled for shapes with subqueries" &&
	invalid "table=items&offset=-1&where=id%20IN%20(SELECT%20id%20FROM%20Mixed)" table "Table \\\"public\\\".\\\"mixed\\\" does not exist. If the table name contains capitals or special characters you must quote it." &&
	invalid "table=items&offset=-1&where=id%20IN%20(SELECT%20c%20FROM%20nopk)" columns "The following columns are not found on the table: c" &&
	invalid "table=items&offset=-1&where=title%20IN%20(SELECT%20a%20FROM%20nopk)" where "At location 6: left side of \`IN (SELECT ...)\` has type text but subquery returns int4[]" &&
	invalid "table=items&offset=-1&where=EXISTS%20(SELECT%20a%20FROM%20nopk)" where "At location 0: only \`value IN (SELECT ...)\` sublinks are supported right now" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&subset__where=id%20IN%20(SELECT%20a%20FROM%20nopk)")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"Subqueries are not allowed in subsets\"}}}" "$(cat b)"
'

test_expect_success 'subset snapshots: metadata, rows with a mark, errors' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&subset__where=id<\$1&subset__params={\"1\":\"4\"}&subset__order_by=id%20desc&subset__limit=2")" &&
	test_eq no-cache "$(hdr cache-control)" && test_eq true "$(hdr electric-snapshot)" &&
	test -n "$(hdr electric-schema)" && test -n "$(hdr electric-handle)" &&
	node -e "
		const b = JSON.parse(require(\"fs\").readFileSync(\"b\", \"utf8\"));
		const m = b.metadata;
		if (typeof m.xmin !== \"string\" || !Array.isArray(m.xip_list) ||
		    typeof m.database_lsn !== \"string\" || typeof m.snapshot_mark !== \"number\")
			throw new Error(JSON.stringify(m));
		if (b.data.map(r => r.value.id).join() !== \"3,2\") throw new Error(JSON.stringify(b.data));
		if (b.data[0].headers.snapshot_mark !== m.snapshot_mark) throw new Error(\"mark\");
	" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" -d "{\"subset\":{\"where\":\"id = 5\"}}")" &&
	grep -q "\"id\":\"5\"" b && ! grep -q "\"id\":\"4\"" b &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&subset__limit=2")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"order_by\":\"order_by is required when limit or offset is present\"}}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&subset__where=nope=1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"At location 0: unknown reference nope\"}}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&subset__params=x")" &&
	grep -q "params must be valid JSON" b &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&subset__order_by=id;drop")" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -d "[1]")" &&
	test_eq "{\"error\":\"Request body must be a JSON object\"}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -d "{x")" &&
	grep -q "Invalid JSON in request body" b
'

test_expect_success 'queryable_columns: the allow-list for columns, where and subsets' '
	q="table=items&offset=-1&queryable_columns=id,title" &&
	test_eq 200 "$(get "/v1/shape?$q")" &&
	test_eq "{\"id\":{\"not_null\":true,\"pk_index\":0,\"type\":\"int4\"},\"title\":{\"type\":\"text\"}}" "$(hdr electric-schema)" &&
	h=$(hdr electric-handle) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&columns=id,title")" &&
	test_eq "$h" "$(hdr electric-handle)" &&
	test_eq 200 "$(get "/v1/shape?$q&columns=id,title&where=title%20IS%20NOT%20NULL")" &&
	invalid "$q&where=v%3D%27a%27" where "At location 0: unknown reference v" &&
	invalid "$q&columns=id,v" columns "The following columns could not be found: v" &&
	test_eq 400 "$(get "/v1/shape?$q&subset__where=v%3D%27a%27")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"At location 0: unknown reference v\"}}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?$q&subset__order_by=v&subset__limit=1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"order_by\":\"unknown reference v\"}}}" "$(cat b)" &&
	test_eq 200 "$(get "/v1/shape?$q&subset__order_by=title&subset__limit=1")" &&
	invalid "table=items&offset=-1&queryable_columns=title" queryable_columns "The list of queryable columns must include all primary key columns, missing: id" &&
	invalid "table=items&offset=-1&queryable_columns=id,nope" queryable_columns "The following columns could not be found: nope" &&
	invalid "table=items&offset=-1&queryable_columns=" queryable_columns "Invalid zero-length delimited identifier"
'

test_expect_success 'several errors are reported together, fields in order' '
	test_eq 400 "$(get "/v1/shape?table=items&offset=x&replica=y")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"offset\":[\"has invalid format\"],\"replica\":[\"is invalid\"]}}" "$(cat b)"
'

test_expect_success 'hostile input: SQL in where and table, bad UTF-8, unknown params' '
	invalid "table=items&offset=-1&where=id=1;drop%20table%20items" where "unescaped \\\";\\\" causing statement split" &&
	invalid "table=items&offset=-1&where=1%20x%201" where "At location 17: syntax error at or near \\\"x\\\"" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&where=id>0;")" &&
	n0=$(shapesync-db --registry "$SS_REGISTRY" ls | wc -l) && test "$n0" -gt 0 &&
	invalid "table=pg_catalog.pg_authid&offset=-1" table "Table \\\"pg_catalog\\\".\\\"pg_authid\\\" is a system catalog, which logical replication cannot follow" &&
	invalid "table=information_schema.tables&offset=-1" table "Table \\\"information_schema\\\".\\\"tables\\\" does not exist. If the table name contains capitals or special characters you must quote it." &&
	test_eq "$n0" "$(shapesync-db --registry "$SS_REGISTRY" ls | wc -l)" &&
	invalid "table=items;drop&offset=-1" table "Invalid unquoted identifier contains special characters: items;drop" &&
	invalid "table=items&offset=-1&where=%FF" where "invalid byte sequence for encoding \\\"UTF8\\\"" &&
	invalid "table=it%FFems&offset=-1" table "Invalid identifier, not valid UTF-8" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&where=title=\$1&params[1]=x%27%20OR%201=1--")" &&
	test_eq 1 "$(grep -c snapshot-end b)" && ! grep -q "\"operation\"" b &&
	test_eq 6 "$(pg_psql "SELECT count(*) FROM items")" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&bogus=1&cache-buster=2&expired_handle=3")"
'

test_expect_success 'hostile input: huge headers and URLs are refused' '
	big=$(head -c 40000 /dev/zero | tr "\\0" a) &&
	st=$(get "/v1/shape?table=items&offset=-1" -H "x-big: $big") &&
	test_eq 431 "$st" &&
	st=$(get "/v1/shape?table=items&offset=-1&x=$big") &&
	test_eq 414 "$st" &&
	test_eq 200 "$(get /)"
'

test_expect_success 'CORS preflight and origins' '
	test_eq 204 "$(get /v1/shape -X OPTIONS -H "Origin: https://app.example" -H "Access-Control-Request-Headers: if-none-match")" &&
	test_eq "" "$(cat b)" &&
	test_eq "https://app.example" "$(hdr access-control-allow-origin)" &&
	test_eq Origin "$(hdr vary)" &&
	test_eq "GET, POST, HEAD, DELETE, OPTIONS" "$(hdr access-control-allow-methods)" &&
	test_eq 86400 "$(hdr access-control-max-age)" &&
	test_eq if-none-match "$(hdr access-control-allow-headers)" &&
	! hdr cache-control >/dev/null &&
	get /v1/shape -X OPTIONS -H "Access-Control-Request-Headers: if-none-match, traceparent" >/dev/null &&
	test_eq "" "$(hdr access-control-allow-headers)" &&
	get /v1/health >/dev/null && test_eq "GET, HEAD" "$(hdr access-control-allow-methods)"
'

test_expect_success 'DELETE is refused without --enable-delete' '
	test_eq 405 "$(get "/v1/shape?table=items" -X DELETE)" &&
	test_eq "{\"message\":\"DELETE not allowed\"}" "$(cat b)"
'

test_expect_success 'HEAD and POST' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1" -I)" &&
	test -n "$(hdr electric-handle)" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1" -X POST -d "{}")" &&
	test_eq no-cache "$(hdr cache-control)" &&
	big=$(head -c 70000 /dev/zero | tr "\\0" a) &&
	test_eq 413 "$(get "/v1/shape?table=items&offset=-1" -X POST --data-binary "$big")"
'

# (t7600 reads them with --public-metrics and on --metrics-port.)
test_expect_success '/metrics is not on the public port unless asked for' '
	test_eq 404 "$(get /metrics)" && test_eq "Not found" "$(cat b)" &&
	test_eq 404 "$(get /metrics -I)"
'

test_expect_success 'snapshot values are the output function text, as in the log' '
	pg_psql "CREATE TABLE texts (id int PRIMARY KEY, b bool, ip inet, c char(3))" \
		"INSERT INTO texts VALUES (1, true, '"'"'::1'"'"', '"'"'a'"'"'), (2, false, '"'"'10.0.0.0/8'"'"', NULL)" &&
	test_eq 200 "$(get "/v1/shape?table=texts&offset=-1")" &&
	grep -q "\"value\":{\"id\":\"1\",\"b\":\"t\",\"ip\":\"::1\",\"c\":\"a  \"}" b &&
	grep -q "\"value\":{\"id\":\"2\",\"b\":\"f\",\"ip\":\"10.0.0.0/8\",\"c\":null}" b
'

serve_stop
test_expect_success 'stop on SIGTERM with exit 0' '
	test_eq 0 "$(cat serve.exit)"
'

serve_start --no-active-wait --secret s3cret
test_expect_success 'the secret is required on /v1/shape only' '
	test_eq 401 "$(get "/v1/shape?table=items&offset=-1")" &&
	test_eq "{\"message\":\"Unauthorized - Invalid API secret\"}" "$(cat b)" &&
	test_eq 401 "$(get "/v1//shape/?table=items&offset=-1&secret=no")" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&secret=s3cret")" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&api_secret=s3cret")" &&
	test_eq 204 "$(get /v1/shape -X OPTIONS)" &&
	test_eq 202 "$(get /v1/health)" &&
	test_eq "{\"status\":\"starting\"}" "$(cat b)" &&
	test_eq 404 "$(get "/metrics?secret=s3cret")"
'
serve_stop

test_expect_success 'option and environment checks' '
	test_must_fail 2 shapesync-serve --registry r --dir d &&
	test_stderr_has "no API secret" &&
	test_must_fail 2 shapesync-serve --insecure --secret x &&
	test_must_fail 2 env -u DATABASE_URL shapesync-serve --insecure &&
	test_stderr_has "no database" &&
	test_must_fail 2 shapesync-serve --insecure --port 70000 &&
	test_must_fail 2 env ELECTRIC_PORT=x shapesync-serve --insecure &&
	test_must_fail 2 shapesync-serve --insecure --bind nowhere &&
	test_must_fail 1 shapesync-serve --insecure --registry "$TEST_DIR/none.db"
'

test_done
