#!/bin/sh
# Shapes on a partitioned table through the whole pipeline: a shape on the
# root (with and without a where clause, with columns), on a partitioned
# partition and on leaf partitions, followed by the official client while
# rows change in every partition, move between partitions, and partitions
# are created and attached (tests/e2e/partition.mjs); then the same shapes
# read again from offset -1 through serve's HTTP API. Every shape ends
# with exactly the rows of SELECT.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules

pg_start
pipeline_start --long-poll-timeout 3000

test_expect_success 'clients of root, partition and leaf shapes end equal to SELECT' '
	timeout 300 node "$E2E/partition.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- pipeline.log"; tail -n 30 pipeline.log
		echo "--- serve.log"; tail -n 30 serve.log; false
	}
'
[ -f node.out ] && grep '^# ' node.out || true

# rows QUERY: the shape from -1 until up-to-date through serve, its rows'
# "id/k" sorted to ./rows (insert adds, delete removes; no key twice).
rows() {
	shape_keys "$1" && sort ids >rows
}
shape_keys() {
	: >ids
	_off=-1 _h=
	while :; do
		_code=$(get "/v1/shape?$1&offset=$_off${_h:+&handle=$_h}")
		test_eq 200 "$_code" || { cat b >&2; return 1; }
		_h=$(hdr electric-handle) && _off=$(hdr electric-offset) || return 1
		node -e '
			const fs = require("fs");
			const have = new Set(fs.readFileSync("ids", "utf8").split("\n").filter(Boolean));
			for (const m of JSON.parse(fs.readFileSync("b", "utf8"))) {
				const op = m.headers.operation;
				if (!op) continue;
				const k = m.value.id + "/" + m.value.k;
				if (op === "insert" && have.has(k)) throw new Error("insert of present " + k);
				if (op !== "insert" && !have.has(k)) throw new Error(op + " of absent " + k);
				if (op === "delete") have.delete(k); else have.add(k);
			}
			fs.writeFileSync("ids", [...have].map((k) => k + "\n").join(""));
		' || return 1
		grep -q '"control":"up-to-date"' b && break
	done
}
select_keys() {
	pg_psql "SELECT id || '/' || k FROM $1" | sort
}

test_expect_success 'the same shapes from offset -1 equal SELECT' '
	rows "table=pt" && select_keys pt >want && test_cmp want rows &&
	rows "table=pt&where=k%20%3E%3D%2010&columns=id,k" &&
	select_keys "pt WHERE k >= 10" >want && test_cmp want rows &&
	rows "table=pt_2" && select_keys pt_2 >want && test_cmp want rows &&
	rows "table=pt_1" && select_keys pt_1 >want && test_cmp want rows
'

test_expect_success 'every partition has REPLICA IDENTITY FULL' '
	test_eq "" "$(pg_psql "SELECT relname FROM pg_partition_tree('\''pt'\'') p
		JOIN pg_class c ON c.oid = p.relid WHERE c.relreplident <> '\''f'\''")"
'

pipeline_stop
test_expect_success 'no stage failed' '
	! grep -i "error" pipeline.log
'
test_done
