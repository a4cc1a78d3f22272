//! Reports over the allocated ledger: the monthly `summary.json`, with totals that tie out
//! exactly to the ledger (ingested = allocated + unallocated, to the last digit), and the
//! rendered monthly reports ([`render::render_month`]): TCO and ROI, chargeback statements and
//! journals, trends, budgets, anomalies and savings.

use std::collections::BTreeMap;

pub mod anomaly;
pub mod chargeback;
pub mod charts;
pub mod detail;
pub mod format;
pub mod render;
pub mod report;
pub mod value;

pub use render::{render_month, Alerts, MonthInputs, RenderedMonth};
pub use report::{MonthPoint, Report, ReportOptions};
pub use value::ValueMetrics;

/// Every file a month's reports folder holds.
pub const REPORT_FILES: [&str; 8] = [
    "summary.json",
    "tco.html",
    "tco.md",
    "chargeback.html",
    "chargeback.md",
    "chargeback.csv",
    "chargeback.xlsx",
    "alerts.json",
];

use polars::prelude::*;
use tally_allocate::Project;
use tally_ledger::frame::{money_at, str_at, u64_at};
use tally_ledger::layout::BillingMonth;
use tally_ledger::schema::{X_BUSINESS_UNIT, X_PROJECT, X_TCO_CATEGORY};
use tally_ledger::{Money, TcoCategory};

/// Which FOCUS cost column measures TCO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostMeasure {
    /// `EffectiveCost`: amortised, commitments spread over the usage they cover (the default).
    #[default]
    Effective,
    /// `BilledCost`: what the invoices charge, as charged.
    Billed,
}

impl CostMeasure {
    /// The ledger column.
    pub fn column(self) -> &'static str {
        match self {
            CostMeasure::Effective => "EffectiveCost",
            CostMeasure::Billed => "BilledCost",
        }
    }
}

/// Report errors.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Polars failed while computing a report.
    #[error("computing the {report} report for {month}: {source}")]
    Polars {
        /// Which report.
        report: &'static str,
        /// Billing month.
        month: BillingMonth,
        /// The error.
        #[source]
        source: PolarsError,
    },
    /// A bad value-metrics row (or header: row 0).
    #[error("{file}: row {row}, column {column}: {message}")]
    ValueMetrics {
        /// The file.
        file: String,
        /// 1-based data row (0: the header).
        row: usize,
        /// Column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A template that cannot be loaded, parsed or rendered.
    #[error("template {file}{line}: {message}")]
    Template {
        /// The template file (or the built-in template's name).
        file: String,
        /// ` line N`, when known.
        line: String,
        /// What is wrong.
        message: String,
    },
    /// The template directory is unusable.
    #[error("template directory {dir}: {message}")]
    TemplateDir {
        /// The directory.
        dir: String,
        /// What is wrong.
        message: String,
    },
    /// A published summary that cannot be read back as history.
    #[error("reading {file}: {message}")]
    History {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Writing the XLSX journal failed.
    #[error("writing chargeback.xlsx: {0}")]
    Xlsx(String),
    /// Serialising JSON failed.
    #[error("writing {file}: {message}")]
    Json {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl ReportError {
    /// Bad configuration or input (value metrics, templates, history): exit code 2.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ReportError::ValueMetrics { .. }
                | ReportError::Template { .. }
                | ReportError::TemplateDir { .. }
                | ReportError::History { .. }
        )
    }
}

/// Cost per TCO category; every category is always present.
pub type ByCategory = BTreeMap<&'static str, Money>;

fn empty_by_category() -> ByCategory {
    TcoCategory::ALL.iter().map(|c| (c.as_str(), Money::ZERO)).collect()
}

/// One project's line in the summary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProjectLine {
    /// Project name.
    pub project: String,
    /// Business unit.
    pub business_unit: String,
    /// Total cost of ownership for the month: direct plus shared.
    pub tco_total: Money,
    /// Cost attributed directly (by rules or by its source).
    pub direct_total: Money,
    /// Shares of pools.
    pub shared_total: Money,
    /// TCO by category.
    pub by_category: ByCategory,
}

