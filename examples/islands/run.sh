#!/usr/bin/env bash
# Runs Tombolo over an islands-shaped data directory, from the legacy systems to the topics,
# and writes the crosswalks for scoring:
#
#   examples/islands/run.sh [DATA_DIR]        (default ../shared/data/islands)
#   python3 ../shared/tools/score_crosswalk.py DATA_DIR/truth_person.csv $OUT_DIR/person_crosswalk.csv
#
# It loads DATA_DIR's dumps into fresh databases in the local PostgreSQL (hukou.postgres.sql)
# and MariaDB (minzheng.mariadb.sql), serves DATA_DIR/hrss_api and DATA_DIR/events_api on one
# local HTTP port, starts the
# broker if it is not running, runs `tombolo run` with examples/islands/tombolo.toml on a fresh
# store, and writes into $OUT_DIR (default: a new temporary directory, printed at the end):
# person_crosswalk.csv, org_crosswalk.csv, place_crosswalk.csv, place_hierarchy.csv,
# house_crosswalk.csv, house_owner_links.csv, event_crosswalk.csv, event_person_links.csv and
# event_place_links.csv (README, "Worked example", scores them).
#
# Environment: OUT_DIR, PG_URL (default postgres://postgres@127.0.0.1:5432), MYSQL_HOST/PORT/USER,
# HUKOU_DB / MINZHENG_DB (default tombolo_hukou / tombolo_minzheng), TOPIC_PREFIX, TOMBOLO_BIN
# (a built binary to use instead of building one), PUBLISH=0 (store and resolve only, no broker),
# TOMBOLO_KEY_HEALTH / TOMBOLO_KEY_TAX / TOMBOLO_KEY_URBAN (the departments' pseudonym keys; random when unset),
# CONFIG (default: the tombolo.toml beside this script), STORE_URL (default: a fresh SQLite file
# in OUT_DIR; a postgres:// URL's database is dropped and created again, see docs/operations.md
# for TLS). `tombolo run`'s wall-clock seconds and
# peak resident memory (KiB) go to $OUT_DIR/run.time when GNU time is installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA_DIR="$(cd "${1:-$ROOT/../shared/data/islands}" && pwd)"
OUT_DIR="${OUT_DIR:-$(mktemp -d -t tombolo-islands.XXXXXX)}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
MYSQL_HOST="${MYSQL_HOST:-127.0.0.1}" MYSQL_PORT="${MYSQL_PORT:-3306}" MYSQL_USER="${MYSQL_USER:-root}"
HUKOU_DB="${HUKOU_DB:-tombolo_hukou}"
MINZHENG_DB="${MINZHENG_DB:-tombolo_minzheng}"

for f in hukou.postgres.sql minzheng.mariadb.sql health_archive.gbk.csv grid_residents.xlsx market_entities.csv tax_registry.csv \
         std_address.csv house_registry.csv grid_events.gbk.csv; do
  [ -f "$DATA_DIR/$f" ] || { echo "run.sh: $DATA_DIR/$f is missing (an islands data directory holds the eleven sources)" >&2; exit 1; }
done
for d in hrss_api events_api; do
  [ -d "$DATA_DIR/$d" ] || { echo "run.sh: $DATA_DIR/$d is missing (an islands data directory holds the eleven sources)" >&2; exit 1; }
done

if [ -z "${TOMBOLO_BIN:-}" ]; then
  echo "== building tombolo (release)" >&2
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p tombolo-cli
  TOMBOLO_BIN="$ROOT/target/release/tombolo"
fi

