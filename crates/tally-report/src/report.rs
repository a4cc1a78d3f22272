//! The month's report data: headline, per-project TCO, budgets, month-over-month, ROI, unit
//! costs, anomalies and savings. Everything here is exact (`Money`); percentages and ratios
//! are exact decimals rounded for display. It is what `summary.json` gains under `report`, and
//! what the templates render.

use std::collections::BTreeMap;

use tally_allocate::Project;
use tally_ledger::layout::BillingMonth;
use tally_ledger::{Money, TcoCategory};

use crate::anomaly::{Anomaly, AnomalyOptions};
use crate::chargeback::Journal;
use crate::detail::{MonthDetail, TokenKind};
use crate::format::{percent, ratio};
use crate::value::ValueMetrics;
use crate::Summary;

/// Report settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReportOptions {
    /// A project is "near budget" from this percentage of its budget (default 90).
    pub budget_warning_pct: Money,
    /// Anomaly detection.
    pub anomaly: AnomalyOptions,
    /// The cache hit rate (% of input tokens read from the cache) the potential saving assumes.
    pub target_cache_hit_pct: Money,
    /// The share (%) of a large model's tokens the routing what-if moves to a cheaper model.
    pub routing_share_pct: Money,
    /// Showback: the journal leaves the cost centre and GL account out.
    pub showback: bool,
    /// Months of trend shown (default 12).
    pub trend_months: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            budget_warning_pct: Money::from_int(90),
            anomaly: AnomalyOptions::default(),
            target_cache_hit_pct: Money::from_int(50),
            routing_share_pct: Money::from_int(30),
            showback: false,
            trend_months: 12,
        }
    }
}

/// Model usage of a project for a month (kept in `summary.json` for the next months' trends).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// All tokens.
    pub tokens: Money,
    /// Uncached input tokens.
    pub input_tokens: Money,
    /// Input tokens read from the cache.
    pub cached_tokens: Money,
    /// Output tokens.
    pub output_tokens: Money,
    /// Requests, when the sources count them.
    pub requests: u64,
}

/// One project of an earlier month, as read back from its `summary.json`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PointProject {
    /// Project.
    pub project: String,
    /// TCO.
    pub tco_total: Money,
    /// By category.
    #[serde(default)]
    pub by_category: BTreeMap<String, Money>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PointReport {
    #[serde(default)]
    usage: BTreeMap<String, Usage>,
}

/// A month of history: what the trends, month-over-month changes and cumulative ROI need of an
/// earlier month. Read it from a published `summary.json` ([`MonthPoint::from_json`]) or from a
/// [`Summary`] computed in the same run ([`MonthPoint::from_summary`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonthPoint {
    /// Month.
    pub billing_month: BillingMonth,
    /// Reporting currency.
    pub currency: String,
    /// Organisation TCO (ingested).
    pub ingested_total: Money,
    /// Allocated.
    pub allocated_total: Money,
    /// Organisation TCO by category.
    #[serde(default)]
    pub by_category: BTreeMap<String, Money>,
    /// Projects.
    pub projects: Vec<PointProject>,
    #[serde(default)]
    report: Option<PointReport>,
}

impl MonthPoint {
    /// From a summary computed in this run (usage from its detail, when known).
    pub fn from_summary(s: &Summary, usage: Option<&BTreeMap<String, Usage>>) -> MonthPoint {
        MonthPoint {
            billing_month: s.billing_month,
            currency: s.currency.clone(),
            ingested_total: s.ingested_total,
            allocated_total: s.allocated_total,
            by_category: s.by_category.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            projects: s
                .projects
                .iter()
                .map(|p| PointProject {
                    project: p.project.clone(),
                    tco_total: p.tco_total,
                    by_category: p.by_category.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                })
                .collect(),
            report: usage.map(|u| PointReport { usage: u.clone() }),
        }
    }

    /// From a published `summary.json` (with or without the `report` section).
    pub fn from_json(file: &str, bytes: &[u8]) -> Result<MonthPoint, crate::ReportError> {
        serde_json::from_slice(bytes)
            .map_err(|e| crate::ReportError::History { file: file.to_string(), message: e.to_string() })
    }

    /// The project's TCO that month (zero when absent).
    pub fn tco(&self, project: &str) -> Option<Money> {
        self.projects.iter().find(|p| p.project == project).map(|p| p.tco_total)
    }

    /// The project's usage that month, when recorded.
    pub fn usage(&self, project: &str) -> Option<&Usage> {
        self.report.as_ref().and_then(|r| r.usage.get(project))
    }
}

