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
    // 2026-10 driver: fraud-scoring 380, support-assistant 190.5, doc-search 40 (of 610.5).
    let cents = |p: &str| by_project[&vec![p.to_string()]].round_dp(2);
    let exact = |w: &str| {
        Money::from_raw(
            (total.raw() / 10i128.pow(14)) * Money::parse(w).unwrap().raw() / Money::parse("610.5").unwrap().raw()
                * 10i128.pow(14),
        )
    };
    for (p, w) in [("fraud-scoring", "380"), ("support-assistant", "190.5"), ("doc-search", "40")] {
        let diff = (cents(p) - exact(w)).raw().abs();
        assert!(diff <= 10i128.pow(16), "{p}: {} vs {}", cents(p), exact(w));
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
