//! FOCUS ingest: every fixture keeps its exact totals; the ledger round-trips; the demo ties out.

use polars::prelude::*;
use tally_ledger::schema::ledger_schema;
use tally_ledger::Money;

use crate::support::*;

const COSTS: [&str; 4] = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"];

#[test]
fn every_fixture_converts_with_exact_totals() {
    let expected = expected();
    let files = expected["files"].as_object().unwrap_or_else(|| panic!("EXPECTED.json has no files"));
    assert!(files.len() >= 4);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (rel, want) in files {
        let out = dir.path().join(format!("{}.parquet", rel.replace('/', "_")));
        let input = root().join("fixtures/focus").join(rel);
        ok(tally(&["convert", "--from", "focus", "-o", &out.to_string_lossy(), &input.to_string_lossy()]));
        let df = read_parquet(&[out]);
        assert_eq!(df.height() as u64, want["rows"].as_u64().unwrap_or(0), "{rel}: rows");
        for c in COSTS {
            let got = sums(&df, c, &[]).into_values().next().unwrap_or(Money::ZERO);
            assert_eq!(got, money(want[c].as_str().unwrap_or("")), "{rel}: Σ {c}");
        }
    }
}

#[test]
fn ledger_has_the_ledger_schema_and_round_trips_through_the_focus_reader() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = dir.path().join("first.parquet");
    let second = dir.path().join("second.parquet");
    let input = root().join("fixtures/focus/azure");
    ok(tally(&["convert", "--from", "focus", "-o", &first.to_string_lossy(), &input.to_string_lossy()]));
    // The ledger is FOCUS plus x_ columns, so tally reads its own output as FOCUS.
    ok(tally(&["convert", "--from", "focus", "-o", &second.to_string_lossy(), &first.to_string_lossy()]));
    let a = read_parquet(&[first]);
    let b = read_parquet(&[second]);
    let schema = ledger_schema();
    assert_eq!(a.schema().as_ref().clone(), schema, "ledger schema");
    assert_eq!(b.schema().as_ref().clone(), schema);
    let focus: Vec<&str> = schema.iter_names().map(|n| n.as_str()).filter(|n| !n.starts_with("x_")).collect();
    let keep = |df: &DataFrame| df.select(focus.iter().copied()).unwrap_or_else(|e| panic!("{e}"));
    assert!(keep(&a).equals_missing(&keep(&b)), "FOCUS columns survive a round trip unchanged");
}

#[test]
fn demo_run_ties_out_to_the_source_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let stdout = ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy()]));
    assert!(stdout.contains("2026-09") && stdout.contains("2026-10"), "{stdout}");
    let expected = expected();
    for month in ["2026-09", "2026-10"] {
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("reports/{month}/summary.json"))).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let m = |k: &str| money(summary[k].as_str().unwrap_or_else(|| panic!("{k} missing")));
        assert_eq!(m("ingested_total"), m("allocated_total") + m("unallocated_total"), "{month}");
        let (mut effective, mut billed) = (Money::ZERO, Money::ZERO);
        for row in expected["by_provider_month_currency"].as_array().into_iter().flatten() {
            if row["billing_month"] == month {
                effective += money(row["EffectiveCost"].as_str().unwrap_or(""));
                billed += money(row["BilledCost"].as_str().unwrap_or(""));
            }
        }
        // The cloud sources tie out to the exports; with people, vendors and one-time costs
        // they make up the whole ingested total.
        let sources = summary["sources"].as_array().unwrap_or_else(|| panic!("sources"));
        let of = |names: &[&str], k: &str| -> Money {
            sources
                .iter()
                .filter(|s| names.contains(&s["source"].as_str().unwrap_or("")))
                .map(|s| money(s[k].as_str().unwrap_or("")))
                .sum()
        };
        assert_eq!(of(&["aws", "azure"], "effective_cost"), effective, "{month}: Σ EffectiveCost of the exports");
        assert_eq!(of(&["aws", "azure"], "billed_cost"), billed, "{month}: Σ BilledCost of the exports");
        let all: Vec<&str> = sources.iter().filter_map(|s| s["source"].as_str()).collect();
        assert_eq!(
            all,
            [
                "anthropic-costs",
                "anthropic-usage",
                "aws",
                "azure",
                "one-time",
                "openai-costs",
                "openai-usage",
                "people",
                "vendors"
            ]
        );
        // Usage exports are quantities only: the cost exports are the bill.
        assert_eq!(of(&["openai-usage", "anthropic-usage"], "effective_cost"), Money::ZERO);
        assert_eq!(m("ingested_total"), of(&all, "effective_cost"), "{month}: TCO = Σ EffectiveCost of every source");
        assert_eq!(m("billed_total"), of(&all, "billed_cost"));
        let projects: Money = summary["projects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| money(p["tco_total"].as_str().unwrap_or("")))
            .sum();
        assert_eq!(projects, m("allocated_total"));
        for p in summary["projects"].as_array().into_iter().flatten() {
            let cats: Money =
                p["by_category"].as_object().into_iter().flatten().map(|(_, v)| money(v.as_str().unwrap_or(""))).sum();
            assert_eq!(cats, money(p["tco_total"].as_str().unwrap_or("")), "{month} {}", p["project"]);
        }
    }
    // The ledger is hive-partitioned by billing month and opens as a dataset.
    let lf = LazyFrame::scan_parquet(
        PlRefPath::new(out.join("ledger").to_string_lossy().as_ref()),
        ScanArgsParquet { hive_options: HiveOptions::new_enabled(), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let df = lf
        .group_by([col("billing_month")])
        .agg([
            len().alias("n"),
            (col("x_billing_month").eq(col("billing_month").cast(DataType::String))).all(true).alias("same"),
        ])
        .sort(["billing_month"], Default::default())
        .collect()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(df.height(), 12, "two months of bills, one-time costs amortised over 12 months: {df}");
    assert!(df.column("same").ok().and_then(|c| c.bool().ok().map(|b| b.all())).unwrap_or(false), "{df}");
}

#[test]
fn projects_from_tags_match_the_fixture_totals() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixtures = root().join("fixtures/focus");
    let aws = fixtures.join("aws");
    let azure = fixtures.join("azure");
    let pipeline = write_pipeline(
        dir.path(),
        &[("aws", "focus", &aws.to_string_lossy()), ("azure", "focus", &azure.to_string_lossy())],
        "out",
        DEMO_RULES,
    );
    ok(tally(&["run", &pipeline.to_string_lossy()]));
    let expected = expected();
    for row in expected["by_month_project"].as_array().into_iter().flatten() {
        let month = row["billing_month"].as_str().unwrap_or("");
        let project = row["project"].as_str().unwrap_or("");
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("out/reports/{month}/summary.json")))
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got = if project.is_empty() {
            summary["unallocated_total"].as_str().map(money)
        } else {
            summary["projects"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["project"] == project)
                .and_then(|p| p["tco_total"].as_str().map(money))
        };
        assert_eq!(got, Some(money(row["EffectiveCost"].as_str().unwrap_or(""))), "{month} {project}");
    }
}
