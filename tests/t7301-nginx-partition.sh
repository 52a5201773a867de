#!/bin/sh
# docs/scale-out.md's partitioning is true: two pipelines on one database,
# started as the page starts them by hand (slots and publications a and b,
# a registry and data dir each), behind deploy/nginx/shapesync.conf with
# the page's "pipelines" block in place of the file's own. Every spelling
# of orders reaches pipeline b and the rest a; each registry and
# publication holds only its pipeline's tables; changes flow through
# nginx; and a handle that reaches the wrong pipeline gets a 409 with that
# pipeline's own handle, as the page says.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/nginx.sh"

DOC=$SS_ROOT/docs/scale-out.md
CONF=$SS_ROOT/deploy/nginx/shapesync.conf

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items VALUES (1, 'one')" \
	"CREATE TABLE orders (id int PRIMARY KEY, amount int)" \
	"INSERT INTO orders VALUES (1, 10)"

# pipe_start NAME: pipeline NAME in $TEST_DIR/pipe-NAME, with the page's
# commands; sets URL_NAME to its serve.
pipe_start() {
	_d=$TEST_DIR/pipe-$1
	mkdir -p "$_d" || return 1
	(
		export SHAPESYNC_REGISTRY="$_d/registry.db" SHAPESYNC_DATA_DIR="$_d/data"
		shapesync db init >/dev/null &&
		shapesync replicate --slot "$1" --publication "$1" --create-slot || exit 1
		shapesync replicate --slot "$1" --publication "$1" |
			shapesync route | shapesync store --sync-interval 2ms &
		shapesync serve --publication "$1" --port 0 --insecure \
			2>"$_d/serve.log" &
		wait
	) 2>>"$_d/pipeline.log" &
	echo $! >"$_d/pid"
	_i=0
	until grep -q 'listening on' "$_d/serve.log" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ]; then
			echo "pipeline $1 did not start:" >&2
			cat "$_d/pipeline.log" "$_d/serve.log" >&2
			return 1
		fi
		sleep 0.05
	done
	eval "URL_$1=\$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' \"\$_d/serve.log\")"
}

# Stop both: the processes of each pipeline's subshell, serve among them.
pipes_stop() {
	for _n in a b; do
		[ -f "$TEST_DIR/pipe-$_n/pid" ] || continue
		_p=$(cat "$TEST_DIR/pipe-$_n/pid")
		for _k in $(_pg_children "$_p"); do
			kill -TERM "$_k" 2>/dev/null
		done
		wait "$_p" 2>/dev/null
		rm -f "$TEST_DIR/pipe-$_n/pid"
	done
}
test_at_exit pipes_stop

pipe_start a || exit 1
pipe_start b || exit 1

# The page's block, spliced into the shipped file between its markers.
awk '/^```nginx$/ { f = 1; next } /^```$/ { f = 0 } f' "$DOC" >pipelines.conf
test_eq "# --- pipelines: begin ---" "$(head -n 1 pipelines.conf)" &&
test_eq "# --- pipelines: end ---" "$(tail -n 1 pipelines.conf)" || exit 1
awk -v blk=pipelines.conf '
	/^# --- pipelines: begin ---$/ { while ((getline l < blk) > 0) print l; skip = 1; next }
	/^# --- pipelines: end ---$/ { skip = 0; next }
	!skip' "$CONF" >partitioned.conf
nginx_start partitioned.conf \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: pipeline a's serve\)$|\1${URL_a#http://}\2|" \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: pipeline b's serve\)$|\1${URL_b#http://}\2|" ||
	exit 1

# shapes NAME: the tables of pipeline NAME's shapes, sorted, on one line.
shapes() {
	shapesync-db --registry "$TEST_DIR/pipe-$1/registry.db" ls |
		awk 'NR > 1 { print $3 }' | sort | paste -s -d " " -
}

test_expect_success 'items goes to pipeline a, orders in any listed spelling to b' '
	test_eq 200 "$(nget "/v1/shape?offset=-1&table=items")" &&
	hdr electric-handle >ha &&
	test_eq 200 "$(nget "/v1/shape?offset=-1&table=orders")" &&
	hdr electric-handle >hb &&
	test_eq 200 "$(nget "/v1/shape?offset=-1&table=public.orders")" &&
	test_eq "$(cat hb)" "$(hdr electric-handle)" &&
	test_eq 200 "$(nget "/v1/shape?offset=-1&table=ORDERS")" &&
	test_eq "$(cat hb)" "$(hdr electric-handle)" &&
	test_eq public.items "$(shapes a)" &&
	test_eq public.orders "$(shapes b)"
'

test_expect_success 'each publication holds only its pipeline'"'"'s tables' '
	test_eq items "$(pg_psql "SELECT string_agg(tablename, '"'"','"'"') FROM pg_publication_tables WHERE pubname = '"'"'a'"'"'")" &&
	test_eq orders "$(pg_psql "SELECT string_agg(tablename, '"'"','"'"') FROM pg_publication_tables WHERE pubname = '"'"'b'"'"'")"
'

test_expect_success 'a change in orders reaches a live client through nginx' '
	HB=$(cat hb) && o=0_0 &&
	while :; do
		test_eq 200 "$(nget "/v1/shape?handle=$HB&offset=$o&table=orders")" &&
		o=$(hdr electric-offset) || return 1
		hdr electric-up-to-date >/dev/null && break
	done &&
	pg_psql "INSERT INTO orders VALUES (2, 20)" &&
	test_eq 200 "$(nget "/v1/shape?cursor=&handle=$HB&live=true&offset=$o&table=orders")" &&
	grep -q "\"id\":\"2\"" b && grep -q "\"amount\":\"20\"" b
'

test_expect_success 'a handle at the wrong pipeline: 409 with that pipeline'"'"'s own' '
	HA=$(cat ha) &&
	test_eq 409 "$(SERVE_URL=$URL_b get "/v1/shape?handle=$HA&offset=0_0&table=items")" &&
	test_eq "[{\"headers\":{\"control\":\"must-refetch\"}}]" "$(cat b)" &&
	hdr electric-handle >hx && test -s hx &&
	! test_eq "$HA" "$(cat hx)" 2>/dev/null &&
	wait_until "pipeline b to register the items shape it answered with" \
		"test_eq \"public.items public.orders\" \"\$(shapes b)\"" 10 &&
	test_eq 200 "$(nget "/v1/shape?handle=$HA&offset=0_0&table=items")"
'

test_done
