//! Rendered reports on a fixed month: snapshots of every file, autoescaping of untrusted names,
//! the XLSX workbook reopened, the CSV journal tied out, templates from a directory.
//!
//! Snapshots live in `tests/snapshots/`; regenerate them with
//! `TALLY_UPDATE_SNAPSHOTS=1 cargo test -p tally-report --test reports` and review the diff.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use polars::prelude::*;
use tally_allocate::Project;
use tally_ledger::frame::{month_start_micros, RowsBuilder};
use tally_ledger::layout::BillingMonth;
use tally_ledger::schema::{X_MODEL, X_PROJECT, X_TCO_CATEGORY, X_TOKEN_COUNT, X_TOKEN_TYPE};
use tally_ledger::{Money, TcoCategory};
use tally_report::render::{render_month, MonthInputs, RenderedMonth};
use tally_report::{CostMeasure, MonthPoint, ProjectLine, ReportError, ReportOptions, Summary, ValueMetrics};

fn m(s: &str) -> Money {
    Money::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn month(s: &str) -> BillingMonth {
    BillingMonth::parse(s).unwrap()
}

fn project(name: &str, bu: &str, cc: &str, gl: &str, budget: &str) -> Project {
    Project {
        name: name.into(),
        business_unit: bu.into(),
        cost_center: Some(cc.into()),
        gl_account: Some(gl.into()),
        monthly_budget: Some(m(budget)),
    }
}

fn projects() -> Vec<Project> {
    vec![
        project("doc-search", "Legal & Knowledge", "CC-2300", "6420-AI-SERVICES", "30000"),
        project("fraud-scoring", "Risk", "CC-5200", "6430-ML-PLATFORM", "50000"),
        project("support-assistant", "Customer Service", "CC-4100", "6420-AI-SERVICES", "45000"),
    ]
}

fn by_category(values: [&str; 5]) -> BTreeMap<&'static str, Money> {
    TcoCategory::ALL.iter().zip(values).map(|(c, v)| (c.as_str(), m(v))).collect()
}

fn line(name: &str, bu: &str, direct: [&str; 5], shared: [&str; 5]) -> ProjectLine {
    let d: Money = direct.iter().map(|v| m(v)).sum();
    let s: Money = shared.iter().map(|v| m(v)).sum();
    let cats = TcoCategory::ALL.iter().enumerate().map(|(i, c)| (c.as_str(), m(direct[i]) + m(shared[i]))).collect();
    ProjectLine {
        project: name.into(),
        business_unit: bu.into(),
        tco_total: d + s,
        direct_total: d,
        shared_total: s,
        by_category: cats,
    }
}

/// October 2026 of a small organisation: amounts with sub-cent digits (cloud line items carry
/// them), a credit, a project over budget.
fn summary_with(names: [&str; 3], bus: [&str; 3]) -> Summary {
    let projects = vec![
        line(
            names[0],
            bus[0],
            ["2129.678718498439503", "0", "1381.5530762038693409", "9350", "0"],
            ["0", "1982.05", "0", "0", "1180.92"],
        ),
        line(
            names[1],
            bus[1],
            ["0", "14504.370422857", "2476.456357018501", "50866.6", "-120.005"],
            ["0", "24552.000000114", "0", "0", "1331.755"],
        ),
        line(
            names[2],
            bus[2],
            ["21012.6098576", "4624.519245", "6425.940444354178", "8681.4", "0"],
            ["0", "0", "0", "0", "3152.5360642398403777"],
        ),
    ];
    let mut allocated = Money::ZERO;
    let mut cats = by_category(["0", "0", "0", "0", "0"]);
    for p in &projects {
        allocated += p.tco_total;
        for (k, v) in &p.by_category {
            *cats.entry(k).or_default() += *v;
        }
    }
    let unallocated = by_category(["76.232208", "60.4864", "0", "10122", "0"]);
    let un_total: Money = unallocated.values().copied().sum();
    for (k, v) in &unallocated {
        *cats.entry(k).or_default() += *v;
    }
    Summary {
        billing_month: month("2026-10"),
        currency: "USD".into(),
        cost_measure: "EffectiveCost",
        ingested_total: allocated + un_total,
        allocated_total: allocated,
        unallocated_total: un_total,
        billed_total: m("144187.7027937718682216"),
        rows: 417,
        by_category: cats,
        projects,
        unallocated,
        pools: vec![tally_report::PoolLine {
            pool: "gpu-cluster".into(),
            pooled_total: m("24552.000000114"),
            received_total: Money::ZERO,
            to_projects: m("24552.000000114"),
            to_pools: Money::ZERO,
            unallocated: Money::ZERO,
        }],
        sources: vec![tally_report::SourceLine {
            source: "aws".into(),
            rows: 417,
            billed_cost: m("144187.7027937718682216"),
            effective_cost: m("163791.1027937718682216"),
        }],
        fx: vec![],
        drift: vec![],
        other_currencies: vec![],
    }
}

