#!/usr/bin/env python3
"""Whether two runs of examples/islands/run.sh made the same clusters: for each crosswalk both
output directories hold (person_crosswalk.csv, org_crosswalk.csv, …), the partition of records
into golden records, compared as sets (golden ids may differ between stores). Prints one line
per crosswalk and exits 1 when any differs.

    bench/same_clusters.py OUT_DIR_A OUT_DIR_B
"""
import csv
import os
import sys


def partition(path):
    groups = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["golden_id"], set()).add((row["source"], row["record_key"]))
    return {frozenset(g) for g in groups.values()}


def main():
    a, b = sys.argv[1], sys.argv[2]
    differ = False
    for name in sorted(os.listdir(a)):
        if not name.endswith("_crosswalk.csv") or not os.path.exists(os.path.join(b, name)):
            continue
        pa, pb = partition(os.path.join(a, name)), partition(os.path.join(b, name))
        records = sum(len(g) for g in pa)
        if pa == pb:
            print(f"{name}: the same {len(pa)} clusters of {records} records on both stores")
        else:
            differ = True
            print(f"{name}: DIFFERENT: {len(pa - pb)} clusters only in {a}, {len(pb - pa)} only in {b}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
