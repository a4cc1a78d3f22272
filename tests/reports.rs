//! Reports from `tally run`: every file of a month, alerts and `--fail-on`, bad value metrics.

use crate::support::*;

#[test]
fn a_run_writes_every_report_and_the_journal_ties_to_the_allocated_total() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let screen = ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy(), "--as-of", "2026-11-28"]));
    // One-time costs are amortised into months after the run's day: those months are marked.
    let marked = |month: &str| {
        let line = screen.lines().find(|l| l.starts_with(&format!("{month}  TCO"))).unwrap();
        line.ends_with("(not started on 2026-11-28: committed costs only)")
    };
    assert!(!marked("2026-10") && !marked("2026-11") && marked("2026-12") && marked("2027-08"), "{screen}");
    for (month, banner) in [("2026-11", false), ("2026-12", true)] {
        for file in ["tco.md", "tco.html", "chargeback.md", "chargeback.html"] {
            let text = std::fs::read_to_string(out.join(format!("reports/{month}/{file}"))).unwrap();
            assert_eq!(
                text.contains("Not started</strong> on 2026-11-28") || text.contains("**Not started** on 2026-11-28"),
                banner,
                "{month} {file}"
            );
        }
    }
    for month in ["2026-09", "2026-10"] {
        let files: Vec<String> = tree(&out.join(format!("reports/{month}"))).into_keys().collect();
        assert_eq!(
            files,
            [
                "alerts.json",
                "chargeback.csv",
                "chargeback.html",
                "chargeback.md",
                "chargeback.xlsx",
                "summary.json",
                "tco.html",
                "tco.md"
            ]
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("reports/2026-10/summary.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(out.join("reports/2026-10/chargeback.csv")).unwrap();
    let header = split_csv_line(csv.lines().next().unwrap());
    let amount = header.iter().position(|h| h == "amount").unwrap();
    let journal: tally_ledger::Money = csv.lines().skip(1).map(|l| money(&split_csv_line(l)[amount])).sum();
    let allocated = money(summary["allocated_total"].as_str().unwrap());
    assert_eq!(journal, allocated.round_dp(2), "Σ journal = allocated total, rounded to the cent");
    let html = std::fs::read_to_string(out.join("reports/2026-10/tco.html")).unwrap();
    // Self-contained: inline SVG and CSS, nothing fetched (an SVG namespace URI is not a fetch).
    assert!(html.contains("<svg") && html.contains("<style"));
    for fetch in ["src=\"http", "href=\"http", "<link", "@import", "<script", "url(http"] {
        assert!(!html.contains(fetch), "tco.html contains {fetch}");
    }
}

#[test]
fn fail_on_budget_exits_3_after_publishing_with_alerts_json() {
    let dir = tempfile::tempdir().unwrap();
    let aws = root().join("fixtures/focus/aws");
    let extra = DEMO_RULES.replace(
        "business-unit = \"Customer Service\"",
        "business-unit = \"Customer Service\"\nmonthly-budget = \"100\"",
    );
    let p = write_pipeline(dir.path(), &[("aws", "focus", &aws.to_string_lossy())], "out", &extra);
    let o = tally(&["run", &p.to_string_lossy(), "--fail-on", "budget"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("alerts raised: budget in 2026-09, budget in 2026-10"), "{err}");
    let alerts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/reports/2026-10/alerts.json")).unwrap()).unwrap();
    assert_eq!(alerts["budgets"][0]["project"], "support-assistant");
    // Without --fail-on the same run is a success.
    ok(tally(&["run", &p.to_string_lossy()]));
}

#[test]
fn a_value_metric_for_an_unknown_project_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let aws = root().join("fixtures/focus/aws");
    std::fs::write(dir.path().join("value.csv"), "project,month,metric,units,unit_value\nghost,2026-10,tickets,10,5\n")
        .unwrap();
    let p = write_pipeline(dir.path(), &[("aws", "focus", &aws.to_string_lossy())], "out", DEMO_RULES);
    let text_ = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, format!("value-metrics = \"value.csv\"\n{text_}")).unwrap();
    let err = user_error(tally(&["run", &p.to_string_lossy()]));
    assert!(err.contains("value.csv") && err.contains("ghost"), "{err}");
    assert!(!dir.path().join("out").exists());
}
