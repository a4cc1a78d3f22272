//! Allocation end to end: pools split exactly, `explain` adds up to the summary, and bad
//! allocation input stops the run with exit code 2 and nothing written.

use std::path::Path;

use polars::prelude::IntoLazy;
use tally_ledger::Money;

use crate::support::*;

fn summary(out: &Path, month: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join(format!("reports/{month}/summary.json"))).unwrap()).unwrap()
}

#[test]
fn explain_adds_up_to_each_project_total_and_pools_conserve_every_cent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy();
    ok(tally(&["run", "pipelines/demo.toml", "--out", &out_s]));
    for month in ["2026-09", "2026-10"] {
        let s = summary(&out, month);
        let m = |v: &serde_json::Value| money(v.as_str().unwrap());
        assert_eq!(m(&s["ingested_total"]), m(&s["allocated_total"]) + m(&s["unallocated_total"]));
        // Every pool passed on exactly what it took and received.
        for p in s["pools"].as_array().unwrap() {
            assert_eq!(
                m(&p["pooled_total"]) + m(&p["received_total"]),
                m(&p["to_projects"]) + m(&p["to_pools"]) + m(&p["unallocated"]),
                "{month} {}",
                p["pool"]
            );
        }
        assert!(s["pools"].as_array().unwrap().iter().any(|p| p["pool"] == "gpu-cluster"));
        for p in s["projects"].as_array().unwrap() {
            let name = p["project"].as_str().unwrap();
            assert_eq!(m(&p["tco_total"]), m(&p["direct_total"]) + m(&p["shared_total"]));
            let text =
                ok(tally(&["explain", "pipelines/demo.toml", "--month", month, "--project", name, "--out", &out_s]));
            let exact = text.rsplit("(exact: ").next().unwrap().trim().trim_end_matches(')');
            assert_eq!(money(exact), m(&p["tco_total"]), "{month} {name}:\n{text}");
        }
    }
}

#[test]
fn gpu_cluster_is_split_by_the_driver_file_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy()]));
    let df = read_parquet(&[out.join("allocation/billing_month=2026-10/allocated.parquet")]);
    let shares = df
        .clone()
        .lazy()
        .filter(polars::prelude::col("x_allocation_pool").eq(polars::prelude::lit("gpu-cluster")))
        .collect()
        .unwrap();
    let by_project = sums(&shares, "EffectiveCost", &["x_project"]);
    let pooled =
        df.lazy().filter(polars::prelude::col("x_pool").eq(polars::prelude::lit("gpu-cluster"))).collect().unwrap();
    let total: Money = sums(&pooled, "EffectiveCost", &[]).into_values().sum();
    assert_eq!(by_project.values().copied().sum::<Money>(), total);
    // Each share is the exact proportional share rounded to the cent (within one cent, the
    // largest part also carrying the pool's sub-cent digits).
    let csv = std::fs::read_to_string(root().join("fixtures/allocation/gpu-hours.csv")).unwrap();
    let hours: Vec<(String, Money)> = csv
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("2026-10"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].to_string(), money(c[2]))
        })
        .collect();
    let all: Money = hours.iter().map(|(_, h)| *h).sum();
    for (p, h) in &hours {
        let got = by_project[&vec![p.clone()]];
        let exact = total.mul_div(*h, all).unwrap();
        assert!((got - exact).raw().abs() <= 10i128.pow(16), "{p}: {got} vs {exact}");
    }
}

fn with_pools(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let aws = root().join("fixtures/focus/aws");
    let p = write_pipeline(
        dir.path(),
        &[("aws", "focus", &aws.to_string_lossy())],
        "out",
        &format!("{DEMO_RULES}\n{extra}"),
    );
    (dir, p)
}

fn fails_with(extra: &str, files: &[(&str, &str)], expected: &str) {
    let (dir, p) = with_pools(extra);
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let err = user_error(tally(&["run", &p.to_string_lossy()]));
    assert!(err.contains(expected), "expected `{expected}` in:\n{err}");
    assert!(!dir.path().join("out").exists(), "nothing may be written");
}

#[test]
fn percentages_not_adding_up_to_100() {
    fails_with(
        "[[pools]]\nname = \"x\"\nwhen = { tag = \"team\", present = true }\nmethod = \"percent\"\npercentages = { \"doc-search\" = \"60\", \"fraud-scoring\" = \"39.99\" }\n",
        &[],
        "pools[0]: percentages add up to 99.99, not 100",
    );
}

