#!/usr/bin/env bash
# End-to-end throughput on an islands-shaped data set: runs examples/islands/run.sh (release
# build, fresh databases and store, the real broker) and reports records per second of the
# `tombolo run` itself (all sources pulled, normalised, stored, resolved and published).
#
#   bench/islands_throughput.sh [DATA_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mktemp -d -t tombolo-bench.XXXXXX)"
TOPIC_PREFIX="bench$(date +%s)" OUT_DIR="$OUT" "$ROOT/examples/islands/run.sh" "$@" >/dev/null
"$ROOT/target/release/tombolo" --config "$ROOT/examples/islands/tombolo.toml" --store "sqlite:$OUT/tombolo.db" --json status >"$OUT/status.json"
python3 - "$OUT/run.txt" "$OUT/status.json" <<'PY'
import json, re, sys
run = open(sys.argv[1]).read()
status = json.load(open(sys.argv[2]))
seconds = float(re.search(r"done in ([0-9.]+)s", run).group(1))
records = sum(s["last"]["pulled"] for s in status["sources"])
print(f"records: {records}  seconds: {seconds:.1f}  records/s: {records / seconds:,.0f}")
PY
