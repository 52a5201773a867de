#!/bin/sh
# kill -9 of `shapesync-db compact` at random moments (issue 16's "must
# show"): 24 kills, each after a random delay within about a compaction's
# run, while the pipeline and serve run and a client follows live.
# After each kill `shapesync-db check` accepts the data dir, a fresh
# client and a client resuming from an earlier state get exactly SELECT's
# rows; the next run finishes (or starts over); at the end no file of a
# killed run is left, and the live client holds SELECT's rows.
#
# The delays come from a seed, printed with each kill; replay a failure
# with SS_KILL_SEED=S SS_KILL_SPAN=MS (the span is measured otherwise).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start
ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD=16384
export ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD

test_expect_success 'setup: a table of 1,000 rows' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v int, pad text)" \
		"INSERT INTO items SELECT g, 0, repeat('\''p'\'', 20) FROM generate_series(1, 1000) g"
'
pipeline_start --long-poll-timeout 2000

. "$TEST_SRC/follow.sh"
SQL="SELECT id || '|pad=' || pad || ',v=' || v FROM items ORDER BY id"
KILLS=24

# resume NAME: run the saving client once from state NAME.state.
resume() {
	node "$E2E/resume.mjs" --once "$TEST_DIR/$1.state" "$TEST_DIR/$1" items \
		>>"$TEST_DIR/$1.log" 2>&1
}
db() {
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" "$@"
}
# updates N: N transactions, each updating every row once.
updates() {
	for _i in $(seq "$1"); do
		echo "UPDATE items SET v = v + 1;"
	done | pg_psql
}
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
# The directory of the one shape.
shape_dir() {
	dirname "$(find "$SS_DATA/shapes" -name head -type f)"
}

follow live items

test_expect_success 'a history, and client states saved along it' '
	resume s && cp s.state st0.state &&
	for k in 1 2 3; do
		updates 3 && resume s && cp s.state st$k.state || return 1
	done &&
	rows_are s "$SQL"
'

test_expect_success 'compactions: the second one'\''s time gives the kills'\'' span' '
	updates 3 &&
	db compact --all --force --keep-chunks 1 >compact0.out &&
	grep -q "generation 1: 1000 rows" compact0.out &&
	updates 2 &&
	t0=$(now_ms) &&
	db compact --all --force --keep-chunks 1 >compact0.out &&
	t1=$(now_ms) &&
	grep -q "generation 2: 1000 rows" compact0.out &&
	span=${SS_KILL_SPAN:-$(( (t1 - t0) * 6 / 5 + 5 ))} &&
	seed=${SS_KILL_SEED:-$(( $(date +%s) % 100000 ))} &&
	echo "$span $seed" >kill.params &&
	say "compaction took $((t1 - t0)) ms; kills within $span ms, seed $seed" &&
	say "replay: SS_KILL_SEED=$seed SS_KILL_SPAN=$span"
'

# The seed and span, in the output even when everything passes.
[ -f kill.params ] &&
	say "kill span (ms) and seed: $(cat kill.params) (SS_KILL_SPAN, SS_KILL_SEED)"

# A run's options cycle: the newest chunk kept or all folded (the open
# chunk too), older generations kept an hour or dropped at once.
opts() {
	case $(($1 % 4)) in
	0) echo "--keep-chunks 1" ;;
	1) echo "--keep-chunks 1 --grace 0" ;;
	2) echo "--keep-chunks 0" ;;
	3) echo "--keep-chunks 0 --grace 0" ;;
	esac
}

# Each delay is a seeded fraction of a span that follows the runs: a run
# that ended before its kill makes it shorter, a kill longer, so that the
# kills fall within runs on a fast machine and a loaded one alike.
test_expect_success "$KILLS kills at random moments, each followed by check and clients" '
	read span seed <kill.params &&
	awk -v s="$seed" "BEGIN { srand(s); for (i = 0; i < 200; i++) printf \"%.4f\\n\", rand() }" \
		>fractions &&
	i=0 killed=0 &&
	while [ $killed -lt $KILLS ] && read f; do
		i=$((i + 1)) &&
		[ $i -le 100 ] || { echo "only $killed kills in 100 runs"; return 1; }
		d=$(awk -v f="$f" -v s="$span" "BEGIN { printf \"%.3f\", f * s / 1000 }") &&
		updates 2 || return 1
		# The program itself in the background, not the db function:
		# its subshell would take the kill and leave the run going.
		shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" \
			compact --all --force $(opts $i) >kill$i.out 2>&1 &
		pid=$! && sleep "$d" && kill -9 $pid 2>/dev/null
		wait $pid
		rc=$?
		if [ $rc = 137 ]; then
			killed=$((killed + 1)) span=$((span * 21 / 20 + 1))
		else
			span=$((span * 3 / 4))
		fi
		echo "run $i, $(opts $i): after ${d}s exit $rc" \
			"$(cat kill$i.out)" >>kills.log
		db check >check$i.out 2>&1 || {
			cat kills.log check$i.out; return 1
		}
		resume f$i && rows_are f$i "$SQL" || {
			echo "fresh client after run $i"; cat kills.log
			return 1
		}
		cp st$((i % 4)).state r$i.state &&
		resume r$i && rows_are r$i "$SQL" || {
			echo "resumed client (st$((i % 4))) after run $i"
			cat kills.log; return 1
		}
	done <fractions &&
	cat kills.log &&
	test_eq $KILLS "$(grep -c "exit 137" kills.log)" &&
	say "$KILLS kills in $i runs"
'

test_expect_success 'a clean run after: check, no file of a killed run left' '
	updates 1 &&
	db compact --all --force --keep-chunks 1 --grace 0 >compact1.out &&
	cat compact1.out && grep -q "generation [0-9]*: 1000 rows" compact1.out &&
	db check &&
	dir=$(shape_dir) &&
	! test -e "$dir/compact.scratch" &&
	! test -e "$dir/base.tmp" &&
	ls "$dir" | sed -n "s/^base\\.\\([0-9]*\\)\$/\\1/p" | sort -n >on-disk &&
	sed -n "s/^gen \\([0-9]*\\) .*/\\1/p" "$dir/base" | sort -n >recorded &&
	test_cmp recorded on-disk
'

test_expect_success 'clients converge: live, fresh, and every saved state' '
	wait_rows live "$SQL" &&
	resume fresh && rows_are fresh "$SQL" &&
	for k in 0 1 2 3; do
		cp st$k.state e$k.state && resume e$k && rows_are e$k "$SQL" ||
			return 1
	done
'

test_expect_success 'check finds a base that lost its snapshot-end' '
	dir=$(shape_dir) &&
	gen=$(sed -n "s/^gen \([0-9]*\) .*/\1/p" "$dir/base" | head -n 1) &&
	last=$(ls "$dir/base.$gen" | sed -n "s/^snapshot\.\([0-9]*\)\$/\1/p" | sort -n | tail -n 1) &&
	chunk=$dir/base.$gen/snapshot.$last &&
	cp "$chunk" chunk.saved &&
	head -n -1 chunk.saved >"$chunk" &&
	test_must_fail 3 db check >bad.out &&
	grep -q "^shape 1 ([^)]*): base generation $gen does not end with its snapshot-end: .$chunk.\$" bad.out &&
	test_eq "1 problem found" "$(tail -n 1 bad.out)" &&
	cp chunk.saved "$chunk" && db check
'

test_done
