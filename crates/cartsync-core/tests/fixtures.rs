//! Runs every golden vector in `tests/fixtures/v1/*.json` (at the workspace
//! root) through the core. The browser build runs the same files through the
//! same `vectors::run_case`, so both sides provably agree.

use cartsync_core::vectors::{run_case, Case, VectorFile, FORMAT};
use cartsync_core::CartError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const MIN_CASES: usize = 60;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v1")
}

fn load_all() -> Vec<(String, VectorFile)> {
    let dir = fixture_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let file: VectorFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(file.format, FORMAT, "{name}: unknown format");
            (name, file)
        })
        .collect()
}

#[test]
fn every_golden_vector_passes() {
    let files = load_all();
    let mut failures = Vec::new();
    let mut total = 0;
    for (file, vectors) in &files {
        for case in &vectors.cases {
            total += 1;
            if let Err(why) = run_case(case) {
                failures.push(format!("{file} / {}: {why}", case.name()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing vector(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(total >= MIN_CASES, "only {total} vectors, want at least {MIN_CASES}");
}

#[test]
fn vectors_cover_every_error_code() {
    let covered: BTreeSet<String> = load_all()
        .iter()
        .flat_map(|(_, f)| f.cases.iter().flat_map(Case::codes))
        .collect();
    let missing: Vec<&str> = CartError::CODES
        .iter()
        .copied()
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no vector exercises {missing:?}");
    let unknown: Vec<&String> = covered
        .iter()
        .filter(|c| !CartError::CODES.contains(&c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "vectors use codes missing from CartError::CODES: {unknown:?}"
    );
}

#[test]
fn case_names_are_unique_and_explained() {
    let mut seen = BTreeMap::new();
    for (file, vectors) in load_all() {
        for case in &vectors.cases {
            assert!(!case.why().trim().is_empty(), "{file} / {}: empty why", case.name());
            if let Some(other) = seen.insert(case.name().to_string(), file.clone()) {
                panic!("case name {:?} appears in {other} and {file}", case.name());
            }
        }
    }
}

#[test]
fn cases_survive_a_json_round_trip() {
    // What the browser test will do: read the same JSON into the same types.
    for (file, vectors) in load_all() {
        let text = serde_json::to_string(&vectors).unwrap();
        let again: VectorFile = serde_json::from_str(&text).unwrap();
        assert_eq!(again, vectors, "{file} changes when written and read back");
    }
}

#[test]
fn the_checker_catches_a_wrong_expectation() {
    use cartsync_core::vectors::Outcome;
    // Guards against a checker that passes everything: spoil one expectation
    // of each kind and the case must fail.
    let mut spoiled = 0;
    for (_, vectors) in load_all() {
        for mut case in vectors.cases {
            match &mut case {
                Case::Apply(c) => match &mut c.expect {
                    Outcome::Ok(cart) => cart.version += 1,
                    Outcome::Error(_) => c.expect = Outcome::Ok(c.cart.clone()),
                },
                Case::Decide(c) => match &mut c.expect {
                    Outcome::Ok(d) => d.recorded.push(cartsync_core::MutationId::from_random_bytes([9; 16])),
                    Outcome::Error(_) => c.expect = Outcome::Error(CartError::CartClosed),
                },
                Case::Merge(c) => c.expect.report.coupons_dropped.push("X".into()),
                Case::Rebase(c) => c.expect.cart.updated_at += 1,
                Case::Error(c) => c.body.message.push('!'),
                // Every shipping case judges at least one option.
                Case::Shipping(c) => c.expect[0].name.push('!'),
                Case::Tax(c) => c.expect += 1,
                Case::Terms(c) => c.expect.totals.estimated_total.amount += 1,
            }
            assert!(run_case(&case).is_err(), "spoiled case {:?} still passes", case.name());
            spoiled += 1;
        }
    }
    assert!(spoiled >= MIN_CASES);
}