/// An amount of one category.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CategoryAmount {
    /// `model_api`, …
    pub category: &'static str,
    /// `Model API`, …
    pub label: &'static str,
    /// Amount.
    pub amount: Money,
    /// % of the total it belongs to.
    pub pct: Option<String>,
}

/// Display label of a category.
pub fn category_label(c: TcoCategory) -> &'static str {
    match c {
        TcoCategory::ModelApi => "Model API",
        TcoCategory::Compute => "Compute",
        TcoCategory::Infrastructure => "Infrastructure",
        TcoCategory::People => "People",
        TcoCategory::SecurityCompliance => "Security & compliance",
    }
}

fn categories(by: &BTreeMap<&'static str, Money>, total: Money) -> Vec<CategoryAmount> {
    TcoCategory::ALL
        .iter()
        .map(|c| {
            let amount = by.get(c.as_str()).copied().unwrap_or_default();
            CategoryAmount { category: c.as_str(), label: category_label(*c), amount, pct: percent(amount, total) }
        })
        .collect()
}

/// The headline numbers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Headline {
    /// Organisation TCO: every ledger row of the month (allocated + unallocated).
    pub tco: Money,
    /// Model API spend (category `model_api`, organisation-wide).
    pub model_api: Money,
    /// Hidden-cost multiplier: TCO ÷ model API spend, two decimals.
    pub hidden_cost_multiplier: Option<String>,
    /// Allocated to projects.
    pub allocated: Money,
    /// % of TCO allocated (one decimal).
    pub allocated_pct: Option<String>,
    /// Not allocated.
    pub unallocated: Money,
    /// Last month's TCO, when known.
    pub previous_tco: Option<Money>,
    /// TCO − last month's.
    pub change: Option<Money>,
    /// That change in % of last month's.
    pub change_pct: Option<String>,
    /// Organisation TCO by category.
    pub categories: Vec<CategoryAmount>,
}

/// Budget vs actual.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Budget {
    /// Monthly budget.
    pub budget: Money,
    /// Actual (TCO).
    pub actual: Money,
    /// budget − actual (positive: under budget).
    pub variance: Money,
    /// actual in % of budget.
    pub used_pct: Option<String>,
    /// `favourable` (at or under budget) or `unfavourable` (over).
    pub status: &'static str,
    /// At or above the warning threshold while still within budget.
    pub near_limit: bool,
}

/// A change against last month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// Last month's amount.
    pub previous: Money,
    /// This month − last month.
    pub change: Money,
    /// In % of last month's (none when it was zero).
    pub change_pct: Option<String>,
}

/// A month of a project's ROI history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RoiMonth {
    /// Month.
    pub month: BillingMonth,
    /// TCO.
    pub tco: Money,
    /// Value.
    pub value: Money,
    /// Σ TCO to this month.
    pub cumulative_tco: Money,
    /// Σ value to this month.
    pub cumulative_value: Money,
}

/// A project's return.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Roi {
    /// Value this month.
    pub value: Money,
    /// value − TCO.
    pub net: Money,
    /// (value − TCO) ÷ TCO, one decimal.
    pub roi_pct: Option<String>,
    /// Months from the first with cost or value, up to this one.
    pub months: Vec<RoiMonth>,
    /// The first month where cumulative value reached cumulative TCO.
    pub payback_month: Option<BillingMonth>,
}

/// A unit cost: TCO ÷ volume.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnitCost {
    /// `conversations`, `request`, `1,000 tokens`, …
    pub unit: String,
    /// Volume.
    pub units: Money,
    /// TCO per unit (18 decimals; shown with four).
    pub cost: Money,
}

/// One project's month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProjectReport {
    /// Project.
    pub project: String,
    /// Business unit.
    pub business_unit: String,
    /// Cost centre.
    pub cost_center: Option<String>,
    /// GL account.
    pub gl_account: Option<String>,
    /// TCO.
    pub tco: Money,
    /// Direct cost.
    pub direct: Money,
    /// Pool shares.
    pub shared: Money,
    /// Shares in % of TCO.
    pub shared_pct: Option<String>,
    /// % of the organisation's allocated cost.
    pub share_of_allocated_pct: Option<String>,
    /// By category, in report order.
    pub categories: Vec<CategoryAmount>,
    /// Model API spend.
    pub model_api: Money,
    /// TCO ÷ model API spend.
    pub hidden_cost_multiplier: Option<String>,
    /// Budget vs actual.
    pub budget: Option<Budget>,
    /// Against last month.
    pub month_over_month: Option<Change>,
    /// Value and ROI, with value metrics.
    pub roi: Option<Roi>,
    /// Unit costs.
    pub unit_costs: Vec<UnitCost>,
    /// Model usage.
    pub usage: Usage,
}

