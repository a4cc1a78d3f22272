//! The `litellm-daily` format (LiteLLM's daily team, user and tag spend tables) on the Northwind
//! fixtures (fixtures/providers/litellm-daily/, written by fixtures/gen_litellm_daily.py, whose
//! `--totals` prints the totals checked here, recomputed with Python decimals from the files), and
//! on bad input.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use polars::prelude::*;
use tally_ledger::frame::{money_at, scan_ledger};
use tally_ledger::Money;
use tally_sources::{convert_to_parquet, detect_format, format_by_name, Input, SourceError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/providers/litellm-daily/2026-10").join(name)
}

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn convert(files: &[PathBuf]) -> Result<DataFrame, SourceError> {
    let f = format_by_name("litellm-daily")?;
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    let inputs: Vec<Input<'_>> = files
        .iter()
        .zip(&names)
        .map(|(path, name)| Input {
            path,
            object: name,
            source: "test",
            category_rules: &[],
            prices: None,
            quantities_only: false,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.parquet");
    convert_to_parquet(f, &inputs, &dest)?;
    Ok(scan_ledger(&[dest]).unwrap().collect().unwrap())
}

fn i64_sum(df: &DataFrame, c: &str, filter: Expr) -> i64 {
    let s = df.clone().lazy().filter(filter).select([col(c).sum()]).collect().unwrap();
    s.column(c).unwrap().cast(&DataType::Int64).unwrap().i64().unwrap().get(0).unwrap_or(0)
}

fn cost(df: &DataFrame, filter: Expr) -> Money {
    let agg = df.clone().lazy().filter(filter).select([col("BilledCost").sum()]).collect().unwrap();
    money_at(&agg, "BilledCost", 0)
}

fn distinct(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let s = df.column(column).unwrap().str().unwrap().unique().unwrap().sort(false);
    (0..s.len()).map(|i| s.get(i).map(str::to_string)).collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

struct Expected {
    rows: usize,
    input: i64,
    cached_input: i64,
    cache_write: i64,
    output: i64,
    requests: i64,
    spend: &'static str,
}

/// Totals, every row's constants, and the whole spend on the `input` rows.
fn check(df: &DataFrame, exp: &Expected) {
    assert_eq!(df.height(), exp.rows, "ledger rows");
    let tt = |t: &str| col("x_token_type").eq(lit(t));
    assert_eq!(i64_sum(df, "x_token_count", tt("input")), exp.input, "input");
    assert_eq!(i64_sum(df, "x_token_count", tt("cached_input")), exp.cached_input, "cached_input");
    assert_eq!(i64_sum(df, "x_token_count", tt("cache_write")), exp.cache_write, "cache_write");
    assert_eq!(i64_sum(df, "x_token_count", tt("output")), exp.output, "output");
    assert_eq!(distinct(df, "x_token_type"), some(&["cache_write", "cached_input", "input", "output"]));
    assert_eq!(i64_sum(df, "x_request_count", lit(true)), exp.requests, "requests");
    assert_eq!(cost(df, lit(true)), m(exp.spend), "spend");
    assert_eq!(cost(df, tt("input")), m(exp.spend), "the spend sits on the input rows");
    assert_eq!(
        df.clone()
            .lazy()
            .filter(tt("input").not().and(col("x_request_count").is_not_null()))
            .collect()
            .unwrap()
            .height(),
        0
    );
    for (c, v) in [
        ("x_billing_month", "2026-10"),
        ("BillingCurrency", "USD"),
        ("x_tco_category", "model_api"),
        ("x_cost_basis", "estimated"),
        ("ChargeCategory", "Usage"),
        ("ConsumedUnit", "Tokens"),
        ("x_source_format", "litellm-daily"),
    ] {
        assert_eq!(distinct(df, c), some(&[v]), "{c}");
    }
    assert_eq!(df.column("x_api_key").unwrap().null_count(), 0);
}

#[test]
fn team_csv_totals_match() {
    let df = convert(&[fixture("daily_team_spend.csv")]).unwrap();
    check(
        &df,
        &Expected {
            rows: 308,
            input: 32_056_381,
            cached_input: 53_402_817,
            cache_write: 746_722,
            output: 13_876_833,
            requests: 51_941,
            spend: "259.11021500000000093",
        },
    );
    assert_eq!(distinct(&df, "x_team"), some(&["cx-ai", "legal-knowledge"]));
    assert_eq!(distinct(&df, "ProviderName"), some(&["AWS", "Anthropic", "Microsoft", "OpenAI"]));
    assert_eq!(distinct(&df, "x_model"), some(&["claude-sonnet-4-5-20250929", "gpt-4.1-2025-04-14"]));
    assert_eq!(df.column("x_user").unwrap().null_count(), df.height());
    assert_eq!(df.column("Tags").unwrap().null_count(), df.height());
    // Row 1 (gpt-4.1 through OpenAI on 1 October): prompt 2,150,240 of which 1,182,629 cache
    // reads; no cache writes, so no cache_write row.
    let first = df.clone().lazy().filter(col("x_source_row").eq(lit(1i64))).collect().unwrap();
    assert_eq!(distinct(&first, "x_token_type"), some(&["cached_input", "input", "output"]));
    assert_eq!(i64_sum(&first, "x_token_count", col("x_token_type").eq(lit("input"))), 2_150_240 - 1_182_629);
    assert_eq!(cost(&first, lit(true)), m("5.213608499999999"));
    let start = first.column("ChargePeriodStart").unwrap().cast(&DataType::String).unwrap();
    let end = first.column("ChargePeriodEnd").unwrap().cast(&DataType::String).unwrap();
    assert!(start.str().unwrap().get(0).unwrap().starts_with("2026-10-01 00:00:00"), "{start:?}");
    assert!(end.str().unwrap().get(0).unwrap().starts_with("2026-10-02 00:00:00"), "{end:?}");
    // The smoke test's spend in E-notation, and the outage day: failed requests, no tokens.
    assert_eq!(cost(&df, col("x_source_row").eq(lit(85i64))), m("0.000064"));
    let outage = df.clone().lazy().filter(col("x_source_row").eq(lit(86i64))).collect().unwrap();
    assert_eq!(outage.height(), 1);
    assert_eq!(i64_sum(&outage, "x_request_count", lit(true)), 3);
    assert_eq!(i64_sum(&outage, "x_token_count", lit(true)), 0);
}

#[test]
fn tag_json_totals_match_and_tags_split_key_value() {
    let df = convert(&[fixture("daily_tag_spend.json")]).unwrap();
    check(
        &df,
        &Expected {
            rows: 56,
            input: 635_072,
            cached_input: 821_793,
            cache_write: 37_694,
            output: 242_627,
            requests: 878,
            spend: "5.93251140000000015",
        },
    );
    assert_eq!(
        distinct(&df, "Tags"),
        some(&[
            r#"{"tag":"project:doc-search","project":"doc-search"}"#,
            r#"{"tag":"project:support-assistant","project":"support-assistant"}"#,
        ])
    );
    assert_eq!(df.column("x_team").unwrap().null_count(), df.height());
}

#[test]
fn user_table_spend_is_read_exactly_through_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("daily_user_spend.csv");
    std::fs::write(
        &p,
        "id,user_id,date,api_key,model,model_group,custom_llm_provider,prompt_tokens,completion_tokens,\
         cache_read_input_tokens,cache_creation_input_tokens,spend,api_requests,successful_requests,failed_requests\n\
         a,alice@northwind.example,2026-10-03,k1,gpt-4.1,gpt-4.1,openai,100,10,40,0,0.1,2,2,0\n\
         b,bob@northwind.example,2026-10-04,k2,,claude-sonnet-4-5,,5,1,,,0.2,1,1,0\n\
         c,bob@northwind.example,2026-10-05,k2,,,vertex_ai,0,0,0,0,1.5E-5,1,0,1\n",
    )
    .unwrap();
    let df = convert(&[p]).unwrap();
    // 0.1 + 0.2 + 0.000015 exactly (in f64, 0.1 + 0.2 is 0.30000000000000004).
    assert_eq!(cost(&df, lit(true)), m("0.300015"));
    assert_eq!(distinct(&df, "x_user"), some(&["alice@northwind.example", "bob@northwind.example"]));
    assert_eq!(distinct(&df, "ProviderName"), some(&["Google", "LiteLLM", "OpenAI"]));
    // Empty cache columns are zero; a missing model falls back to the model group.
    assert_eq!(df.height(), 3 + 2 + 1);
    assert_eq!(distinct(&df, "x_model"), vec![None, Some("claude-sonnet-4-5".into()), Some("gpt-4.1".into())]);
    // The file's header is recognised.
    assert_eq!(detect_format(dir.path().join("daily_user_spend.csv").as_path(), "u").unwrap().name(), "litellm-daily");
}

// ---------------------------------------------------------------- bad input

const HEADER: &str = "team_id,date,api_key,model,custom_llm_provider,prompt_tokens,completion_tokens,\
                      cache_read_input_tokens,cache_creation_input_tokens,spend,api_requests";

fn csv_error(rows: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("daily.csv");
    std::fs::write(&p, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    match convert(&[p]) {
        Ok(df) => panic!("accepted {rows:?}: {df}"),
        Err(e) => {
            assert!(e.is_user_error(), "{e}");
            e.to_string()
        }
    }
}

const GOOD: &str = "cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,40,5,0.5,3";

#[test]
fn bad_values_are_errors_naming_the_object_row_and_column() {
    for (bad, column) in [
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,-100,10,0,0,0.5,3", "prompt_tokens"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10.5,0,0,0.5,3", "completion_tokens"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,90,20,0.5,3", "cache_read_input_tokens"),
        ("cx-ai,2026-10-32,k,gpt-4.1,openai,100,10,0,0,0.5,3", "date"),
        ("cx-ai,01/10/2026,k,gpt-4.1,openai,100,10,0,0,0.5,3", "date"),
        ("cx-ai,,k,gpt-4.1,openai,100,10,0,0,0.5,3", "date"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,0,0,NaN,3", "spend"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,0,0,$0.50,3", "spend"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,0,0,,3", "spend"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,0,0,-0.5,3", "spend"),
        ("cx-ai,2026-10-01,k,gpt-4.1,openai,100,10,0,0,0.5,many", "api_requests"),
    ] {
        let e = csv_error(&[GOOD, bad]);
        assert!(e.starts_with("daily.csv: ") && e.contains("row 2 (line 3)") && e.contains(column), "{bad}: {e}");
    }
    // Cache tokens exactly equal to the prompt tokens are fine (no uncached input).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ok.csv");
    std::fs::write(&p, format!("{HEADER}\ncx-ai,2026-10-01,k,m,openai,100,10,60,40,0.5,3\n")).unwrap();
    let df = convert(&[p]).unwrap();
    assert_eq!(i64_sum(&df, "x_token_count", col("x_token_type").eq(lit("input"))), 0);
}

#[test]
fn json_errors_name_the_record_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tags.json");
    std::fs::write(
        &p,
        r#"{"data": [{"tag": "a", "date": "2026-10-01", "api_key": "k", "spend": 0.1, "prompt_tokens": 1, "completion_tokens": 1, "api_requests": 1},
                     {"tag": "b", "date": "2026-10-01", "api_key": "k", "spend": 0.1, "prompt_tokens": 1, "completion_tokens": 1, "cache_read_input_tokens": -2, "api_requests": 1}]}"#,
    )
    .unwrap();
    let e = convert(&[p]).unwrap_err().to_string();
    assert!(e.starts_with("tags.json: ") && e.contains("record 2") && e.contains("cache_read_input_tokens"), "{e}");
}

