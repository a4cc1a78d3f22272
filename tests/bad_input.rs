//! Bad input: one clear message naming the object, row and column where it applies, exit
//! code 2, and nothing written.

use std::path::{Path, PathBuf};

use crate::support::*;

const AWS_SEP: &str = "fixtures/focus/aws/2026-09/focus-00001.csv";

fn fixture_text() -> String {
    std::fs::read_to_string(root().join(AWS_SEP)).unwrap_or_else(|e| panic!("{e}"))
}

/// Converts `input` (written into a temp dir as `name`) and returns stderr, asserting exit 2
/// and that no output file exists.
fn convert_fails(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = dir.path().join(name);
    std::fs::write(&input, content).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out.parquet");
    let err = user_error(tally_in(dir.path(), &["convert", "--from", "focus", "-o", "out.parquet", name], &[]));
    assert!(!out.exists(), "no output may be written");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    err
}

/// Runs a pipeline over a folder holding the good fixture and one bad file; asserts exit 2 and
/// that nothing was published.
fn run_fails(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    copy_dir(&root().join("fixtures/focus/aws"), &d.join("in"));
    std::fs::write(d.join("in").join(name), content).unwrap_or_else(|e| panic!("{e}"));
    let pipeline = write_pipeline(d, &[("aws", "focus", "in")], "out", DEMO_RULES);
    let err = user_error(tally_in(d, &["run", &pipeline.to_string_lossy()], &[]));
    assert!(tree(&d.join("out")).is_empty(), "nothing may be published: {:?}", tree(&d.join("out")).keys());
    err
}

#[test]
fn missing_mandatory_column() {
    let text = fixture_text();
    let header = split_csv_line(text.lines().next().unwrap_or(""));
    let drop = header.iter().position(|h| h == "BilledCost").unwrap_or(0);
    let cut: String = text
        .lines()
        .map(|l| {
            let mut c = split_csv_line(l);
            c.remove(drop);
            c.join(",") + "\n"
        })
        .collect();
    let err = convert_fails("no-billed.csv", cut.as_bytes());
    assert_eq!(err.trim(), "error: no-billed.csv: missing mandatory column BilledCost");
}

#[test]
fn non_numeric_cost() {
    let text = set_cell(&fixture_text(), 5, "EffectiveCost", "12.5O");
    let err = convert_fails("bad-cost.csv", text.as_bytes());
    assert_eq!(
        err.trim(),
        "error: bad-cost.csv: row 5 (line 6), column EffectiveCost: cannot read `12.5O` as a decimal number"
    );
    let err = run_fails("2026-09/bad-cost.csv", text.as_bytes());
    assert!(err.contains("in/2026-09/bad-cost.csv: row 5 (line 6), column EffectiveCost"), "{err}");
}

#[test]
fn empty_mandatory_cost() {
    let text = set_cell(&fixture_text(), 7, "BilledCost", "");
    let err = convert_fails("empty-cost.csv", text.as_bytes());
    assert_eq!(
        err.trim(),
        "error: empty-cost.csv: row 7 (line 8), column BilledCost: empty, but a decimal number is required"
    );
}

#[test]
fn a_cost_with_a_leading_blank_is_read_and_the_real_bad_cell_named() {
    // ` 7.25` is a cost Polars' CSV reader reads (it skips leading blanks): the error must name
    // the empty BilledCost two rows later, not that cell.
    let text = set_cell(&fixture_text(), 5, "EffectiveCost", " 7.25");
    let text = set_cell(&text, 7, "BilledCost", "");
    let err = convert_fails("blank-cost.csv", text.as_bytes());
    assert_eq!(
        err.trim(),
        "error: blank-cost.csv: row 7 (line 8), column BilledCost: empty, but a decimal number is required"
    );
}

#[test]
fn an_unknown_direct_reader_setting_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = [("TALLY_DIRECT_READER".to_string(), "maybe".to_string())];
    let err = user_error(tally_in(dir.path(), &["convert", "--from", "aws-cur", "-o", "out.parquet", "x.csv"], &env));
    assert_eq!(err.trim(), "error: TALLY_DIRECT_READER=`maybe` is neither on nor off (on, off)");
    assert!(!dir.path().join("out.parquet").exists());
}

#[test]
fn unparseable_date() {
    let text = set_cell(&fixture_text(), 3, "ChargePeriodStart", "31/09/2026");
    let err = convert_fails("bad-date.csv", text.as_bytes());
    assert!(
        err.trim().starts_with(
            "error: bad-date.csv: row 3 (line 4), column ChargePeriodStart: cannot read `31/09/2026` as a date/time"
        ),
        "{err}"
    );
}

#[test]
fn empty_file() {
    let err = convert_fails("empty.csv", b"");
    assert_eq!(err.trim(), "error: empty.csv: the file is empty (no header)");
    let err = run_fails("2026-09/empty.csv", b"");
    assert!(err.contains("in/2026-09/empty.csv: the file is empty"), "{err}");
}

#[test]
fn truncated_gzip() {
    let gz = std::fs::read(root().join("fixtures/focus/azure/2026-10/part_0_0001.csv.gz")).unwrap_or_default();
    let err = convert_fails("cut.csv.gz", &gz[..gz.len() / 2]);
    assert!(err.trim().starts_with("error: `cut.csv.gz` is not a valid gzip stream"), "{err}");
}

#[test]
fn unknown_format_name() {
    let err = user_error(tally(&["convert", "--from", "focus-2", "-o", "/nonexistent/x.parquet", AWS_SEP]));
    let known: Vec<&str> = tally_sources::FORMATS.iter().map(|f| f.name()).collect();
    assert_eq!(err.trim(), format!("error: unknown format `focus-2` (known formats: {})", known.join(", ")));
}

#[test]
fn bad_url_scheme() {
    let err = user_error(tally(&["convert", "--from", "focus", "-o", "/nonexistent/x.parquet", "ftp://host/bill.csv"]));
    assert!(err.contains("unsupported URL scheme `ftp` in `ftp://host/bill.csv`"), "{err}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = write_pipeline(dir.path(), &[("aws", "focus", "ftp://host/x")], "out", "");
    let err = user_error(tally(&["validate", &p.to_string_lossy()]));
    assert!(err.contains("sources[0].url: unsupported URL scheme `ftp`"), "{err}");
}

#[test]
fn missing_credentials_for_a_cloud_url() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.args(["convert", "--from", "focus", "-o", "out.parquet", "s3://northwind-billing/focus/"])
        .current_dir(dir.path());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "TALLY_CLOUD_METADATA" {
            cmd.env_remove(k);
        }
    }
    let err = user_error(cmd.output().unwrap_or_else(|e| panic!("{e}")));
    assert!(err.contains("no credentials for `s3://northwind-billing/focus/`: set AWS_ACCESS_KEY_ID"), "{err}");
    assert!(!Path::new(&dir.path().join("out.parquet")).exists());
}

#[test]
fn invalid_pipeline_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p: PathBuf = write_pipeline(
        dir.path(),
        &[("aws", "nope", "in"), ("aws", "focus", "in")],
        "out",
        "[[rules]]\nproject = \"ghost\"\n",
    );
    let err = user_error(tally(&["run", &p.to_string_lossy()]));
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("sources[0].format: unknown format `nope`"), "{err}");
    assert!(err.contains("sources[1].name: duplicate source name `aws`"), "{err}");
    assert!(err.contains("rules[0]: unknown project `ghost`"), "{err}");
    assert!(!dir.path().join("out").exists());
}