fn summary() -> Summary {
    summary_with(
        ["doc-search", "fraud-scoring", "support-assistant"],
        ["Legal & Knowledge", "Risk", "Customer Service"],
    )
}

/// History: August (before fraud scoring started) and September, as published `summary.json`
/// text (September with usage, shares and the support assistant's metered lines: its 30 days of
/// Sonnet input and output in the frame below).
fn history() -> Vec<MonthPoint> {
    let aug = r#"{"billing_month":"2026-08","currency":"USD","ingested_total":"150000.00","allocated_total":"140000.00",
        "projects":[{"project":"doc-search","tco_total":"14000.00"},{"project":"support-assistant","tco_total":"36000.00"}]}"#;
    let sep = r#"{"billing_month":"2026-09","currency":"USD","ingested_total":"159125.7685621158625902",
        "allocated_total":"148879.58","cost_measure":"EffectiveCost","rows":400,
        "projects":[{"project":"doc-search","business_unit":"Legal & Knowledge","tco_total":"15496.835354749381042","shared_total":"3100.00"},
        {"project":"fraud-scoring","tco_total":"93705.190495513391","shared_total":"25000.00"},
        {"project":"support-assistant","tco_total":"39677.5584118530905482","shared_total":"3000.00"}],
        "report":{"usage":{"support-assistant":{"tokens":"9000000000","input_tokens":"4000000000",
        "cached_tokens":"4000000000","output_tokens":"1000000000","requests":0}},
        "fx_rates":{},
        "usage_lines":{"support-assistant":[
          {"category":"model_api","item":"claude sonnet 4.5 input","unit":"tokens","quantity":"3990000000","cost":"12055.50"},
          {"category":"model_api","item":"claude sonnet 4.5 output","unit":"tokens","quantity":"450000000","cost":"6750.00"}]}}}"#;
    vec![
        MonthPoint::from_json("2026-09/summary.json", sep.as_bytes()).unwrap(),
        MonthPoint::from_json("2026-08/summary.json", aug.as_bytes()).unwrap(),
    ]
}

/// (micros, month, project, provider, description, token type, cost, tokens, commitment status)
type Row = (
    i64,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<i64>,
    &'static str,
);

