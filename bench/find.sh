#!/usr/bin/env bash
# `tombolo find --resident-id` on the million-record store that bench/million.sh leaves behind
# (or STORE=sqlite:… / postgres://…): builds the identifier index if the store predates it
# (`tombolo resolve`, a writing command), then looks up N resident IDs of golden people
# (default 200) one process each and prints the lookup's time as `find` reports it (index and
# golden records, `lookup_ms`) and the whole command's wall-clock time (process start, config,
# store and keyring opened), median, 95th percentile and maximum.
#
#   bench/find.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$ROOT/target/bench}"
STORE="${STORE:-sqlite:$BENCH_DIR/million.new-city/tombolo.db}"
N="${1:-200}"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p tombolo-cli
T=("$ROOT/target/release/tombolo" --config "$ROOT/examples/islands/tombolo.toml" --store "$STORE")

echo "== building the identifier index if needed (tombolo resolve)" >&2
/usr/bin/time -f "%e s" "${T[@]}" resolve > /dev/null
python3 - "$N" "${T[@]}" <<'PY'
import json, statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
ids = []
with subprocess.Popen(cmd + ["export", "golden", "--entity", "person"], stdout=subprocess.PIPE, text=True) as p:
    for line in p.stdout:
        rid = json.loads(line)["values"].get("resident_id")
        if rid:
            ids.append(rid)
        if len(ids) >= n * 50:
            p.kill()
            break
ids = ids[:: 50][:n]
lookup, wall, found = [], [], 0
for rid in ids:
    t = time.perf_counter()
    out = subprocess.run(cmd + ["--json", "find", "--resident-id", rid], capture_output=True, text=True)
    wall.append((time.perf_counter() - t) * 1000)
    r = json.loads(out.stdout)
    lookup.append(r["lookup_ms"])
    found += bool(r["found"])
def show(name, xs):
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    print(f"{name}: median {statistics.median(xs):.2f} ms, p95 {p95:.2f} ms, max {xs[-1]:.2f} ms")
print(f"{len(ids)} resident IDs looked up, {found} found")
show("lookup (index and golden records, lookup_ms)", lookup)
show("whole command (process, config, store opened)", wall)
PY
