#!/bin/sh
# bench/electric/w8-ilike.sh — Electric's workload 8, replication
# throughput with `name ILIKE 'cI-%'` shapes (see w78-throughput.sh).
# Electric: about 3 ms per change at 500 shapes, 6 ms at 1,000, 14-15 ms
# at 2,000 (not indexable there).
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w8-ilike.sh
W=8
FORM=ilike
if [ "${QUICK:-0}" = 1 ]; then NS=${NS:-"500 2000"}; CHANGES=${CHANGES:-5000}; else NS=${NS:-"500 1000 2000"}; CHANGES=${CHANGES:-20000}; fi
. "$(dirname "$0")/w78-throughput.sh"
