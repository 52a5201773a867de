#!/bin/sh
# bench/electric/run.sh — `make bench-electric`: every workload of
# Electric's benchmarks page (QUICK=1: smaller sweeps, a few minutes),
# each with its own PostgreSQL and shapesync up, then report.sh writes
# report.md and the charts. WORKLOADS picks some (default: all).
set -u
D=$(cd "$(dirname "$0")" && pwd)
WORKLOADS=${WORKLOADS:-"ceiling w1-concurrent w2-single w3-unrelated w4-fanout w5-diverse w6-many w7-eq w8-ilike cdn disk"}
OUT=${OUT:-$D/results}
mkdir -p "$OUT"
export OUT
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) start, loadavg $(cat /proc/loadavg)" >"$OUT/run.log"
for w in $WORKLOADS; do
	echo "== $w" >&2
	if ! sh "$D/$w.sh" 2>"$OUT/$w.err"; then
		echo "$w failed:" >&2
		tail -20 "$OUT/$w.err" >&2
		exit 1
	fi
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $w done, loadavg $(cat /proc/loadavg)" >>"$OUT/run.log"
done
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) end, loadavg $(cat /proc/loadavg)" >>"$OUT/run.log"
sh "$D/report.sh"