/// A shared pool's month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PoolLine {
    /// Pool name.
    pub pool: String,
    /// Ledger rows the pool took.
    pub pooled_total: Money,
    /// What it received from earlier pools.
    pub received_total: Money,
    /// What it passed to projects.
    pub to_projects: Money,
    /// What it passed to later pools.
    pub to_pools: Money,
    /// What stayed unallocated (its driver total was zero).
    pub unallocated: Money,
}

/// Totals of a currency with no conversion to the reporting currency.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OtherCurrency {
    /// ISO currency code.
    pub currency: String,
    /// Rows in that currency.
    pub rows: u64,
    /// Their total (cost measure), not included in the totals above.
    pub total: Money,
}

/// Rows converted from another billing currency into the reporting currency.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FxLine {
    /// The billing currency before conversion.
    pub currency: String,
    /// Rows converted.
    pub rows: u64,
    /// Their total after conversion (cost measure, reporting currency).
    pub converted_total: Money,
    /// The lowest rate used.
    pub rate_min: Money,
    /// The highest rate used (daily rates differ within a month).
    pub rate_max: Money,
}

/// Price-book drift for one provider and model: what the usage exports priced with the book
/// come to against what the provider billed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DriftLine {
    /// ProviderName.
    pub provider: String,
    /// Model (`x_model`).
    pub model: String,
    /// Σ cost of billed rows (cost measure).
    pub billed: Money,
    /// Σ `x_estimated_cost` of the quantities-only rows.
    pub estimated: Money,
    /// estimated − billed.
    pub difference: Money,
}

/// Totals per source, for tying out to each bill.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SourceLine {
    /// Source name.
    pub source: String,
    /// Rows.
    pub rows: u64,
    /// Σ BilledCost.
    pub billed_cost: Money,
    /// Σ EffectiveCost.
    pub effective_cost: Money,
}

/// The month's summary (`reports/YYYY-MM/summary.json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Billing month.
    pub billing_month: BillingMonth,
    /// Reporting currency.
    pub currency: String,
    /// The FOCUS column the totals measure.
    pub cost_measure: &'static str,
    /// Every ledger row of the month in the reporting currency.
    pub ingested_total: Money,
    /// The part attributed to a project.
    pub allocated_total: Money,
    /// The part no rule attributed.
    pub unallocated_total: Money,
    /// Σ BilledCost, to tie out to the invoices.
    pub billed_total: Money,
    /// Ledger rows.
    pub rows: u64,
    /// Organisation TCO by category.
    pub by_category: ByCategory,
    /// Per project, sorted by name (declared projects with no cost appear with zero).
    pub projects: Vec<ProjectLine>,
    /// The unattributed cost by category.
    pub unallocated: ByCategory,
    /// Shared pools, in name order.
    pub pools: Vec<PoolLine>,
    /// Per source.
    pub sources: Vec<SourceLine>,
    /// Rows converted from other currencies with the pipeline's FX table.
    pub fx: Vec<FxLine>,
    /// Per provider and model where both a billed source and a quantities-only source exist.
    pub drift: Vec<DriftLine>,
    /// Rows in other currencies, left out of the totals until an FX table converts them.
    pub other_currencies: Vec<OtherCurrency>,
}

