//! The cloud billing formats (aws-cur, aws-cur2, azure, gcp) on the Northwind fixtures
//! (fixtures/cloud/), checked against the totals fixtures/gen_cloud.py recomputed independently
//! from the written files (EXPECTED.json), and on bad input.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;
use tally_ledger::frame::{money_at, scan_ledger, str_at, CategoryRule};
use tally_ledger::Money;
use tally_sources::{convert_to_parquet, detect_format, format_by_name, Input, SourceError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cloud")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("EXPECTED.json")).unwrap()).unwrap()
}

fn m(v: &Value) -> Money {
    Money::parse(v.as_str().unwrap()).unwrap()
}

/// A local, uncompressed copy of a fixture (gunzipped into `dir` when it ends in `.gz`).
fn local(rel: &str, dir: &Path) -> PathBuf {
    let src = root().join(rel);
    if !rel.ends_with(".gz") {
        return src;
    }
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&src).unwrap()).read_to_end(&mut text).unwrap();
    let dest = dir.join(Path::new(rel.trim_end_matches(".gz")).file_name().unwrap());
    std::fs::write(&dest, text).unwrap();
    dest
}

/// Converts local files (named by `objects`) with `format` into a ledger frame.
fn convert_objects(format: &str, files: &[(PathBuf, String)]) -> Result<DataFrame, SourceError> {
    convert_with_rules(format, files, &[])
}

