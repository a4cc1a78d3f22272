//! The provider formats on the Northwind fixtures (fixtures/providers/), checked against the
//! totals fixtures/gen_demo_providers.py computed independently (EXPECTED.json), and on bad input.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;
use tally_ledger::frame::{money_at, scan_ledger, str_at, u64_at};
use tally_ledger::Money;
use tally_pricing::PriceBook;
use tally_sources::{convert_to_parquet, format_by_name, Input, SourceError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn book() -> PriceBook {
    PriceBook::load(&root().join("prices/price-book.toml")).unwrap()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/providers/EXPECTED.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

/// Converts `files` with `format` and returns the ledger frame written.
fn convert(format: &str, files: &[PathBuf], prices: Option<&PriceBook>) -> Result<DataFrame, SourceError> {
    convert_as(format, files, prices, false)
}

/// [`convert`], with the inputs quantities-only or not.
fn convert_as(
    format: &str,
    files: &[PathBuf],
    prices: Option<&PriceBook>,
    quantities_only: bool,
) -> Result<DataFrame, SourceError> {
    let f = format_by_name(format)?;
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let inputs: Vec<Input<'_>> = files
        .iter()
        .zip(&names)
        .map(|(path, name)| Input { path, object: name, source: "test", category_rules: &[], prices, quantities_only })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.parquet");
    convert_to_parquet(f, &inputs, &dest)?;
    Ok(scan_ledger(&[dest]).unwrap().collect().unwrap())
}

struct Totals {
    rows: u64,
    tokens: u64,
    requests: u64,
    cost: Money,
}

fn totals(df: &DataFrame) -> Totals {
    let agg = df
        .clone()
        .lazy()
        .select([
            col("x_token_count").sum().alias("tokens"),
            col("x_request_count").sum().alias("requests"),
            col("BilledCost").sum().alias("cost"),
        ])
        .collect()
        .unwrap();
    Totals {
        rows: df.height() as u64,
        tokens: u64_at(&agg, "tokens", 0),
        requests: u64_at(&agg, "requests", 0),
        cost: money_at(&agg, "cost", 0),
    }
}

fn cost_by_token_type(df: &DataFrame) -> Vec<(String, Money)> {
    let agg = df
        .clone()
        .lazy()
        .group_by([col("x_token_type")])
        .agg([col("BilledCost").sum().alias("cost")])
        .sort(["x_token_type"], Default::default())
        .collect()
        .unwrap();
    (0..agg.height())
        .map(|i| (str_at(&agg, "x_token_type", i).unwrap_or_default(), money_at(&agg, "cost", i)))
        .collect()
}

fn check(format: &str, month: &str, exp: &Value, prices: Option<&PriceBook>) -> DataFrame {
    let files: Vec<PathBuf> = exp["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| root().join("fixtures/providers").join(f.as_str().unwrap()))
        .collect();
    let df = convert(format, &files, prices).unwrap_or_else(|e| panic!("{format} {month}: {e}"));
    let t = totals(&df);
    let ctx = format!("{format} {month}");
    assert_eq!(t.rows, exp["rows"].as_u64().unwrap(), "{ctx}: rows");
    assert_eq!(t.tokens, exp["tokens"].as_u64().unwrap(), "{ctx}: tokens");
    assert_eq!(t.requests, exp["requests"].as_u64().unwrap(), "{ctx}: requests");
    assert_eq!(t.cost, m(exp["cost"].as_str().unwrap()), "{ctx}: cost");
    if let Some(by) = exp["cost_by_token_type"].as_object().filter(|o| !o.is_empty()) {
        let want: Vec<(String, Money)> = by.iter().map(|(k, v)| (k.clone(), m(v.as_str().unwrap()))).collect();
        assert_eq!(cost_by_token_type(&df), want, "{ctx}: cost by token type");
    }
    // Every row: one billing month, USD, the model API category.
    let months = df.column("x_billing_month").unwrap().str().unwrap().unique().unwrap();
    assert_eq!(months.len(), 1, "{ctx}");
    assert_eq!(months.get(0), Some(month), "{ctx}");
    for (c, v) in [("BillingCurrency", "USD"), ("x_tco_category", "model_api"), ("ChargeCategory", "Usage")] {
        let u = df.column(c).unwrap().str().unwrap().unique().unwrap();
        assert_eq!((u.len(), u.get(0)), (1, Some(v)), "{ctx}: {c}");
    }
    df
}

fn each_month(format: &str, prices: Option<&PriceBook>) -> Vec<DataFrame> {
    let exp = expected();
    ["2026-09", "2026-10"].iter().map(|month| check(format, month, &exp["formats"][format][month], prices)).collect()
}

fn distinct(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let s = df.column(column).unwrap().str().unwrap().unique().unwrap().sort(false);
    (0..s.len()).map(|i| s.get(i).map(str::to_string)).collect()
}

#[test]
fn openai_usage_totals_match() {
    let b = book();
    let frames = each_month("openai-usage", Some(&b));
    let oct = &frames[1];
    assert_eq!(distinct(oct, "x_cost_basis"), [Some("estimated".to_string())]);
    assert_eq!(
        distinct(oct, "x_service_tier"),
        [None, Some("batch".to_string()), Some("default".to_string())],
        "null where the export has no tier (embeddings), batch for batch rows"
    );
    // Null dimensions stay null: doc-search has no API key in the export.
    let keys = distinct(oct, "x_api_key");
    assert!(keys.contains(&None) && keys.contains(&Some("key_support_prod".to_string())), "{keys:?}");
    assert_eq!(distinct(oct, "BillingAccountId"), [Some("openai-usage".to_string())]);
    // Estimated usage equals the billed Costs API for the same month, to the digit.
    let exp = expected();
    for month in ["2026-09", "2026-10"] {
        assert_eq!(
            exp["formats"]["openai-usage"][month]["cost"], exp["formats"]["openai-costs"][month]["cost"],
            "{month}"
        );
    }
}

#[test]
fn openai_costs_totals_match() {
    let frames = each_month("openai-costs", None);
    let oct = &frames[1];
    assert_eq!(distinct(oct, "x_cost_basis"), [Some("billed".to_string())]);
    assert!(distinct(oct, "x_token_type").contains(&Some("batch_input".to_string())));
    assert!(distinct(oct, "PricingUnit").contains(&Some("Seconds".to_string())));
}

#[test]
fn openai_dashboard_totals_match() {
    let exp = expected();
    let b = book();
    for month in ["2026-09", "2026-10"] {
        check("openai-dashboard", month, &exp["formats"]["openai-dashboard"][month]["cost_export"], None);
    }
    let df = check(
        "openai-dashboard",
        "2026-10",
        &exp["formats"]["openai-dashboard"]["2026-10"]["activity_export"],
        Some(&b),
    );
    assert_eq!(distinct(&df, "x_service_tier"), [Some("batch".to_string()), Some("default".to_string())]);
}

#[test]
fn anthropic_usage_totals_match() {
    let b = book();
    let frames = each_month("anthropic-usage", Some(&b));
    let oct = &frames[1];
    let types = distinct(oct, "x_token_type");
    for t in ["input", "cached_input", "cache_write_5m", "cache_write_1h", "output", "web_search"] {
        assert!(types.contains(&Some(t.to_string())), "{t}: {types:?}");
    }
    // The default workspace: SubAccountId "default", x_workspace null.
    assert!(distinct(oct, "SubAccountId").contains(&Some("default".to_string())));
    assert!(distinct(oct, "x_workspace").contains(&None));
}

#[test]
fn anthropic_costs_totals_match() {
    let frames = each_month("anthropic-costs", None);
    // Usage priced from the book equals the cost report (cents / 100), to the digit.
    let exp = expected();
    for month in ["2026-09", "2026-10"] {
        assert_eq!(
            exp["formats"]["anthropic-usage"][month]["cost"], exp["formats"]["anthropic-costs"][month]["cost"],
            "{month}"
        );
    }
    assert!(distinct(&frames[0], "x_token_type").contains(&Some("web_search".to_string())));
}

#[test]
fn litellm_spend_totals_match() {
    let frames = each_month("litellm-spend", None);
    for df in &frames {
        assert_eq!(distinct(df, "ProviderName"), [Some("Anthropic".to_string()), Some("OpenAI".to_string())]);
        assert!(distinct(df, "x_team").contains(&None), "null team stays null");
        let tags = distinct(df, "Tags");
        assert!(tags.contains(&Some(r#"{"project":"doc-search","env":"prod"}"#.to_string())), "{tags:?}");
    }
}

// ---------------------------------------------------------------- bad input

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn error(format: &str, name: &str, text: &str, prices: Option<&PriceBook>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, text);
    match convert(format, &[p], prices) {
        Ok(df) => panic!("{format}: accepted {text}: {df}"),
        Err(e) => {
            assert!(e.is_user_error(), "{e}");
            e.to_string()
        }
    }
}

const OPENAI_PAGE: &str = r#"{"object": "page", "data": [{"object": "bucket", "start_time": 1790812800, "end_time": 1790899200,
  "results": [{"object": "organization.usage.completions.result", "input_tokens": 1000, "input_cached_tokens": 400,
  "output_tokens": 100, "num_model_requests": 2, "project_id": null, "user_id": null, "api_key_id": null,
  "model": "MODEL", "batch": BATCH, "service_tier": null}]}], "has_more": false, "next_page": null}"#;

fn openai_page(model: &str, batch: bool) -> String {
    OPENAI_PAGE.replace("MODEL", model).replace("BATCH", if batch { "true" } else { "false" })
}

#[test]
fn openai_usage_prices_cached_tokens_once_and_batch_at_the_batch_rate() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.json", &openai_page("gpt-4o-2024-08-06", false));
    let df = convert("openai-usage", &[p], Some(&b)).unwrap();
    // input 1000 − 400 cached = 600 × $2.50/M = $0.0015; cached 400 × $1.25/M = $0.0005; output
    // 100 × $10/M = $0.001. Requests only on the input row. Null dimensions stay null.
    assert_eq!(
        cost_by_token_type(&df),
        [
            ("cached_input".to_string(), m("0.0005")),
            ("input".to_string(), m("0.0015")),
            ("output".to_string(), m("0.001"))
        ]
    );
    let t = totals(&df);
    assert_eq!((t.rows, t.tokens, t.requests), (3, 1100, 2));
    assert_eq!(df.column("x_request_count").unwrap().null_count(), 2);
    for c in ["SubAccountId", "x_workspace", "x_api_key", "x_user", "x_service_tier"] {
        assert_eq!(df.column(c).unwrap().null_count(), 3, "{c}");
    }
    let p = write(dir.path(), "b.json", &openai_page("gpt-4o", true));
    let df = convert("openai-usage", &[p], Some(&b)).unwrap();
    // Batch: half of each: 0.00075 + 0.00025 + 0.0005.
    assert_eq!(totals(&df).cost, m("0.0015"));
    assert_eq!(distinct(&df, "x_service_tier"), [Some("batch".to_string())]);
}

#[test]
fn a_page_without_data_is_an_error_naming_the_object() {
    let b = book();
    let e = error("openai-usage", "p.json", r#"{"object": "page", "has_more": false}"#, Some(&b));
    assert!(e.contains("p.json") && e.contains("page 1") && e.contains("no `data`"), "{e}");
    let e = error("anthropic-costs", "c.ndjson", "{\"data\": []}\n{\"has_more\": false}\n", None);
    assert!(e.contains("c.ndjson") && e.contains("line 2") && e.contains("no `data`"), "{e}");
    let e = error("openai-costs", "x.json", "not json", None);
    assert!(e.contains("x.json") && e.contains("not valid JSON"), "{e}");
}

#[test]
fn negative_tokens_are_an_error_naming_the_bucket_and_result() {
    let b = book();
    let text = openai_page("gpt-4o", false).replace("\"output_tokens\": 100", "\"output_tokens\": -5");
    let e = error("openai-usage", "n.json", &text, Some(&b));
    assert!(
        e.contains("n.json") && e.contains("bucket 1, result 1") && e.contains("`output_tokens` is negative"),
        "{e}"
    );
    // Cached tokens above the input tokens: the counts contradict each other.
    let text = openai_page("gpt-4o", false).replace("\"input_cached_tokens\": 400", "\"input_cached_tokens\": 4000");
    let e = error("openai-usage", "c.json", &text, Some(&b));
    assert!(e.contains("bucket 1, result 1") && e.contains("negative"), "{e}");
    let anthropic = r#"{"data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": [
        {"uncached_input_tokens": 10, "cache_read_input_tokens": -1, "output_tokens": 1, "model": "claude-haiku-4-5"}]}]}"#;
    let e = error("anthropic-usage", "a.json", anthropic, Some(&b));
    assert!(e.contains("a.json") && e.contains("bucket 1, result 1") && e.contains("cache_read_input_tokens"), "{e}");
}