#[test]
fn a_cycle_between_pools_is_named() {
    fails_with(
        "[[pools]]\nname = \"a\"\nwhen = { tag = \"team\", present = true }\nmethod = \"even\"\ntargets = [\"b\"]\n\
         [[pools]]\nname = \"b\"\nwhen = { tag = \"env\", present = true }\nmethod = \"even\"\ntargets = [\"a\"]\n",
        &[],
        "pools: cycle between pools: a → b → a",
    );
}

const DRIVER_POOL: &str =
    "[[pools]]\nname = \"x\"\nwhen = { tag = \"team\", present = true }\nmethod = \"driver\"\ndriver = \"d\"\n\
    [[drivers]]\nname = \"d\"\nfile = \"d.csv\"\n";

#[test]
fn a_driver_file_with_a_duplicate_key() {
    fails_with(
        DRIVER_POOL,
        &[("d.csv", "month,target,value\n2026-09,doc-search,1\n2026-09,fraud-scoring,2\n2026-09,doc-search,3\n")],
        "d.csv: row 3: duplicate value for month 2026-09 and target `doc-search`",
    );
}

#[test]
fn a_negative_driver_value() {
    fails_with(
        DRIVER_POOL,
        &[("d.csv", "month,target,value\n2026-09,doc-search,-4\n")],
        "d.csv: row 1: column value: negative driver value -4.00 for `doc-search`",
    );
}

#[test]
fn a_driver_for_an_unknown_pool_target_or_a_missing_driver() {
    fails_with(
        "[[pools]]\nname = \"x\"\nwhen = { tag = \"team\", present = true }\nmethod = \"driver\"\ndriver = \"nope\"\ntargets = [\"ghost\"]\n",
        &[],
        "unknown target `ghost` (not a project or a pool)",
    );
}

fn convert_csv(format: &str, csv: &str) -> polars::prelude::DataFrame {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    ok(tally_in(dir.path(), &["convert", "--from", format, "-o", "out.parquet", "in.csv"], &[]));
    read_parquet(&[dir.path().join("out.parquet")])
}

fn column_strings(df: &polars::prelude::DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn people_costs_are_split_exactly_and_the_remainder_goes_to_the_named_pool() {
    let df = convert_csv(
        "people",
        "month,person,role,monthly_cost,annual_salary,overhead_pct,currency,project,share,pool\n\
         2026-10,alice,ML engineer,10000.00,,,USD,a,0.3333,platform\n\
         2026-10,alice,ML engineer,10000.00,,,USD,b,33.33%,platform\n\
         2026-10,bob,ML engineer,,150000,25,USD,a,0.5,\n",
    );
    let amounts: Vec<String> = (0..df.height())
        .map(|i| match df.column("EffectiveCost").unwrap().get(i).unwrap() {
            polars::prelude::AnyValue::Decimal(v, _, _) => Money::from_raw(v).to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    // alice: 10000 × (0.3333, 0.3333, rest 0.3334) → 3333.00, 3333.00, 3334.00 (to the pool);
    // bob: 150000 × 1.25 / 12 = 15625.00 → 7812.50 to a, 7812.50 unassigned (no pool: unallocated).
    assert_eq!(amounts, ["3333.00", "3333.00", "3334.00", "7812.50", "7812.50"]);
    assert_eq!(column_strings(&df, "x_project"), [Some("a".into()), Some("b".into()), None, Some("a".into()), None]);
    assert_eq!(column_strings(&df, "x_pool"), [None, None, Some("platform".into()), None, None]);
    assert_eq!(column_strings(&df, "x_tco_category"), vec![Some("people".to_string()); 5]);
}

#[test]
fn one_time_costs_are_amortised_with_the_schedule_as_rows() {
    let df = convert_csv(
        "one-time",
        "name,amount,currency,start_month,months,category,project,pool\nAudit,1000.00,USD,2026-11,3,security_compliance,,compliance\n",
    );
    // The purchase (billed, EffectiveCost 0), then the schedule (EffectiveCost, billed 0).
    assert_eq!(
        column_strings(&df, "x_billing_month"),
        [Some("2026-11".into()), Some("2026-11".into()), Some("2026-12".into()), Some("2027-01".into())]
    );
    assert_eq!(
        column_strings(&df, "ChargeCategory"),
        [Some("Purchase".into()), Some("Usage".into()), Some("Usage".into()), Some("Usage".into())]
    );
    let effective = sums(&df, "EffectiveCost", &["x_billing_month"]);
    let shown: Vec<String> = effective.values().map(|v| v.to_string()).collect();
    assert_eq!(shown, ["333.34", "333.33", "333.33"]);
    let billed: Money = sums(&df, "BilledCost", &[]).into_values().sum();
    assert_eq!(billed, money("1000"));
}

#[test]
fn people_shares_over_100_percent_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "month,person,monthly_cost,currency,project,share\n2026-10,alice,100,USD,a,0.7\n2026-10,alice,100,USD,b,0.5\n",
    )
    .unwrap();
    let err =
        user_error(tally_in(dir.path(), &["convert", "--from", "people", "-o", "out.parquet", "people.csv"], &[]));
    assert_eq!(
        err.trim(),
        "error: people.csv: row 2 (line 3), column share: alice's shares for 2026-10 add up to 120%, more than 100% (rows 1, 2)"
    );
    assert!(!dir.path().join("out.parquet").exists());
}

#[test]
fn a_people_share_for_an_unknown_project_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "month,person,monthly_cost,currency,project,share\n2026-10,alice,100,USD,ghost,1\n",
    )
    .unwrap();
    let p = write_pipeline(dir.path(), &[("people", "people", "people.csv")], "out", DEMO_RULES);
    let err = user_error(tally(&["run", &p.to_string_lossy()]));
    assert!(err.contains("people.csv: row 1: unknown project `ghost` (declare it under [[projects]]"), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn other_currencies_are_converted_with_the_fx_table_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy()]));
    let s = summary(&out, "2026-10");
    // The EUR invoice: 4200.00 × 1.0712 = 4499.04 USD, exactly.
    assert_eq!(s["fx"][0]["currency"], "EUR");
    assert_eq!(money(s["fx"][0]["converted_total"].as_str().unwrap()), money("4499.04"));
    assert_eq!(s["other_currencies"].as_array().map(Vec::len), Some(0));
    let df = read_parquet(&[out.join("allocation/billing_month=2026-10/allocated.parquet")]);
    let eur =
        df.lazy().filter(polars::prelude::col("x_fx_currency").eq(polars::prelude::lit("EUR"))).collect().unwrap();
    assert_eq!(eur.height(), 1);
    assert_eq!(column_strings(&eur, "BillingCurrency"), [Some("USD".into())]);
}

