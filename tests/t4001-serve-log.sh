#!/bin/sh
# shapesync-serve following shapes through snapshot chunks and the log,
# with test-serve-fake standing in for route (the active mark) and store
# (log appends): chunk walking, live long-poll woken by a commit, SSE,
# 409 after DELETE, out-of-bounds offsets, shared creation, admission
# control, the active-mark timeout and LRU eviction.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

FAKE=$SS_BUILD/tests/test-serve-fake
pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items SELECT g, 'item number ' || g FROM generate_series(1, 40) g" \
	"CREATE TABLE other (id int PRIMARY KEY)" "INSERT INTO other VALUES (1)"

shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null
"$FAKE" route "$SS_REGISTRY" 300 &
FAKE_ROUTE=$!
test_at_exit "kill $FAKE_ROUTE"
serve_start --chunk-bytes 1000 --long-poll-timeout 3000 --enable-delete \
	--max-existing-requests 3 --keepalive-interval 700 --sse-timeout 2500

shape_dir() {
	printf '%s/shapes/%s/%s/%s' "$SS_DATA" "$(echo "$1" | cut -c1-2)" \
		"$(echo "$1" | cut -c3-4)" "$1"
}

# follow QUERY: walk a shape from -1 until up-to-date; rows go to rows.txt
# (one value per line), the last offset to ./off, the handle to ./handle.
follow() {
	: >rows.txt
	test_eq 200 "$(get "/v1/shape?$1&offset=-1")" || return 1
	hdr electric-handle >handle
	while :; do
		node -e '
			const b = JSON.parse(require("fs").readFileSync("b", "utf8"));
			for (const m of b) if (m.value) console.log(m.headers.operation + " " + m.value.id);
		' >>rows.txt || return 1
		hdr electric-offset >off
		hdr electric-up-to-date >/dev/null && return 0
		test_eq 200 "$(get "/v1/shape?$1&offset=$(cat off)&handle=$(cat handle)")" || return 1
	done
}

test_expect_success 'a new shape waits for the active mark, then snapshots in chunks' '
	follow "table=items" &&
	test_eq 40 "$(grep -c "^insert" rows.txt)" &&
	test "$(cat off)" != 0_0 &&
	H=$(cat handle) &&
	shapesync-db --registry "$SS_REGISTRY" show --json "$H" >rec.json &&
	grep -q "\"snapshot_state\":\"complete\"" rec.json &&
	grep -q "\"xmin\":\"[0-9]" rec.json &&
	D=$(shape_dir "$H") && test -f "$D/snapshot.done" && test -f "$D/snapshot.1"
'

test_expect_success 'log entries after the snapshot, sent as stored' '
	H=$(cat handle) && D=$(shape_dir "$H") && LAST=$(cat off) &&
	printf "%s\n" "100 0 {\"key\":\"k41\",\"value\":{\"id\":\"41\"},\"headers\":{\"operation\":\"insert\"}}" \
		"100 2 {\"key\":\"k42\",\"value\":{\"id\":\"42\"},\"headers\":{\"operation\":\"insert\",\"last\":true}}" \
		"commit 100" | "$FAKE" store "$D" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=$LAST&handle=$H")" &&
	test_eq 100_2 "$(hdr electric-offset)" && test_eq true "$(hdr electric-has-data)" &&
	test_eq "" "$(hdr electric-up-to-date)" &&
	printf "[{\"key\":\"k41\",\"value\":{\"id\":\"41\"},\"headers\":{\"operation\":\"insert\"}}\n,{\"key\":\"k42\",\"value\":{\"id\":\"42\"},\"headers\":{\"operation\":\"insert\",\"last\":true}}\n,{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"100\"}}]" >want &&
	test_cmp want b &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=100_0&handle=$H")" &&
	grep -q k42 b && ! grep -q k41 b &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=now")" &&
	test_eq 100_2 "$(hdr electric-offset)"
'