/// A month of the trend.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrendMonth {
    /// Month.
    pub month: BillingMonth,
    /// Organisation TCO.
    pub tco: Money,
    /// TCO per project (every project of the report; zero when absent).
    pub projects: BTreeMap<String, Money>,
}

/// A savings opportunity, with the assumption behind its number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Saving {
    /// `caching-made`, `caching-potential`, `model-routing`, `prompt-growth`, `unused-commitment`.
    pub kind: &'static str,
    /// Project (or where the cost is charged).
    pub project: String,
    /// What it is.
    pub title: String,
    /// The monthly amount (saved already for `caching-made`; potential otherwise; none for a trend).
    pub amount: Option<Money>,
    /// The assumption the number rests on.
    pub assumption: String,
}

/// The month's report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Headline.
    pub headline: Headline,
    /// Projects, by name.
    pub projects: Vec<ProjectReport>,
    /// Monthly trend (oldest first), up to this month.
    pub trend: Vec<TrendMonth>,
    /// Spend anomalies of the month, largest first.
    pub anomalies: Vec<Anomaly>,
    /// Savings opportunities (largest amount first within each kind).
    pub savings: Vec<Saving>,
    /// The chargeback journal's totals.
    pub chargeback: ChargebackTotals,
    /// Model usage per project (for next months' trends).
    pub usage: BTreeMap<String, Usage>,
    /// Value-metrics file used, if any.
    pub value_metrics: Option<String>,
    /// Settings the numbers used.
    pub options: ReportOptions,
}

/// Journal totals (the lines are in `chargeback.csv`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChargebackTotals {
    /// Journal lines.
    pub lines: usize,
    /// Σ lines (whole minor units).
    pub journal_total: Money,
    /// Exact allocated total.
    pub allocated_total: Money,
    /// allocated_total − journal_total.
    pub rounding: Money,
    /// Per business unit.
    pub business_units: BTreeMap<String, Money>,
}

fn usage_of(detail: &MonthDetail) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for m in &detail.models {
        let Some(p) = &m.project else { continue };
        let u = out.entry(p.clone()).or_default();
        u.tokens += m.tokens;
        u.requests += m.requests;
        match m.kind {
            TokenKind::Input => u.input_tokens += m.tokens,
            TokenKind::CachedInput => u.cached_tokens += m.tokens,
            TokenKind::Output => u.output_tokens += m.tokens,
            TokenKind::CacheWrite | TokenKind::Other => {}
        }
    }
    out
}

fn pct_of(x: Money, pct: Money) -> Money {
    x.mul_div(pct, Money::from_int(100)).unwrap_or_default()
}

