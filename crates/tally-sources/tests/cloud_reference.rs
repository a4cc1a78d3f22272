//! The cloud formats on the reference samples in ../shared/reference (skipped when absent):
//! real anonymised legacy CUR, CUR 2.0 Bedrock lines, Azure OpenAI cost details, a GCP Vertex row.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use polars::prelude::*;
use tally_ledger::frame::{money_at, scan_ledger, str_at};
use tally_ledger::Money;
use tally_sources::{convert_to_parquet, format_by_name, Input};

fn reference(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} not found (../shared/reference is not beside the checkout)", p.display());
        None
    }
}

fn convert(format: &str, path: &Path) -> DataFrame {
    let f = format_by_name(format).unwrap();
    let name = path.display().to_string();
    let inputs =
        [Input { path, object: &name, source: "test", category_rules: &[], prices: None, quantities_only: false }];
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.parquet");
    convert_to_parquet(f, &inputs, &dest).unwrap_or_else(|e| panic!("{e}"));
    scan_ledger(&[dest]).unwrap().collect().unwrap()
}

fn texts(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    (0..df.height()).map(|i| str_at(df, c, i)).collect()
}

fn sum(df: &DataFrame, c: &str) -> Money {
    let agg = df.clone().lazy().select([col(c).sum()]).collect().unwrap();
    money_at(&agg, c, 0)
}

/// Σ of a CSV column, parsed exactly with Money (independent of Polars).
fn csv_sum(path: &Path, column: &str) -> (usize, Money) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rdr = text.lines();
    let header: Vec<&str> = rdr.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == column).unwrap();
    let mut n = 0;
    let mut total = Money::ZERO;
    for line in text.lines().skip(1) {
        // The sample's quoted fields contain commas: split respecting quotes.
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut q = false;
        for ch in line.chars() {
            match ch {
                '"' => q = !q,
                ',' if !q => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        n += 1;
        if !fields[i].is_empty() {
            total += Money::parse(&fields[i]).unwrap();
        }
    }
    (n, total)
}

#[test]
fn legacy_cur_sample_keeps_rows_and_totals() {
    let Some(p) = reference("native-samples/sample-anonymous-aws-export-dataset.csv") else { return };
    let df = convert("aws-cur", &p);
    let (rows, total) = csv_sum(&p, "lineItem/UnblendedCost");
    assert_eq!(df.height(), rows);
    assert_eq!(df.height(), 1281);
    assert_eq!(sum(&df, "BilledCost"), total);
    assert_eq!(sum(&df, "EffectiveCost"), total, "no commitments in the sample: effective = billed");
}

#[test]
fn cur2_bedrock_sample_is_enriched() {
    let Some(p) = reference("provider-exports/aws_cur2_bedrock.csv") else { return };
    let df = convert("aws-cur2", &p);
    assert_eq!(df.height(), 4);
    let models = texts(&df, "x_model");
    let types = texts(&df, "x_token_type");
    let counts = df.column("x_token_count").unwrap().i64().unwrap().iter().collect::<Vec<_>>();
    let cats = texts(&df, "x_tco_category");
    let tags = texts(&df, "Tags");
    eprintln!("{models:?} {types:?} {counts:?} {cats:?} {tags:?}");
    assert_eq!(models[1].as_deref(), Some("Claude Sonnet 4.6"));
    assert_eq!(types, [Some("input".into()), Some("input".into()), Some("cached_input".into()), Some("input".into())]);
    assert_eq!(counts, [Some(1234), Some(23000), Some(52000), Some(410)]);
    assert!(cats.iter().all(|c| c.as_deref() == Some("model_api")));
    assert_eq!(tags[0].as_deref(), Some(r#"{"team": "search"}"#));
    assert_eq!(tags[3], None);
    assert_eq!(sum(&df, "BilledCost"), Money::parse("0.0852361").unwrap());
}

#[test]
fn azure_openai_sample_is_enriched() {
    let Some(p) = reference("provider-exports/azure_cost_details_openai.csv") else { return };
    let df = convert("azure", &p);
    assert_eq!(df.height(), 3);
    assert_eq!(
        texts(&df, "x_model"),
        [Some("gpt-4o-0806".into()), Some("gpt-4o-0806".into()), Some("gpt-4.1-mini".into())]
    );
    assert_eq!(texts(&df, "x_token_type"), [Some("input".into()), Some("output".into()), Some("cached_input".into())]);
    let counts = df.column("x_token_count").unwrap().i64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(counts, [Some(1_171_440), Some(82_080), Some(400_000)]);
    assert_eq!(sum(&df, "BilledCost"), Money::parse("3.7894").unwrap());
    assert_eq!(texts(&df, "Tags")[0].as_deref(), Some(r#"{"project":"search","env":"prod"}"#));
}

#[test]
fn azure_ea_sample_keeps_rows_and_totals() {
    let Some(p) = reference("native-samples/sample-anonymous-ea-export-dataset.csv") else { return };
    let df = convert("azure", &p);
    let (rows, total) = csv_sum(&p, "CostInBillingCurrency");
    assert_eq!(df.height(), rows);
    assert_eq!(sum(&df, "BilledCost"), total);
    assert_eq!(texts(&df, "BillingCurrency")[0].as_deref(), Some("CAD"));
    assert_eq!(texts(&df, "Tags")[0].as_deref(), Some(r#"{"tagA":"valueA","tagB":"valueB","tagC":"valueC"}"#));
}

#[test]
fn gcp_vertex_row_is_enriched() {
    let Some(p) = reference("provider-exports/gcp_billing_export_vertex_row.json") else { return };
    let df = convert("gcp", &p);
    assert_eq!(df.height(), 1);
    assert_eq!(texts(&df, "x_model")[0].as_deref(), Some("Gemini 3 Flash"));
    assert_eq!(texts(&df, "x_token_type")[0].as_deref(), Some("input"));
    assert_eq!(texts(&df, "x_tco_category")[0].as_deref(), Some("model_api"));
    assert_eq!(texts(&df, "x_billing_month")[0].as_deref(), Some("2026-11"));
    assert_eq!(texts(&df, "Tags")[0].as_deref(), Some(r#"{"team":"search","app":"chatbot"}"#));
    assert_eq!(sum(&df, "BilledCost"), Money::parse("1.2143").unwrap());
}
