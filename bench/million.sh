#!/usr/bin/env bash
# The million-person run, legacy systems → golden records (`tombolo run --no-publish` on a fresh
# SQLite store, through examples/islands/run.sh), in two shapes on the same data and machine:
#
# * people: the seven person and organisation sources (the README's million-record row);
# * city:   all eleven sources: the same people and organisations, then places, houses and
#           incidents and the relationships between them.
#
#   bench/million.sh [ROUNDS]        (default 1; each round runs people then city)
#
# OLD_BIN=path/to/an/older/tombolo adds a `people` run of that binary to each round, alternating
# with the current one (the machine's speed drifts between runs: compare within a round).
# SHAPES="people" (default "people city") runs only those shapes.
# STORES="sqlite postgres" (default "sqlite") runs each shape on each store: postgres is a fresh
# database bench_1m_store on PG_URL (default postgres://postgres@127.0.0.1:5432), and the
# results then say whether both stores made the same clusters.
# The data is generated once into $BENCH_DIR/islands1m (gen_islands.py --persons 370000 --orgs
# 2000 --seed 11, needs faker, openpyxl, opencc-python-reimplemented, pypinyin). Prints one line
# per run (seconds, peak memory, the stages' times from the run's log, records per kind) and
# the pairwise scores of people and places; results also in $BENCH_DIR/million.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$ROOT/../shared"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
DATA="$BENCH_DIR/islands1m"
ROUNDS="${1:-1}"
SHAPES="${SHAPES:-people city}"
STORES="${STORES:-sqlite}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"

if [ ! -f "$DATA/truth_place.csv" ]; then
  echo "== generating the million-record city into $DATA (about five minutes, once)" >&2
  python3 "$SHARED/tools/gen_islands.py" --persons 370000 --orgs 2000 --seed 11 --out "$DATA"
fi
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p tombolo-cli
NEW_BIN="$ROOT/target/release/tombolo"

# The people-only config: the example's, without sources 8–11, the incident rules and the
# department that receives incidents.
PEOPLE_CONFIG="$ROOT/examples/islands/.people.bench.toml"
trap 'rm -f "$PEOPLE_CONFIG"' EXIT
python3 - "$ROOT/examples/islands/tombolo.toml" "$PEOPLE_CONFIG" <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.rfind("# ----", 0, text.index("# 8. Standard address registry"))
end = text.index("# ====")
text = text[:start] + text[end:]
text = text[: text.index('\n[[departments]]\nname = "urban"') + 1]
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY

RESULTS="$BENCH_DIR/million.md"
echo "| round | binary | sources | store | seconds | peak memory | stages (from the run's log) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|" >> "$RESULTS"

# one ROUND LABEL BIN CONFIG STORE (LABEL is binary-shape; a PostgreSQL run's output directory
# ends in -postgres)
one() {
  local round="$1" label="$2" bin="$3" config="$4" store="$5"
  local out="$BENCH_DIR/million.$label" store_url=""
  if [ "$store" = postgres ]; then
    out="$out-postgres"
    store_url="$PG_URL/bench_1m_store"
  fi
  rm -rf "$out" && mkdir -p "$out"
  OUT_DIR="$out" PUBLISH=0 TOMBOLO_BIN="$bin" CONFIG="$config" TOMBOLO_LOG=info \
    HUKOU_DB=bench_1m_hukou MINZHENG_DB=bench_1m_minzheng STORE_URL="$store_url" \
    "$ROOT/examples/islands/run.sh" "$DATA" > "$out/log" 2>&1 || {
      echo "$label on $store failed: $out/log" >&2; return 1; }
  local secs kib stages
  read -r secs kib < "$out/run.time"
  stages="$(python3 "$ROOT/bench/stages.py" "$out/log")"
  printf '| %s | %s | %s | %s | %.1f | %d MiB | %s |\n' "$round" "${label%%-*}" "${label#*-}" \
    "$store" "$secs" "$((kib / 1024))" "$stages" | tee -a "$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
  if [ -n "${OLD_BIN:-}" ]; then
    one "$round" old-people "$OLD_BIN" "$PEOPLE_CONFIG" sqlite
  fi
  for store in $STORES; do
    case " $SHAPES " in *" people "*) one "$round" new-people "$NEW_BIN" "$PEOPLE_CONFIG" "$store" ;; esac
    case " $SHAPES " in *" city "*) one "$round" new-city "$NEW_BIN" "$ROOT/examples/islands/tombolo.toml" "$store" ;; esac
  done
done

{
  echo
  for shape in people city; do
    case " $SHAPES " in *" $shape "*) ;; *) continue ;; esac
    for store in $STORES; do
      out="$BENCH_DIR/million.new-$shape"
      [ "$store" = postgres ] && out="$out-postgres"
      echo "$shape run on $store:"
      "$ROOT/bench/score.sh" "$DATA" "$out"
    done
    if [[ " $STORES " == *" sqlite "* && " $STORES " == *" postgres "* ]]; then
      python3 "$ROOT/bench/same_clusters.py" "$BENCH_DIR/million.new-$shape" \
        "$BENCH_DIR/million.new-$shape-postgres"
    fi
  done
} | tee -a "$RESULTS"
echo "results in $RESULTS" >&2