fn savings(
    detail: &MonthDetail,
    usage: &BTreeMap<String, Usage>,
    history: &[MonthPoint],
    month: BillingMonth,
    value: Option<&ValueMetrics>,
    opts: &ReportOptions,
    currency: &str,
) -> Vec<Saving> {
    let money = |m: Money| crate::format::money(m, currency);
    let mut out = Vec::new();
    // Per project and model: tokens and cost by kind.
    type Kinds = BTreeMap<TokenKind, (Money, Money)>;
    let mut per: BTreeMap<(String, String), Kinds> = BTreeMap::new();
    for m in &detail.models {
        let Some(p) = &m.project else { continue };
        let e = per.entry((p.clone(), m.model.clone())).or_default().entry(m.kind).or_default();
        e.0 += m.tokens;
        e.1 += m.cost;
    }
    let one = Money::from_int(1);
    for ((project, model), kinds) in &per {
        let (it, ic) = kinds.get(&TokenKind::Input).copied().unwrap_or_default();
        let (ct, cc) = kinds.get(&TokenKind::CachedInput).copied().unwrap_or_default();
        if ct == Money::ZERO || it == Money::ZERO {
            continue;
        }
        let (Some(pi), Some(pc)) = (ic.mul_div(one, it), cc.mul_div(one, ct)) else { continue };
        let all = it + ct;
        let hit = percent(ct, all).unwrap_or_default();
        let made = ct.mul_div(pi, one).unwrap_or_default() - cc;
        out.push(Saving {
            kind: "caching-made",
            project: project.clone(),
            title: format!("{model}: prompt caching (hit rate {hit}%) already saved this month"),
            amount: Some(made),
            assumption: format!(
                "cached tokens would otherwise have been billed at this month's uncached input price \
                 ({} per 1M tokens, paid {} per 1M cached); cache-write charges not deducted",
                money(pi.mul_div(Money::from_int(1_000_000), one).unwrap_or_default()),
                money(pc.mul_div(Money::from_int(1_000_000), one).unwrap_or_default())
            ),
        });
        let target = pct_of(all, opts.target_cache_hit_pct);
        if target > ct && pi > pc {
            let moved = target - ct;
            let potential = moved.mul_div(pi - pc, one).unwrap_or_default();
            out.push(Saving {
                kind: "caching-potential",
                project: project.clone(),
                title: format!(
                    "{model}: raise the cache hit rate from {hit}% to {}%",
                    opts.target_cache_hit_pct.to_string_min_dp(0)
                ),
                amount: Some(potential),
                assumption: format!(
                    "same input volume; {} more input tokens read from the cache at this month's cached price",
                    crate::format::grouped(moved, 0)
                ),
            });
        }
    }
    // Model routing: within a project, the dearest model (per token) vs the cheapest.
    let mut by_project: BTreeMap<&str, Vec<(&str, Money, Money)>> = BTreeMap::new();
    for ((project, model), kinds) in &per {
        let mut tokens = Money::ZERO;
        let mut cost = Money::ZERO;
        for (k, (t, c)) in kinds {
            if matches!(k, TokenKind::Input | TokenKind::CachedInput | TokenKind::Output | TokenKind::CacheWrite) {
                tokens += *t;
                cost += *c;
            }
        }
        if tokens > Money::ZERO && cost > Money::ZERO {
            by_project.entry(project.as_str()).or_default().push((model.as_str(), tokens, cost));
        }
    }
    for (project, models) in by_project {
        if models.len() < 2 {
            continue;
        }
        let price = |t: Money, c: Money| c.mul_div(one, t).unwrap_or_default();
        let big = models.iter().max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(a.0)));
        let cheap = models.iter().min_by(|a, b| price(a.1, a.2).cmp(&price(b.1, b.2)).then(a.0.cmp(b.0)));
        let (Some(big), Some(cheap)) = (big, cheap) else { continue };
        let (pb, ps) = (price(big.1, big.2), price(cheap.1, cheap.2));
        if big.0 == cheap.0 || ps >= pb {
            continue;
        }
        let moved_tokens = pct_of(big.1, opts.routing_share_pct);
        let saving = pct_of(big.2, opts.routing_share_pct) - moved_tokens.mul_div(ps, one).unwrap_or_default();
        out.push(Saving {
            kind: "model-routing",
            project: project.to_string(),
            title: format!(
                "route {}% of {}'s traffic to {}",
                opts.routing_share_pct.to_string_min_dp(0),
                big.0,
                cheap.0
            ),
            amount: Some(saving),
            assumption: format!(
                "{} tokens move at {}'s blended price this month ({} per 1M tokens vs {}), same mix of input, \
                 cached and output tokens; answer quality not assessed",
                crate::format::grouped(moved_tokens, 0),
                cheap.0,
                money(ps.mul_div(Money::from_int(1_000_000), one).unwrap_or_default()),
                money(pb.mul_div(Money::from_int(1_000_000), one).unwrap_or_default())
            ),
        });
    }
    // Prompt growth: tokens per request (or per unit of a volume metric) against last month.
    let prev = history.iter().find(|h| h.billing_month == month.prev());
    for (project, u) in usage {
        let mut per_unit: Vec<(String, Money, Option<Money>)> = Vec::new();
        if u.requests > 0 {
            let now = u.tokens.mul_div(one, Money::from_int(i64::try_from(u.requests).unwrap_or(i64::MAX)));
            let before = prev
                .and_then(|p| p.usage(project))
                .filter(|p| p.requests > 0)
                .and_then(|p| p.tokens.mul_div(one, Money::from_int(i64::try_from(p.requests).unwrap_or(i64::MAX))));
            if let Some(now) = now {
                per_unit.push(("request".into(), now, before));
            }
        } else if let Some(v) = value {
            // Volume metrics only (rows with units and no value): conversations, searches…
            for (metric, units) in v.volumes(project, month) {
                let Some(now) = u.tokens.mul_div(one, units) else { continue };
                let before = prev.and_then(|p| {
                    let pu = p.usage(project)?;
                    let units = v.volumes(project, month.prev()).get(&metric).copied()?;
                    pu.tokens.mul_div(one, units)
                });
                per_unit.push((metric, now, before));
            }
        }
        for (unit, now, before) in per_unit {
            let change = before.and_then(|b| percent(now - b, b));
            out.push(Saving {
                kind: "prompt-growth",
                project: project.clone(),
                title: match (&before, &change) {
                    (Some(b), Some(c)) => format!(
                        "tokens / {unit}: {} (last month {}, {}{c}%)",
                        crate::format::grouped(now, 0),
                        crate::format::grouped(*b, 0),
                        if now >= *b { "+" } else { "" }
                    ),
                    _ => format!("tokens / {unit}: {}", crate::format::grouped(now, 0)),
                },
                amount: None,
                assumption:
                    "a trend, not a saving: longer prompts and answers raise the cost of each unit at the same \
                             volume"
                        .into(),
            });
        }
    }
    for c in &detail.unused_commitments {
        if c.cost == Money::ZERO {
            continue;
        }
        out.push(Saving {
            kind: "unused-commitment",
            project: c.charged_to.clone(),
            title: format!("unused commitment {} ({})", c.commitment, c.provider),
            amount: Some(c.cost),
            assumption: "paid whether used or not (CommitmentDiscountStatus = Unused); moving workloads onto it or \
                         lowering it at renewal saves up to this a month"
                .into(),
        });
    }
    let rank = |k: &str| {
        ["caching-made", "caching-potential", "model-routing", "unused-commitment", "prompt-growth"]
            .iter()
            .position(|x| *x == k)
            .unwrap_or(9)
    };
    out.sort_by(|a, b| {
        rank(a.kind)
            .cmp(&rank(b.kind))
            .then(b.amount.cmp(&a.amount))
            .then(a.project.cmp(&b.project))
            .then(a.title.cmp(&b.title))
    });
    out
}