#[test]
fn an_unknown_quantity_unit_is_an_error() {
    let text = r#"{"object": "page", "data": [{"object": "bucket", "start_time": 1790812800, "end_time": 1790899200,
      "results": [{"object": "organization.costs.result", "amount": {"value": 1.5, "currency": "usd"},
      "line_item": "x, input", "project_id": null, "quantity": 3, "quantity_unit": "furlongs"}]}]}"#;
    let e = error("openai-costs", "u.json", text, None);
    assert!(e.contains("u.json") && e.contains("result 1") && e.contains("unknown quantity_unit `furlongs`"), "{e}");
}

#[test]
fn a_model_missing_from_the_price_book_is_an_error_naming_it() {
    let b = book();
    let e = error("openai-usage", "m.json", &openai_page("gpt-9-turbo", false), Some(&b));
    assert!(e.contains("m.json") && e.contains("bucket 1, result 1") && e.contains("gpt-9-turbo"), "{e}");
}

#[test]
fn a_quantities_only_source_keeps_the_tokens_of_an_unpriced_model_with_no_estimate() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "q.json", &openai_page("gpt-9-turbo", false));
    let df = convert_as("openai-usage", &[p], Some(&b), true).unwrap();
    // 1000 input tokens of which 400 cached, 100 output: three rows, all kept, none priced.
    let t = totals(&df);
    assert_eq!((t.rows, t.tokens, t.requests, t.cost), (3, 1100, 2, Money::ZERO));
    for i in 0..df.height() {
        assert_eq!(str_at(&df, "x_cost_basis", i).as_deref(), Some("unpriced"));
        assert_eq!(str_at(&df, "x_model", i).as_deref(), Some("gpt-9-turbo"));
    }
    assert_eq!(df.column("x_estimated_cost").unwrap().null_count(), 3);
    // A known model in the same export still gets its estimate.
    let p = write(dir.path(), "k.json", &openai_page("gpt-4o", false));
    let df = convert_as("openai-usage", &[p], Some(&b), true).unwrap();
    assert_eq!(df.column("x_estimated_cost").unwrap().null_count(), 0);
    assert!((0..df.height()).all(|i| str_at(&df, "x_cost_basis", i).as_deref() == Some("quantities")));
}

