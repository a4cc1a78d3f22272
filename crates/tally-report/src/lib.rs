//! Reports over the allocated ledger: the monthly `summary.json`, with totals that tie out
//! exactly to the ledger (ingested = allocated + unallocated, to the last digit).

use std::collections::BTreeMap;

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
    /// Total cost of ownership for the month.
    pub tco_total: Money,
    /// TCO by category.
    pub by_category: ByCategory,
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
    /// Per source.
    pub sources: Vec<SourceLine>,
    /// Rows in other currencies, left out of the totals until an FX table converts them.
    pub other_currencies: Vec<OtherCurrency>,
}

/// Computes the summary of one month from its allocated rows.
pub fn summarize(
    allocated: LazyFrame,
    month: BillingMonth,
    currency: &str,
    measure: CostMeasure,
    projects: &[Project],
) -> Result<Summary, ReportError> {
    let err = |source| ReportError::Polars { report: "summary", month, source };
    let cost = measure.column();
    let groups = allocated
        .clone()
        .group_by([col("BillingCurrency"), col(X_PROJECT), col(X_BUSINESS_UNIT), col(X_TCO_CATEGORY)])
        .agg([len().alias("rows"), col(cost).sum().alias("cost"), col("BilledCost").sum().alias("billed")])
        .sort(["BillingCurrency", X_PROJECT, X_TCO_CATEGORY], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .map_err(err)?;
    let by_source = allocated
        .filter(col("BillingCurrency").eq(lit(currency.to_string())))
        .group_by([col(tally_ledger::schema::X_SOURCE)])
        .agg([
            len().alias("rows"),
            col("BilledCost").sum().alias("billed"),
            col("EffectiveCost").sum().alias("effective"),
        ])
        .sort([tally_ledger::schema::X_SOURCE], Default::default())
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
        sources: Vec::new(),
        other_currencies: Vec::new(),
    };
    let mut lines: BTreeMap<String, ProjectLine> = projects
        .iter()
        .map(|p| {
            let line = ProjectLine {
                project: p.name.clone(),
                business_unit: p.business_unit.clone(),
                tco_total: Money::ZERO,
                by_category: empty_by_category(),
            };
            (p.name.clone(), line)
        })
        .collect();
    let mut others: BTreeMap<String, OtherCurrency> = BTreeMap::new();
    for i in 0..groups.height() {
        let cur = str_at(&groups, "BillingCurrency", i).unwrap_or_default();
        let amount = money_at(&groups, "cost", i);
        let rows = u64_at(&groups, "rows", i);
        if cur != currency {
            let o = others.entry(cur.clone()).or_insert(OtherCurrency { currency: cur, rows: 0, total: Money::ZERO });
            o.rows += rows;
            o.total = o.total + amount;
            continue;
        }
        let cat = str_at(&groups, X_TCO_CATEGORY, i)
            .and_then(|c| TcoCategory::parse(&c))
            .unwrap_or(TcoCategory::Infrastructure);
        s.rows += rows;
        s.ingested_total = s.ingested_total + amount;
        s.billed_total = s.billed_total + money_at(&groups, "billed", i);
        *s.by_category.entry(cat.as_str()).or_default() = s.by_category[cat.as_str()] + amount;
        match str_at(&groups, X_PROJECT, i) {
            Some(project) => {
                s.allocated_total = s.allocated_total + amount;
                let bu = str_at(&groups, X_BUSINESS_UNIT, i).unwrap_or_default();
                let line = lines.entry(project.clone()).or_insert_with(|| ProjectLine {
                    project,
                    business_unit: bu,
                    tco_total: Money::ZERO,
                    by_category: empty_by_category(),
                });
                line.tco_total = line.tco_total + amount;
                *line.by_category.entry(cat.as_str()).or_default() = line.by_category[cat.as_str()] + amount;
            }
            None => {
                s.unallocated_total = s.unallocated_total + amount;
                *s.unallocated.entry(cat.as_str()).or_default() = s.unallocated[cat.as_str()] + amount;
            }
        }
    }
    s.projects = lines.into_values().collect();
    s.other_currencies = others.into_values().collect();
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
