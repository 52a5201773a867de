#!/bin/sh
# nginx with the repository's deploy/nginx/shapesync.conf in front of the
# whole pipeline. Initial and later chunks are cached (MISS, then HIT, with
# serve's exact bytes and headers; 304 from the cache; CORS redone per
# request); ten identical live long-polls on one shape cost serve exactly
# one request, also when the client that made it leaves; an expired live
# entry is refreshed by one request; SSE streams are neither buffered nor
# cached; and the official client converges through nginx. The config is
# used as shipped: only its lines marked "SITE:" (cache dir, access log,
# upstream address, listen port) are rewritten for the test.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/nginx.sh"

e2e_modules

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g"
# Small chunks so that the snapshot has several; a long-poll timeout above
# the 6 s that the ten live clients are held, and short enough for the
# quiet poll near the end to run out in the test's time.
pipeline_start --chunk-bytes 512 --long-poll-timeout 10000 --public-metrics

CONF=$SS_ROOT/deploy/nginx/shapesync.conf
nginx_start "$CONF" \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: shapesync-serve\)|\1${SERVE_URL#http://}\2|" ||
	exit 1

# cache_status URI: the cache= fields of the access log's lines for
# exactly that request URI, in order, on one line. nginx logs a request
# just after its last byte is sent, so a client can be done before its
# line is written; a request to nginx's one worker first makes sure the
# worker has finished what it was doing.
cache_status() {
	curl -s -o /dev/null "$NGINX_STATUS_URL"
	awk -v u="GET $1 HTTP/1.1\"" 'index($0, "\"" u) {
		for (i = 1; i <= NF; i++) if ($i ~ /^cache=/) printf "%s%s", s, substr($i, 7)
		s = " " } END { print "" }' "$NGX/access.log"
}

# serve_2xx: serve's own count of 200 answers to /v1/shape so far.
serve_2xx() {
	curl -s "$SERVE_URL/metrics" |
		sed -n 's/^electric_plug_serve_shape_requests_count{status="200"} //p'
}

# hdr_in FILE NAME: header NAME (lowercase) of a saved header file.
hdr_in() {
	tr -d '\r' <"$1" | awk -v n="$2" '{ i = index($0, ":") }
		tolower(substr($0, 1, i - 1)) == n { v = substr($0, i + 1)
			sub(/^[ \t]+/, "", v); print v }'
}

# same_as_serve URI: two GETs through nginx are a MISS then a HIT, and
# both answers carry serve's own body and Electric headers, byte for byte
# (serve is asked directly last; its answers are n1.*, n2.*, direct.*).
same_as_serve() {
	test_eq 200 "$(nget "$1")" && mv b n1.body && mv h n1.h &&
	test_eq 200 "$(nget "$1")" && mv b n2.body && mv h n2.h &&
	test_eq "MISS HIT" "$(cache_status "$1")" &&
	test_eq 200 "$(get "$1")" && mv b direct.body && mv h direct.h &&
	test_cmp direct.body n1.body && test_cmp direct.body n2.body &&
	for _k in electric-handle electric-offset electric-schema \
		electric-has-data electric-up-to-date etag cache-control; do
		hdr_in direct.h $_k >want &&
		hdr_in n1.h $_k >got1 && hdr_in n2.h $_k >got2 &&
		test_cmp want got1 && test_cmp want got2 || return 1
	done &&
	test -s direct.body
}

