//! Object storage against real servers on loopback: moto (S3 API) and Azurite (Azure Blob),
//! started by `tests/support/object-stores.sh`. Outside CI the test is skipped, with a message,
//! when the servers cannot be installed (no Python or Node); in CI (CI=true) that is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

struct Servers {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).arg("stop").arg(self.dir.path()).output();
    }
}

fn script() -> PathBuf {
    root().join("tests/support/object-stores.sh")
}

fn start() -> Option<Servers> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("bash").arg(script()).arg("start").arg(dir.path()).output();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match out {
        Ok(o) if o.status.success() => {
            let env = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            Some(Servers { dir, env })
        }
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string(),
                Err(e) => e.to_string(),
            };
            assert!(!in_ci, "object storage servers did not start in CI: {why}");
            eprintln!("skipped: object storage servers could not start here ({why}); CI runs this test");
            None
        }
    }
}

/// Converts each fixture month into Parquet on the store, runs a pipeline reading from and
/// writing to the store twice (the second run is a no-op), then reads the ledger back.
fn round_trip(servers: &Servers, base: &str) {
    let env = &servers.env;
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = work.path();
    for (month, file) in [("2026-09", "aws/2026-09/focus-00001.csv"), ("2026-10", "aws/2026-10/focus-00001.csv")] {
        let input = root().join("fixtures/focus").join(file);
        let dest = format!("{base}/in/aws/{month}/export.parquet");
        ok(tally_in(w, &["convert", "--from", "focus", "-o", &dest, &input.to_string_lossy()], env));
    }
    let pipeline =
        write_pipeline(w, &[("aws", "focus", &format!("{base}/in/aws"))], &format!("{base}/out"), DEMO_RULES);
    let first = ok(tally_in(w, &["run", &pipeline.to_string_lossy()], env));
    assert!(first.contains("2 read"), "{first}");
    let second = ok(tally_in(w, &["run", &pipeline.to_string_lossy()], env));
    assert!(second.contains("nothing changed"), "{second}");

    // Read a published partition back from the store and check its exact totals.
    let local = w.join("ledger-09.parquet");
    let src = format!("{base}/out/ledger/billing_month=2026-09/aws.parquet");
    ok(tally_in(w, &["convert", "--from", "focus", "-o", &local.to_string_lossy(), &src], env));
    let df = read_parquet(&[local]);
    let want = &expected()["files"]["aws/2026-09/focus-00001.csv"];
    assert_eq!(df.height() as u64, want["rows"].as_u64().unwrap_or(0));
    for c in ["BilledCost", "EffectiveCost"] {
        let got: tally_ledger::Money = sums(&df, c, &[]).into_values().sum();
        assert_eq!(got, money(want[c].as_str().unwrap_or("")), "{base}: Σ {c}");
    }
    // The same run against local storage gives the same summary, byte for byte.
    std::fs::create_dir_all(w.join("local")).unwrap_or_else(|e| panic!("{e}"));
    let local_pipeline = write_pipeline(
        &w.join("local"),
        &[("aws", "focus", &format!("{base}/in/aws"))],
        &w.join("local/out").to_string_lossy(),
        DEMO_RULES,
    );
    ok(tally_in(w, &["run", &local_pipeline.to_string_lossy()], env));
    let remote_summary = fetch(servers, &format!("{base}/out/reports/2026-10/summary.json"));
    let local_summary = std::fs::read(w.join("local/out/reports/2026-10/summary.json")).unwrap_or_default();
    assert_eq!(remote_summary, local_summary);
}

/// Reads one object from the store through a pipeline-free path: `tally convert` cannot read
/// JSON, so this uses the storage library directly with the servers' environment.
fn fetch(servers: &Servers, url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    let _guard = EnvGuard::set(&servers.env);
    let (dir, name) = url.rsplit_once('/').unwrap_or((url, ""));
    let loc = tally_storage::Location::open(dir).unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(loc.read_bytes(name)).unwrap_or_else(|e| panic!("{e}")).map(|b| b.to_vec()).unwrap_or_default()
}

/// Sets environment variables for the duration of a scope (tests in this module run one at a
/// time under the lock below).
struct EnvGuard(Vec<(String, Option<String>)>);

static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl EnvGuard {
    fn set(vars: &[(String, String)]) -> EnvGuard {
        let saved = vars.iter().map(|(k, _)| (k.clone(), std::env::var(k).ok())).collect();
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
        EnvGuard(saved)
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        for (k, v) in &self.0 {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    }
}

#[test]
fn s3_and_azure_blob_round_trip() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let Some(servers) = start() else { return };
    round_trip(&servers, "s3://tally-test/run");
    round_trip(&servers, "az://tally-test/run");
}