#[test]
fn usage_formats_need_a_price_book() {
    let e = error("openai-usage", "n.json", &openai_page("gpt-4o", false), None);
    assert!(e.contains("needs a price book") && e.contains("openai-usage"), "{e}");
    let e = error("anthropic-usage", "n.json", r#"{"data": []}"#, None);
    assert!(e.contains("needs a price book"), "{e}");
}

#[test]
fn anthropic_cost_amounts_are_cents() {
    let text = r#"{"data": [{"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z", "results": [
      {"currency": "USD", "amount": "123.78912", "workspace_id": "wrkspc_1", "description": "Claude Sonnet 4.5 Usage - Input Tokens",
       "cost_type": "tokens", "context_window": "0-200k", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard",
       "token_type": "uncached_input_tokens"},
      {"currency": "USD", "amount": "12", "workspace_id": null, "description": "Web Search Usage", "cost_type": "web_search",
       "context_window": null, "model": null, "service_tier": null, "token_type": null}]}], "has_more": false}"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "c.json", text);
    let df = convert("anthropic-costs", &[p], None).unwrap();
    assert_eq!(money_at(&df, "BilledCost", 0), m("1.2378912"));
    assert_eq!(money_at(&df, "BilledCost", 1), m("0.12"));
    assert_eq!(str_at(&df, "x_token_type", 0).as_deref(), Some("input"));
    assert_eq!(str_at(&df, "x_token_type", 1).as_deref(), Some("web_search"));
    assert_eq!(str_at(&df, "SubAccountId", 1).as_deref(), Some("default"));
    assert_eq!(str_at(&df, "x_workspace", 1), None);
    assert_eq!(str_at(&df, "x_model", 1), None);
    assert_eq!(str_at(&df, "x_billing_month", 0).as_deref(), Some("2026-11"));
    let e = error("anthropic-costs", "p.json", &text.replace("123.78912", "1.00000000000000001"), None);
    assert!(e.contains("result 1") && e.contains("cents"), "{e}");
}