# uri SHAPE HANDLE OFFSET [CURSOR]: the URL the official client builds,
# parameters sorted and log=full always present. SHAPE is the part that
# sorts after offset ("table=items", "table=items&where=...").
uri() {
	if [ $# -ge 4 ]; then
		echo "/v1/shape?cursor=$4&handle=$2&live=true&log=full&offset=$3&$1"
	elif [ -n "$2" ]; then
		echo "/v1/shape?handle=$2&log=full&offset=$3&$1"
	else
		echo "/v1/shape?log=full&offset=$3&$1"
	fi
}
ITEMS=table=items

test_expect_success 'initial sync (offset=-1): MISS, then HIT, with serve'"'"'s bytes' '
	same_as_serve "$(uri $ITEMS "" -1)" &&
	test_eq "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746" \
		"$(hdr_in n1.h cache-control)" &&
	test_eq 0_0 "$(hdr_in n1.h electric-offset)" &&
	cp n1.h initial.h
'
H=$(hdr_in initial.h electric-handle)

test_expect_success 'a later chunk (offset=0_0): MISS, then HIT, with serve'"'"'s bytes' '
	same_as_serve "$(uri $ITEMS "$H" 0_0)" &&
	test_eq 0_1 "$(hdr_in n1.h electric-offset)" &&
	test_eq "public, max-age=60, stale-while-revalidate=300" \
		"$(hdr_in n1.h cache-control)"
'

test_expect_success 'If-None-Match with the cached ETag: 304 from the cache' '
	U=$(uri $ITEMS "" -1) &&
	test_eq 304 "$(nget "$U" -H "If-None-Match: $(hdr_in initial.h etag)")" &&
	test_eq "" "$(cat b)" &&
	test_eq HIT "$(cache_status "$U" | sed "s/.* //")"
'

test_expect_success 'CORS: a cached answer carries each request'"'"'s own origin' '
	U=$(uri $ITEMS "$H" 0_1) &&
	test_eq 200 "$(nget "$U" -H "Origin: https://a.example")" &&
	test_eq https://a.example "$(hdr access-control-allow-origin)" &&
	test_eq 200 "$(nget "$U" -H "Origin: https://b.example")" &&
	test_eq https://b.example "$(hdr access-control-allow-origin)" &&
	test_eq 1 "$(grep -ci "^access-control-allow-origin:" h)" &&
	test_eq Origin "$(hdr vary)" &&
	test_eq 200 "$(nget "$U")" &&
	test_eq "*" "$(hdr access-control-allow-origin)" &&
	test_eq "MISS HIT HIT" "$(cache_status "$U")"
'

# A handle serve does not know (another pipeline's, or a removed shape's):
# 409 must-refetch with the definition's current handle, which serve
# marks cacheable for 60 s; the URL names the unknown handle, so the
# cached 409 can only ever answer that same question.
test_expect_success 'a 409 for an unknown handle: MISS, then HIT' '
	U=$(uri $ITEMS 1234-5678 0_0) &&
	test_eq 409 "$(nget "$U")" && mv b 409.body && mv h 409.h &&
	test_eq 409 "$(nget "$U")" &&
	test_eq "MISS HIT" "$(cache_status "$U")" &&
	test_cmp 409.body b &&
	test_eq "[{\"headers\":{\"control\":\"must-refetch\"}}]" "$(cat b)" &&
	test_eq "$H" "$(hdr electric-handle)" &&
	test_eq "public, max-age=60, must-revalidate" "$(hdr cache-control)"
'

# follow SHAPE HANDLE: request chunks through nginx from 0_0 until one is
# up to date, and print its end offset. That chunk's request offset goes
# to ./last.offset, its headers stay in ./h.
follow() {
	_o=0_0
	while :; do
		echo $_o >last.offset
		test_eq 200 "$(nget "$(uri "$1" "$2" $_o)")" || return 1
		_o=$(hdr electric-offset)
		hdr electric-up-to-date >/dev/null && break
	done
	echo "$_o"
}

test_expect_success 'the up-to-date chunk keeps electric-up-to-date through nginx' '
	follow $ITEMS "$H" >end && mv h end.h &&
	test_eq 200 "$(get "$(uri $ITEMS "$H" "$(cat last.offset)")")" &&
	hdr_in end.h electric-up-to-date >got && hdr_in h electric-up-to-date >want &&
	test_eq 1 "$(wc -l <got)" && test_cmp want got
'
SNAP_END=$(cat end)

# The first live request, made the way the client makes it: an empty
# cursor, since no electric-cursor has been seen yet. It returns at once
# with row 21 and the cursor that the next poll carries.
pg_psql "INSERT INTO items VALUES (21, 'item 21')"
nget "$(uri $ITEMS "$H" "$SNAP_END" "")" >/dev/null
grep -q '"id":"21"' b || { echo "# the first live poll missed row 21"; cat b; exit 1; }
LIVE=$(uri $ITEMS "$H" "$(hdr electric-offset)" "$(hdr electric-cursor)")
C=$(hdr electric-cursor)
say "live URL: $LIVE"

# waiting_at_serve: live requests waiting at serve for a change.
waiting_at_serve() {
	curl -s "$SERVE_URL/metrics" | sed -n 's/^shapesync_serve_waiting_requests //p'
}
# writing_at_nginx: requests nginx is answering (stub_status "Writing",
# the status request itself included).
writing_at_nginx() {
	curl -s "$NGINX_STATUS_URL" |
		sed -n 's/.*Writing: \([0-9]*\).*/\1/p'
}
# statuses URI: how many of each cache status the access log has for URI,
# "N STATUS" lines sorted by status.
statuses() {
	cache_status "$1" | tr ' ' '\n' | sort | uniq -c | sed 's/^ *//'
}
# upstream_count URI: how many requests for URI nginx passed to serve.
upstream_count() {
	curl -s -o /dev/null "$NGINX_STATUS_URL"
	grep -F "\"GET $1 HTTP" "$NGX/access.log" | grep -vc " ustatus=- "
}

# Ten clients poll the same live URL through nginx. serve must see one
# request, still one after 6 s (past nginx's 5 s defaults for
# proxy_cache_lock_timeout and proxy_cache_lock_age, either of which would
# let more through), and all ten get the change that ends the poll.
test_expect_success 'ten identical live long-polls cost serve one request' '
	for i in 1 2 3 4 5 6 7 8 9 10; do
		curl -g -s -D live.$i.h -o live.$i.body -w "%{http_code}\n" \
			"$NGINX_URL$LIVE" >live.$i.status &
	done &&
	wait_until "10 requests at nginx" "test \"\$(writing_at_nginx)\" = 11" &&
	wait_until "a request at serve" "test \"\$(waiting_at_serve)\" = 1" &&
	sleep 6 && test_eq 1 "$(waiting_at_serve)" &&
	before=$(serve_2xx) &&
	pg_psql "INSERT INTO items VALUES (22, '"'"'item 22'"'"')" &&
	wait &&
	after=$(serve_2xx) &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		test_eq 200 "$(cat live.$i.status)" &&
		grep -q "\"id\":\"22\"" live.$i.body &&
		test_cmp live.1.body live.$i.body || return 1
	done &&
	test_eq 1 $((after - before)) &&
	{
		echo "serve answered $((after - before)) request(s) for 10 live clients" &&
		echo "cache statuses at nginx: $(cache_status "$LIVE")"
	} >"$TEST_DIR/live.summary" &&
	test_eq "9 HIT
1 MISS" "$(statuses "$LIVE")" &&
	test_eq 1 "$(upstream_count "$LIVE")"
'
[ -f live.summary ] && sed 's/^/# /' live.summary
NEXT=$(uri $ITEMS "$H" "$(hdr_in live.1.h electric-offset)" "$(hdr_in live.1.h electric-cursor)")

# The client whose request went to serve for the group leaves before the
# answer comes: nginx still finishes and caches it for the others, so
# serve sees one request, not a new long-poll for the next in line.
test_expect_success 'the collapsed group survives its first client leaving' '
	curl -g -s -o /dev/null "$NGINX_URL$NEXT" & first=$! &&
	wait_until "the first request at serve" "test \"\$(waiting_at_serve)\" = 1" &&
	for i in 1 2; do
		curl -g -s -o next.$i.body "$NGINX_URL$NEXT" & eval p$i=\$!
	done &&
	wait_until "3 requests at nginx" "test \"\$(writing_at_nginx)\" = 4" &&
	kill $first && wait $first 2>/dev/null
	sleep 0.3 &&
	before=$(serve_2xx) &&
	pg_psql "INSERT INTO items VALUES (23, '"'"'item 23'"'"')" &&
	wait $p1 $p2 &&
	after=$(serve_2xx) &&
	grep -q "\"id\":\"23\"" next.1.body &&
	test_cmp next.1.body next.2.body &&
	test_eq 1 $((after - before)) &&
	test_eq 1 "$(upstream_count "$NEXT")" &&
	test_eq "2 HIT
1 MISS" "$(statuses "$NEXT")"
'

# A live poll on a shape that nothing changes ends after the long-poll
# timeout with a no-change answer, cached for max-age=5 and
# stale-while-revalidate=5. Start one now; the test after next needs it
# more than 10 s old.
QUIET=table=items\&where=id%3E1000
nget "$(uri "$QUIET" "" -1)" >/dev/null
QH=$(hdr electric-handle)
QUIET_LIVE=$(uri "$QUIET" "$QH" "$(follow "$QUIET" "$QH")" "")
curl -g -s -o quiet.0.body "$NGINX_URL$QUIET_LIVE" &
QUIET_PID=$!

# SSE from the end of the snapshot: serve sends rows 21 and 22 at once,
# then holds the stream open for --sse-timeout (60 s). Two identical
# streams at once must both flow: a cached path would make the second
# wait on the cache lock for as long as the first stream lasts.
test_expect_success 'SSE streams pass through uncached, one per client' '
	for sse in live_sse experimental_live_sse; do
		U=$(uri $ITEMS "$H" "$SNAP_END" "$C" |
			sed "s/&live=true&/\&live=true\&$sse=true\&/") &&
		for i in 1 2; do
			curl -g -s -N --max-time 2 -o sse.$i.out "$NGINX_URL$U" &
			eval s$i=\$!
		done &&
		wait $s1 $s2
		grep -q "^data: .*\"id\":\"22\"" sse.1.out &&
		grep -q "^data: .*\"id\":\"22\"" sse.2.out &&
		wait_until "the SSE log lines" "test \"\$(cache_status \"\$U\")\" = \"- -\"" ||
		return 1
	done
'

# Five official clients follow the shape through nginx, then see an
# insert, an update and a delete: each ends with exactly SELECT's rows.
cat >clients.mjs <<EOF
import { execFileSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { ShapeStream, Shape } from '$E2E/node_modules/@electric-sql/client/dist/index.mjs'

const sql = (q) => execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', q],
  { encoding: 'utf8' }).trim()
const select = () => JSON.parse(sql(
  "SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM (SELECT id, title FROM items) t"))
const sorted = (rows) => [...rows].sort((a, b) => a.id - b.id)
async function converge(shapes, what) {
  const want = select(), until = Date.now() + 15000
  for (;;) {
    try {
      for (const s of shapes) assert.deepEqual(sorted(s.currentRows), want)
      return
    } catch (e) {
      if (Date.now() > until) throw new Error('timed out waiting for ' + what + ': ' + e.message)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

const acs = [], shapes = []
for (let i = 0; i < 5; i++) {
  const ac = new AbortController()
  acs.push(ac)
  shapes.push(new Shape(new ShapeStream({ url: process.env.NGINX_URL + '/v1/shape',
    params: { table: 'items' }, signal: ac.signal })))
}
await Promise.all(shapes.map((s) => s.rows))
await converge(shapes, 'the initial rows')
sql("INSERT INTO items VALUES (24, 'item 24')")
sql("UPDATE items SET title = 'one' WHERE id = 1")
sql('DELETE FROM items WHERE id = 2')
await converge(shapes, 'the changes')
for (const ac of acs) ac.abort()
process.exit(0)
EOF

test_expect_success 'five official clients through nginx converge to SELECT' '
	NGINX_URL=$NGINX_URL timeout 60 node clients.mjs
'

# Back to the quiet poll: once its entry is past max-age and
# stale-while-revalidate, five clients ask for it at once. The lock does
# not cover an expired entry; proxy_cache_use_stale updating sends one
# of them to serve (EXPIRED) and answers the four others at once from
# the stale entry (UPDATING). The row that ends the refresh's long-poll
# comes only after they are all answered.
wait $QUIET_PID
sleep 10.5
test_expect_success 'an expired live entry is refreshed by one request' '
	for i in 1 2 3 4 5; do
		curl -g -s -o quiet.$i.body "$NGINX_URL$QUIET_LIVE" & eval q$i=\$!
	done &&
	wait_until "4 stale answers" "test \"\$(cache_status \"\$QUIET_LIVE\")\" = \"MISS UPDATING UPDATING UPDATING UPDATING\"" &&
	pg_psql "INSERT INTO items VALUES (1001, '"'"'item 1001'"'"')" &&
	wait $q1 $q2 $q3 $q4 $q5 &&
	test_eq "1 EXPIRED
1 MISS
4 UPDATING" "$(statuses "$QUIET_LIVE")" &&
	test_eq 2 "$(upstream_count "$QUIET_LIVE")" &&
	test_eq 1 "$(grep -l "\"id\":\"1001\"" quiet.[1-5].body | wc -l)" &&
	test_eq 4 "$(for i in 1 2 3 4 5; do cmp -s quiet.0.body quiet.$i.body && echo; done | wc -l)"
'

test_done
