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
use crate::detail::{MonthDetail, TokenKind, UsageLine};
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
    /// Today (UTC): when the report's month is the current month and its data ends before the
    /// month does, a month-end forecast is made from the run rate. `None` (the default): no
    /// forecast, so the output depends on the data alone. Not written to `summary.json`.
    #[serde(skip)]
    pub today: Option<chrono::NaiveDate>,
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
            today: None,
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
    /// Shares of pools received (absent in summaries that do not record it).
    #[serde(default)]
    pub shared_total: Option<Money>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PointReport {
    #[serde(default)]
    usage: BTreeMap<String, Usage>,
    /// `None`: not recorded (summaries written before the month-over-month split).
    #[serde(default)]
    usage_lines: Option<BTreeMap<String, Vec<UsageLine>>>,
    #[serde(default)]
    fx_rates: Option<BTreeMap<String, Money>>,
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
    /// From a summary computed in this run and its report (usage, usage lines and FX rates),
    /// when known.
    pub fn from_summary(s: &Summary, report: Option<&Report>) -> MonthPoint {
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
                    shared_total: Some(p.shared_total),
                })
                .collect(),
            report: report.map(|r| PointReport {
                usage: r.usage.clone(),
                usage_lines: Some(r.usage_lines.clone()),
                fx_rates: Some(r.fx_rates.clone()),
            }),
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

    /// The project's metered usage lines that month (`None`: not recorded that month).
    pub fn usage_lines(&self, project: &str) -> Option<&[UsageLine]> {
        let lines = self.report.as_ref()?.usage_lines.as_ref()?;
        Some(lines.get(project).map(Vec::as_slice).unwrap_or_default())
    }

    /// The month's average FX rates (`None`: not recorded that month).
    pub fn fx_rates(&self) -> Option<&BTreeMap<String, Money>> {
        self.report.as_ref()?.fx_rates.as_ref()
    }

    /// The shares of pools the project received that month (zero when absent; `None` when the
    /// month does not record it).
    pub fn shared(&self, project: &str) -> Option<Money> {
        match self.projects.iter().find(|p| p.project == project) {
            Some(p) => p.shared_total,
            None => Some(Money::ZERO),
        }
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
    /// `favourable` (at or under budget), `at risk` (within budget so far, but the month-end
    /// forecast is over it) or `unfavourable` (over).
    pub status: &'static str,
    /// At or above the warning threshold while still within budget.
    pub near_limit: bool,
    /// The month-end forecast, for a month in progress.
    pub forecast: Option<Money>,
    /// budget − forecast.
    pub forecast_variance: Option<Money>,
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
    /// The change split into effects.
    pub effects: Effects,
}

/// A month-over-month change split into effects (see [`effects`]); `None` when an effect cannot
/// be told apart (last month's summary does not record what it needs), in which case it is part
/// of `other`. volume + price + fx + allocation + other = the change, exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Effects {
    /// Metered usage lines: the change in quantity at last month's unit cost.
    pub volume: Option<Money>,
    /// Metered usage lines: the change in unit cost at this month's quantity.
    pub price: Option<Money>,
    /// Rows converted from other currencies: this month's rate against last month's.
    pub fx: Option<Money>,
    /// Shares received from pools: this month's − last month's.
    pub allocation: Option<Money>,
    /// The rest: the change − the effects above.
    pub other: Money,
}

/// The month-end forecast of a month in progress: run rate = month to date × days in the month
/// ÷ days with data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Forecast {
    /// The date the report was made (UTC).
    pub as_of: chrono::NaiveDate,
    /// The last day with a charge.
    pub last_charge_day: chrono::NaiveDate,
    /// Days with data: 1 to the last charge day.
    pub days_elapsed: u32,
    /// Days in the month.
    pub days_in_month: u32,
    /// Organisation TCO to date.
    pub month_to_date: Money,
    /// Organisation TCO forecast for the month.
    pub forecast: Money,
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

/// Whether traffic of `model` could move to another chat model (and take it): not an embedding,
/// speech, image or moderation model, whose tokens do a different job.
fn is_chat_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    !["embed", "whisper", "tts", "transcribe", "dall-e", "image", "moderation", "rerank"].iter().any(|k| m.contains(k))
}