#[test]
fn a_missing_fx_rate_for_a_currency_in_use_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("invoices.csv"),
        "month,vendor,description,amount,currency,category,project,pool\n2026-10,Acme,Audit,100,GBP,security_compliance,doc-search,\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("fx.csv"), "month,currency,rate\n2026-10,EUR,1.07\n").unwrap();
    let p = write_pipeline(
        dir.path(),
        &[("vendors", "vendor-invoices", "invoices.csv")],
        "out",
        &format!("fx = \"fx.csv\"\n{DEMO_RULES}"),
    );
    // `fx` must come before the tables: write_pipeline puts extra text last, so move it up.
    let text = std::fs::read_to_string(&p).unwrap().replace("fx = \"fx.csv\"\n", "");
    std::fs::write(&p, format!("fx = \"fx.csv\"\n{text}")).unwrap();
    let err = user_error(tally(&["run", &p.to_string_lossy()]));
    assert!(err.contains("fx.csv: no exchange rate for GBP in 2026-10 (needed by invoices.csv, row 1)"), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn usage_exports_next_to_the_bill_add_quantities_and_drift_not_cost() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy()]));
    let s = summary(&out, "2026-10");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("fixtures/providers/EXPECTED.json")).unwrap()).unwrap();
    let cost = |f: &str| money(expected["formats"][f]["2026-10"]["cost"].as_str().unwrap());
    let source = |name: &str| s["sources"].as_array().unwrap().iter().find(|x| x["source"] == name).cloned().unwrap();
    // The bill counts once: the cost exports' totals are in the TCO; the usage exports' are not.
    assert_eq!(money(source("openai-costs")["effective_cost"].as_str().unwrap()), cost("openai-costs"));
    assert_eq!(money(source("anthropic-costs")["effective_cost"].as_str().unwrap()), cost("anthropic-costs"));
    assert_eq!(money(source("openai-usage")["effective_cost"].as_str().unwrap()), Money::ZERO);
    // Their estimate, priced from the book, is kept for drift.
    let drift = s["drift"].as_array().unwrap();
    let estimated: Money =
        drift.iter().filter(|d| d["provider"] == "OpenAI").map(|d| money(d["estimated"].as_str().unwrap())).sum();
    assert_eq!(estimated, cost("openai-usage"));
    assert!(drift.iter().all(|d| money(d["difference"].as_str().unwrap())
        == money(d["estimated"].as_str().unwrap()) - money(d["billed"].as_str().unwrap())));
}