/// [`convert_objects`] with category rules.
fn convert_with_rules(
    format: &str,
    files: &[(PathBuf, String)],
    category_rules: &[CategoryRule],
) -> Result<DataFrame, SourceError> {
    let f = format_by_name(format)?;
    let inputs: Vec<Input<'_>> = files
        .iter()
        .map(|(path, name)| Input {
            path,
            object: name,
            source: "test",
            category_rules,
            prices: None,
            quantities_only: false,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.parquet");
    convert_to_parquet(f, &inputs, &dest)?;
    Ok(scan_ledger(&[dest]).unwrap().collect().unwrap())
}

fn convert(format: &str, rels: &[&str]) -> Result<DataFrame, SourceError> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(PathBuf, String)> = rels.iter().map(|r| (local(r, dir.path()), r.to_string())).collect();
    convert_objects(format, &files)
}

fn sum(df: &DataFrame, c: &str) -> Money {
    let agg = df.clone().lazy().select([col(c).sum()]).collect().unwrap();
    money_at(&agg, c, 0)
}

fn sum_where(df: &DataFrame, c: &str, filter: Expr) -> Money {
    let agg = df.clone().lazy().filter(filter).select([col(c).sum()]).collect().unwrap();
    money_at(&agg, c, 0)
}

fn tokens(df: &DataFrame) -> i64 {
    df.column("x_token_count").unwrap().i64().unwrap().sum().unwrap_or(0)
}

fn texts(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    (0..df.height()).map(|i| str_at(df, c, i)).collect()
}

fn count(df: &DataFrame, filter: Expr) -> usize {
    df.clone().lazy().filter(filter).collect().unwrap().height()
}

const CUR: &str = "aws-cur/northwind-cur/20261101-20261201";
const FINAL: &str = "b7e9d3c5-final-0000-0000-000000000002";
const EARLY: &str = "a1f0c2d4-early-0000-0000-000000000001";
const CUR2: &str = "aws-cur2/northwind-cur2/data/BILLING_PERIOD=2026-11/northwind-cur2-00001.csv.gz";
/// The same export as Data Exports writes it in Parquet (`fixtures/cloud/gen_parquet.py`).
const CUR2_PARQUET: &str =
    "aws-cur2-parquet/northwind-cur2/data/BILLING_PERIOD=2026-11/northwind-cur2-00001.snappy.parquet";

fn final_parts() -> Vec<String> {
    vec![
        format!("{CUR}/{FINAL}/northwind-cur-00001.csv.gz"),
        format!("{CUR}/{FINAL}/northwind-cur-00002.csv.gz"),
        format!("{CUR}/{FINAL}/northwind-cur-Manifest.json"),
    ]
}

fn check_aws(df: &DataFrame, exp: &Value) {
    assert_eq!(df.height() as u64, exp["rows"].as_u64().unwrap());
    assert_eq!(sum(df, "BilledCost"), m(&exp["billed_cost"]));
    assert_eq!(sum(df, "EffectiveCost"), m(&exp["effective_cost"]));
    for (invoice, total) in exp["billed_per_invoice"].as_object().unwrap() {
        assert_eq!(sum_where(df, "BilledCost", col("InvoiceId").eq(lit(invoice.as_str()))), m(total), "{invoice}");
    }
    assert_eq!(tokens(df), exp["tokens"].as_i64().unwrap());
    // Credits and discounts are negative Credit rows; tax stays Tax; the refund is an Adjustment.
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Credit"))) as u64, exp["credit_rows"].as_u64().unwrap());
    assert!(sum_where(df, "BilledCost", col("ChargeCategory").eq(lit("Credit"))).is_negative());
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Tax"))), 2);
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Adjustment"))), 1);
    // Amortisation: the RI upfront fee is a Purchase with EffectiveCost 0; covered usage carries
    // the amortised rate; the RI and SP recurring fees keep only their unused part.
    let ri_fee =
        df.clone().lazy().filter(col("ChargeDescription").str().starts_with(lit("Sign up charge"))).collect().unwrap();
    assert_eq!(texts(&ri_fee, "ChargeCategory"), [Some("Purchase".into())]);
    assert_eq!(money_at(&ri_fee, "BilledCost", 0), Money::parse("11826").unwrap());
    assert_eq!(money_at(&ri_fee, "EffectiveCost", 0), Money::ZERO);
    let covered = col("CommitmentDiscountStatus").eq(lit("Used"));
    assert_eq!(
        sum_where(df, "BilledCost", covered.clone().and(col("CommitmentDiscountType").eq(lit("Reserved Instance")))),
        Money::ZERO
    );
    assert_eq!(
        sum_where(df, "EffectiveCost", covered.clone().and(col("CommitmentDiscountType").eq(lit("Reserved Instance")))),
        Money::parse("10539.375").unwrap(),
        "700 h × (985.50 / 720 + 13.6875)"
    );
    let ri_recurring = col("ChargeCategory").eq(lit("Purchase")).and(col("ChargeFrequency").eq(lit("Recurring")));
    assert_eq!(
        sum_where(
            df,
            "EffectiveCost",
            ri_recurring.clone().and(col("CommitmentDiscountType").eq(lit("Reserved Instance")))
        ),
        Money::parse("301.125").unwrap(),
        "20 unused hours: 27.375 upfront + 273.75 recurring"
    );
    assert_eq!(
        sum_where(df, "EffectiveCost", ri_recurring.and(col("CommitmentDiscountType").eq(lit("Savings Plan")))),
        Money::parse("936").unwrap(),
        "SP: 1800 committed − 864 used"
    );
    // SP-covered usage is billed at on-demand and negated: net 0 billed, 864 effective.
    let sp_usage = col("CommitmentDiscountType").eq(lit("Savings Plan")).and(col("ChargeCategory").eq(lit("Usage")));
    assert_eq!(sum_where(df, "BilledCost", sp_usage.clone()), Money::ZERO);
    assert_eq!(sum_where(df, "EffectiveCost", sp_usage), Money::parse("864").unwrap());
    // Tags keep the key without `user:`; AI lines are enriched; GPUs are compute.
    let tags = texts(df, "Tags");
    assert!(
        tags.iter()
            .flatten()
            .any(|t| t.contains(r#""project":"support-assistant""#) || t.contains(r#""project": "support-assistant""#)),
        "{tags:?}"
    );
    assert!(tags.iter().flatten().all(|t| !t.contains("user:") && !t.contains("user_")));
    let bedrock = df.clone().lazy().filter(col("x_token_type").is_not_null()).collect().unwrap();
    assert!(bedrock.height() >= 13);
    assert!(texts(&bedrock, "x_tco_category").iter().all(|c| c.as_deref() == Some("model_api")));
    assert!(texts(&bedrock, "x_model")
        .iter()
        .all(|c| c.as_deref() == Some("Claude Sonnet 4.5") || c.as_deref() == Some("Claude Haiku 4.5")));
    let types: std::collections::BTreeSet<_> = texts(&bedrock, "x_token_type").into_iter().flatten().collect();
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["cache_write", "cached_input", "input", "output"]);
    assert_eq!(count(df, col("x_service_tier").eq(lit("batch"))), 1);
    assert_eq!(
        count(
            df,
            col("x_model").eq(lit("Claude Haiku 4.5")).and(col("ServiceCategory").eq(lit("AI and Machine Learning")))
        ),
        1
    );
    let gpu = df.clone().lazy().filter(col("ResourceId").str().starts_with(lit("i-0fraud"))).collect().unwrap();
    assert!(texts(&gpu, "x_tco_category").iter().all(|c| c.as_deref() == Some("compute")));
    assert!(texts(df, "x_billing_month").iter().all(|c| c.as_deref() == Some("2026-11")));
}

#[test]
fn legacy_cur_final_delivery_matches_the_source_totals() {
    let df = convert("aws-cur", &final_parts().iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    check_aws(&df, &expected()["aws-cur"][FINAL]);
}

#[test]
fn legacy_cur_each_delivery_stands_alone() {
    // The restated (final) delivery differs from the early one; each converts to its own totals,
    // and `restatement = "latest-delivery"` keeps only the newest folder of a month.
    let early =
        [format!("{CUR}/{EARLY}/northwind-cur-00001.csv.gz"), format!("{CUR}/{EARLY}/northwind-cur-Manifest.json")];
    let df = convert("aws-cur", &early.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    check_aws(&df, &expected()["aws-cur"][EARLY]);
}

#[test]
fn cur2_matches_the_source_totals() {
    let df = convert("aws-cur2", &[CUR2]).unwrap();
    check_aws(&df, &expected()["aws-cur2"]);
    assert!(texts(&df, "SubAccountName").contains(&Some("support-prod".into())));
}

/// Asserts that two conversions of the same rows (in two file formats) give the same ledger:
/// every column equal, row by row, but the object name, and `Tags` equal as JSON (a CSV keeps its
/// JSON text as written; a Parquet map is written compactly).
fn same_ledger(a: &DataFrame, b: &DataFrame) {
    let by_row = |df: &DataFrame| df.sort(["x_source_row"], SortMultipleOptions::default()).unwrap();
    let (a, b) = (&by_row(a), &by_row(b));
    assert_eq!(a.height(), b.height());
    assert_eq!(a.get_column_names(), b.get_column_names());
    for name in a.get_column_names() {
        let name = name.as_str();
        if name == "x_source_object" {
            continue;
        }
        if name == "Tags" {
            let parse = |df: &DataFrame| -> Vec<Option<Value>> {
                texts(df, "Tags").into_iter().map(|t| t.map(|t| serde_json::from_str(&t).unwrap())).collect()
            };
            assert_eq!(parse(a), parse(b), "Tags");
            continue;
        }
        let (x, y) = (a.column(name).unwrap(), b.column(name).unwrap());
        assert!(x.equals_missing(y), "{name}: {:?} vs {:?}", x.head(Some(3)), y.head(Some(3)));
    }
}

#[test]
fn cur2_parquet_with_map_columns_gives_the_same_ledger_as_the_csv() {
    let parquet = convert("aws-cur2", &[CUR2_PARQUET]).unwrap();
    check_aws(&parquet, &expected()["aws-cur2"]);
    let rows: Vec<Option<i64>> =
        parquet.column("x_source_row").unwrap().cast(&DataType::Int64).unwrap().i64().unwrap().iter().collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "rows keep the file's order: {rows:?}");
    same_ledger(&parquet, &convert("aws-cur2", &[CUR2]).unwrap());
}

#[test]
fn gcp_parquet_with_nested_columns_gives_the_same_ledger_as_the_ndjson() {
    let parquet = convert("gcp", &["gcp/parquet/northwind-gcp-202611.parquet"]).unwrap();
    check_gcp(&parquet, &expected()["gcp"]["ndjson"]);
    same_ledger(&parquet, &convert("gcp", &["gcp/ndjson/northwind-gcp-202611.json"]).unwrap());
}

/// Copies the final delivery to a temporary folder, as local objects.
fn delivery_copy(dir: &Path) -> Vec<(PathBuf, String)> {
    let folder = dir.join(FINAL);
    std::fs::create_dir_all(&folder).unwrap();
    let mut out = Vec::new();
    for rel in final_parts() {
        let name = Path::new(&rel).file_name().unwrap().to_string_lossy().trim_end_matches(".gz").to_string();
        let dest = folder.join(&name);
        let src = local(&rel, dir);
        std::fs::copy(&src, &dest).unwrap();
        out.push((dest.clone(), dest.display().to_string()));
    }
    // The manifest's report keys name .csv.gz parts; locally they are stored uncompressed.
    let manifest = folder.join("northwind-cur-Manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(".csv.gz", ".csv");
    std::fs::write(&manifest, text).unwrap();
    out
}

#[test]
fn a_manifest_pointing_to_a_missing_part_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = delivery_copy(dir.path());
    let (gone, _) = files.remove(1);
    std::fs::remove_file(&gone).unwrap();
    let err = convert_objects("aws-cur", &files).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_user_error(), "{msg}");
    assert!(
        msg.contains("northwind-cur-Manifest.json")
            && msg.contains("northwind-cur-00002.csv")
            && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn a_part_missing_from_the_manifest_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = delivery_copy(dir.path());
    let stray = dir.path().join(FINAL).join("northwind-cur-00003.csv");
    std::fs::copy(&files[0].0, &stray).unwrap();
    files.insert(2, (stray.clone(), stray.display().to_string()));
    let err = convert_objects("aws-cur", &files).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_user_error(), "{msg}");
    assert!(msg.contains("northwind-cur-00003.csv") && msg.contains("not listed in the delivery's manifest"), "{msg}");
}

#[test]
fn an_unknown_cur_header_version_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("report-1.csv");
    std::fs::write(&p, "identity/LineItemId,lineItem/LineItemType,lineItem/BlendedCost\nabc,Usage,1.0\n").unwrap();
    let err = convert_objects("aws-cur", &[(p.clone(), "s3://bills/cur/report-1.csv".into())]).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_user_error());
    assert!(msg.starts_with("s3://bills/cur/report-1.csv: header (line 1) is not a known legacy AWS CUR"), "{msg}");
    assert!(msg.contains("lineItem/UnblendedCost"), "{msg}");
    // CUR 2.0 columns given to the legacy format say which format they are.
    std::fs::write(&p, "line_item_line_item_type,line_item_unblended_cost\nUsage,1\n").unwrap();
    let msg = convert_objects("aws-cur", &[(p.clone(), "x.csv".into())]).unwrap_err().to_string();
    assert!(msg.contains("looks like format `aws-cur2`"), "{msg}");
}

