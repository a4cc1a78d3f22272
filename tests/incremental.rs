//! Nightly re-runs: no new input is a no-op; outputs are byte-identical; a restated or
//! re-delivered export replaces the earlier one for its month; removed inputs disappear.

use std::path::Path;
use std::time::{Duration, SystemTime};

use tally_ledger::Money;

use crate::support::*;

fn setup(dir: &Path) -> std::path::PathBuf {
    copy_dir(&root().join("fixtures/focus/aws"), &dir.join("in/aws"));
    copy_dir(&root().join("fixtures/focus/azure"), &dir.join("in/azure"));
    write_pipeline(dir, &[("aws", "focus", "in/aws"), ("azure", "focus", "in/azure")], "out", DEMO_RULES)
}

fn run(dir: &Path, pipeline: &Path) -> String {
    ok(tally_in(dir, &["run", &pipeline.to_string_lossy()], &[]))
}

fn summary_total(dir: &Path, month: &str, key: &str) -> Money {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("out/reports/{month}/summary.json"))).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    money(v[key].as_str().unwrap_or_else(|| panic!("{key}")))
}

fn set_mtime(path: &Path, secs_ahead: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap_or_else(|e| panic!("{e}"));
    f.set_modified(SystemTime::now() + Duration::from_secs(secs_ahead)).unwrap_or_else(|e| panic!("{e}"));
}

/// Rewrites one CSV, doubling the BilledCost and EffectiveCost of data row 1; returns the old
/// values (so the month's totals grow by exactly that much).
fn restate(src: &Path, dest: &Path) -> (Money, Money) {
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("{e}"));
    let old_b = money(&get_cell(&text, 1, "BilledCost"));
    let old_e = money(&get_cell(&text, 1, "EffectiveCost"));
    let text = set_cell(&text, 1, "BilledCost", &(old_b + old_b).to_string_min_dp(0));
    let text = set_cell(&text, 1, "EffectiveCost", &(old_e + old_e).to_string_min_dp(0));
    std::fs::create_dir_all(dest.parent().unwrap_or(Path::new("."))).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dest, text).unwrap_or_else(|e| panic!("{e}"));
    (old_b, old_e)
}

#[test]
fn a_rerun_with_no_new_objects_changes_nothing_and_outputs_are_reproducible() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pipeline = setup(dir.path());
    let first = run(dir.path(), &pipeline);
    assert!(first.contains("4 read"), "{first}");
    let before = tree(&dir.path().join("out"));
    assert!(before.contains_key("ledger/billing_month=2026-09/aws.parquet"));
    assert!(before.contains_key("allocation/billing_month=2026-10/allocated.parquet"));
    assert!(before.contains_key("_tally/manifest.json"));
    let second = run(dir.path(), &pipeline);
    assert!(second.contains("0 read") && second.contains("nothing changed"), "{second}");
    assert_eq!(tree(&dir.path().join("out")), before, "a no-op run leaves every byte as it was");

    // Another output root from the same inputs: byte-identical datasets and reports.
    ok(tally_in(dir.path(), &["run", &pipeline.to_string_lossy(), "--out", "out2"], &[]));
    assert_eq!(tree(&dir.path().join("out2")), before);

    // A forced rebuild of one month gives the same bytes too.
    let forced = ok(tally_in(dir.path(), &["run", &pipeline.to_string_lossy(), "--month", "2026-10"], &[]));
    assert!(forced.contains("nothing changed"), "{forced}");
    assert_eq!(tree(&dir.path().join("out")), before);
}

#[test]
fn a_new_delivery_of_a_month_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    // Deliveries in their own folders, as AWS and Azure exports write them.
    let run1 = d.join("in/aws/2026-10/run-1/part-1.csv");
    std::fs::create_dir_all(run1.parent().unwrap_or(d)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(root().join("fixtures/focus/aws/2026-10/focus-00001.csv"), &run1).unwrap_or_else(|e| panic!("{e}"));
    let pipeline = write_pipeline(d, &[("aws", "focus", "in/aws")], "out", DEMO_RULES);
    run(d, &pipeline);
    let billed_before = summary_total(d, "2026-10", "billed_total");
    let effective_before = summary_total(d, "2026-10", "ingested_total");

    let run2 = d.join("in/aws/2026-10/run-2/part-1.csv");
    let (b, e) = restate(&run1, &run2);
    set_mtime(&run2, 60);
    let out = run(d, &pipeline);
    assert!(out.contains("1 read") && out.contains("1 superseded"), "{out}");
    assert_eq!(summary_total(d, "2026-10", "billed_total"), billed_before + b, "restated, not added");
    assert_eq!(summary_total(d, "2026-10", "ingested_total"), effective_before + e);
    let again = run(d, &pipeline);
    assert!(again.contains("nothing changed"), "{again}");
}