/// The allocation frame: daily Bedrock usage of the support assistant in September and
/// October (a spike on 2026-10-15), its cache reads and a cheaper model, Azure OpenAI usage of
/// doc-search, and an unused reservation in a pool.
fn allocation() -> LazyFrame {
    let day = 86_400_000_000i64;
    let mut rows: Vec<Row> = Vec::new();
    // (micros, month, project, provider, description, token_type, cost, tokens, status)
    let sep = month_start_micros(month("2026-09"));
    let oct = month_start_micros(month("2026-10"));
    let costs_sep =
        ["400.10", "410.20", "395.30", "402.40", "405.50", "398.60", "401.70", "399.80", "404.90", "400.00"];
    for d in 0..30i64 {
        let c = costs_sep[(d % 10) as usize];
        rows.push((
            sep + d * day,
            "2026-09",
            Some("support-assistant"),
            "AWS",
            "Claude Sonnet 4.5 input tokens",
            Some("input"),
            c,
            Some(133_000_000),
            "",
        ));
        rows.push((
            sep + d * day,
            "2026-09",
            Some("support-assistant"),
            "AWS",
            "Claude Sonnet 4.5 output tokens",
            Some("output"),
            "225.00",
            Some(15_000_000),
            "",
        ));
    }
    for d in 0..31i64 {
        let c = if d == 14 { "1650.00" } else { costs_sep[(d % 10) as usize] };
        rows.push((
            oct + d * day,
            "2026-10",
            Some("support-assistant"),
            "AWS",
            "Claude Sonnet 4.5 input tokens",
            Some("input"),
            c,
            Some(133_000_000),
            "",
        ));
        rows.push((
            oct + d * day,
            "2026-10",
            Some("support-assistant"),
            "AWS",
            "Claude Sonnet 4.5 cache read input tokens",
            Some("cached_input"),
            "58.50",
            Some(195_000_000),
            "",
        ));
        rows.push((
            oct + d * day,
            "2026-10",
            Some("support-assistant"),
            "AWS",
            "Claude Sonnet 4.5 output tokens",
            Some("output"),
            "225.00",
            Some(15_000_000),
            "",
        ));
        rows.push((
            oct + d * day,
            "2026-10",
            Some("support-assistant"),
            "AWS",
            "Claude Haiku 4.5 input tokens",
            Some("input"),
            "10.00",
            Some(10_000_000),
            "",
        ));
        rows.push((
            oct + d * day,
            "2026-10",
            Some("doc-search"),
            "Microsoft",
            "gpt-4.1-Inp-glbl Tokens",
            None,
            "52.56",
            Some(26_280_000),
            "",
        ));
    }
    rows.push((oct, "2026-10", None, "AWS", "Reserved instance g5.2xlarge unused", None, "312.48", None, "Unused"));
    let n = rows.len();
    let text = |f: &dyn Fn(&Row) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let lf = RowsBuilder::new(n)
        .time("ChargePeriodStart", rows.iter().map(|r| Some(r.0)).collect())
        // Daily usage; the unused reservation is a monthly charge (not daily spend).
        .time("ChargePeriodEnd", rows.iter().map(|r| Some(r.0 + if r.8.is_empty() { day } else { 31 * day })).collect())
        .text("x_billing_month", text(&|r| Some(r.1.to_string())))
        .text(X_PROJECT, text(&|r| r.2.map(str::to_string)))
        .text("ProviderName", text(&|r| Some(r.3.to_string())))
        .text("ChargeDescription", text(&|r| Some(r.4.to_string())))
        .text(X_TOKEN_TYPE, text(&|r| r.5.map(str::to_string)))
        .money("EffectiveCost", rows.iter().map(|r| Some(m(r.6))).collect())
        .money("BilledCost", rows.iter().map(|r| Some(m(r.6))).collect())
        .int(X_TOKEN_COUNT, rows.iter().map(|r| r.7).collect())
        .text("CommitmentDiscountStatus", text(&|r| (!r.8.is_empty()).then(|| r.8.to_string())))
        .text("CommitmentDiscountName", text(&|r| (!r.8.is_empty()).then(|| "ri-g5-2xlarge-1yr".to_string())))
        .text(X_MODEL, text(&|r| if r.4.starts_with("gpt") { Some("gpt-4.1".to_string()) } else { None }))
        .text(X_TCO_CATEGORY, text(&|r| Some(if r.7.is_some() { "model_api" } else { "compute" }.to_string())))
        .text("x_pool", text(&|r| if r.2.is_none() { Some("gpu-cluster".to_string()) } else { None }))
        .constant("BillingCurrency", "USD")
        .constant("ChargeCategory", "Usage")
        .build()
        .unwrap();
    let roles: Vec<&str> = rows.iter().map(|r| if r.2.is_some() { "direct" } else { "pooled" }).collect();
    lf.with_column(lit(Series::new("x_allocation_role".into(), roles)).alias("x_allocation_role"))
}

fn value_metrics() -> ValueMetrics {
    let text = std::fs::read_to_string(fixture("value/value-metrics.csv")).unwrap();
    let months: BTreeSet<BillingMonth> = ["2026-08", "2026-09", "2026-10"].iter().map(|s| month(s)).collect();
    ValueMetrics::parse("fixtures/value/value-metrics.csv", &text, &projects(), &months).unwrap()
}

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel)
}

fn render(summary: &Summary, templates: Option<&std::path::Path>) -> Result<RenderedMonth, ReportError> {
    let history = history();
    let value = value_metrics();
    let projects = projects();
    let options = ReportOptions::default();
    render_month(MonthInputs {
        summary,
        history: &history,
        projects: &projects,
        allocation: allocation(),
        measure: CostMeasure::Effective,
        value: Some(&value),
        templates,
        options: &options,
    })
}

