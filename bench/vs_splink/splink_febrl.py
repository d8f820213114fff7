"""Splink (DuckDB) on FEBRL 3 (dedupe) or FEBRL 4 (link 4a with 4b), set up as Splink's own
FEBRL tutorials do: name and date comparisons, Damerau-Levenshtein on the ID, exact matches with
term-frequency adjustments, lambda from the social-security ID, u by random sampling, m by EM.

usage: splink_febrl.py OUT.csv dataset3.csv
       splink_febrl.py OUT.csv dataset4a.csv dataset4b.csv
Writes a crosswalk (source,record_key,golden_id) and prints timings as JSON. No truth is read.
"""
import json, logging, os, sys, time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def load(path):
    df = pd.read_csv(path, dtype=str, skipinitialspace=True).fillna("")
    df.columns = [c.strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip().replace("", None)
    df["source"] = os.path.splitext(os.path.basename(path))[0]
    df["unique_id"] = df["source"] + ":" + df["rec_id"]
    return df


def main():
    out, files = sys.argv[1], sys.argv[2:]
    t0 = time.time()
    frames = [load(f) for f in files]
    link = len(frames) == 2
    settings = SettingsCreator(
        link_type="link_only" if link else "dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("suburb").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        additional_columns_to_retain=["source", "rec_id"],
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    tables = [db.register(f) for f in frames] if link else db.register(frames[0])
    linker = Linker(tables, settings, db_api=None, log_level=logging.WARNING) if False else Linker(tables, settings, log_level=logging.WARNING)
    t1 = time.time()
    linker.training.estimate_probability_two_random_records_match([block_on("soc_sec_id")], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.9)
    c = clusters.as_pandas_dataframe()
    t2 = time.time()
    c = c.rename(columns={"rec_id": "record_key", "cluster_id": "golden_id"})
    c[["source", "record_key", "golden_id"]].to_csv(out, index=False)
    print(json.dumps({"load_s": t1 - t0, "resolve_s": t2 - t1, "total_s": time.time() - t0}))


if __name__ == "__main__":
    main()
