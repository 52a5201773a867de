# tests/subq.sh — following one subquery shape over HTTP, for the
# subquery tests (sourced after serve.sh). $Q is the shape's query
# string, ./handle its handle, ./off the offset to go on from.

# tag VALUE: md5 of the stack, the shape's handle and "v:VALUE"
tag() { printf 'single_stack%sv:%s' "$(cat handle)" "$1" | md5sum | cut -c1-32; }

# lines: the messages of the answer in ./b, one compact JSON line each
lines() { node -e '
	const b = JSON.parse(require("fs").readFileSync("b", "utf8"));
	for (const m of b) console.log(JSON.stringify(m));'; }

# poll: the next answer of the shape from ./off (advanced); its status
poll() {
	_c=$(get "/v1/shape?$Q&handle=$(cat handle)&offset=$(cat off)&live=true") &&
	echo "$_c" &&
	{ [ "$_c" != 200 ] || hdr electric-offset >off; }
}

# log_until PATTERN...: ./log gets the messages of the next answers until
# it holds a line matching each PATTERN (at most 50 answers)
log_until() {
	: >log
	_i=0
	for _p in "$@"; do
		while ! grep -q "$_p" log; do
			test_eq 200 "$(poll)" && lines >>log || return 1
			_i=$((_i + 1)) && [ $_i -lt 50 ] || return 1
		done
	done
}

# catch_up: ./off at the shape's end (an up-to-date seen)
catch_up() {
	_i=0
	while ! grep -q up-to-date b; do
		test_eq 200 "$(get "/v1/shape?$Q&handle=$(cat handle)&offset=$(hdr electric-offset)")" || return 1
		_i=$((_i + 1)) && [ $_i -lt 50 ] || return 1
	done &&
	hdr electric-offset >off
}
