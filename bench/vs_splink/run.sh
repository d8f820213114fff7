#!/usr/bin/env bash
# Tombolo beside Splink on the same data and machine: precision, recall and F1 (pairwise, from
# ../shared/tools/score_crosswalk.py), seconds and peak memory (GNU time) for both.
#
#   bench/vs_splink/run.sh [febrl3] [febrl4] [islands] [1m]      (default: all four)
#
# * febrl3, febrl4: the FEBRL benchmark (../shared/data/febrl). Tombolo: its engine through the
#   `febrl` example (crates/resolve/examples/febrl.rs); Splink: bench/vs_splink/splink_febrl.py,
#   set up as Splink's FEBRL tutorials are.
# * islands: the shared islands set. Tombolo: examples/islands/run.sh (pull into SQLite, no
#   broker), then the measured step, `tombolo train` (train, resolve everything, write golden
#   records, crosswalk and review queue); Splink: ../shared/tools/peers/splink_islands (load,
#   train, predict, cluster; its own timing of the steps after loading is reported beside).
# * 1m: about 1,000,000 person records (370,000 people) generated once with
#   ../shared/tools/gen_islands.py --persons 370000 --seed 11 into $BENCH_DIR/islands1m; measured
#   as the islands set.
#
# Needs: the PostgreSQL and MariaDB of the test setup, python3 with venv. Splink runs from a
# virtualenv in $BENCH_DIR/venv (created on first use: splink, pandas, openpyxl, opencc, pypinyin,
# faker). BENCH_DIR defaults to target/bench. Results: $BENCH_DIR/results.md (and printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="$ROOT/../shared"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
VENV="$BENCH_DIR/venv"
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(febrl3 febrl4 islands 1m)

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import splink" 2>/dev/null; then
  echo "== creating $VENV (splink and the generator's dependencies)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q splink pandas openpyxl opencc-python-reimplemented pypinyin faker
fi
echo "== building tombolo (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p tombolo-cli
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p tombolo-resolve --example febrl
TOMBOLO="$ROOT/target/release/tombolo"
FEBRL="$ROOT/target/release/examples/febrl"

RESULTS="$BENCH_DIR/results.md"
{
  echo "| data | system | precision | recall | F1 | seconds | peak memory |"
  echo "|---|---|---|---|---|---|---|"
} > "$RESULTS"

# measure NAME SYSTEM TRUTH CROSSWALK -- COMMAND...: runs COMMAND under GNU time, scores the
# crosswalk and appends a row.
measure() {
  local name="$1" system="$2" truth="$3" crosswalk="$4"
  shift 5
  local log="$BENCH_DIR/$name.$system.time"
  /usr/bin/time -f "%e %M" -o "$log" "$@" > "$BENCH_DIR/$name.$system.out" 2>&1 || {
    echo "$name/$system failed, see $BENCH_DIR/$name.$system.out" >&2; return 1; }
  read -r secs kb < "$log"
  local line
  line="$(python3 "$SHARED/tools/score_crosswalk.py" "$truth" "$crosswalk" | grep '^pairwise')"
  local p r f
  p="$(sed -E 's/.*precision=([0-9.]+).*/\1/' <<<"$line")"
  r="$(sed -E 's/.*recall=([0-9.]+).*/\1/' <<<"$line")"
  f="$(sed -E 's/.* f1=([0-9.]+).*/\1/' <<<"$line")"
  printf '| %s | %s | %s | %s | %s | %.1f | %d MiB |\n' "$name" "$system" "$p" "$r" "$f" "$secs" "$((kb / 1024))" | tee -a "$RESULTS"
}

febrl_truth() { # OUT FILE... : source,record_key,entity_id from FEBRL's rec-N-org / rec-N-dup-K ids
  python3 - "$@" <<'PY'
import csv, os, sys
out, files = sys.argv[1], sys.argv[2:]
w = csv.writer(open(out, "w", newline=""))
w.writerow(["source", "record_key", "entity_id"])
for f in files:
    src = os.path.splitext(os.path.basename(f))[0]
    for r in csv.DictReader(open(f), skipinitialspace=True):
        rid = r["rec_id"].strip()
        w.writerow([src, rid, rid.split("-")[1]])
PY
}

febrl() { # NAME FILE...
  local name="$1"; shift
  febrl_truth "$BENCH_DIR/$name.truth.csv" "$@"
  measure "$name" tombolo "$BENCH_DIR/$name.truth.csv" "$BENCH_DIR/$name.tombolo.csv" -- \
    "$FEBRL" "$BENCH_DIR/$name.tombolo.csv" "$@"
  measure "$name" splink "$BENCH_DIR/$name.truth.csv" "$BENCH_DIR/$name.splink.csv" -- \
    "$VENV/bin/python" "$ROOT/bench/vs_splink/splink_febrl.py" "$BENCH_DIR/$name.splink.csv" "$@"
}

islands() { # NAME DATA_DIR
  local name="$1" data="$2"
  local out="$BENCH_DIR/$name"
  mkdir -p "$out"
  echo "== $name: loading into Tombolo's store (not measured)" >&2
  OUT_DIR="$out" PUBLISH=0 TOMBOLO_BIN="$TOMBOLO" HUKOU_DB="bench_${name}_hukou" MINZHENG_DB="bench_${name}_minzheng" \
    "$ROOT/examples/islands/run.sh" "$data" > "$out/load.log" 2>&1
  local tombolo=("$TOMBOLO" --config "$ROOT/examples/islands/tombolo.toml" --store "sqlite:$out/tombolo.db")
  measure "$name" tombolo "$data/truth_person.csv" "$out/person_crosswalk.csv" -- \
    bash -c '"$@" train && "$@" export crosswalk --entity person --output '"$out/person_crosswalk.csv" _ "${tombolo[@]}"
  measure "$name" splink "$data/truth_person.csv" "$out/splink/crosswalk_p0.5.csv" -- \
    "$VENV/bin/python" "$SHARED/tools/peers/splink_islands/run_splink.py" "$data" "$out/splink" --thresholds 0.5
  python3 -c "import json,sys; t=json.load(open(sys.argv[1])); print(f'  splink steps after loading: {t[\"train_s\"]+t[\"predict_s\"]+t[\"cluster_s\"]:.1f}s (load {t[\"load_s\"]:.1f}s)')" \
    "$out/splink/timing.json" | tee -a "$RESULTS"
}

for set in "${SETS[@]}"; do
  case "$set" in
    febrl3) febrl febrl3 "$SHARED/data/febrl/dataset3.csv" ;;
    febrl4) febrl febrl4 "$SHARED/data/febrl/dataset4a.csv" "$SHARED/data/febrl/dataset4b.csv" ;;
    islands) islands islands "$SHARED/data/islands" ;;
    1m)
      if [ ! -f "$BENCH_DIR/islands1m/truth_person.csv" ]; then
        echo "== generating about 1,000,000 person records (a few minutes, once)" >&2
        "$VENV/bin/python" "$SHARED/tools/gen_islands.py" --persons 370000 --orgs 2000 --seed 11 --out "$BENCH_DIR/islands1m"
      fi
      islands islands1m "$BENCH_DIR/islands1m" ;;
    *) echo "unknown set $set (febrl3 febrl4 islands 1m)" >&2; exit 2 ;;
  esac
done
echo "results in $RESULTS" >&2
