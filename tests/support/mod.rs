//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;
use tally_ledger::Money;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the tally binary in `cwd` with extra environment variables.
pub fn tally_in(cwd: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.args(args).current_dir(cwd).env("TALLY_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("running tally: {e}"))
}

/// Runs the tally binary from the repository root.
pub fn tally(args: &[&str]) -> Output {
    tally_in(&root(), args, &[])
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Asserts success and returns stdout.
pub fn ok(out: Output) -> String {
    let (o, e) = text(&out);
    assert!(out.status.success(), "tally failed ({:?})\nstdout:\n{o}\nstderr:\n{e}", out.status.code());
    o
}

/// Asserts exit code 2 and returns stderr.
pub fn user_error(out: Output) -> String {
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(2), "expected exit code 2\nstdout:\n{o}\nstderr:\n{e}");
    e
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())).flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Every file under `dir` with its bytes, keyed by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Reads Parquet files into one frame.
pub fn read_parquet(paths: &[PathBuf]) -> DataFrame {
    let frames: Vec<LazyFrame> = paths
        .iter()
        .map(|p| {
            LazyFrame::scan_parquet(PlRefPath::new(p.to_string_lossy().as_ref()), Default::default())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    concat(frames, Default::default()).and_then(|lf| lf.collect()).unwrap_or_else(|e| panic!("{e}"))
}

/// Exact sum of a decimal column, per value of `by` (all rows when `by` is None).
pub fn sums(df: &DataFrame, column: &str, by: &[&str]) -> BTreeMap<Vec<String>, Money> {
    let mut out = BTreeMap::new();
    let values = df.column(column).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..df.height() {
        let key: Vec<String> = by
            .iter()
            .map(|b| {
                df.column(b)
                    .ok()
                    .and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
                    .unwrap_or_default()
            })
            .collect();
        let v = match values.get(i) {
            Ok(AnyValue::Decimal(v, _, 18)) => Money::from_raw(v),
            Ok(AnyValue::Null) => Money::ZERO,
            other => panic!("{column} row {i}: not a Decimal(38, 18): {other:?}"),
        };
        let e = out.entry(key).or_insert(Money::ZERO);
        *e += v;
    }
    out
}

/// The fixtures' independently computed totals (Python decimal arithmetic on the written text).
pub fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("fixtures/focus/EXPECTED.json")).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Parses a decimal string.
pub fn money(s: &str) -> Money {
    Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes a pipeline file for the given sources (name, format, url) and output.
pub fn write_pipeline(dir: &Path, sources: &[(&str, &str, &str)], out: &str, extra: &str) -> PathBuf {
    let mut text = format!("name = \"test\"\nout = \"{out}\"\n");
    for (name, format, url) in sources {
        text.push_str(&format!("\n[[sources]]\nname = \"{name}\"\nformat = \"{format}\"\nurl = \"{url}\"\n"));
    }
    text.push_str(extra);
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The demo's projects and rules, for pipelines written by tests.
pub const DEMO_RULES: &str = r#"
[[projects]]
name = "support-assistant"
business-unit = "Customer Service"

[[projects]]
name = "doc-search"
business-unit = "Legal & Knowledge"

[[projects]]
name = "fraud-scoring"
business-unit = "Risk"

[[rules]]
project-from-tag = "project"
"#;

/// Splits one CSV line into raw cells (quotes kept), respecting quoted commas.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                if let Some(c) = cells.last_mut() {
                    c.push(ch);
                }
            }
            ',' if !quoted => cells.push(String::new()),
            c => {
                if let Some(s) = cells.last_mut() {
                    s.push(c);
                }
            }
        }
    }
    cells
}

/// Replaces the cell of `column` in data row `row` (1-based) of a CSV text.
pub fn set_cell(csv: &str, row: usize, column: &str, value: &str) -> String {
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let header = split_csv_line(&lines[0]);
    let i = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column}"));
    let mut cells = split_csv_line(&lines[row]);
    cells[i] = value.to_string();
    lines[row] = cells.join(",");
    lines.join("\n") + "\n"
}

/// The cell of `column` in data row `row` (1-based) of a CSV text.
pub fn get_cell(csv: &str, row: usize, column: &str) -> String {
    let lines: Vec<&str> = csv.lines().collect();
    let header = split_csv_line(lines[0]);
    let i = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column}"));
    split_csv_line(lines[row])[i].clone()
}
