#!/bin/sh
# 20 shapes on one page in Chromium (tests/e2e/many-shapes.mjs): straight
# to serve over HTTP/1.1 they stall (the browser's six connections per
# host: six long-polls reach serve, fourteen wait in the browser); through
# nginx with deploy/nginx/shapesync-http2.conf in front of shapesync.conf
# (HTTPS with a certificate made here, HTTP/2) all 20 wait at serve and a
# write to each row reaches its shape. Both configs are used as shipped:
# only their "SITE:" lines are rewritten.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/nginx.sh"

e2e_modules
N=20

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, $N) g"
# Long-polls that outlast the test's looks at serve.
pipeline_start --long-poll-timeout 60000 --public-metrics

# A self-signed certificate for 127.0.0.1; Chromium trusts its key alone
# (by SPKI hash), not every certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout tls.key -out tls.pem -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 >openssl.log 2>&1 || {
	cat openssl.log; exit 1
}
H2_SPKI=$(openssl x509 -in tls.pem -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
H2_PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
	() => { console.log(s.address().port); s.close(); })')

# The two files as nginx's http {} block would include them.
cat "$SS_ROOT/deploy/nginx/shapesync.conf" "$SS_ROOT/deploy/nginx/shapesync-http2.conf" >both.conf
nginx_start both.conf \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: shapesync-serve\)|\1${SERVE_URL#http://}\2|" \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: shapesync.conf's listen address\)|\1127.0.0.1:@NGINX_PORT@\2|" \
	"s|^\(    listen \)[^ ]*\( ssl http2;.*# SITE: where browsers connect (HTTPS)\)|\1127.0.0.1:$H2_PORT\2|" \
	"s|^\(    ssl_certificate \)[^ ;]*\(;.*# SITE: certificate\)|\1$TEST_DIR/tls.pem\2|" \
	"s|^\(    ssl_certificate_key \)[^ ;]*\(;.*# SITE: its key\)|\1$TEST_DIR/tls.key\2|" \
	"s|^\(    access_log \)[^ ;]*\(;.*# SITE: https log\)|\1$NGX/h2.access.log\2|" ||
	exit 1
H2_URL=https://127.0.0.1:$H2_PORT
METRICS_URL=$SERVE_URL
export H2_URL H2_SPKI METRICS_URL

test_expect_success 'nginx answers HTTP/2 over TLS with serve'\''s answer' '
	curl -s --http2 --cacert tls.pem -o b -D h -w "%{http_version}" \
		"$H2_URL/v1/shape?table=items&where=id%20%3D%201&offset=-1" >version &&
	test_eq 2 "$(cat version)" &&
	grep -qi "^electric-handle: " h &&
	grep -q "\"title\":\"item 1\"" b
'

test_expect_success "$N shapes on one page: stalled over HTTP/1.1, live over HTTP/2" '
	(cd "$E2E" && timeout 300 node many-shapes.mjs $N "$TEST_DIR") >node.out 2>&1 || {
		cat node.out; echo "--- nginx error.log"; tail -n 20 "$NGX/error.log"
		echo "--- serve.log"; tail -n 20 serve.log; false
	} &&
	cat node.out &&
	test_eq 2 "$(grep -c "^ok: " node.out)"
'

# serve first: its orderly stop answers the long-polls nginx still holds,
# which nginx's graceful stop would otherwise wait out.
pipeline_stop
nginx_stop
test_done