#[test]
fn dashboard_quirks_counts_with_decimals_batch_false_and_idle_rows() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let activity = "start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,model,batch,service_tier,input_tokens,output_tokens,input_cached_tokens\n\
        1790812800,1790899200,2026-10-01T00:00:00+00:00,2026-10-02T00:00:00+00:00,proj_a,10.0,,,gpt-4o-2024-08-06,FALSE,default,59200.0,10646.0,5760.0\n\
        1790899200,1790985600,2026-10-02T00:00:00+00:00,2026-10-03T00:00:00+00:00,,,,,,,,,,\n";
    let p = write(dir.path(), "activity.csv", activity);
    let df = convert("openai-dashboard", &[p], Some(&b)).unwrap();
    let t = totals(&df);
    // 53,440 × 2.5 + 5,760 × 1.25 + 10,646 × 10 per 1M = 0.1336 + 0.0072 + 0.10646.
    assert_eq!((t.rows, t.tokens, t.requests), (3, 59200 + 10646, 10));
    assert_eq!(t.cost, m("0.24726"));
    let bad = activity.replace("10.0,", "10.5,");
    let e = error("openai-dashboard", "bad.csv", &bad, Some(&b));
    assert!(e.contains("row 1") && e.contains("num_model_requests") && e.contains("whole number"), "{e}");
    let cost = "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,project_id,organization_id,organization_name\n\
        1759622400,1759708800,2025-10-05T00:00:00+00:00,2025-10-06T00:00:00+00:00,0.8958740000000000,usd,,,org-1,Personal\n\
        1759968000,1760054400,2025-10-09T00:00:00+00:00,2025-10-10T00:00:00+00:00,,,,,,\n";
    let p = write(dir.path(), "cost.csv", cost);
    let df = convert("openai-dashboard", &[p], None).unwrap();
    assert_eq!(df.height(), 1);
    assert_eq!(money_at(&df, "BilledCost", 0), m("0.895874"));
    assert_eq!(str_at(&df, "BillingAccountId", 0).as_deref(), Some("org-1"));
    assert_eq!(str_at(&df, "BillingAccountName", 0).as_deref(), Some("Personal"));
    assert_eq!(str_at(&df, "SubAccountId", 0), None);
    let e = error("openai-dashboard", "c.csv", &cost.replace(",,,,,,\n", ",,,proj_x,,\n"), None);
    assert!(e.contains("row 2") && e.contains("amount_value"), "{e}");
}