/// A unit cost: TCO ÷ volume.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnitCost {
    /// `conversations` (a value metric), `API request`, `1,000 tokens`, …
    pub unit: String,
    /// Volume, in that unit (thousands of tokens for `1,000 tokens`).
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
    /// The month-end forecast of TCO, for a month in progress.
    pub forecast: Option<Money>,
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
    /// The month-end forecast, for a month in progress.
    pub forecast: Option<Forecast>,
    /// The day the report was made ([`ReportOptions::today`]) when the month had not started
    /// by then: the month holds only costs already committed to it (one-time costs amortised
    /// into it, recurring costs from internal sources such as people), no usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_started: Option<chrono::NaiveDate>,
    /// Model usage per project (for next months' trends).
    pub usage: BTreeMap<String, Usage>,
    /// Metered usage lines per project (for next month's volume and price effects).
    pub usage_lines: BTreeMap<String, Vec<UsageLine>>,
    /// The month's average rate per converted currency: Σ converted ÷ Σ amount in the
    /// currency (for next month's FX effect).
    pub fx_rates: BTreeMap<String, Money>,
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

/// The month's average rate per converted currency: Σ converted cost ÷ Σ amount in the billing
/// currency (each row's amount being its cost ÷ its rate).
pub fn fx_rates(detail: &MonthDetail) -> BTreeMap<String, Money> {
    let mut sums: BTreeMap<String, (Money, Money)> = BTreeMap::new();
    for f in &detail.fx {
        let e = sums.entry(f.currency.clone()).or_default();
        e.0 += f.cost;
        e.1 += f.foreign();
    }
    sums.into_iter()
        .filter_map(|(c, (converted, foreign))| converted.mul_div(Money::from_int(1), foreign).map(|r| (c, r)))
        .collect()
}

/// Splits a project's change in TCO against last month (`prev`) into effects:
///
/// - **fx**: for this month's direct rows converted from another currency, Σ amount in that
///   currency × (this month's rate − last month's average rate) — what the same foreign amounts
///   cost more or less because the rate moved. Currencies not converted last month: none.
/// - **volume** and **price**, over metered usage lines (model × token kind in tokens; else SKU ×
///   consumed unit: GPU hours, requests…) of direct rows, with this month's cost at last month's
///   rates (the FX part taken out): volume = (quantity − last month's) × last month's unit cost;
///   price = this month's cost − quantity × last month's unit cost. A line new this month is
///   all volume; a line gone is −its cost last month, volume.
/// - **allocation**: shares of pools received this month − last month's.
/// - **other**: the change − the above (fixed fees, people, infrastructure without quantities…).
///
/// An effect whose inputs last month's summary does not record is `None` and part of other.
/// The parts sum to the change exactly.
pub fn effects(project: &str, tco: Money, shared: Money, prev: &MonthPoint, detail: &MonthDetail) -> Effects {
    type Key = (String, String, String);
    let change = tco - prev.tco(project).unwrap_or_default();
    let rates_prev = prev.fx_rates();
    let mut fx_total = Money::ZERO;
    let mut any_fx = false;
    let mut line_fx: BTreeMap<Key, Money> = BTreeMap::new();
    for f in detail.fx.iter().filter(|f| f.project.as_deref() == Some(project)) {
        any_fx = true;
        let Some(r_prev) = rates_prev.and_then(|r| r.get(&f.currency)) else { continue };
        let Some(at_prev) = f.cost.mul_div(*r_prev, f.rate) else { continue };
        let part = f.cost - at_prev;
        fx_total += part;
        if let Some(l) = &f.line {
            *line_fx.entry(l.clone()).or_default() += part;
        }
    }
    let fx = (rates_prev.is_some() || !any_fx).then_some(fx_total);
    let (volume, price) = match prev.usage_lines(project) {
        None => (None, None),
        Some(before) => {
            let mut lines: BTreeMap<Key, [Money; 4]> = BTreeMap::new();
            for l in before {
                let e = lines.entry(l.key()).or_default();
                e[0] += l.quantity;
                e[1] += l.cost;
            }
            for l in detail.usage_lines.get(project).map(Vec::as_slice).unwrap_or_default() {
                let e = lines.entry(l.key()).or_default();
                e[2] += l.quantity;
                e[3] += l.cost;
            }
            let (mut v, mut p) = (Money::ZERO, Money::ZERO);
            for (k, [q_prev, c_prev, q_now, c_now]) in lines {
                let c_now = c_now - line_fx.get(&k).copied().unwrap_or_default();
                match c_prev.mul_div(q_now, q_prev) {
                    Some(at_prev_cost) => {
                        v += at_prev_cost - c_prev;
                        p += c_now - at_prev_cost;
                    }
                    None => v += c_now - c_prev,
                }
            }
            (Some(v), Some(p))
        }
    };
    let allocation = prev.shared(project).map(|s| shared - s);
    let known: Money = [volume, price, fx, allocation].iter().flatten().copied().sum();
    Effects { volume, price, fx, allocation, other: change - known }
}

