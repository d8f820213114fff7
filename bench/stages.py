#!/usr/bin/env python3
"""The stages of one `tombolo run` from its info log (TOMBOLO_LOG=info): pulling (from the first
log line to the start of the first resolution), each matched kind's resolution (its `resolved`
line: resolve_ms + store_ms) and the assembly of places, houses and incidents (its `assembled`
line: loading, assembling, writing) and the scorecards' snapshot (its `scorecards kept` line),
then how the time per batch of each long pull (20 batches or more, its `batch stored` lines)
moved from the first tenth of its batches to the last. Prints one line.

    bench/stages.py LOG
"""
import re
import sys
from datetime import datetime

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def fields(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def main():
    start = None
    resolutions = []  # (entity, seconds, ends at)
    assembly = None
    scorecards = None
    batches = {}  # source -> [ms per batch]
    for raw in open(sys.argv[1], encoding="utf-8", errors="replace"):
        line = ANSI.sub("", raw)
        m = STAMP.match(line)
        if not m:
            continue
        at = datetime.fromisoformat(m.group(1))
        if start is None:
            start = at
        f = fields(line)
        if " resolved entity=" in line:
            secs = (int(f["resolve_ms"]) + int(f["store_ms"])) / 1000
            resolutions.append((f["entity"], secs, at))
        elif "places, houses and incidents assembled" in line:
            assembly = f
        elif " batch stored " in line and "ms" in f:
            batches.setdefault(f["source"], []).append(float(f["ms"]))
        elif "scorecards kept" in line:
            scorecards = int(f["scorecards_ms"]) / 1000
    if start is None or not resolutions:
        print("no stages in the log")
        return
    first_entity, first_secs, first_at = resolutions[0]
    pull = (first_at - start).total_seconds() - first_secs
    parts = [f"pull {pull:.1f} s"]
    parts += [f"{e} {s:.1f} s" for e, s, _ in resolutions]
    if assembly:
        total = int(assembly["total_ms"]) / 1000
        load = int(assembly["load_ms"]) / 1000
        assemble = int(assembly["resolve_ms"]) / 1000
        parts.append(
            f"places, houses, incidents {total:.1f} s (loading {load:.1f}, assembling {assemble:.1f},"
            f" writing {total - load - assemble:.1f}; peak {assembly.get('peak_mib', '?')} MiB)"
        )
    if scorecards is not None:
        parts.append(f"scorecards {scorecards:.1f} s")
    flat = []
    for source, ms in sorted(batches.items(), key=lambda kv: -len(kv[1])):
        if len(ms) < 20:
            continue
        tenth = len(ms) // 10
        first, last = sum(ms[:tenth]) / tenth, sum(ms[-tenth:]) / tenth
        flat.append(f"{source} {first:.0f}→{last:.0f} ms (×{last / first:.2f})")
    if flat:
        parts.append("per batch, first→last tenth: " + ", ".join(flat))
    print(" · ".join(parts))


if __name__ == "__main__":
    main()