#[test]
fn an_export_overwritten_in_place_replaces_its_rows_and_a_removed_one_disappears() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let pipeline = setup(d);
    run(d, &pipeline);
    let billed_before = summary_total(d, "2026-09", "billed_total");
    let file = d.join("in/aws/2026-09/focus-00001.csv");
    let tmp = d.join("restated.csv");
    let (b, _) = restate(&file, &tmp);
    std::fs::rename(&tmp, &file).unwrap_or_else(|e| panic!("{e}"));
    set_mtime(&file, 60);
    let out = run(d, &pipeline);
    assert!(out.contains("1 read"), "{out}");
    assert_eq!(summary_total(d, "2026-09", "billed_total"), billed_before + b);

    std::fs::remove_dir_all(d.join("in/azure/2026-10")).unwrap_or_else(|e| panic!("{e}"));
    let out = run(d, &pipeline);
    assert!(out.contains("1 removed"), "{out}");
    assert!(!d.join("out/ledger/billing_month=2026-10/azure.parquet").exists());
    assert!(d.join("out/ledger/billing_month=2026-10/aws.parquet").exists());
}

#[test]
fn only_the_latest_cur_assembly_of_a_month_counts() {
    // Two deliveries of November 2026 (an early one, and the final one in two parts), each in
    // its assembly folder with its manifest, as AWS writes them.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let cur = root().join("fixtures/cloud/aws-cur/northwind-cur");
    copy_dir(&cur, &d.join("in/northwind-cur"));
    let early = d.join("in/northwind-cur/20261101-20261201/a1f0c2d4-early-0000-0000-000000000001");
    let last = d.join("in/northwind-cur/20261101-20261201/b7e9d3c5-final-0000-0000-000000000002");
    for e in std::fs::read_dir(&last).unwrap_or_else(|e| panic!("{e}")).flatten() {
        set_mtime(&e.path(), 60);
    }
    let pipeline = write_pipeline(d, &[("aws", "aws-cur", "in/northwind-cur")], "out", DEMO_RULES);
    let out = run(d, &pipeline);
    assert!(out.contains("superseded by a later delivery"), "{out}");
    let expected = expected_cloud();
    let want = |k: &str| money(expected["aws-cur"]["b7e9d3c5-final-0000-0000-000000000002"][k].as_str().unwrap_or(""));
    assert_eq!(
        summary_total(d, "2026-11", "billed_total"),
        want("billed_cost"),
        "the final assembly, not the sum of both"
    );
    assert_eq!(summary_total(d, "2026-11", "ingested_total"), want("effective_cost"));
    assert!(early.exists());
}

fn expected_cloud() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(root().join("fixtures/cloud/EXPECTED.json")).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn months_published_as_not_started_are_rebuilt_once_they_have_started() {
    // The demo amortises one-time costs up to 2027-08: as of 2026-11-28, December on is marked.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out").to_string_lossy().to_string();
    let run = |day: &str| ok(tally(&["run", "pipelines/demo.toml", "--out", &out, "--as-of", day]));
    let marked = |month: &str| {
        let md = std::fs::read_to_string(dir.path().join(format!("out/reports/{month}/tco.md")))
            .unwrap_or_else(|e| panic!("{e}"));
        md.contains("**Not started** on")
    };
    let manifest = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join("out/_tally/manifest.json")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    run("2026-11-28");
    assert!(!marked("2026-11") && marked("2026-12") && marked("2027-01"));
    assert_eq!(manifest()["not_started"].as_array().map(Vec::len), Some(9), "2026-12 to 2027-08");
    // The same day again: nothing to do.
    let again = run("2026-11-28");
    assert!(again.contains("nothing changed"), "{again}");
    // Once December has started, its reports are made again, without the mark; later months
    // keep theirs (and the date they were made on).
    let december = run("2026-12-02");
    assert!(december.contains("2026-12  TCO") && !december.contains("2027-01  TCO"), "{december}");
    assert!(!marked("2026-12") && marked("2027-01"));
    let months = manifest()["not_started"].clone();
    assert_eq!(months.as_array().map(Vec::len), Some(8), "{months}");
    assert!(run("2026-12-02").contains("nothing changed"));
}
