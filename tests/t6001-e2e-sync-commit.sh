#!/bin/sh
# A transaction whose commit is in the WAL but not yet visible to other
# snapshots (its backend waits for a synchronous standby) when a shape's
# snapshot is taken: replicate decodes it and route passes it before the
# shape's active mark, so it is not routed for the shape, and the
# snapshot does not see it either. serve must not take such a snapshot.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
# Everyone but the writer below commits without waiting for a standby.
pg_psql "ALTER DATABASE shapesync_test SET synchronous_commit = local" \
	"CREATE TABLE t (id int PRIMARY KEY, v text)" "INSERT INTO t VALUES (0, 'zero')"
pipeline_start

# rows QUERY: follow the shape from -1 until up-to-date (not live); the
# ids of its rows, one per line and sorted, to ./rows.
rows() {
	shape_ops "table=t&$1" || return 1
	awk '$1 == "insert" { r[$2] = 1 } $1 == "delete" { delete r[$2] }
		END { for (k in r) print k }' ops | sort -n >rows
}

# durable_past LSN: wait (30 s) until store has made LSN durable, that is
# route has passed everything up to it.
durable_past() {
	_i=0
	while :; do
		_d=$(shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" stats |
			sed -n 's/^durable_lsn: //p')
		[ "$(pg_psql "SELECT '$_d'::pg_lsn >= '$1'::pg_lsn")" = t ] && return 0
		_i=$((_i + 1))
		[ $_i -le 300 ] || { echo "durable_lsn $_d not past $1" >&2; return 1; }
		sleep 0.1
	done
}

test_expect_success 'a commit waiting for a synchronous standby is not lost to a new shape' '
	rows "where=id%20%3E%201000" && test_eq "" "$(cat rows)" &&
	pg_psql "ALTER SYSTEM SET synchronous_standby_names = '\''nobody'\''" \
		"SELECT pg_reload_conf()" >/dev/null &&
	{ psql -X -q -c "SET synchronous_commit = on" \
		-c "INSERT INTO t VALUES (1, '\''one'\'')" >writer.out 2>&1 & } &&
	i=0 && while [ "$(pg_psql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = '\''SyncRep'\''")" != 1 ]; do
		i=$((i + 1)) && [ $i -le 100 ] && sleep 0.1 || return 1
	done &&
	durable_past "$(pg_psql "SELECT pg_current_wal_lsn()")" &&
	{ rows "where=id%20%3C%20100" >new.out 2>&1 & } &&
	sleep 1 &&
	pg_psql "ALTER SYSTEM RESET synchronous_standby_names" \
		"SELECT pg_reload_conf()" >/dev/null &&
	wait &&
	test_eq "0 1" "$(pg_psql "SELECT string_agg(id::text, '\'' '\'' ORDER BY id) FROM t")" &&
	durable_past "$(pg_psql "SELECT pg_current_wal_lsn()")" &&
	rows "where=id%20%3C%20100" &&
	printf "0\n1\n" >want && test_cmp want rows
'

pipeline_stop
test_done
