//! `tally explain`: how every cent of a project's TCO for a month arrived.

use polars::prelude::*;
use tally_allocate::{
    ROLE_DIRECT, ROLE_SHARE, X_ALLOCATION_METHOD, X_ALLOCATION_PATH, X_ALLOCATION_POOL, X_ALLOCATION_ROLE,
    X_ALLOCATION_RULE, X_ALLOCATION_WEIGHT, X_ALLOCATION_WEIGHT_TOTAL,
};
use tally_ledger::frame::{money_at, scan_ledger, str_at};
use tally_ledger::layout::{partition_file, BillingMonth, Stage};
use tally_ledger::schema::{X_PROJECT, X_SOURCE, X_TCO_CATEGORY};
use tally_ledger::Money;
use tally_storage::Location;

use crate::config::LoadedPipeline;
use crate::PipelineError;

/// One line of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExplainLine {
    /// For direct cost, the source; for a share, the pool (with the pools it came through).
    pub from: String,
    /// For direct cost, the rule; for a share, the method with the weights.
    pub how: String,
    /// TCO category.
    pub category: String,
    /// Amount.
    pub amount: Money,
}

/// A project's TCO for a month, line by line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// Project.
    pub project: String,
    /// Month.
    pub month: BillingMonth,
    /// Cost column measured.
    pub cost_measure: &'static str,
    /// Direct lines, by source, rule and category.
    pub direct: Vec<ExplainLine>,
    /// Pool shares.
    pub shared: Vec<ExplainLine>,
    /// Σ of all lines: the project's TCO.
    pub total: Money,
}

/// Explains `project`'s TCO for `month` from the published allocation dataset.
pub async fn explain(
    p: &LoadedPipeline,
    month: BillingMonth,
    project: &str,
    out: Option<&str>,
) -> Result<Explanation, PipelineError> {
    p.check()?;
    let cfg = &p.config;
    if !cfg.projects.iter().any(|x| x.name == project) {
        return Err(PipelineError::Usage(format!(
            "unknown project `{project}` (not under [[projects]] in {})",
            p.path
        )));
    }
    let out_url = match (out, &cfg.out) {
        (Some(o), _) => o.to_string(),
        (None, Some(o)) => p.resolve(o)?,
        (None, None) => {
            return Err(PipelineError::Usage("no output: give --out or set `out` in the pipeline file".into()))
        }
    };
    let loc = Location::open(&out_url)?;
    let scratch =
        tempfile::tempdir().map_err(|source| PipelineError::Io { path: "scratch directory".into(), source })?;
    let rel = partition_file(Stage::Allocation, month, "allocated");
    let Some(path) = loc.fetch_rel(&rel, scratch.path()).await? else {
        return Err(PipelineError::Usage(format!(
            "no allocation for {month} at {}: run `tally run` first",
            loc.display_of(&rel)
        )));
    };
    let m = month.to_string();
    let err = |source| PipelineError::Polars { stage: "explain", month: m.clone(), source };
    let measure = cfg.cost_measure.column();
    let rows = scan_ledger(&[path]).map_err(err)?.filter(col(X_PROJECT).eq(lit(project.to_string())));
    let direct = rows
        .clone()
        .filter(col(X_ALLOCATION_ROLE).eq(lit(ROLE_DIRECT)))
        .group_by([col(X_SOURCE), col(X_ALLOCATION_RULE), col(X_TCO_CATEGORY)])
        .agg([col(measure).sum().alias("amount")])
        .sort([X_SOURCE, X_ALLOCATION_RULE, X_TCO_CATEGORY], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .map_err(err)?;
    let shared = rows
        .filter(col(X_ALLOCATION_ROLE).eq(lit(ROLE_SHARE)))
        .group_by([
            col(X_ALLOCATION_POOL),
            col(X_ALLOCATION_PATH),
            col(X_ALLOCATION_METHOD),
            col(X_ALLOCATION_WEIGHT),
            col(X_ALLOCATION_WEIGHT_TOTAL),
            col(X_TCO_CATEGORY),
        ])
        .agg([col(measure).sum().alias("amount")])
        .sort(
            [X_ALLOCATION_POOL, X_ALLOCATION_PATH, X_TCO_CATEGORY],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
        .map_err(err)?;
    let mut e = Explanation {
        project: project.to_string(),
        month,
        cost_measure: measure,
        direct: Vec::new(),
        shared: Vec::new(),
        total: Money::ZERO,
    };
    for i in 0..direct.height() {
        let amount = money_at(&direct, "amount", i);
        e.total += amount;
        e.direct.push(ExplainLine {
            from: str_at(&direct, X_SOURCE, i).unwrap_or_default(),
            how: str_at(&direct, X_ALLOCATION_RULE, i).unwrap_or_default(),
            category: str_at(&direct, X_TCO_CATEGORY, i).unwrap_or_default(),
            amount,
        });
    }
    for i in 0..shared.height() {
        let amount = money_at(&shared, "amount", i);
        e.total += amount;
        let pool = str_at(&shared, X_ALLOCATION_POOL, i).unwrap_or_default();
        let path = str_at(&shared, X_ALLOCATION_PATH, i).unwrap_or_default();
        let method = str_at(&shared, X_ALLOCATION_METHOD, i).unwrap_or_default();
        let w = money_at(&shared, X_ALLOCATION_WEIGHT, i);
        let total = money_at(&shared, X_ALLOCATION_WEIGHT_TOTAL, i);
        let driver = cfg.pools.iter().find(|p| p.name == pool).and_then(|p| p.driver.clone());
        let how = match (method.as_str(), driver) {
            ("driver", Some(d)) => format!(
                "driver {d}: {} of {} ({}%)",
                w.to_string_min_dp(0),
                total.to_string_min_dp(0),
                w.percent_of(total).unwrap_or_default()
            ),
            ("percent", _) => format!("percent: {}%", w.to_string_min_dp(0)),
            ("direct-cost", _) => format!(
                "direct cost: {} of {} ({}%)",
                w.round_dp(2),
                total.round_dp(2),
                w.percent_of(total).unwrap_or_default()
            ),
            (m, _) => format!("{m}: 1 of {}", total.to_string_min_dp(0)),
        };
        let from = if path.is_empty() { pool } else { format!("{pool} (via {path})") };
        e.shared.push(ExplainLine {
            from,
            how,
            category: str_at(&shared, X_TCO_CATEGORY, i).unwrap_or_default(),
            amount,
        });
    }
    Ok(e)
}
