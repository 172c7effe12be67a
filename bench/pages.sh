#!/usr/bin/env bash
# Page throughput: GET /activate/identify with a live wizard session against GET /healthz,
# same tool (wrk), 64 connections, 10 s each, on SQLite and on PostgreSQL.
# Usage: bench/pages.sh   (needs wrk and PostgreSQL on 127.0.0.1:5432; builds the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SESAME_BIN:-target/release/sesame}"
[ -x "$bin" ] || cargo build --release --quiet
bin=$(readlink -f "$bin")
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"; psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sesame_bench_pages" >/dev/null 2>&1 || true' EXIT
printf 'uid,category,given_name,family_name,birth_date,staff_number\nb1,staff,Ana,Lima,01/01/1980,B1\n' > "$work/p.csv"

run() { # $1 = label, $2 = DATABASE_URL
  DATABASE_URL="$2" "$bin" import "$work/p.csv" >/dev/null
  DATABASE_URL="$2" SESAME_COOKIE_SECURE=false RUST_LOG=warn "$bin" serve --bind 127.0.0.1:0 > "$work/out" 2>/dev/null &
  pid=$!
  until grep -q listening "$work/out" 2>/dev/null; do sleep 0.1; done
  local base="http://$(grep -o '127.0.0.1:[0-9]*' "$work/out" | head -1)"
  local jar="$work/jar-$1"
  local token
  token=$(curl -s -c "$jar" -b "$jar" "$base/activate/identify?method=staff_number" | grep -o 'name="csrf_token" value="[^"]*"' | sed 's/.*value="//; s/"//')
  curl -s -o /dev/null -c "$jar" -b "$jar" -d "csrf_token=$token" -d method=staff_number -d identifier=B1 -d birth_date=01/01/1980 "$base/activate/identify?method=staff_number"
  local cookie
  cookie=$(awk '$6 == "sesame_session" { print "sesame_session=" $7 }' "$jar")
  # The identification page with a live wizard session (read from the store on each request).
  local page health
  page=$(wrk -t2 -c64 -d10s --latency -H "Cookie: $cookie" "$base/activate/identify?method=staff_number")
  health=$(wrk -t2 -c64 -d10s --latency "$base/healthz")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rp rh p99p p99h
  rp=$(echo "$page" | awk '/Requests\/sec/ {print $2}'); rh=$(echo "$health" | awk '/Requests\/sec/ {print $2}')
  p99p=$(echo "$page" | awk '$1 == "99%" {print $2}'); p99h=$(echo "$health" | awk '$1 == "99%" {print $2}')
  printf '%-10s %-28s %10s %10s\n' "$1" "GET /activate/identify" "$rp" "$p99p"
  printf '%-10s %-28s %10s %10s\n' "$1" "GET /healthz" "$rh" "$p99h"
  printf '%-10s %-28s %10.2f\n' "$1" "ratio page / healthz" "$(echo "$rp / $rh" | bc -l)"
}

printf '%-10s %-28s %10s %10s\n' store request req/s p99
run sqlite "sqlite://$work/pages.db"
psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sesame_bench_pages" -c "CREATE DATABASE sesame_bench_pages"
run postgres "postgres://postgres@127.0.0.1:5432/sesame_bench_pages"