/// The reports of `summary` for `projects`, without value metrics, with `options`.
fn render_with(summary: &Summary, projects: &[Project], options: &ReportOptions) -> RenderedMonth {
    let history = history();
    render_month(MonthInputs {
        summary,
        history: &history,
        projects,
        allocation: allocation(),
        measure: CostMeasure::Effective,
        value: None,
        templates: None,
        options,
    })
    .unwrap()
}

fn file<'a>(r: &'a RenderedMonth, name: &str) -> &'a [u8] {
    r.files.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice()).unwrap_or_else(|| panic!("no {name}"))
}

fn text<'a>(r: &'a RenderedMonth, name: &str) -> &'a str {
    std::str::from_utf8(file(r, name)).unwrap()
}

#[test]
fn every_report_matches_its_snapshot() {
    let r = render(&summary(), None).unwrap();
    let names: Vec<&str> = r.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary.json",
            "tco.html",
            "tco.md",
            "chargeback.html",
            "chargeback.md",
            "chargeback.csv",
            "chargeback.xlsx",
            "alerts.json"
        ]
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("TALLY_UPDATE_SNAPSHOTS").is_some();
    let mut failed = Vec::new();
    for (name, bytes) in &r.files {
        if name.ends_with(".xlsx") {
            continue; // checked cell by cell below (the zip bytes depend on the writer's version)
        }
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, bytes).unwrap();
            continue;
        }
        let want = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (TALLY_UPDATE_SNAPSHOTS=1 creates it)", path.display()));
        if &want != bytes {
            let actual = dir.join(format!("{name}.actual"));
            std::fs::write(&actual, bytes).unwrap();
            failed.push(format!("{name} (see {})", actual.display()));
        }
    }
    assert!(failed.is_empty(), "snapshots differ: {failed:?}; TALLY_UPDATE_SNAPSHOTS=1 regenerates them");
    // Rendering is deterministic, the workbook included.
    let again = render(&summary(), None).unwrap();
    assert_eq!(again.files, r.files);
}

#[test]
fn the_headline_budget_roi_anomaly_and_savings_numbers() {
    let s = summary();
    let r = render(&s, None).unwrap();
    let h = &r.report.headline;
    assert_eq!(h.tco, s.ingested_total);
    assert_eq!(h.allocated + h.unallocated, h.tco);
    assert_eq!(h.hidden_cost_multiplier.as_deref(), Some("7.05"));
    let sa = r.report.projects.iter().find(|p| p.project == "support-assistant").unwrap();
    assert_eq!(sa.hidden_cost_multiplier.as_deref(), Some("2.09"));
    let fraud = r.report.projects.iter().find(|p| p.project == "fraud-scoring").unwrap();
    let b = fraud.budget.as_ref().unwrap();
    assert_eq!(b.status, "unfavourable");
    assert_eq!(r.alerts.budgets.len(), 1);
    assert_eq!(r.alerts.budgets[0].over_by, fraud.tco - m("50000"));
    // Fraud scoring pays back in October: cumulative value 199,500 ≥ cumulative TCO.
    let roi = fraud.roi.as_ref().unwrap();
    assert_eq!(roi.value, m("128500"));
    assert_eq!(roi.payback_month, Some(month("2026-10")));
    assert_eq!(roi.roi_pct, (m("128500") - fraud.tco).percent_of(fraud.tco));
    // The spike on 2026-10-15 is the only anomaly.
    assert_eq!(r.alerts.anomalies.len(), 1, "{:?}", r.alerts.anomalies);
    let a = &r.alerts.anomalies[0];
    assert_eq!((a.day.as_str(), a.project.as_str(), a.provider.as_str()), ("2026-10-15", "support-assistant", "AWS"));
    // Savings: caching made = cached tokens × input price − cached cost.
    let made = r.report.savings.iter().find(|s| s.kind == "caching-made").unwrap();
    // input 400.10…/133M tokens: 31 days; cached 31 × 58.50 for 31 × 195M tokens.
    assert!(made.amount.unwrap() > Money::ZERO);
    assert!(made.assumption.contains("uncached input price"));
    assert!(r.report.savings.iter().any(|s| s.kind == "model-routing" && s.project == "support-assistant"));
    let unused = r.report.savings.iter().find(|s| s.kind == "unused-commitment").unwrap();
    assert_eq!(unused.amount, Some(m("312.48")));
    assert_eq!(unused.project, "pool gpu-cluster");
    // Month over month against September's published summary.
    let mom = sa.month_over_month.as_ref().unwrap();
    assert_eq!(mom.previous, m("39677.5584118530905482"));
}