/// The forecast's dates when `month` is in progress on `today` and its data ends before the
/// month does: (last charge day, days elapsed, days in the month).
fn in_progress(month: BillingMonth, today: chrono::NaiveDate, last: chrono::NaiveDate) -> Option<(u32, u32)> {
    use chrono::Datelike;
    let first = chrono::NaiveDate::from_ymd_opt(month.year, month.month, 1)?;
    let next = month.next();
    let days = u32::try_from((chrono::NaiveDate::from_ymd_opt(next.year, next.month, 1)? - first).num_days()).ok()?;
    let same = |d: chrono::NaiveDate| d.year() == month.year && d.month() == month.month;
    (same(today) && same(last) && last.day() < days).then_some((last.day(), days))
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
    // Per project and model as bought from one provider (`model (provider)`: the same model
    // from its maker and through a cloud is billed at different prices): tokens and cost by kind.
    type Kinds = BTreeMap<TokenKind, (Money, Money)>;
    let mut per: BTreeMap<(String, String), Kinds> = BTreeMap::new();
    for m in &detail.models {
        let Some(p) = &m.project else { continue };
        let model = if m.provider.is_empty() { m.model.clone() } else { format!("{} ({})", m.model, m.provider) };
        let e = per.entry((p.clone(), model)).or_default().entry(m.kind).or_default();
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
        if tokens > Money::ZERO && cost > Money::ZERO && is_chat_model(model) {
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
                per_unit.push(("API request".into(), now, before));
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
    let progress = opts
        .today
        .zip(inputs.detail.last_charge_day)
        .and_then(|(today, last)| in_progress(month, today, last).map(|(e, d)| (today, last, e, d)));
    let run_rate = |x: Money| {
        progress
            .and_then(|(_, _, elapsed, days)| x.mul_div(Money::from_int(days.into()), Money::from_int(elapsed.into())))
    };
    let forecast = progress.and_then(|(as_of, last_charge_day, days_elapsed, days_in_month)| {
        Some(Forecast {
            as_of,
            last_charge_day,
            days_elapsed,
            days_in_month,
            month_to_date: s.ingested_total,
            forecast: run_rate(s.ingested_total)?,
        })
    });
    let not_started = opts.today.filter(|today| month.starts_after(*today));
    let mut projects = Vec::new();
    for p in &s.projects {
        let decl = inputs.projects.iter().find(|d| d.name == p.project);
        let model_api = p.by_category.get("model_api").copied().unwrap_or_default();
        let project_forecast = run_rate(p.tco_total);
        let budget = decl.and_then(|d| d.monthly_budget).map(|b| {
            let over = p.tco_total > b;
            let at_risk = !over && project_forecast.is_some_and(|f| f > b);
            Budget {
                budget: b,
                actual: p.tco_total,
                variance: b - p.tco_total,
                used_pct: percent(p.tco_total, b),
                // Commitments past the budget already are unfavourable; otherwise a month not
                // started is neither favourable nor not.
                status: if over {
                    "unfavourable"
                } else if not_started.is_some() {
                    "not started"
                } else if at_risk {
                    "at risk"
                } else {
                    "favourable"
                },
                near_limit: !over && p.tco_total >= pct_of(b, opts.budget_warning_pct),
                forecast: project_forecast,
                forecast_variance: project_forecast.map(|f| b - f),
            }
        });
        let month_over_month = prev.map(|h| {
            let before = h.tco(&p.project).unwrap_or_default();
            Change {
                previous: before,
                change: p.tco_total - before,
                change_pct: percent(p.tco_total - before, before),
                effects: effects(&p.project, p.tco_total, p.shared_total, h, inputs.detail),
            }
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
                // API requests from the usage exports; a value metric may also count requests
                // (of the product, not of the API), so the label tells them apart.
                unit_costs.push(UnitCost { unit: "API request".into(), units, cost });
            }
        }
        let thousand = Money::from_int(1000);
        if let (Some(cost), Some(units)) = (p.tco_total.mul_div(thousand, u.tokens), u.tokens.mul_div(one, thousand)) {
            unit_costs.push(UnitCost { unit: "1,000 tokens".into(), units, cost });
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
            forecast: project_forecast,
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
        forecast,
        not_started,
        usage,
        usage_lines: inputs.detail.usage_lines.clone(),
        fx_rates: fx_rates(inputs.detail),
        value_metrics: inputs.value.map(|v| v.file.clone()),
        options: opts.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::detail::FxAmount;
    use crate::{ProjectLine, Summary};

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn routing_only_moves_traffic_between_chat_models() {
        for model in ["gpt-4.1-mini-2025-04-14", "claude haiku 4.5", "gemini-2.5-flash"] {
            assert!(is_chat_model(model), "{model}");
        }
        for model in ["text-embedding-3-small", "Titan Embeddings G1", "whisper-1", "gpt-4o-mini-tts", "dall-e-3"] {
            assert!(!is_chat_model(model), "{model}");
        }
    }

    fn line(category: &str, item: &str, unit: &str, quantity: &str, cost: &str) -> UsageLine {
        UsageLine {
            category: category.into(),
            item: item.into(),
            unit: unit.into(),
            quantity: m(quantity),
            cost: m(cost),
        }
    }

    fn key(category: &str, item: &str, unit: &str) -> Option<(String, String, String)> {
        Some((category.into(), item.into(), unit.into()))
    }

    fn eur(line: Option<(String, String, String)>, rate: &str, cost: &str) -> FxAmount {
        FxAmount { project: Some("p".into()), line, currency: "EUR".into(), rate: m(rate), cost: m(cost) }
    }

    /// Last month: TCO 1,000 (200 of it shares); tokens 1M for 500; 100 GPU hours for 250; 10
    /// requests of sku-x for 40; EUR at 1.10.
    fn september() -> MonthPoint {
        let json = r#"{"billing_month":"2026-09","currency":"USD","ingested_total":"1000","allocated_total":"1000",
            "projects":[{"project":"p","business_unit":"x","tco_total":"1000","direct_total":"800","shared_total":"200"}],
            "report":{"usage":{},"fx_rates":{"EUR":"1.10"},"usage_lines":{"p":[
              {"category":"model_api","item":"m input","unit":"tokens","quantity":"1000000","cost":"500"},
              {"category":"compute","item":"gpu","unit":"Hours","quantity":"100","cost":"250"},
              {"category":"compute","item":"sku-x","unit":"Requests","quantity":"10","cost":"40"}]}}}"#;
        MonthPoint::from_json("2026-09/summary.json", json.as_bytes()).unwrap()
    }

    /// This month: tokens 1.2M for 540 (USD); 90 GPU hours billed in EUR, 264 USD at 1.20 (220
    /// EUR); a new model line 1,000 tokens for 30; sku-x gone; people billed in EUR, 120 USD at
    /// 1.20 (100 EUR), not metered.
    fn october_detail() -> MonthDetail {
        MonthDetail {
            usage_lines: [(
                "p".to_string(),
                vec![
                    line("compute", "gpu", "Hours", "90", "264"),
                    line("model_api", "m input", "tokens", "1200000", "540"),
                    line("model_api", "n output", "tokens", "1000", "30"),
                ],
            )]
            .into(),
            fx: vec![eur(None, "1.20", "120"), eur(key("compute", "gpu", "Hours"), "1.20", "264")],
            ..Default::default()
        }
    }

    #[test]
    fn month_over_month_split_by_hand() {
        let e = effects("p", m("1400"), m("260"), &september(), &october_detail());
        // Volume: tokens 500 × 1.2 − 500 = +100; GPU 250 × 90/100 − 250 = −25; new line +30;
        // sku-x gone −40.
        assert_eq!(e.volume, Some(m("65")));
        // Price: tokens 540 − 600 = −60; GPU at last month's rate 220 × 1.10 = 242, − 225 = +17.
        assert_eq!(e.price, Some(m("-43")));
        // FX: (220 + 100) EUR × (1.20 − 1.10) = 32.
        assert_eq!(e.fx, Some(m("32")));
        // Allocation: shares 260 − 200.
        assert_eq!(e.allocation, Some(m("60")));
        // Other: 400 − (65 − 43 + 32 + 60) = 286.
        assert_eq!(e.other, m("286"));
        let sum = e.volume.unwrap() + e.price.unwrap() + e.fx.unwrap() + e.allocation.unwrap() + e.other;
        assert_eq!(sum, m("400"));
        assert_eq!(fx_rates(&october_detail()), [("EUR".to_string(), m("1.2"))].into());
    }

    #[test]
    fn the_split_is_exact_with_unit_costs_that_do_not_divide() {
        let json = r#"{"billing_month":"2026-09","currency":"USD","ingested_total":"10","allocated_total":"10",
            "projects":[{"project":"p","tco_total":"10.00","shared_total":"0"}],
            "report":{"fx_rates":{"EUR":"1.0837"},"usage_lines":{"p":[
              {"category":"model_api","item":"m input","unit":"tokens","quantity":"3","cost":"10.00"}]}}}"#;
        let prev = MonthPoint::from_json("x", json.as_bytes()).unwrap();
        let detail = MonthDetail {
            usage_lines: [("p".to_string(), vec![line("model_api", "m input", "tokens", "7", "23.33")])].into(),
            fx: vec![eur(key("model_api", "m input", "tokens"), "1.0913", "23.33")],
            ..Default::default()
        };
        let e = effects("p", m("23.33"), Money::ZERO, &prev, &detail);
        let parts = e.volume.unwrap() + e.price.unwrap() + e.fx.unwrap() + e.allocation.unwrap() + e.other;
        assert_eq!(parts, m("13.33"));
        // All of the change is in the metered line, so other is only rounding of the 18th digit.
        assert!(e.other.raw().abs() <= 2, "{e:?}");
    }

    #[test]
    fn effects_an_old_summary_does_not_record_are_other() {
        let json = r#"{"billing_month":"2026-09","currency":"USD","ingested_total":"1000","allocated_total":"1000",
            "projects":[{"project":"p","tco_total":"1000"}]}"#;
        let prev = MonthPoint::from_json("x", json.as_bytes()).unwrap();
        let e = effects("p", m("1400"), m("260"), &prev, &october_detail());
        assert_eq!(e, Effects { volume: None, price: None, fx: None, allocation: None, other: m("400") });
        // A project absent last month: everything it receives is new.
        let e = effects("q", m("50"), m("50"), &september(), &MonthDetail::default());
        assert_eq!(
            e,
            Effects {
                volume: Some(m("0")),
                price: Some(m("0")),
                fx: Some(m("0")),
                allocation: Some(m("50")),
                other: m("0")
            }
        );
    }

    fn november(tcos: [&str; 2]) -> (Summary, Vec<tally_allocate::Project>) {
        let line = |name: &str, tco: &str| ProjectLine {
            project: name.into(),
            business_unit: "bu".into(),
            tco_total: m(tco),
            direct_total: m(tco),
            shared_total: Money::ZERO,
            by_category: TcoCategory::ALL.iter().map(|c| (c.as_str(), Money::ZERO)).collect(),
        };
        let projects = vec![line("a", tcos[0]), line("b", tcos[1])];
        let allocated: Money = projects.iter().map(|p| p.tco_total).sum();
        let total = allocated + m("2000");
        let summary = Summary {
            billing_month: BillingMonth::parse("2026-11").unwrap(),
            currency: "USD".into(),
            cost_measure: "EffectiveCost",
            ingested_total: total,
            allocated_total: allocated,
            unallocated_total: m("2000"),
            billed_total: total,
            rows: 1,
            by_category: TcoCategory::ALL.iter().map(|c| (c.as_str(), Money::ZERO)).collect(),
            projects,
            unallocated: TcoCategory::ALL.iter().map(|c| (c.as_str(), Money::ZERO)).collect(),
            pools: vec![],
            sources: vec![],
            fx: vec![],
            drift: vec![],
            other_currencies: vec![],
        };
        let decl = |name: &str, budget: &str| tally_allocate::Project {
            name: name.into(),
            business_unit: "bu".into(),
            cost_center: None,
            gl_account: None,
            monthly_budget: Some(m(budget)),
        };
        (summary, vec![decl("a", "40000"), decl("b", "20000")])
    }

    fn date(s: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The report of `summary` with no history or value metrics, made on `today`.
    fn report_on(
        today: Option<&str>,
        summary: &Summary,
        projects: &[tally_allocate::Project],
        detail: &MonthDetail,
    ) -> Report {
        let options = ReportOptions { today: today.map(date), ..Default::default() };
        let journal = crate::chargeback::journal(summary, projects);
        let inputs = ReportInputs { summary, history: &[], projects, detail, value: None, options: &options };
        build(&inputs, &journal)
    }

    fn with_forecast(today: Option<&str>, last: &str) -> Report {
        let (summary, projects) = november(["30000", "10000"]);
        let detail = MonthDetail { last_charge_day: Some(date(last)), ..Default::default() };
        report_on(today, &summary, &projects, &detail)
    }

    #[test]
    fn month_end_forecast_from_the_run_rate_by_hand() {
        // November has 30 days; data to the 20th: forecast = to date × 30 ÷ 20.
        let r = with_forecast(Some("2026-11-28"), "2026-11-20");
        let f = r.forecast.as_ref().unwrap();
        assert_eq!((f.days_elapsed, f.days_in_month), (20, 30));
        assert_eq!(f.last_charge_day, date("2026-11-20"));
        assert_eq!(f.month_to_date, m("42000"));
        assert_eq!(f.forecast, m("63000"));
        let a = &r.projects[0];
        let b = a.budget.as_ref().unwrap();
        // 30,000 of 40,000 so far, 45,000 forecast: at risk.
        assert_eq!(a.forecast, Some(m("45000")));
        assert_eq!((b.status, b.forecast_variance), ("at risk", Some(m("-5000"))));
        let b = r.projects[1].budget.as_ref().unwrap();
        assert_eq!((b.status, b.forecast, b.forecast_variance), ("favourable", Some(m("15000")), Some(m("5000"))));
    }

    #[test]
    fn one_model_bought_from_two_providers_is_two_savings_lines_at_their_own_prices() {
        let usage = |provider: &str, kind: TokenKind, tokens: &str, cost: &str| crate::detail::ModelUsage {
            project: Some("a".into()),
            model: "claude-sonnet-4-5".into(),
            provider: provider.into(),
            kind,
            tokens: m(tokens),
            cost: m(cost),
            requests: 0,
        };
        let detail = MonthDetail {
            models: vec![
                // Input 3 per 1M at Anthropic, 3.3 per 1M through AWS; cached at a tenth.
                usage("Anthropic", TokenKind::Input, "1000000", "3"),
                usage("Anthropic", TokenKind::CachedInput, "1000000", "0.3"),
                usage("Amazon Web Services", TokenKind::Input, "2000000", "6.6"),
                usage("Amazon Web Services", TokenKind::CachedInput, "2000000", "0.66"),
            ],
            ..Default::default()
        };
        let month = BillingMonth::parse("2026-11").unwrap();
        let opts = ReportOptions::default();
        let found = savings(&detail, &BTreeMap::new(), &[], month, None, &opts, "USD");
        let made: Vec<(&str, Option<Money>)> =
            found.iter().filter(|s| s.kind == "caching-made").map(|s| (s.title.as_str(), s.amount)).collect();
        assert_eq!(
            made,
            [
                (
                    "claude-sonnet-4-5 (Amazon Web Services): prompt caching (hit rate 50.0%) already saved this month",
                    Some(m("5.94"))
                ),
                (
                    "claude-sonnet-4-5 (Anthropic): prompt caching (hit rate 50.0%) already saved this month",
                    Some(m("2.7"))
                ),
            ]
        );
    }

    #[test]
    fn a_month_not_started_holds_commitments_only_and_no_budget_verdict() {
        // November's report made in October: not started; a budget its commitments already
        // pass is still unfavourable.
        let (summary, mut projects) = november(["30000", "10000"]);
        projects[1].monthly_budget = Some(m("5000"));
        let detail = MonthDetail::default();
        for (today, not_started) in [(Some("2026-10-31"), true), (Some("2026-11-01"), false), (None, false)] {
            let r = report_on(today, &summary, &projects, &detail);
            assert_eq!(r.not_started, today.filter(|_| not_started).map(date), "{today:?}");
            let status: Vec<&str> = r.projects.iter().map(|p| p.budget.as_ref().unwrap().status).collect();
            let first = if not_started { "not started" } else { "favourable" };
            assert_eq!(status, [first, "unfavourable"], "{today:?}");
        }
    }

    #[test]
    fn no_forecast_without_today_for_another_month_or_a_complete_month() {
        for (today, last) in
            [(None, "2026-11-20"), (Some("2026-12-01"), "2026-11-20"), (Some("2026-11-30"), "2026-11-30")]
        {
            let r = with_forecast(today, last);
            assert_eq!(r.forecast, None, "{today:?} {last}");
            assert!(r.projects.iter().all(|p| p.forecast.is_none()));
            let b = r.projects[0].budget.as_ref().unwrap();
            assert_eq!((b.status, b.forecast), ("favourable", None));
        }
    }
}
