#!/bin/sh
# shapesync-serve against hostile requests (issue 15): every one gets a
# prompt answer with a JSON body, costs bounded memory and CPU, and
# registers nothing. Raw requests go through bash's /dev/tcp; a read that
# waits more than 20 s for the server to answer and close fails the test.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, n numeric)" \
	"INSERT INTO items SELECT g, g FROM generate_series(1, 5) g" \
	"CREATE TABLE h (id int PRIMARY KEY)"
serve_start --no-active-wait

shapes() { shapesync-db --registry "$SS_REGISTRY" ls >"$TEST_DIR/ls.out" && tail -n +2 "$TEST_DIR/ls.out" | wc -l; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$SERVE_PID/status"; }

test_expect_success 'a NUL byte in any parameter is a 400 naming it' '
	N0=$(shapes) &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&where=id>190%00%20AND%20id<0")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"invalid byte sequence for encoding \\\"UTF8\\\": 0x00\"]}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=h%00x&offset=-1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"table\":[\"invalid byte sequence for encoding \\\"UTF8\\\": 0x00\"]}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&columns=id%00,n")" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&params%5B1%5D=1%00")" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1&x%00y=1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"x\":[\"invalid byte sequence for encoding \\\"UTF8\\\": 0x00\"]}}" "$(cat b)" &&
	test_eq "$N0" "$(shapes)"
'

test_expect_success 'invalid UTF-8 in any parameter is a 400 naming it' '
	N0=$(shapes) &&
	test_eq 400 "$(get "/v1/shape?table=h%ffx&offset=-1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"table\":[\"Invalid identifier, not valid UTF-8\"]}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=%c3")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"offset\":[\"invalid byte sequence for encoding \\\"UTF8\\\"\"]}}" "$(cat b)" &&
	test_eq "$N0" "$(shapes)"
'

test_expect_success 'a NUL or bad UTF-8 in a POST body field is a 400' '
	printf "{\"where\":\"id > 1\\\\u0000 OR true\"}" >nul.json &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" --data-binary @nul.json)" &&
	grep -q "^{\"error\":\"Invalid JSON in request body\"" b &&
	printf "{\"where\":\"id > 1 \\377\"}" >bad.json &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" --data-binary @bad.json)" &&
	grep -q "^{\"error\":\"Invalid JSON in request body\"" b
'

test_expect_success 'the issue 15 numeric clause is a prompt 400' '
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=id > 0 AND (2E130000-1)*(2E130000-1)*(2E130000-1)*(2E130000-1)*(2E130000-1)*(2E130000-1)*(2E130000-1)*(2E130000-1) > 0" -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"value overflows numeric format\"]}}" "$(cat b)"
'

test_expect_success 'where limits: length, IN list, cost, nesting' '
	awk "BEGIN { printf \"{\\\"where\\\":\\\"id in (0\"; for (i = 1; i < 10001; i++) printf \",%d\", i; print \")\\\"}\" }" >in10001.json &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" --data-binary @in10001.json)" &&
	grep -F "At location 3: IN list has 10001 items, the limit is 10000" b &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=(2E65000-1)*(2E65000-1) > n" -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"where clause exceeds the cost limit of 10000000\"]}}" "$(cat b)" &&
	awk "BEGIN { for (i = 0; i < 2000; i++) printf \"(\"; printf \"id>0\"; for (i = 0; i < 2000; i++) printf \")\"; print \"\" }" >deep &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode where@deep -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"At location 1010: expression is too deeply nested\"]}}" "$(cat b)"
'

test_expect_success 'a 9000-item IN list costs serve little memory' '
	awk "BEGIN { printf \"{\\\"where\\\":\\\"id in (0\"; for (i = 1; i < 9000; i++) printf \",%d\", i; print \")\\\"}\" }" >sub.json &&
	H0=$(hwm) &&
	for i in 1 2 3; do
		test_eq 200 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" --data-binary @sub.json)" || return 1
	done &&
	test_eq 5 $(grep -o "\"operation\":\"insert\"" b | wc -l) &&
	sed "s/)\"}/,)\"}/" sub.json >subbad.json &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" -X POST -H "content-type: application/json" --data-binary @subbad.json)" &&
	H1=$(hwm) &&
	say "serve VmHWM $H0 kB before, $H1 kB after" &&
	test $((H1 - H0)) -lt 65536
'

test_expect_success '500 query parameters get a prompt 431' '
	awk "BEGIN { printf \"GET /v1/shape?table=items&offset=-1\"; for (i = 0; i < 500; i++) printf \"&p%d=1\", i; printf \" HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" }" >req &&
	test_eq "HTTP/1.1 431 Request Header Fields Too Large" "$(raw req)" &&
	test_eq "{\"error\":\"Too many query parameters\"}" "$(body)" &&
	grep -qi "^connection: close" out &&
	awk "BEGIN { printf \"GET /v1/shape?table=items&offset=-1\"; for (i = 0; i < 254; i++) printf \"&p%d=1\", i; printf \" HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n\" }" >req &&
	test_eq "HTTP/1.1 200 OK" "$(raw req)"
'

test_expect_success 'an over-limit Content-Length gets a prompt 413' '
	printf "POST /v1/shape?table=items&offset=-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}" >req &&
	test_eq "HTTP/1.1 413 Content Too Large" "$(raw req)" &&
	test_eq "{\"error\":\"Request body too large\"}" "$(body)" &&
	printf "POST /v1/shape?table=items&offset=-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{}" >req &&
	test_eq "HTTP/1.1 413 Content Too Large" "$(raw req)"
'

test_expect_success 'a chunked POST (chunk size ffffffffffffffff) gets a prompt 411' '
	printf "POST /v1/shape?table=items&offset=-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}" >req &&
	test_eq "HTTP/1.1 411 Length Required" "$(raw req)" &&
	test_eq "{\"error\":\"Request body must have a Content-Length\"}" "$(body)"
'

test_expect_success 'a 200 KB query string gets a prompt 414' '
	awk "BEGIN { printf \"GET /v1/shape?table=items&offset=-1\"; for (i = 0; i < 100000; i++) printf \"&a\"; printf \" HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" }" >req &&
	test_eq "HTTP/1.1 414 URI Too Long" "$(raw req)"
'

serve_stop
serve_start --no-active-wait --max-where-length 20 --max-in-list 2 \
	--max-where-cost 1000
test_expect_success 'serve options lower the where limits' '
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=id > 0 AND id < 1000000" -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"where clause is too long (23 bytes, the limit is 20)\"]}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=id in (1,2,3)" -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"At location 3: IN list has 3 items, the limit is 2\"]}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=n > 1E2000" -G)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"where clause exceeds the cost limit of 1000\"]}}" "$(cat b)" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode "where=id in (1,2)" -G)" &&
	test_must_fail 2 shapesync-serve --max-in-list 10001 &&
	test_must_fail 2 shapesync-serve --max-where-cost 999
'
test_done