#[test]
fn litellm_spend_is_read_through_its_text_never_a_float() {
    let text = r#"[{"request_id": "r1", "spend": 0.1, "prompt_tokens": 1, "completion_tokens": 2, "startTime": "2026-10-01T09:48:01.786Z",
      "model": "m", "custom_llm_provider": "azure", "request_tags": ["a:b", "c"]},
      {"request_id": "r2", "spend": 0.2, "prompt_tokens": 1, "completion_tokens": 2, "startTime": "2026-10-01 09:48:01.786",
      "model": "m", "custom_llm_provider": null, "team_id": "t"}]"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.json", text);
    let df = convert("litellm-spend", &[p], None).unwrap();
    // 0.1 + 0.2 is exactly 0.3 (in f64 it would be 0.30000000000000004).
    assert_eq!(totals(&df).cost, m("0.3"));
    assert_eq!(distinct(&df, "ProviderName"), [Some("LiteLLM".to_string()), Some("Microsoft".to_string())]);
    assert_eq!(str_at(&df, "Tags", 0).as_deref(), Some(r#"{"a":"b","c":""}"#));
    assert_eq!(str_at(&df, "Tags", 1), None);
    let e = error("litellm-spend", "n.json", &text.replace("\"prompt_tokens\": 1,", "\"prompt_tokens\": -1,"), None);
    assert!(e.contains("record 1") && e.contains("prompt_tokens"), "{e}");
}

#[test]
fn csv_exports_are_detected_from_their_header() {
    for (file, format) in [
        ("openai-dashboard/2026-09/cost_export.csv", "openai-dashboard"),
        ("openai-dashboard/2026-10/activity_export.csv", "openai-dashboard"),
        ("litellm-spend/2026-09/spend_logs.csv", "litellm-spend"),
    ] {
        let p = root().join("fixtures/providers").join(file);
        let f = tally_sources::detect_format(&p, file).unwrap();
        assert_eq!(f.name(), format, "{file}");
    }
}
