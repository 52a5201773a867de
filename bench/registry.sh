#!/bin/sh
# bench/registry.sh — registry benchmarks: 64 threads creating shapes
# through the write buffer next to one synchronous transaction per
# operation (same run, same SQLite settings), then id map memory and
# lookups at one million shapes. Usage: make bench, or
#   SS_BUILD=build sh bench/registry.sh
set -eu
B=${SS_BUILD:-build}/bench/registry
THREADS=${THREADS:-64}
SHAPES=${SHAPES:-64000}
SCALE=${SCALE:-1000000}
tmp=$(mktemp -d /tmp/ss-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$B" concurrent "$THREADS" "$SHAPES"
"$B" fill "$tmp/scale.db" "$SCALE"
"$B" idmap "$tmp/scale.db"
