#!/bin/sh
# bench/electric/w7-eq.sh — Electric's workload 7, replication
# throughput with `field = const` shapes (see w78-throughput.sh).
# Electric: 0.16-0.18 ms per change, flat in the number of shapes.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w7-eq.sh
W=7
FORM=eq
if [ "${QUICK:-0}" = 1 ]; then NS=${NS:-"100 2000"}; CHANGES=${CHANGES:-5000}; else NS=${NS:-"100 500 1000 2000"}; CHANGES=${CHANGES:-20000}; fi
. "$(dirname "$0")/w78-throughput.sh"