test_expect_success 'a live request is woken by a commit' '
	H=$(cat handle) D=$(shape_dir "$(cat handle)")
	{ sleep 0.5 && printf "%s\n" "200 0 {\"key\":\"k43\",\"value\":{\"id\":\"43\"}}" \
		"commit 200" | "$FAKE" store "$D"; } &
	t0=$(date +%s%N) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=100_2&handle=$H&live=true")" &&
	t1=$(date +%s%N) &&
	wait &&
	test $(( (t1 - t0) / 1000000 )) -lt 2500 &&
	grep -q k43 b && grep -q up-to-date b &&
	test_eq 200_0 "$(hdr electric-offset)" &&
	test_eq "public, max-age=5, stale-while-revalidate=5" "$(hdr cache-control)" &&
	test -n "$(hdr electric-cursor)" &&
	printf "[{\"key\":\"k43\",\"value\":{\"id\":\"43\"}}\n,{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"200\"}}]" >want &&
	test_cmp want b
'

test_expect_success 'a live request times out with an up-to-date and no data' '
	H=$(cat handle) &&
	t0=$(date +%s) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=200_0&handle=$H&live=true")" &&
	t1=$(date +%s) && test $((t1 - t0)) -ge 2 &&
	test_eq false "$(hdr electric-has-data)" &&
	test_eq "[{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"200\"}}]" "$(cat b)"
'

test_expect_success 'SSE: events for each change, up-to-date, then keep-alive' '
	H=$(cat handle) D=$(shape_dir "$(cat handle)")
	{ sleep 0.5 && printf "%s\n" "300 0 {\"key\":\"k44\",\"value\":{\"id\":\"44\"}}" \
		"commit 300" | "$FAKE" store "$D"; } &
	curl -s -N -m 8 -D h -o sse.txt "$SERVE_URL/v1/shape?table=items&offset=200_0&handle=$H&live=true&live_sse=true" &&
	wait &&
	grep -q "^: keep-alive" sse.txt &&
	test_eq text/event-stream "$(hdr content-type)" &&
	test_eq no "$(hdr x-accel-buffering)" &&
	grep -q "^data: {\"key\":\"k44\"" sse.txt &&
	grep -q "^data: {\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"301\"}}" sse.txt
'

# The official client resumes an SSE stream at "<global_last_seen_lsn>_0"
# of the last up-to-date: that must be past every change it got.
test_expect_success 'SSE: resuming at the up-to-date'"'"'s <lsn>_0 sends no change twice' '
	H=$(cat handle) D=$(shape_dir "$(cat handle)") &&
	printf "%s\n" "400 0 {\"key\":\"k45\",\"value\":{\"id\":\"45\"}}" \
		"400 1 {\"key\":\"k46\",\"value\":{\"id\":\"46\"}}" \
		"commit 400" | "$FAKE" store "$D" &&
	curl -s -N -m 8 -o sse1.txt "$SERVE_URL/v1/shape?table=items&offset=300_0&handle=$H&live=true&live_sse=true" &&
	grep -q "^data: {\"key\":\"k46\"" sse1.txt &&
	grep -q "^data: {\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"401\"}}" sse1.txt &&
	curl -s -N -m 8 -o sse2.txt "$SERVE_URL/v1/shape?table=items&offset=401_0&handle=$H&live=true&live_sse=true" &&
	grep -q "^: keep-alive" sse2.txt && ! grep -q "k4[56]" sse2.txt &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=401_0&handle=$H")" &&
	test_eq 400_1 "$(hdr electric-offset)" && hdr electric-up-to-date >/dev/null &&
	! grep -q "k4[56]" b
'

test_expect_success 'concurrent requests for a new shape share one snapshot' '
	for i in 1 2 3 4 5 6 7 8; do
		curl -s -D h$i -o /dev/null "$SERVE_URL/v1/shape?table=items&offset=-1&where=id<10" &
	done &&
	wait &&
	for i in 1 2 3 4 5 6 7 8; do tr -d "\\r" <h$i | sed -n "s/^electric-handle: //p"; done | sort -u >handles &&
	test_eq 1 "$(wc -l <handles)" &&
	shapesync-db --registry "$SS_REGISTRY" ls >ls.txt &&
	test_eq 1 "$(grep -c "$(cat handles)" ls.txt)"