echo "== loading the legacy databases from $DATA_DIR" >&2
psql -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $HUKOU_DB" -c "CREATE DATABASE $HUKOU_DB" >/dev/null
psql -q -v ON_ERROR_STOP=1 "$PG_URL/$HUKOU_DB" -f "$DATA_DIR/hukou.postgres.sql" >/dev/null
MY=(mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER")
"${MY[@]}" -e "DROP DATABASE IF EXISTS $MINZHENG_DB; CREATE DATABASE $MINZHENG_DB DEFAULT CHARACTER SET utf8mb4"
"${MY[@]}" --default-character-set=utf8mb4 "$MINZHENG_DB" < "$DATA_DIR/minzheng.mariadb.sql"

echo "== serving $DATA_DIR/hrss_api and $DATA_DIR/events_api" >&2
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$DATA_DIR" >"$OUT_DIR/http_api.log" 2>&1 &
HTTP_PID=$!
trap 'kill $HTTP_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

RUN_ARGS=(run)
if [ "${PUBLISH:-1}" = 0 ]; then
  RUN_ARGS+=(--no-publish)
else
  "$ROOT/deploy/broker.sh" start >&2
fi

export ISLANDS_DIR="$DATA_DIR"
export HUKOU_URL="$PG_URL/$HUKOU_DB"
export MINZHENG_URL="mysql://$MYSQL_USER@$MYSQL_HOST:$MYSQL_PORT/$MINZHENG_DB"
export HRSS_URL="http://127.0.0.1:$PORT/hrss_api"
export HOTLINE_URL="http://127.0.0.1:$PORT/events_api"
# The departments' pseudonym keys (tombolo.toml, [[departments]]): throwaway ones unless set,
# so pseudonyms differ from run to run.
for k in TOMBOLO_KEY_HEALTH TOMBOLO_KEY_TAX TOMBOLO_KEY_URBAN; do
  [ -n "${!k:-}" ] || export "$k=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
done
CONFIG="$(cd "$(dirname "${CONFIG:-$HERE/tombolo.toml}")" && pwd)/$(basename "${CONFIG:-tombolo.toml}")"
# The store: a fresh SQLite file in OUT_DIR unless STORE_URL names another. A PostgreSQL
# STORE_URL's database is dropped and created again, so the run starts from an empty store.
if [ -n "${STORE_URL:-}" ]; then
  case "$STORE_URL" in
    postgres://*|postgresql://*)
      STORE_DB="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).path.lstrip("/"))' "$STORE_URL")"
      STORE_ADMIN="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/postgres")))' "$STORE_URL")"
      [ -n "$STORE_DB" ] || { echo "run.sh: STORE_URL names no database" >&2; exit 1; }
      echo "== fresh PostgreSQL store $STORE_DB" >&2
      psql -q -v ON_ERROR_STOP=1 "$STORE_ADMIN" -c "DROP DATABASE IF EXISTS \"$STORE_DB\"" -c "CREATE DATABASE \"$STORE_DB\"" >/dev/null
      ;;
    sqlite:*) rm -f "${STORE_URL#sqlite:}"* ;;
    *) echo "run.sh: STORE_URL is sqlite:PATH or postgres://…" >&2; exit 1 ;;
  esac
  export TOMBOLO_STORE="$STORE_URL"
else
  export TOMBOLO_STORE="sqlite:$OUT_DIR/tombolo.db"
  rm -f "$OUT_DIR"/tombolo.db*
fi

echo "== tombolo run" >&2
T=("$TOMBOLO_BIN" --config "$CONFIG")
TIMED=()
[ -x /usr/bin/time ] && TIMED=(/usr/bin/time -f "%e %M" -o "$OUT_DIR/run.time")
"${TIMED[@]}" "${T[@]}" "${RUN_ARGS[@]}" | tee "$OUT_DIR/run.txt"
"${T[@]}" export crosswalk --entity person --output "$OUT_DIR/person_crosswalk.csv"
"${T[@]}" export crosswalk --entity organization --output "$OUT_DIR/org_crosswalk.csv"

# Places, houses and incidents when the config has them (a people-only CONFIG does not).
if grep -q '^entity = "place"' "$CONFIG"; then
"${T[@]}" export crosswalk --entity place --output "$OUT_DIR/place_crosswalk.csv"
"${T[@]}" export places --output "$OUT_DIR/place_hierarchy.csv"
"${T[@]}" export crosswalk --entity house --output "$OUT_DIR/house_crosswalk.csv"
"${T[@]}" export links --from house --to person --output "$OUT_DIR/house_owner_links.csv"
"${T[@]}" export crosswalk --entity event --output "$OUT_DIR/event_crosswalk.csv"
"${T[@]}" export links --from event --to person --output "$OUT_DIR/event_person_links.csv"
"${T[@]}" export links --from event --to place --output "$OUT_DIR/event_place_links.csv"
fi

echo "crosswalks written to $OUT_DIR"
echo "OUT_DIR=$OUT_DIR"
