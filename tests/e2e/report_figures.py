"""Independent figures for the islands report, from the exported crosswalks and the source files
alone (no Tombolo code): per source, its records, the golden records it holds records of, the
records sharing their golden record with another record of the same source; per pair of
sources, the golden records both hold; and the data rows of each CSV source file.

usage: report_figures.py --crosswalk KIND=FILE ... --csv SOURCE=FILE:ENCODING ...
prints JSON: {"kinds": {KIND: {"sources": {S: {records, golden_records, duplicates}},
"overlap": {"A|B": n}}}, "rows": {SOURCE: n}}
"""
import argparse
import collections
import csv
import itertools
import json


def kind_figures(path):
    by_golden = collections.defaultdict(collections.Counter)
    for row in csv.DictReader(open(path, encoding="utf-8", newline="")):
        by_golden[row["golden_id"]][row["source"]] += 1
    sources = collections.defaultdict(lambda: {"records": 0, "golden_records": 0, "duplicates": 0})
    overlap = collections.Counter()
    for holders in by_golden.values():
        for s, n in holders.items():
            sources[s]["records"] += n
            sources[s]["golden_records"] += 1
            if n > 1:
                sources[s]["duplicates"] += n
        for a, b in itertools.combinations(sorted(holders), 2):
            overlap[f"{a}|{b}"] += 1
    return {"sources": dict(sources), "overlap": dict(overlap)}


def data_rows(spec):
    path, encoding = spec.rsplit(":", 1)
    with open(path, encoding=encoding, newline="") as f:
        rows = list(csv.reader(f))
    return sum(1 for r in rows[1:] if any(cell.strip() for cell in r))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--crosswalk", action="append", default=[])
    p.add_argument("--csv", action="append", default=[])
    a = p.parse_args()
    out = {"kinds": {}, "rows": {}}
    for item in a.crosswalk:
        kind, path = item.split("=", 1)
        out["kinds"][kind] = kind_figures(path)
    for item in a.csv:
        source, spec = item.split("=", 1)
        out["rows"][source] = data_rows(spec)
    print(json.dumps(out, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