'

test_expect_success 'an offset past the end is out of bounds after half a long-poll' '
	H=$(cat handle) &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=99999_0&handle=$H")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"offset\":[\"out of bounds for this shape\"]}}" "$(cat b)"
'

test_expect_success 'admission control: 503 with retry-after over the limit' '
	H=$(cat handle) &&
	for i in 1 2 3; do
		curl -s -o /dev/null "$SERVE_URL/v1/shape?table=items&offset=400_1&handle=$H&live=true" &
	done &&
	sleep 0.5 &&
	test_eq 503 "$(get "/v1/shape?table=items&offset=400_1&handle=$H")" &&
	test_eq "{\"code\":\"concurrent_request_limit_exceeded\",\"message\":\"Concurrent existing request limit exceeded (limit: 3), please retry\"}" "$(cat b)" &&
	r=$(hdr retry-after) && test "$r" -ge 6 && test "$r" -le 10 &&
	test_eq true "$(hdr electric-internal-known-error)" &&
	test_eq no-store "$(hdr cache-control)" &&
	wait
'

test_expect_success 'DELETE: 202, waiting clients and later requests get 409' '
	H=$(cat handle)
	curl -s -D lh -o lb "$SERVE_URL/v1/shape?table=items&offset=400_1&handle=$H&live=true" &
	sleep 0.3 &&
	t0=$(date +%s%N) &&
	test_eq 202 "$(get "/v1/shape?table=items" -X DELETE)" &&
	wait && t1=$(date +%s%N) &&
	test $(( (t1 - t0) / 1000000 )) -lt 1500 &&
	grep -q "^HTTP/1.1 409" lh &&
	test_eq "[{\"headers\":{\"control\":\"must-refetch\"}}]" "$(cat lb)" &&
	test ! -e "$(shape_dir "$H")" &&
	test_eq 409 "$(get "/v1/shape?table=items&offset=400_1&handle=$H")" &&
	H2=$(hdr electric-handle) && test -n "$H2" && test "$H2" != "$H" &&
	test_eq 404 "$(get "/v1/shape?handle=1-1" -X DELETE)" &&
	test_eq "{\"message\":\"No existing shape found\"}" "$(cat b)" &&
	test_eq 202 "$(get "/v1/shape?handle=$H2" -X DELETE)" &&
	test_eq 400 "$(get "/v1/shape" -X DELETE)"
'

serve_stop
kill $FAKE_ROUTE 2>/dev/null; wait $FAKE_ROUTE 2>/dev/null

serve_start --active-timeout 300
test_expect_success 'without route the creation fails with 503 and leaves nothing' '
	test_eq 503 "$(get "/v1/shape?table=other&offset=-1")" &&
	test_eq "{\"message\":\"Failed to create shape, please retry\"}" "$(cat b)" &&
	test_eq 1 "$(hdr retry-after)" &&
	! shapesync-db --registry "$SS_REGISTRY" ls | grep -q other
'
serve_stop

serve_start --no-active-wait --max-shapes 2
test_expect_success '--max-shapes evicts the least recently read shapes' '
	get "/v1/shape?table=items&offset=-1&where=id=1" >/dev/null && A=$(hdr electric-handle) &&
	get "/v1/shape?table=items&offset=-1&where=id=2" >/dev/null && B=$(hdr electric-handle) &&
	sleep 0.1 && get "/v1/shape?table=items&offset=-1&where=id=1" >/dev/null &&
	get "/v1/shape?table=items&offset=-1&where=id=3" >/dev/null && C=$(hdr electric-handle) &&
	sleep 2.5 &&
	shapesync-db --registry "$SS_REGISTRY" ls >ls.txt &&
	grep -q "$A" ls.txt && grep -q "$C" ls.txt && ! grep -q "$B" ls.txt &&
	test_eq 409 "$(get "/v1/shape?table=items&offset=0_0&handle=$B&where=id=2")"
'
serve_stop

test_done