#[test]
fn month_over_month_effects_against_the_published_september() {
    let s = summary();
    let r = render(&s, None).unwrap();
    let sa = r.report.projects.iter().find(|p| p.project == "support-assistant").unwrap();
    let mom = sa.month_over_month.as_ref().unwrap();
    let e = &mom.effects;
    // Sonnet input: 31 × 133M tokens against 30 × 133M, at September's 12,055.50 ÷ 3,990M:
    // +401.85 volume; October's 13,700.10 − 12,457.35 = +1,242.75 price. Output: one more day
    // at 225.00 (+225 volume, no price change). New this month: cache reads 31 × 58.50 and
    // Haiku 31 × 10.00, volume.
    assert_eq!(e.volume, Some(m("401.85") + m("225") + m("1813.50") + m("310")));
    assert_eq!(e.price, Some(m("1242.75")));
    assert_eq!(e.fx, Some(Money::ZERO));
    assert_eq!(e.allocation, Some(sa.shared - m("3000")));
    let parts = e.volume.unwrap() + e.price.unwrap() + e.fx.unwrap() + e.allocation.unwrap() + e.other;
    assert_eq!(parts, mom.change);
    assert_eq!(mom.change, sa.tco - m("39677.5584118530905482"));
    // Every project's parts add up to its change, exactly.
    for p in &r.report.projects {
        let c = p.month_over_month.as_ref().unwrap();
        let e = &c.effects;
        let parts: Money = [e.volume, e.price, e.fx, e.allocation].iter().flatten().copied().sum::<Money>() + e.other;
        assert_eq!(parts, c.change, "{}", p.project);
    }
    // The lines are published for next month's split and read back.
    let point = MonthPoint::from_json("2026-10/summary.json", file(&r, "summary.json")).unwrap();
    let lines = point.usage_lines("support-assistant").unwrap();
    assert_eq!(lines, r.report.usage_lines["support-assistant"].as_slice());
    assert_eq!(lines.len(), 4);
    assert_eq!(point.shared("support-assistant"), Some(sa.shared));
    assert_eq!(point.fx_rates(), Some(&BTreeMap::new()));
    // No forecast without "today".
    assert!(r.report.forecast.is_none());
    assert!(text(&r, "tco.md").contains("## Month over month by effect"));
}

#[test]
fn the_csv_journal_ties_out_to_the_allocated_total() {
    let s = summary();
    let r = render(&s, None).unwrap();
    let csv = text(&r, "chargeback.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("billing_month,business_unit,cost_center,gl_account,project,category,currency,amount")
    );
    let mut total = Money::ZERO;
    let mut n = 0;
    for l in lines {
        let amount = l.rsplit(',').next().unwrap();
        let cents = amount.split_once('.').map(|(_, c)| c.len());
        assert_eq!(cents, Some(2), "{l}");
        total += m(amount);
        n += 1;
    }
    // 5 + 4 + 5 non-zero category lines.
    assert_eq!(n, 14);
    assert_eq!(total, s.allocated_total.round_dp(2));
    assert_eq!(total, r.journal.total);
    assert_eq!(r.journal.rounding, s.allocated_total - total);
    // Each line is within a cent of its exact amount; the credit stays negative.
    for l in &r.journal.lines {
        assert!((l.amount.raw() - l.exact.raw()).abs() < 10i128.pow(16), "{l:?}");
    }
    assert!(csv.contains(",security_compliance,USD,1211.75\n"), "{csv}");
}