#[test]
fn a_csv_without_an_entity_column_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    std::fs::write(&p, "date,api_key,spend,prompt_tokens,completion_tokens\n2026-10-01,k,0.1,1,1\n").unwrap();
    let e = convert(&[p]).unwrap_err().to_string();
    assert!(e.contains("missing mandatory column") && e.contains("team_id"), "{e}");
}

// ---------------------------------------------------------------- detection

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            csv_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv") {
            out.push(p);
        }
    }
}

#[test]
fn detection_stays_unambiguous_on_every_csv_fixture() {
    let mut files = Vec::new();
    csv_files(&root().join("fixtures"), &mut files);
    assert!(files.len() > 5);
    for p in files {
        let rel = p.strip_prefix(root()).unwrap().display().to_string();
        match detect_format(&p, &rel) {
            Ok(f) => assert_eq!(f.name() == "litellm-daily", rel.contains("litellm-daily"), "{rel}: {}", f.name()),
            Err(e @ SourceError::AmbiguousHeader { .. }) => panic!("{e}"),
            Err(_) => {}
        }
    }
    assert_eq!(detect_format(&fixture("daily_team_spend.csv"), "t").unwrap().name(), "litellm-daily");
    // The per-request spend logs stay litellm-spend.
    let spend_logs = root().join("fixtures/providers/litellm-spend/2026-09/spend_logs.csv");
    assert_eq!(detect_format(&spend_logs, "s").unwrap().name(), "litellm-spend");
}
