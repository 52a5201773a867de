#!/bin/sh
# bench/electric/report.sh — report.md and one PNG chart per workload from
# the results of the workload scripts ($OUT, default results/) and
# Electric's published points (electric.tsv): our curve and theirs on the
# same axes, the summed RSS of the four shapesync stages on the right
# axis. Each workload's ratio is Electric's figure divided by ours at the
# largest parameter Electric published (above 1: we are faster).
set -eu
D=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$D/results}
R=$D/report.md
command -v gnuplot >/dev/null || { echo "report.sh: gnuplot not found (make deps)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ss-ew-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# data FILE: the data lines of a results file (no comments, no header).
data() { [ -f "$OUT/$1" ] && awk -F'\t' '!/^#/ && ++n > 1' "$OUT/$1" || true; }
# elec W SERIES: Electric's points.
elec() { awk -F'\t' -v w="$1" -v s="$2" '$1 == w && $2 == s { print $3 "\t" $4 }' "$D/electric.tsv"; }
# ours FILE AWK-COND COL: our value (last matching line).
ours() { data "$1" | awk -F'\t' "$2 { v = \$$3 } END { print v }"; }
# col FILE NAME: column number of NAME in FILE's header (empty if none).
col() { [ -f "$OUT/$1" ] && awk -F'\t' -v n="$2" '!/^#/ { for (i = 1; i <= NF; i++) if ($i == n) print i; exit }' "$OUT/$1" || true; }
# rss4 FILE: column number of rss_replicate_kib in FILE.
rsscol() { awk -F'\t' '!/^#/ { for (i = 1; i <= NF; i++) if ($i == "rss_replicate_kib") print i; exit }' "$OUT/$1"; }

# md FILE: the results file as a markdown table.
md() {
	[ -f "$OUT/$1" ] || { echo "(not run)"; return; }
	awk -F'\t' '
		/^#/ { c[++nc] = substr($0, 3); next }
		{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print ""
		  if (!h++) { printf "|"; for (i = 1; i <= NF; i++) printf "---|"; print "" } }
		END { for (i = 1; i <= nc; i++) print "\n" c[i] }' "$OUT/$1"
}

# ratio LABEL ELECTRIC OURS UNIT: one line for the ratios table.
RATIOS=$tmp/ratios
: >"$RATIOS"
ratio() {
	if [ -z "$3" ]; then
		printf '| %s | %s %s | not measured | - |\n' "$1" "$2" "$4" >>"$RATIOS"
		return
	fi
	printf '| %s | %s %s | %s %s | **%s** |\n' "$1" "$2" "$4" "$3" "$4" \
		"$(awk -v e="$2" -v o="$3" 'BEGIN { if (o > 0) printf "%.1fx", e / o; else print "-" }')" >>"$RATIOS"
}

# chart NAME TITLE XLABEL YLABEL SCALE PLOTS: SCALE lin, log (x) or logxy;
# PLOTS is gnuplot plot items
# over files in $tmp; the RSS sum of the stages goes on y2 when
# $tmp/NAME.rss exists (x, MiB).
chart() {
	{
		echo "set terminal pngcairo size 900,560 font 'sans,10'"
		echo "set output '$D/$1.png'"
		echo "set title \"$2\""
		echo "set xlabel '$3'"
		echo "set ylabel '$4'"
		echo "set key top left"
		echo "set grid"
		[ "$5" = logxy ] || echo "set yrange [0:*]"
		[ "$5" = log ] && echo "set logscale x"
		[ "$5" = logxy ] && echo "set logscale xy"
		if [ -s "$tmp/$1.rss" ]; then
			echo "set y2label 'RSS of replicate+route+store+serve, MiB'"
			echo "set y2tics"
			echo "set y2range [0:*]"
			echo "set ytics nomirror"
			echo "plot $6, '$tmp/$1.rss' using 1:2 axes x1y2 with linespoints dt 2 lc rgb 'gray' title 'shapesync RSS (y2)'"
		else
			echo "plot $6"
		fi
	} >"$tmp/$1.gp"
	gnuplot "$tmp/$1.gp"
}

# rss FILE XCOL [AWK-COND]: x and the RSS sum in MiB.
rss() {
	_c=$(rsscol "$1")
	data "$1" | awk -F'\t' -v c="$_c" -v x="$2" "${3:-1} { print \$x \"\t\" (\$c + \$(c+1) + \$(c+2) + \$(c+3)) / 1024 }"
}

# w1
data w1.tsv | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/w1.ours"
elec w1 electric | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/w1.el"
rss w1.tsv 1 >"$tmp/w1.rss"
chart w1 "Workload 1: concurrent initial sync of one 500-row shape" "clients" "mean client sync time, s" lin \
	"'$tmp/w1.ours' using 1:2 with linespoints lw 2 title 'shapesync (2 cores)', '$tmp/w1.el' using 1:2 with linespoints pt 7 title 'Electric (4 vCPU)'"
ratio "1 concurrent sync, 2,050 clients (mean)" 25000 "$(ours w1.tsv '$1 == 2050' 2)" ms

# w2
data w2.tsv | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/w2.ours"
elec w2 electric | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/w2.el"
rss w2.tsv 1 >"$tmp/w2.rss"
chart w2 "Workload 2: one client, one shape of N rows" "rows" "sync time, s" lin \
	"'$tmp/w2.ours' using 1:2 with linespoints lw 2 title 'shapesync', '$tmp/w2.el' using 1:2 with linespoints pt 7 title 'Electric'"
ratio "2 single shape, 1 M rows" 7100 "$(ours w2.tsv '$1 == 1000000' 2)" ms

# w3
for f in eq ilike; do
	data w3.tsv | awk -F'\t' -v f=$f '$1 == f { print $2 "\t" $3 }' >"$tmp/w3.$f"
	elec w3 $f >"$tmp/w3.el.$f"
done
rss w3.tsv 2 '$1 == "eq"' >"$tmp/w3.rss"
chart w3 "Workload 3: unrelated shapes, one client, one write hits one shape" "shapes" "mean write-to-client latency, ms" logxy \
	"'$tmp/w3.eq' using 1:2 with linespoints lw 2 title 'shapesync name = const', '$tmp/w3.ilike' using 1:2 with linespoints lw 2 title 'shapesync name ILIKE prefix', '$tmp/w3.el.eq' using 1:2 with linespoints pt 7 title 'Electric name = const', '$tmp/w3.el.ilike' using 1:2 with linespoints pt 7 title 'Electric ILIKE'"
ratio "3 unrelated shapes =, 10,000 shapes" 6 "$(ours w3.tsv '$1 == "eq" && $2 == 10000' 3)" ms
ratio "3 unrelated shapes ILIKE, 10,000 shapes" 140 "$(ours w3.tsv '$1 == "ilike" && $2 == 10000' 3)" ms

# w4: one curve per client count
plots=
for n in $(data w4.tsv | cut -f1 | sort -n -u); do
	data w4.tsv | awk -F'\t' -v n="$n" '$1 == n { print $2 "\t" $3 / 1000 }' >"$tmp/w4.$n"
	plots="$plots'$tmp/w4.$n' using 1:2 with linespoints lw 2 title 'shapesync, $n clients', "
done
elec w4 200 | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/w4.el"
chart w4 "Workload 4: write fan-out, one 500-row shape" "rows per transaction" "transaction to all clients, mean, s" lin \
	"$plots'$tmp/w4.el' using 1:2 with linespoints pt 7 title 'Electric, 200 clients'"
ratio "4 write fan-out, 200 clients, 10 rows" 100 "$(ours w4.tsv '$1 == 200 && $2 == 10' 3)" ms
ratio "4 write fan-out, 200 clients, 1,910 rows" 5400 "$(ours w4.tsv '$1 == 200 && $2 == 1910' 3)" ms

# w5, w6
for w in w5 w6; do
	data $w.tsv | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/$w.ours"
	elec $w electric | awk -F'\t' '{ print $1 "\t" $2 / 1000 }' >"$tmp/$w.el"
	rss $w.tsv 1 >"$tmp/$w.rss"
done
chart w5 "Workload 5: diverse shape fan-out, one client per shape, 50-row transaction" "shapes (clients)" "transaction to all clients, mean, s" lin \
	"'$tmp/w5.ours' using 1:2 with linespoints lw 2 title 'shapesync', '$tmp/w5.el' using 1:2 with linespoints pt 7 title 'Electric'"
ratio "5 diverse fan-out, 750 shapes" 2400 "$(ours w5.tsv '$1 == 750' 2)" ms
chart w6 "Workload 6: one client, N overlapping shapes, 50-row transaction" "shapes" "transaction to all shapes, mean, s" lin \
	"'$tmp/w6.ours' using 1:2 with linespoints lw 2 title 'shapesync', '$tmp/w6.el' using 1:2 with linespoints pt 7 title 'Electric'"
ratio "6 many shapes one client, 1,500 shapes" 4100 "$(ours w6.tsv '$1 == 1500' 2)" ms

# w7, w8: paced by one writer (ms_per_change) and drained from a backlog
# (drain_ms_per_change, Electric's "how long each write takes to process").
for w in w7 w8; do
	data $w.tsv | awk -F'\t' '{ print $1 "\t" $3 }' >"$tmp/$w.ours"
	dc=$(col $w.tsv drain_ms_per_change)
	if [ -n "$dc" ]; then
		data $w.tsv | awk -F'\t' -v c="$dc" '{ print $1 "\t" $c }' >"$tmp/$w.drain"
	else
		: >"$tmp/$w.drain"
	fi
	elec $w electric >"$tmp/$w.el"
	rss $w.tsv 1 >"$tmp/$w.rss"
done
chart w7 "Workload 7: replication throughput, name = const shapes" "shapes" "ms per change" lin \
	"'$tmp/w7.drain' using 1:2 with linespoints lw 2 title 'shapesync, from a backlog', '$tmp/w7.ours' using 1:2 with linespoints lw 1 title 'shapesync, paced by one writer', '$tmp/w7.el' using 1:2 with lines lw 2 title 'Electric (0.16-0.18 ms, flat)'"
dc7=$(col w7.tsv drain_ms_per_change)
ratio "7 throughput =, largest N ($(data w7.tsv | tail -n 1 | cut -f1) shapes), from a backlog" 0.17 "$([ -n "$dc7" ] && data w7.tsv | tail -n 1 | cut -f"$dc7")" "ms/change"
ratio "7 throughput =, same, paced by one writer" 0.17 "$(data w7.tsv | tail -n 1 | cut -f3)" "ms/change"
chart w8 "Workload 8: replication throughput, ILIKE prefix shapes" "shapes" "ms per change" lin \
	"'$tmp/w8.drain' using 1:2 with linespoints lw 2 title 'shapesync, from a backlog', '$tmp/w8.ours' using 1:2 with linespoints lw 1 title 'shapesync, paced by one writer', '$tmp/w8.el' using 1:2 with linespoints pt 7 title 'Electric'"
dc8=$(col w8.tsv drain_ms_per_change)
ratio "8 throughput ILIKE, 2,000 shapes, from a backlog" 14.5 "$([ -n "$dc8" ] && ours w8.tsv '$1 == 2000' "$dc8")" "ms/change"
ratio "8 throughput ILIKE, 2,000 shapes, paced by one writer" 14.5 "$(ours w8.tsv '$1 == 2000' 3)" "ms/change"

# cdn
data cdn.tsv | awk -F'\t' '{ print $2 "\t" $5 }' >"$tmp/cdn.p99"
data cdn.tsv | awk -F'\t' '{ print $2 "\t" $4 }' >"$tmp/cdn.p50"
{ elec cdn p99_low; elec cdn p99_high; } >"$tmp/cdn.el"
rss cdn.tsv 2 >"$tmp/cdn.rss"
chart cdn "CDN: $(data cdn.tsv | head -n 1 | cut -f1) clients behind nginx (deploy/nginx), one shape" "writes per second" "write-to-client latency, ms" lin \
	"'$tmp/cdn.p99' using 1:2 with linespoints lw 2 title 'shapesync p99', '$tmp/cdn.p50' using 1:2 with linespoints lw 2 title 'shapesync p50', '$tmp/cdn.el' using 1:2 with points pt 7 ps 1.5 title 'Electric p99 (100 k - 1 M clients, real CDN)'"
ratio "CDN p99 at 16 writes/s" 304 "$(ours cdn.tsv '$2 == 16' 5)" ms

{
	cat "$D/report.head.md"
	echo
	echo "Run: $(head -n 1 "$OUT/run.log" 2>/dev/null || echo '(run.log missing)')"
	echo "$(tail -n 1 "$OUT/run.log" 2>/dev/null || true)"
	echo
	echo "## Ratios to Electric's published figures"
	echo
	echo "| workload, parameter | Electric | shapesync | Electric / shapesync |"
	echo "|---|---|---|---|"
	cat "$RATIOS"
	echo
	echo "## The load generator's ceiling"
	echo
	echo "\`bench/electric/ceiling.sh\`: 2,000 clients initial-sync a 500-row shape"
	echo "through nginx (cache hits after the first), five rounds. The load"
	echo "generator's rate per second of its own CPU time is its ceiling; the"
	echo "workloads below ask far less of it (their \`loadgen_cpu_s\` against"
	echo "their wall time)."
	echo
	md ceiling.tsv
	echo
	echo "## Disk and memory per small shape"
	echo
	echo "\`bench/electric/disk.sh\`: N one-row shapes created over HTTP, then one"
	echo "transaction that updates every row (one log entry per shape)."
	echo
	md disk.tsv
	[ -f "$D/notes/disk.md" ] && { echo; cat "$D/notes/disk.md"; }
	for w in w1 w2 w3 w4 w5 w6 w7 w8 cdn; do
		echo
		echo "## $w"
		echo
		echo "![$w]($w.png)"
		echo
		md $w.tsv
		if [ -f "$D/notes/$w.md" ]; then
			echo
			cat "$D/notes/$w.md"
		fi
	done
} >"$R"
echo "report.sh: wrote $R and $(ls "$D"/*.png | wc -l) charts" >&2