#[test]
fn the_workbook_reopens_with_the_journal_sums() {
    use calamine::{Data, Reader, Xlsx};
    let s = summary();
    let r = render(&s, None).unwrap();
    let bytes = file(&r, "chargeback.xlsx").to_vec();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let names = wb.sheet_names().to_vec();
    assert_eq!(names, ["Summary", "Customer Service", "Legal & Knowledge", "Risk"]);
    let cents = |d: &Data| -> i64 {
        match d {
            Data::Float(f) => (f * 100.0).round() as i64,
            Data::Int(i) => i * 100,
            other => panic!("not a number: {other:?}"),
        }
    };
    let summary_sheet = wb.worksheet_range("Summary").unwrap();
    let rows: Vec<_> = summary_sheet.rows().collect();
    assert_eq!(rows.len(), 1 + 3 + 1);
    let bu_sum: i64 = rows[1..4].iter().map(|r| cents(&r[5])).sum();
    let total = cents(&rows[4][5]);
    assert_eq!(bu_sum, total);
    let want = s.allocated_total.round_dp(2).raw() / 10i128.pow(16);
    assert_eq!(i128::from(total), want);
    for (i, name) in names.iter().enumerate().skip(1) {
        let sheet = wb.worksheet_range(name).unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        let last = rows.len() - 1;
        let lines: i64 = rows[1..last].iter().map(|r| cents(&r[7])).sum();
        assert_eq!(lines, cents(&rows[last][7]), "{name}");
        // The business unit's total on the summary sheet.
        let on_summary = summary_sheet.rows().find(|r| r[1] == Data::String(name.to_string())).map(|r| cents(&r[5]));
        assert_eq!(on_summary, Some(lines), "{name} ({i})");
    }
}

#[test]
fn untrusted_names_are_escaped_in_every_format() {
    let evil = "<script>alert(1)</script>{{ 7*7 }}|x";
    let bu = "=HYPERLINK(\"http://x\")";
    let s = summary_with([evil, "fraud-scoring", "support-assistant"], [bu, "Risk", "Customer Service"]);
    let mut projects = projects();
    projects[0].name = evil.into();
    projects[0].business_unit = bu.into();
    let r = render_with(&s, &projects, &ReportOptions::default());
    for name in ["tco.html", "chargeback.html"] {
        let html = text(&r, name);
        assert!(!html.contains("<script"), "{name} has a raw <script>");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;{{ 7*7 }}|x"), "{name}");
        assert!(!html.contains(">49<"), "{name}: the value was evaluated");
    }
    // The SVG labels in tco.html are escaped by the chart code.
    assert!(text(&r, "tco.html").contains("&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}|x"));
    for name in ["tco.md", "chargeback.md"] {
        let md = text(&r, name);
        assert!(!md.contains("<script"), "{name}");
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;{{ 7\\*7 }}\\|x"), "{name}");
    }
    let csv = text(&r, "chargeback.csv");
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
}

#[test]
fn templates_from_a_directory_override_the_built_in_ones_and_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tco.md"), "TCO {{ report.headline.tco | money }} {{ currency }}\n").unwrap();
    let r = render(&summary(), Some(dir.path())).unwrap();
    assert_eq!(text(&r, "tco.md"), "TCO 163,791.10 USD\n");
    assert!(text(&r, "tco.html").starts_with("<!DOCTYPE html>"), "the others stay built in");

    std::fs::write(dir.path().join("tco.md"), "line one\n{% for p in report.projects %}\n{{ p.project }\n").unwrap();
    let err = render(&summary(), Some(dir.path())).err().unwrap();
    assert!(err.is_user_error());
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("template {} line 3: syntax error", dir.path().join("tco.md").display())),
        "{msg}"
    );

    std::fs::write(dir.path().join("tco.md"), "{% include \"missing.md\" %}\n").unwrap();
    let msg = render(&summary(), Some(dir.path())).err().unwrap().to_string();
    assert!(msg.contains("template not found") && msg.contains("missing.md"), "{msg}");

    let missing = dir.path().join("nope");
    let err = render(&summary(), Some(&missing)).err().unwrap();
    assert!(matches!(err, ReportError::TemplateDir { .. }), "{err}");
}

#[test]
fn a_value_row_for_an_unknown_project_or_month_names_the_file_and_row() {
    let months: BTreeSet<BillingMonth> = [month("2026-10")].into();
    let text = "project,month,metric,units,unit_value,value\nsupport-assistant,2026-10,x,1,,\nchatbot,2026-10,x,1,,\n";
    let err = ValueMetrics::parse("value.csv", text, &projects(), &months).err().unwrap();
    assert!(err.is_user_error());
    assert_eq!(
        err.to_string(),
        "value.csv: row 2, column project: unknown project `chatbot` (declare it under [[projects]])"
    );
    let text = "project,month,metric,units,unit_value,value\nsupport-assistant,2026-11,x,1,,\n";
    let err = ValueMetrics::parse("value.csv", text, &projects(), &months).err().unwrap();
    assert_eq!(
        err.to_string(),
        "value.csv: row 1, column month: unknown month 2026-11: the ledger has no costs for it"
    );
}