/// Computes the summary of one month from its allocation dataset (attributed rows and pool
/// share rows, see `tally_allocate`).
pub fn summarize(
    allocated: LazyFrame,
    month: BillingMonth,
    currency: &str,
    measure: CostMeasure,
    projects: &[Project],
) -> Result<Summary, ReportError> {
    use tally_allocate::{X_ALLOCATION_PATH, X_ALLOCATION_POOL, X_ALLOCATION_ROLE, X_POOL};
    let err = |source| ReportError::Polars { report: "summary", month, source };
    let cost = measure.column();
    let keys = [
        "BillingCurrency",
        X_ALLOCATION_ROLE,
        X_PROJECT,
        X_BUSINESS_UNIT,
        X_TCO_CATEGORY,
        X_POOL,
        X_ALLOCATION_POOL,
        X_ALLOCATION_PATH,
    ];
    let groups = allocated
        .clone()
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([len().alias("rows"), col(cost).sum().alias("cost"), col("BilledCost").sum().alias("billed")])
        .sort(keys, SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .map_err(err)?;
    let by_source = allocated
        .clone()
        .filter(
            col("BillingCurrency")
                .eq(lit(currency.to_string()))
                .and(col(X_ALLOCATION_ROLE).neq(lit(tally_allocate::ROLE_SHARE))),
        )
        .group_by([col(tally_ledger::schema::X_SOURCE)])
        .agg([
            len().alias("rows"),
            col("BilledCost").sum().alias("billed"),
            col("EffectiveCost").sum().alias("effective"),
        ])
        .sort([tally_ledger::schema::X_SOURCE], Default::default())
        .collect()
        .map_err(err)?;

    let fx = allocated
        .clone()
        .filter(col(tally_ledger::schema::X_FX_CURRENCY).is_not_null())
        .group_by([col(tally_ledger::schema::X_FX_CURRENCY)])
        .agg([
            len().alias("rows"),
            col(cost).sum().alias("cost"),
            col(tally_ledger::schema::X_FX_RATE).min().alias("min"),
            col(tally_ledger::schema::X_FX_RATE).max().alias("max"),
        ])
        .sort([tally_ledger::schema::X_FX_CURRENCY], Default::default())
        .collect()
        .map_err(err)?;
    use tally_ledger::schema::{X_COST_BASIS, X_ESTIMATED_COST, X_MODEL};
    let drift = allocated
        .clone()
        .filter(col(X_MODEL).is_not_null().and(col("BillingCurrency").eq(lit(currency.to_string()))))
        .group_by([col("ProviderName"), col(X_MODEL)])
        .agg([
            col(cost).filter(col(X_COST_BASIS).eq(lit("billed"))).sum().alias("billed"),
            col(X_ESTIMATED_COST).sum().alias("estimated"),
            col(X_COST_BASIS).eq(lit("billed")).any(true).alias("has_billed"),
            col(X_COST_BASIS).eq(lit("quantities")).any(true).alias("has_quantities"),
        ])
        .filter(col("has_billed").and(col("has_quantities")))
        .sort(["ProviderName", X_MODEL], Default::default())
        .collect()
        .map_err(err)?;
    let mut s = Summary {
        billing_month: month,
        currency: currency.to_string(),
        cost_measure: cost,
        ingested_total: Money::ZERO,
        allocated_total: Money::ZERO,
        unallocated_total: Money::ZERO,
        billed_total: Money::ZERO,
        rows: 0,
        by_category: empty_by_category(),
        projects: Vec::new(),
        unallocated: empty_by_category(),
        pools: Vec::new(),
        sources: Vec::new(),
        fx: Vec::new(),
        drift: Vec::new(),
        other_currencies: Vec::new(),
    };
    let new_line = |project: String, bu: String| ProjectLine {
        project,
        business_unit: bu,
        tco_total: Money::ZERO,
        direct_total: Money::ZERO,
        shared_total: Money::ZERO,
        by_category: empty_by_category(),
    };
    let mut lines: BTreeMap<String, ProjectLine> =
        projects.iter().map(|p| (p.name.clone(), new_line(p.name.clone(), p.business_unit.clone()))).collect();
    let mut pools: BTreeMap<String, PoolLine> = BTreeMap::new();
    let mut others: BTreeMap<String, OtherCurrency> = BTreeMap::new();
    for i in 0..groups.height() {
        let cur = str_at(&groups, "BillingCurrency", i).unwrap_or_default();
        let role = str_at(&groups, X_ALLOCATION_ROLE, i).unwrap_or_default();
        let amount = money_at(&groups, "cost", i);
        let rows = u64_at(&groups, "rows", i);
        let is_share = role == tally_allocate::ROLE_SHARE;
        let is_cascade = role == tally_allocate::ROLE_CASCADE;
        if cur != currency {
            if !is_share && !is_cascade {
                let o =
                    others.entry(cur.clone()).or_insert(OtherCurrency { currency: cur, rows: 0, total: Money::ZERO });
                o.rows += rows;
                o.total += amount;
            }
            continue;
        }
        let cat = str_at(&groups, X_TCO_CATEGORY, i)
            .and_then(|c| TcoCategory::parse(&c))
            .unwrap_or(TcoCategory::Infrastructure);
        let project = str_at(&groups, X_PROJECT, i);
        if !is_share && !is_cascade {
            s.rows += rows;
            s.ingested_total += amount;
            s.billed_total += money_at(&groups, "billed", i);
            *s.by_category.entry(cat.as_str()).or_default() += amount;
        }
        let empty_pool = || PoolLine {
            pool: String::new(),
            pooled_total: Money::ZERO,
            received_total: Money::ZERO,
            to_projects: Money::ZERO,
            to_pools: Money::ZERO,
            unallocated: Money::ZERO,
        };
        if is_cascade {
            if let Some(from) = str_at(&groups, X_ALLOCATION_POOL, i) {
                pools.entry(from.clone()).or_insert_with(|| PoolLine { pool: from, ..empty_pool() }).to_pools += amount;
            }
            if let Some(to) = str_at(&groups, X_POOL, i) {
                pools.entry(to.clone()).or_insert_with(|| PoolLine { pool: to, ..empty_pool() }).received_total +=
                    amount;
            }
            continue;
        }
        if role == tally_allocate::ROLE_POOLED {
            if let Some(pool) = str_at(&groups, X_POOL, i) {
                let line = pools.entry(pool.clone()).or_insert_with(|| PoolLine { pool, ..empty_pool() });
                line.pooled_total += amount;
            }
            continue;
        }
        if is_share {
            if let Some(pool) = str_at(&groups, X_ALLOCATION_POOL, i) {
                let line = pools.entry(pool.clone()).or_insert_with(|| PoolLine { pool, ..empty_pool() });
                match &project {
                    Some(_) => line.to_projects += amount,
                    None => line.unallocated += amount,
                }
            }
        }
        match project {
            Some(project) => {
                s.allocated_total += amount;
                let bu = str_at(&groups, X_BUSINESS_UNIT, i).unwrap_or_default();
                let line = lines.entry(project.clone()).or_insert_with(|| new_line(project, bu));
                line.tco_total += amount;
                if is_share {
                    line.shared_total += amount;
                } else {
                    line.direct_total += amount;
                }
                *line.by_category.entry(cat.as_str()).or_default() += amount;
            }
            None => {
                s.unallocated_total += amount;
                *s.unallocated.entry(cat.as_str()).or_default() += amount;
            }
        }
    }
    s.projects = lines.into_values().collect();
    s.pools = pools.into_values().collect();
    s.other_currencies = others.into_values().collect();
    for i in 0..drift.height() {
        let billed = money_at(&drift, "billed", i);
        let estimated = money_at(&drift, "estimated", i);
        s.drift.push(DriftLine {
            provider: str_at(&drift, "ProviderName", i).unwrap_or_default(),
            model: str_at(&drift, X_MODEL, i).unwrap_or_default(),
            billed,
            estimated,
            difference: estimated - billed,
        });
    }
    for i in 0..fx.height() {
        s.fx.push(FxLine {
            currency: str_at(&fx, tally_ledger::schema::X_FX_CURRENCY, i).unwrap_or_default(),
            rows: u64_at(&fx, "rows", i),
            converted_total: money_at(&fx, "cost", i),
            rate_min: money_at(&fx, "min", i),
            rate_max: money_at(&fx, "max", i),
        });
    }
    for i in 0..by_source.height() {
        s.sources.push(SourceLine {
            source: str_at(&by_source, tally_ledger::schema::X_SOURCE, i).unwrap_or_default(),
            rows: u64_at(&by_source, "rows", i),
            billed_cost: money_at(&by_source, "billed", i),
            effective_cost: money_at(&by_source, "effective", i),
        });
    }
    Ok(s)
}

impl Summary {
    /// The summary as stable, pretty JSON (money as decimal strings).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
