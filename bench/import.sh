#!/usr/bin/env bash
# Times `sesame import` of N people (default 100,000) into a fresh PostgreSQL database and a
# fresh SQLite file, against psql's \copy of the same rows into a bare table.
# Usage: bench/import.sh [N]   (builds the release binary; PostgreSQL on 127.0.0.1:5432)
# BENCH_LOCALE=fr_FR.UTF-8 makes the PostgreSQL database with that collation, as a French
# university's often is (the locale must be generated on the server's machine).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
bin="${SESAME_BIN:-target/release/sesame}"
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sesame_bench_import" >/dev/null 2>&1 || true' EXIT

python3 - "$n" > "$work/people.csv" <<'PY'
import sys
n = int(sys.argv[1])
given = ["Élodie", "Jean", "Zoé", "Agnès", "Camille", "Léa", "Hugo", "Chloé", "Noé", "Inès"]
family = ["Martin", "Le Bœuf", "Dubois", "Durand", "N'Diaye", "Lefèvre", "Moreau", "Fournier"]
print("uid,category,given_name,family_name,birth_date,staff_number,student_number")
for i in range(n):
    staff = i % 5 == 0
    print(f"u{i},{'staff' if staff else 'student'},{given[i % 10]},{family[(i // 10) % 8]},"
          f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1960 + i % 45},{f'S{i}' if staff else ''},{'' if staff else 20000000 + i}")
PY

locale="${BENCH_LOCALE:+TEMPLATE template0 LOCALE '$BENCH_LOCALE'}"
psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sesame_bench_import" -c "CREATE DATABASE sesame_bench_import $locale"
pg="postgres://postgres@127.0.0.1:5432/sesame_bench_import"
DATABASE_URL="$pg" "$bin" migrate >/dev/null
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

t_pg=$(seconds env DATABASE_URL="$pg" "$bin" import "$work/people.csv")
t_pg_again=$(seconds env DATABASE_URL="$pg" "$bin" import "$work/people.csv")
psql -qh 127.0.0.1 -U postgres -d sesame_bench_import -c "CREATE TABLE bare (uid text, category text, given_name text, family_name text, birth_date text, staff_number text, student_number text)"
t_copy=$(seconds psql -qh 127.0.0.1 -U postgres -d sesame_bench_import -c "\\copy bare FROM '$work/people.csv' CSV HEADER")
# The rows as people holds them after the import (13 typed columns: generated logins and
# addresses, timestamps), copied into a bare table of the same types: what the file becomes.
columns="uid, category, given_name, family_name, birth_date, staff_number, student_number, ine, email, login, status, created_at, updated_at"
psql -qh 127.0.0.1 -U postgres -d sesame_bench_import -c "\\copy (SELECT $columns FROM people) TO '$work/written.csv' CSV" \
  -c "CREATE TABLE bare_written AS SELECT $columns FROM people WITH NO DATA"
t_copy_written=$(seconds psql -qh 127.0.0.1 -U postgres -d sesame_bench_import -c "\\copy bare_written FROM '$work/written.csv' CSV")
# PostgreSQL's own floor for what a first load asks of it: inside the server, with no file to
# read and nothing to plan or send, the same rows into an empty table shaped like people with its
# key (ids from its identity), then people's other indexes built, in one transaction.
psql -qh 127.0.0.1 -U postgres -d sesame_bench_import \
  -c "CREATE TABLE floor (LIKE people INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)" \
  -c "ALTER TABLE floor ADD PRIMARY KEY (id)"
{
  echo "INSERT INTO floor ($columns) SELECT $columns FROM people;"
  psql -tAqh 127.0.0.1 -U postgres -d sesame_bench_import -c "SELECT regexp_replace(pg_get_indexdef(indexrelid), \
    'INDEX people_(.*) ON public.people ', 'INDEX floor_\\1 ON public.floor ') || ';' FROM pg_index \
    WHERE indrelid = 'people'::regclass AND NOT indisprimary"
} > "$work/floor.sql"
[ "$(grep -c 'ON public.floor ' "$work/floor.sql")" -eq "$(psql -tAqh 127.0.0.1 -U postgres -d sesame_bench_import -c \
  "SELECT count(*) FROM pg_index WHERE indrelid = 'people'::regclass AND NOT indisprimary")" ] || { echo "floor: index copy failed" >&2; exit 1; }
t_floor=$(seconds psql -qh 127.0.0.1 -U postgres -d sesame_bench_import -v ON_ERROR_STOP=1 -1 -f "$work/floor.sql")
t_sqlite=$(seconds env DATABASE_URL="sqlite://$work/bench.db" "$bin" import "$work/people.csv")
count=$(psql -tAqh 127.0.0.1 -U postgres -d sesame_bench_import -c "SELECT count(*) FROM people")

printf '%-58s %10s\n' "import of $n people" "seconds"
printf '%-58s %10.2f\n' "PostgreSQL, sesame import (new)" "$t_pg" "PostgreSQL, sesame import (unchanged)" "$t_pg_again" \
  "PostgreSQL, psql \\copy into bare table" "$t_copy" \
  "PostgreSQL, psql \\copy of the rows as written (13 columns)" "$t_copy_written" \
  "PostgreSQL, floor: INSERT … SELECT, then people's indexes" "$t_floor" "SQLite, sesame import (new)" "$t_sqlite"
printf '%-58s %10.1f\n' "ratio sesame / \\copy (PostgreSQL)" "$(echo "$t_pg / $t_copy" | bc -l)" \
  "ratio floor / \\copy (PostgreSQL)" "$(echo "$t_floor / $t_copy" | bc -l)" \
  "ratio sesame / \\copy of the rows as written (PostgreSQL)" "$(echo "$t_pg / $t_copy_written" | bc -l)" \
  "ratio sesame / floor (PostgreSQL)" "$(echo "$t_pg / $t_floor" | bc -l)"
echo "people in PostgreSQL after import: $count; collation $(psql -tAqh 127.0.0.1 -U postgres -d sesame_bench_import -c "SELECT datcollate FROM pg_database WHERE datname = current_database()")"
