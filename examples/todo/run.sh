#!/bin/sh
# examples/todo/run.sh — `make example`: shapesync up, then this app on
# http://127.0.0.1:5180 (PORT). Without DATABASE_URL, up runs its own
# PostgreSQL with the demo table `items` (state in examples/todo/var);
# with it, that database needs the table (README.md). serve listens on
# 127.0.0.1:3000 (SHAPE_PORT). ^C stops both.
# SS_BIN: where the shapesync programs are (default: ../../build/bin).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${SS_BIN:-$here/../../build/bin}
port=${SHAPE_PORT:-3000}

cd "$here"
[ -d node_modules/@tanstack/electric-db-collection ] || npm ci --no-audit --no-fund
npm run build >/dev/null
mkdir -p var
: >var/up.log
"$bin/shapesync" up --dir "$here/var" --port "$port" 2>>var/up.log &
up=$!
app=
trap 'kill $app $up 2>/dev/null; wait' EXIT
trap 'exit 0' INT TERM
until grep -q '^shapesync-up: ready:' var/up.log; do
	kill -0 $up 2>/dev/null || { cat var/up.log; exit 1; }
	sleep 0.2
done
if [ -z "${DATABASE_URL:-}" ]; then
	# up's embedded server: the libpq settings of the psql line it
	# printed, as PG* variables for node-postgres.
	conninfo=$(sed -n 's/^shapesync-up: psql: psql "\(.*\)"$/\1/p' var/up.log | tail -n 1)
	PGHOST=$(printf '%s\n' "$conninfo" | sed -n "s/^host='\([^']*\)'.*/\1/p")
	PGPORT=$(printf '%s\n' "$conninfo" | sed -n 's/.* port=\([0-9]*\).*/\1/p')
	export PGHOST PGPORT PGUSER=postgres PGDATABASE=postgres
fi
echo "todo: shapes from http://127.0.0.1:$port (shapesync up, log in $here/var/up.log)"
SHAPE_URL=http://127.0.0.1:$port node server.mjs &
app=$!
wait $app
