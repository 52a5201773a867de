#!/bin/sh
# A move-in for an outer shape whose own snapshot already sees the
# transaction that moved the value (issue 14): outer shape X2 is made
# (and activated) while replication is paused, after T moved project 8
# into the subquery it shares with X1, so X2's snapshot holds project 8's
# tasks; P then deletes one of them. route must settle T's move for X2 at
# once (store drops T for X2) and route P with the value in: the delete
# reaches X2's clients, which end with exactly SELECT's rows.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"
. "$TEST_SRC/serve.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true), (8, false)" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (3, 8, 'c')"
up_start

Q1='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)'
Q2='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)%20AND%20id%20%3C%201000'

# follow Q from -1 to up-to-date, appending every body to file $2
follow() {
	test_eq 200 "$(get "/v1/shape?$1&offset=-1")" || return 1
	hdr electric-handle >"$2.handle" && cat b >"$2"
	i=0
	while ! grep -q up-to-date b; do
		test_eq 200 "$(get "/v1/shape?$1&handle=$(cat "$2.handle")&offset=$(hdr electric-offset)")" || return 1
		cat b >>"$2"
		i=$((i + 1)) && [ $i -lt 200 ] || return 1
	done
}
# the keys a client holds after applying the bodies in file $1
keys() { node -e '
	const t = require("fs").readFileSync(process.argv[1], "utf8").replace(/\]\[/g, ",");
	const held = new Set();
	for (const m of JSON.parse(t)) {
		if (!m.key) continue;
		if (m.headers.operation === "delete") held.delete(m.key); else held.add(m.key);
	}
	console.log([...held].map(k => k.replace(/.*\/"(.*)"$/, "$1")).sort().join(" "));' "$1"; }

test_expect_success 'X1 made: the inner shape exists and route follows its view' '
	follow "$Q1" x1 &&
	test_eq "1" "$(keys x1)"
'

test_expect_success 'replication paused; T moves project 8 in; X2 made; P deletes task 2' '
	rep=$(up_child shapesync-replicate) && kill -STOP "$rep" &&
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	follow "$Q2" x2a && say "X2 snapshot holds: $(keys x2a)" &&
	pg_psql "DELETE FROM tasks WHERE id = 2" &&
	kill -CONT "$rep"
'

test_expect_success 'X2 ends as SELECT (1 3): the delete reached it' '
	i=0 &&
	while :; do
		follow "$Q2" x2 || return 1
		[ "$(keys x2)" = "1 3" ] && break
		i=$((i + 1)) && [ $i -lt 60 ] || { say "X2 holds: $(keys x2)"; return 1; }
		sleep 0.5
	done
'

test_done