#[test]
fn a_bad_cur_cost_names_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = local(&final_parts()[0], dir.path());
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3].replacen(",USD,", ",USD,abc", 1);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let msg = convert_objects("aws-cur", &[(bad, "bad.csv".into())]).unwrap_err().to_string();
    assert!(msg.starts_with("bad.csv: row 3 (line 4), column lineItem/UnblendedRate"), "{msg}");
}

#[test]
fn azure_actual_export_matches_the_source_totals() {
    let exp = &expected()["azure"]["actual"];
    let df = convert("azure", &["azure/actual/northwind-ea-actual_202611.csv"]).unwrap();
    assert_eq!(df.height() as u64, exp["rows"].as_u64().unwrap());
    assert_eq!(sum(&df, "BilledCost"), m(&exp["billed_cost"]));
    assert_eq!(sum(&df, "EffectiveCost"), m(&exp["effective_cost"]));
    assert_eq!(tokens(&df), exp["tokens"].as_i64().unwrap());
    assert!(texts(&df, "BillingCurrency").iter().all(|c| c.as_deref() == Some("USD")));
    let ai = df.clone().lazy().filter(col("x_token_type").is_not_null()).collect().unwrap();
    assert_eq!(ai.height(), 12);
    let models: std::collections::BTreeSet<_> = texts(&ai, "x_model").into_iter().flatten().collect();
    assert_eq!(models.into_iter().collect::<Vec<_>>(), ["gpt-4.1-mini", "gpt-4o-0806"]);
    assert_eq!(count(&df, col("x_service_tier").eq(lit("batch"))), 3);
    assert!(texts(&ai, "x_tco_category").iter().all(|c| c.as_deref() == Some("model_api")));
    assert_eq!(
        texts(&ai, "Tags")[0].as_deref(),
        Some(r#"{"project":"doc-search","team":"legal-knowledge","env":"prod"}"#)
    );
    let gpu = df.clone().lazy().filter(col("SkuMeter").eq(lit("ND96asr A100 v4"))).collect().unwrap();
    assert!(texts(&gpu, "x_tco_category").iter().all(|c| c.as_deref() == Some("compute")));
    assert_eq!(count(&df, col("ChargeCategory").eq(lit("Purchase"))), 1);
    assert!(sum_where(&df, "BilledCost", col("ChargeCategory").eq(lit("Credit"))).is_negative());
    // The billing period end is exclusive: 11/30/2026 inclusive → 2026-12-01.
    let end = df.clone().lazy().select([col("BillingPeriodEnd").dt().strftime("%Y-%m-%d")]).collect().unwrap();
    assert_eq!(str_at(&end, "BillingPeriodEnd", 0).as_deref(), Some("2026-12-01"));
}

#[test]
fn azure_amortised_export_moves_the_reservation_onto_usage() {
    let exp = &expected()["azure"]["amortized"];
    let df = convert("azure", &["azure/amortized/northwind-mca-amortized_202611.csv"]).unwrap();
    assert_eq!(df.height() as u64, exp["rows"].as_u64().unwrap());
    assert_eq!(sum(&df, "BilledCost"), m(&exp["billed_cost"]));
    assert_eq!(sum(&df, "EffectiveCost"), m(&exp["effective_cost"]));
    assert_eq!(tokens(&df), exp["tokens"].as_i64().unwrap());
    assert!(texts(&df, "BillingCurrency").iter().all(|c| c.as_deref() == Some("EUR")), "stays in its billing currency");
    assert_eq!(count(&df, col("CommitmentDiscountStatus").eq(lit("Unused"))), 1);
    let purchase = df.clone().lazy().filter(col("ChargeCategory").eq(lit("Purchase"))).collect().unwrap();
    assert_eq!(money_at(&purchase, "EffectiveCost", 0), Money::ZERO);
    assert_eq!(
        texts(&df, "Tags")[0].as_deref(),
        Some(r#"{"project":"doc-search","team":"legal-knowledge","env":"prod-eu"}"#)
    );
}

#[test]
fn azure_dates_in_an_unexpected_format_are_an_error_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("azure/actual/northwind-ea-actual_202611.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[5] = lines[5].replacen(",11/02/2026,", ",2026.11.02,", 1);
    let p = dir.path().join("export.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let err = convert_objects("azure", &[(p, "az://exports/export.csv".into())]).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_user_error());
    assert!(msg.starts_with("az://exports/export.csv: row 5 (line 6), column Date: cannot read `2026.11.02`"), "{msg}");
    assert!(msg.contains("MM/DD/YYYY"), "{msg}");
}

fn check_gcp(df: &DataFrame, exp: &Value) {
    assert_eq!(df.height() as u64, exp["rows"].as_u64().unwrap());
    assert_eq!(sum(df, "BilledCost"), m(&exp["billed_cost"]));
    assert_eq!(sum(df, "EffectiveCost"), m(&exp["effective_cost"]));
    assert_eq!(sum_where(df, "BilledCost", col("ChargeCategory").eq(lit("Credit"))), m(&exp["credits"]));
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Credit"))) as u64, exp["credit_rows"].as_u64().unwrap());
    assert_eq!(tokens(df), exp["tokens"].as_i64().unwrap());
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Tax"))), 1);
    assert_eq!(count(df, col("ChargeCategory").eq(lit("Adjustment"))), 1, "the rounding error row");
    let ai = df.clone().lazy().filter(col("x_token_type").is_not_null()).collect().unwrap();
    assert_eq!(ai.height(), 7);
    assert!(texts(&ai, "x_model").iter().all(|c| c.as_deref() == Some("Gemini 2.5 Flash")));
    assert_eq!(count(df, col("x_token_type").eq(lit("cached_input"))), 2, "the leading-space caching SKU");
    // The batch usage row, and the credit against it (credits keep the model and tier).
    assert_eq!(count(df, col("x_service_tier").eq(lit("batch"))), 2);
    let gpu = df
        .clone()
        .lazy()
        .filter(col("SkuMeter").str().contains(lit("H100|A3"), false).and(col("ChargeCategory").eq(lit("Usage"))))
        .collect()
        .unwrap();
    assert_eq!(gpu.height(), 4);
    assert!(texts(&gpu, "x_tco_category").iter().all(|c| c.as_deref() == Some("compute")));
    assert_eq!(
        texts(&ai, "Tags")[0].as_deref(),
        Some(r#"{"team":"analytics","env":"prod","app":"fraud-features","project":"fraud-scoring"}"#)
    );
    assert!(texts(df, "x_billing_month").iter().all(|c| c.as_deref() == Some("2026-11")));
}

#[test]
fn gcp_ndjson_matches_the_source_totals() {
    let df = convert("gcp", &["gcp/ndjson/northwind-gcp-202611.json"]).unwrap();
    check_gcp(&df, &expected()["gcp"]["ndjson"]);
}

#[test]
fn gcp_csv_matches_the_source_totals() {
    let df = convert("gcp", &["gcp/csv/northwind-gcp-202611.csv"]).unwrap();
    check_gcp(&df, &expected()["gcp"]["csv"]);
}

#[test]
fn gcp_malformed_nested_json_is_an_error_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("gcp/csv/northwind-gcp-202611.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = lines[4].replacen(r#""[{""key"": ""app"""#, r#""[{""key"": app"#, 1);
    let p = dir.path().join("export.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let err = convert_objects("gcp", &[(p, "gs://nw/export.csv".into())]).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_user_error());
    assert!(msg.starts_with("gs://nw/export.csv: row 4, column labels: malformed nested JSON"), "{msg}");
    // NDJSON: a line that is not JSON names its line.
    let text = std::fs::read_to_string(root().join("gcp/ndjson/northwind-gcp-202611.json")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(r#""credits":[]"#, r#""credits":[{"amount":}]"#, 1);
    let p = dir.path().join("export.json");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let msg = convert_objects("gcp", &[(p, "gs://nw/export.json".into())]).unwrap_err().to_string();
    assert!(msg.starts_with("gs://nw/export.json: line 3: not valid JSON"), "{msg}");
}

#[test]
fn detection_is_unambiguous_for_every_cloud_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for (rel, format) in [
        (final_parts()[0].as_str(), "aws-cur"),
        (CUR2, "aws-cur2"),
        ("azure/actual/northwind-ea-actual_202611.csv", "azure"),
        ("azure/amortized/northwind-mca-amortized_202611.csv", "azure"),
        ("gcp/csv/northwind-gcp-202611.csv", "gcp"),
    ] {
        let p = local(rel, dir.path());
        let f = detect_format(&p, rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(f.name(), format, "{rel}");
    }
    // The FOCUS fixtures are still FOCUS.
    let focus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/focus/aws/2026-09/focus-00001.csv");
    assert_eq!(detect_format(&focus, "focus").unwrap().name(), "focus");
}

#[test]
fn category_rules_may_test_any_ledger_column_in_every_format() {
    // `x_project` is never filled by these formats and `x_billing_month` is derived last: a rule
    // on either (as `tally validate` allows) is applied to the finished ledger rows.
    let rules: Vec<CategoryRule> = serde_json::from_str(
        r#"[{"when": {"column": "x_project", "present": true}, "category": "compute"},
            {"when": {"column": "x_billing_month", "present": true}, "category": "people"}]"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let one = |rel: &str| vec![rel.to_string()];
    for (format, rels) in [
        ("aws-cur", final_parts()),
        ("aws-cur2", one(CUR2)),
        ("azure", one("azure/actual/northwind-ea-actual_202611.csv")),
        ("gcp", one("gcp/csv/northwind-gcp-202611.csv")),
        ("focus", one("../focus/aws/2026-10/focus-00001.csv")),
        ("openai-costs", one("../providers/openai-costs/2026-10/costs.ndjson")),
    ] {
        let files: Vec<(PathBuf, String)> = rels.iter().map(|r| (local(r, dir.path()), r.clone())).collect();
        let df = convert_with_rules(format, &files, &rules).unwrap_or_else(|e| panic!("{format}: {e}"));
        let categories = df.column("x_tco_category").unwrap().str().unwrap();
        assert!(df.height() > 0 && categories.iter().all(|c| c == Some("people")), "{format}");
    }
}