/// Everything the report needs.
pub struct ReportInputs<'a> {
    /// The month's summary.
    pub summary: &'a Summary,
    /// Earlier months (any order; later months and other currencies are ignored).
    pub history: &'a [MonthPoint],
    /// The pipeline's projects (business unit, cost centre, GL account, budget).
    pub projects: &'a [Project],
    /// The month's detail from the allocation frame ([`crate::detail::month_detail`]).
    pub detail: &'a MonthDetail,
    /// Value metrics, if the pipeline has them.
    pub value: Option<&'a ValueMetrics>,
    /// Settings.
    pub options: &'a ReportOptions,
}

/// Computes the month's report.
pub fn build(inputs: &ReportInputs<'_>, journal: &Journal) -> Report {
    let s = inputs.summary;
    let month = s.billing_month;
    let opts = inputs.options;
    let mut history: Vec<&MonthPoint> =
        inputs.history.iter().filter(|h| h.billing_month < month && h.currency == s.currency).collect();
    history.sort_by_key(|h| h.billing_month);
    history.dedup_by_key(|h| h.billing_month);
    let prev = history.iter().find(|h| h.billing_month == month.prev()).copied();
    let usage = usage_of(inputs.detail);
    let model_api = s.by_category.get("model_api").copied().unwrap_or_default();
    let headline = Headline {
        tco: s.ingested_total,
        model_api,
        hidden_cost_multiplier: ratio(s.ingested_total, model_api),
        allocated: s.allocated_total,
        allocated_pct: percent(s.allocated_total, s.ingested_total),
        unallocated: s.unallocated_total,
        previous_tco: prev.map(|p| p.ingested_total),
        change: prev.map(|p| s.ingested_total - p.ingested_total),
        change_pct: prev.and_then(|p| percent(s.ingested_total - p.ingested_total, p.ingested_total)),
        categories: categories(&s.by_category, s.ingested_total),
    };
    let one = Money::from_int(1);
    let mut projects = Vec::new();
    for p in &s.projects {
        let decl = inputs.projects.iter().find(|d| d.name == p.project);
        let model_api = p.by_category.get("model_api").copied().unwrap_or_default();
        let budget = decl.and_then(|d| d.monthly_budget).map(|b| {
            let over = p.tco_total > b;
            Budget {
                budget: b,
                actual: p.tco_total,
                variance: b - p.tco_total,
                used_pct: percent(p.tco_total, b),
                status: if over { "unfavourable" } else { "favourable" },
                near_limit: !over && p.tco_total >= pct_of(b, opts.budget_warning_pct),
            }
        });
        let month_over_month = prev.map(|h| {
            let before = h.tco(&p.project).unwrap_or_default();
            Change { previous: before, change: p.tco_total - before, change_pct: percent(p.tco_total - before, before) }
        });
        let roi = inputs.value.and_then(|v| {
            let value = v.value(&p.project, month)?;
            let mut months = Vec::new();
            let (mut ct, mut cv) = (Money::ZERO, Money::ZERO);
            let mut payback = None;
            let points = history.iter().map(|h| (h.billing_month, h.tco(&p.project).unwrap_or_default()));
            for (m, tco) in points.chain(std::iter::once((month, p.tco_total))) {
                let val = v.value(&p.project, m).unwrap_or_default();
                if months.is_empty() && tco == Money::ZERO && val == Money::ZERO {
                    continue;
                }
                ct += tco;
                cv += val;
                if payback.is_none() && cv >= ct && ct > Money::ZERO {
                    payback = Some(m);
                }
                months.push(RoiMonth { month: m, tco, value: val, cumulative_tco: ct, cumulative_value: cv });
            }
            Some(Roi {
                value,
                net: value - p.tco_total,
                roi_pct: percent(value - p.tco_total, p.tco_total),
                months,
                payback_month: payback,
            })
        });
        let u = usage.get(&p.project).cloned().unwrap_or_default();
        let mut unit_costs = Vec::new();
        if let Some(v) = inputs.value {
            for (metric, units) in v.units(&p.project, month) {
                if let Some(cost) = p.tco_total.mul_div(one, units) {
                    unit_costs.push(UnitCost { unit: metric, units, cost });
                }
            }
        }
        if u.requests > 0 {
            let units = Money::from_int(i64::try_from(u.requests).unwrap_or(i64::MAX));
            if let Some(cost) = p.tco_total.mul_div(one, units) {
                unit_costs.push(UnitCost { unit: "request".into(), units, cost });
            }
        }
        if let Some(cost) = p.tco_total.mul_div(Money::from_int(1000), u.tokens) {
            unit_costs.push(UnitCost { unit: "1,000 tokens".into(), units: u.tokens, cost });
        }
        projects.push(ProjectReport {
            project: p.project.clone(),
            business_unit: p.business_unit.clone(),
            cost_center: decl.and_then(|d| d.cost_center.clone()),
            gl_account: decl.and_then(|d| d.gl_account.clone()),
            tco: p.tco_total,
            direct: p.direct_total,
            shared: p.shared_total,
            shared_pct: percent(p.shared_total, p.tco_total),
            share_of_allocated_pct: percent(p.tco_total, s.allocated_total),
            categories: categories(&p.by_category, p.tco_total),
            model_api,
            hidden_cost_multiplier: ratio(p.tco_total, model_api),
            budget,
            month_over_month,
            roi,
            unit_costs,
            usage: u,
        });
    }
    let names: Vec<String> = s.projects.iter().map(|p| p.project.clone()).collect();
    let mut trend: Vec<TrendMonth> = history
        .iter()
        .map(|h| TrendMonth {
            month: h.billing_month,
            tco: h.ingested_total,
            projects: names.iter().map(|n| (n.clone(), h.tco(n).unwrap_or_default())).collect(),
        })
        .collect();
    trend.push(TrendMonth {
        month,
        tco: s.ingested_total,
        projects: s.projects.iter().map(|p| (p.project.clone(), p.tco_total)).collect(),
    });
    let skip = trend.len().saturating_sub(opts.trend_months.max(1));
    trend.drain(..skip);
    let anomalies = crate::anomaly::detect(&inputs.detail.daily, &month.to_string(), &opts.anomaly);
    let history_owned: Vec<MonthPoint> = history.iter().map(|h| (*h).clone()).collect();
    let savings = savings(inputs.detail, &usage, &history_owned, month, inputs.value, opts, &s.currency);
    let chargeback = ChargebackTotals {
        lines: journal.lines.len(),
        journal_total: journal.total,
        allocated_total: journal.allocated_total,
        rounding: journal.rounding,
        business_units: crate::chargeback::by_business_unit(journal).into_iter().map(|(k, v)| (k, v.1)).collect(),
    };
    Report {
        headline,
        projects,
        trend,
        anomalies,
        savings,
        chargeback,
        usage,
        value_metrics: inputs.value.map(|v| v.file.clone()),
        options: opts.clone(),
    }
}