#[test]
fn a_month_not_started_says_so_in_every_report_and_gives_no_budget_verdict() {
    // October's reports made in September (a month of amortised and recurring costs only).
    let (s, projects) = (summary(), projects());
    let render = |today| render_with(&s, &projects, &ReportOptions { today, ..ReportOptions::default() });
    let r = render(chrono::NaiveDate::from_ymd_opt(2026, 9, 30));
    assert_eq!(r.report.not_started, chrono::NaiveDate::from_ymd_opt(2026, 9, 30));
    assert!(r.report.forecast.is_none());
    for (file, banner) in [
        ("tco.md", "> **Not started** on 2026-09-30: this month holds only the costs already committed"),
        ("tco.html", "<p class=\"banner\"><strong>Not started</strong> on 2026-09-30: this month holds only"),
        ("chargeback.md", "> **Not started** on 2026-09-30: these statements charge only"),
        ("chargeback.html", "<p class=\"banner\"><strong>Not started</strong> on 2026-09-30: these statements"),
    ] {
        assert!(text(&r, file).contains(banner), "{file}");
    }
    let status = |r: &RenderedMonth, name: &str| {
        r.report.projects.iter().find(|p| p.project == name).unwrap().budget.as_ref().unwrap().status
    };
    // Over budget already is still unfavourable (and alerted); the others have no verdict.
    assert_eq!(status(&r, "doc-search"), "not started");
    assert_eq!(status(&r, "fraud-scoring"), "unfavourable");
    assert_eq!(r.alerts.budgets.len(), 1);
    assert!(text(&r, "summary.json").contains("\"not_started\": \"2026-09-30\""));
    // Made on its first day, or with no date: an ordinary month.
    for today in [chrono::NaiveDate::from_ymd_opt(2026, 10, 1), None] {
        let r = render(today);
        assert_eq!(r.report.not_started, None);
        assert_eq!(status(&r, "doc-search"), "favourable");
        assert!(!text(&r, "tco.md").contains("Not started"));
        assert!(!text(&r, "summary.json").contains("not_started"));
    }
}

#[test]
fn a_month_in_progress_gets_a_month_end_forecast_next_to_its_budget() {
    // Data to 2026-10-20 (20 of 31 days), report made on the 22nd.
    let s = summary();
    let history = history();
    let projects = projects();
    let options = ReportOptions { today: chrono::NaiveDate::from_ymd_opt(2026, 10, 22), ..ReportOptions::default() };
    let cut = month_start_micros(month("2026-10")) + 20 * 86_400_000_000i64;
    let allocation = allocation().filter(col("ChargePeriodStart").cast(DataType::Int64).lt(lit(cut)));
    let r = render_month(MonthInputs {
        summary: &s,
        history: &history,
        projects: &projects,
        allocation,
        measure: CostMeasure::Effective,
        value: None,
        templates: None,
        options: &options,
    })
    .unwrap();
    let f = r.report.forecast.as_ref().unwrap();
    assert_eq!((f.days_elapsed, f.days_in_month), (20, 31));
    assert_eq!(f.forecast, s.ingested_total.mul_div(Money::from_int(31), Money::from_int(20)).unwrap());
    // doc-search: 16,024.20 of 30,000 so far → forecast 24,837.51: favourable; support
    // assistant: 43,897.01 of 45,000 → 68,040.36: at risk; fraud scoring already over.
    let status = |name: &str| {
        let p = r.report.projects.iter().find(|p| p.project == name).unwrap();
        let b = p.budget.as_ref().unwrap();
        assert_eq!(b.forecast, p.tco.mul_div(Money::from_int(31), Money::from_int(20)));
        b.status
    };
    assert_eq!(status("doc-search"), "favourable");
    assert_eq!(status("support-assistant"), "at risk");
    assert_eq!(status("fraud-scoring"), "unfavourable");
    assert!(text(&r, "tco.md").contains("## Month-end forecast"));
    assert!(text(&r, "tco.html").contains("<h2>Month-end forecast</h2>"));
    assert!(text(&r, "tco.html").contains(">at risk</td>"));
    // "today" is not written to summary.json; only budget alerts over budget are raised.
    assert!(!text(&r, "summary.json").contains("\"today\""));
    assert_eq!(r.alerts.budgets.len(), 1);
}
