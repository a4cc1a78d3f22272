//! The detail the reports need beyond the summary, read from the allocation frame: model usage
//! (tokens by kind and model, requests), daily spend per project and provider, unused
//! commitments.

use polars::prelude::*;
use tally_allocate::{ROLE_CASCADE, ROLE_SHARE, X_ALLOCATION_ROLE, X_POOL};
use tally_ledger::frame::{money_at, str_at, u64_at};
use tally_ledger::layout::BillingMonth;
use tally_ledger::schema::{
    X_BILLING_MONTH, X_FX_CURRENCY, X_FX_RATE, X_MODEL, X_PROJECT, X_REQUEST_COUNT, X_TCO_CATEGORY, X_TOKEN_COUNT,
    X_TOKEN_TYPE,
};
use tally_ledger::{Money, TcoCategory};

use crate::{CostMeasure, ReportError};

/// One day in microseconds: charges over a longer period (monthly fees) are not daily spend.
const DAY_MICROS: i64 = 86_400_000_000;

/// What kind of tokens a model usage line counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Uncached input (prompt) tokens.
    Input,
    /// Input tokens read from the prompt cache.
    CachedInput,
    /// Tokens written to the prompt cache.
    CacheWrite,
    /// Output (completion) tokens.
    Output,
    /// Anything else priced in tokens (embeddings, audio…).
    Other,
}

impl TokenKind {
    /// From `x_token_type` when the source gave it, else from the charge description
    /// (`… cache read input tokens`, `gpt-4.1-Outp-glbl Tokens`).
    pub fn classify(token_type: Option<&str>, description: &str) -> TokenKind {
        match token_type {
            Some("input") => return TokenKind::Input,
            Some("cached_input") | Some("cache_read") => return TokenKind::CachedInput,
            Some("cache_write") | Some("cache_write_5m") | Some("cache_write_1h") => return TokenKind::CacheWrite,
            Some("output") => return TokenKind::Output,
            Some(_) => return TokenKind::Other,
            None => {}
        }
        let d = description.to_lowercase().replace(['-', '_'], " ");
        if d.contains("cache read") || d.contains("cached") || d.contains("cache hit") {
            TokenKind::CachedInput
        } else if d.contains("cache write") || d.contains("cache creation") {
            TokenKind::CacheWrite
        } else if d.contains("output") || d.contains("outp") || d.contains("completion") {
            TokenKind::Output
        } else if d.contains("embedding") || d.contains("audio") || d.contains("image") {
            TokenKind::Other
        } else {
            TokenKind::Input
        }
    }
}

/// The model a line is for: `x_model` when the source gave it, else the charge description
/// without its token words (`Claude Sonnet 4.5 cache read input tokens` → `claude sonnet 4.5`).
pub fn model_name(x_model: Option<&str>, description: &str) -> String {
    if let Some(m) = x_model.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    const SKIP: [&str; 4] = ["correction:", "glbl", "global", "regional"];
    const STOP: [&str; 12] =
        ["input", "output", "cache", "cached", "read", "write", "inp", "outp", "tokens", "token", "creation", "on"];
    let d = description.to_lowercase().replace(['-', '_'], " ");
    let words: Vec<&str> =
        d.split_whitespace().filter(|w| !SKIP.contains(w)).take_while(|w| !STOP.contains(w)).collect();
    words.join(" ")
}

/// Model usage of one project (or none) for one model, provider and token kind.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelUsage {
    /// Project (`None`: unallocated or pooled).
    pub project: Option<String>,
    /// Model.
    pub model: String,
    /// ProviderName: who bills it (one model may be bought from its maker and through a cloud).
    pub provider: String,
    /// Token kind.
    pub kind: TokenKind,
    /// Tokens.
    pub tokens: Money,
    /// Cost (cost measure).
    pub cost: Money,
    /// Requests, when the source counts them.
    pub requests: u64,
}

/// Spend of one day, project (or pool, or unallocated) and provider.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DailySpend {
    /// `YYYY-MM-DD` (ChargePeriodStart, UTC).
    pub day: String,
    /// The project, `pool <name>`, or `(unallocated)`.
    pub project: String,
    /// ProviderName.
    pub provider: String,
    /// Cost (cost measure).
    pub cost: Money,
}

/// A commitment (reservation, savings plan) with unused cost this month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnusedCommitment {
    /// CommitmentDiscountName (or its id).
    pub commitment: String,
    /// ProviderName.
    pub provider: String,
    /// Where the cost went: project, `pool <name>` or `(unallocated)`.
    pub charged_to: String,
    /// The unused cost (cost measure).
    pub cost: Money,
}

/// A metered usage line of a project for the month: one priced item in one unit, what the
/// month-over-month split values at last month's unit cost (kept in `summary.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageLine {
    /// TCO category.
    pub category: String,
    /// What is metered: `<model> <token kind>` for tokens, else the SKU (or, without one, the
    /// charge description).
    pub item: String,
    /// Unit: `tokens`, else ConsumedUnit (`Hours`, `Requests`, …).
    pub unit: String,
    /// Quantity.
    pub quantity: Money,
    /// Cost (cost measure, reporting currency).
    pub cost: Money,
}

impl UsageLine {
    /// The line's identity across months.
    pub fn key(&self) -> (String, String, String) {
        (self.category.clone(), self.item.clone(), self.unit.clone())
    }
}

/// Cost converted from another billing currency at one rate (direct rows of a project, or
/// anything else for the month's average rate).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FxAmount {
    /// Project (`None`: pooled or unallocated).
    pub project: Option<String>,
    /// The usage line the rows belong to ([`UsageLine::key`]), if metered.
    pub line: Option<(String, String, String)>,
    /// The billing currency before conversion.
    pub currency: String,
    /// The rate (reporting currency per unit).
    pub rate: Money,
    /// The converted cost (reporting currency).
    pub cost: Money,
}

impl FxAmount {
    /// The amount in the billing currency: cost ÷ rate.
    pub fn foreign(&self) -> Money {
        self.cost.mul_div(Money::from_int(1), self.rate).unwrap_or_default()
    }
}

/// The month's detail from the allocation frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MonthDetail {
    /// Token-priced usage by project, model and kind.
    pub models: Vec<ModelUsage>,
    /// Usage charges (`ChargeCategory = Usage`, charge period of at most a day) per day, project
    /// and provider; includes any
    /// earlier months the frame holds (the anomaly baseline).
    pub daily: Vec<DailySpend>,
    /// Unused commitments (`CommitmentDiscountStatus = Unused`).
    pub unused_commitments: Vec<UnusedCommitment>,
    /// Metered usage lines of the projects' direct rows (billed, not quantities-only), by
    /// project, in key order.
    pub usage_lines: std::collections::BTreeMap<String, Vec<UsageLine>>,
    /// Rows converted from other currencies, by project, line, currency and rate.
    pub fx: Vec<FxAmount>,
    /// The last day with a charge this month (latest ChargePeriodStart, UTC).
    pub last_charge_day: Option<chrono::NaiveDate>,
}

fn charged_to(df: &DataFrame, i: usize) -> String {
    match (str_at(df, X_PROJECT, i), str_at(df, X_POOL, i)) {
        (Some(p), _) => p,
        (None, Some(pool)) => format!("pool {pool}"),
        (None, None) => "(unallocated)".to_string(),
    }
}

/// Reads the detail of `month` from an allocation frame (which may also hold earlier months:
/// they only feed the daily series).
pub fn month_detail(
    allocation: LazyFrame,
    month: BillingMonth,
    currency: &str,
    measure: CostMeasure,
) -> Result<MonthDetail, ReportError> {
    let err = |source| ReportError::Polars { report: "detail", month, source };
    let cost = measure.column();
    let rows = allocation.filter(
        col("BillingCurrency")
            .eq(lit(currency.to_string()))
            .and(col(X_ALLOCATION_ROLE).neq(lit(ROLE_SHARE)))
            .and(col(X_ALLOCATION_ROLE).neq(lit(ROLE_CASCADE))),
    );
    let this_month = rows.clone().filter(col(X_BILLING_MONTH).eq(lit(month.to_string())));
    let token_unit = col("ConsumedUnit").fill_null(lit("")).str().to_lowercase().str().contains(lit("token"), false);
    let models = this_month
        .clone()
        .filter(col(X_TCO_CATEGORY).eq(lit(TcoCategory::ModelApi.as_str())))
        .with_column(
            when(col(X_TOKEN_COUNT).is_not_null())
                .then(col(X_TOKEN_COUNT).cast(tally_ledger::MONEY_DTYPE))
                .when(token_unit)
                .then(col("ConsumedQuantity"))
                .otherwise(lit(NULL).cast(tally_ledger::MONEY_DTYPE))
                .alias("tokens"),
        )
        .group_by([col(X_PROJECT), col(X_MODEL), col("ChargeDescription"), col(X_TOKEN_TYPE), col("ProviderName")])
        .agg([
            col("tokens").sum().alias("tokens"),
            col(cost).sum().alias("cost"),
            col(X_REQUEST_COUNT).sum().alias("requests"),
        ])
        .sort(
            [X_PROJECT, X_MODEL, "ChargeDescription", X_TOKEN_TYPE, "ProviderName"],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
        .map_err(err)?;
    let daily = rows
        .clone()
        .filter(
            col("ChargeCategory").eq(lit("Usage")).and(col("ChargePeriodStart").is_not_null()).and(
                col("ChargePeriodEnd").is_null().or((col("ChargePeriodEnd").cast(DataType::Int64)
                    - col("ChargePeriodStart").cast(DataType::Int64))
                .lt_eq(lit(DAY_MICROS))),
            ),
        )
        .with_column(col("ChargePeriodStart").dt().strftime("%Y-%m-%d").alias("day"))
        .group_by([col("day"), col(X_PROJECT), col(X_POOL), col("ProviderName")])
        .agg([col(cost).sum().alias("cost")])
        .sort(["day", X_PROJECT, X_POOL, "ProviderName"], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .map_err(err)?;
    let metered = metered_groups(this_month.clone(), cost).collect().map_err(err)?;
    let last_day = this_month
        .clone()
        .select([col("ChargePeriodStart").max().dt().strftime("%Y-%m-%d").alias("day")])
        .collect()
        .map_err(err)?;
    let unused = this_month
        .filter(col("CommitmentDiscountStatus").eq(lit("Unused")))
        .with_column(
            when(col("CommitmentDiscountName").is_not_null())
                .then(col("CommitmentDiscountName"))
                .otherwise(col("CommitmentDiscountId"))
                .alias("commitment"),
        )
        .group_by([col("commitment"), col("ProviderName"), col(X_PROJECT), col(X_POOL)])
        .agg([col(cost).sum().alias("cost")])
        .sort(["commitment", "ProviderName", X_PROJECT, X_POOL], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .map_err(err)?;

    let mut out = MonthDetail::default();
    // Lines of the same project, model, provider and kind (several descriptions) are merged.
    type Key = (Option<String>, String, String, TokenKind);
    let mut merged: std::collections::BTreeMap<Key, (Money, Money, u64)> = Default::default();
    for i in 0..models.height() {
        let description = str_at(&models, "ChargeDescription", i).unwrap_or_default();
        let x_model = str_at(&models, X_MODEL, i);
        let kind = TokenKind::classify(str_at(&models, X_TOKEN_TYPE, i).as_deref(), &description);
        let provider = str_at(&models, "ProviderName", i).unwrap_or_default();
        let key = (str_at(&models, X_PROJECT, i), model_name(x_model.as_deref(), &description), provider, kind);
        let e = merged.entry(key).or_insert((Money::ZERO, Money::ZERO, 0));
        e.0 += money_at(&models, "tokens", i);
        e.1 += money_at(&models, "cost", i);
        e.2 += u64_at(&models, "requests", i);
    }
    out.models = merged
        .into_iter()
        .map(|((project, model, provider, kind), (tokens, cost, requests))| ModelUsage {
            project,
            model,
            provider,
            kind,
            tokens,
            cost,
            requests,
        })
        .collect();
    for i in 0..daily.height() {
        out.daily.push(DailySpend {
            day: str_at(&daily, "day", i).unwrap_or_default(),
            project: charged_to(&daily, i),
            provider: str_at(&daily, "ProviderName", i).unwrap_or_default(),
            cost: money_at(&daily, "cost", i),
        });
    }
    for i in 0..unused.height() {
        out.unused_commitments.push(UnusedCommitment {
            commitment: str_at(&unused, "commitment", i).unwrap_or_else(|| "(unnamed)".into()),
            provider: str_at(&unused, "ProviderName", i).unwrap_or_default(),
            charged_to: charged_to(&unused, i),
            cost: money_at(&unused, "cost", i),
        });
    }
    out.last_charge_day =
        str_at(&last_day, "day", 0).and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let mut lines: std::collections::BTreeMap<String, std::collections::BTreeMap<LineKey, (Money, Money)>> =
        Default::default();
    let mut fx: std::collections::BTreeMap<(Option<String>, Option<LineKey>, String, Money), Money> =
        Default::default();
    for i in 0..metered.height() {
        let project = str_at(&metered, X_PROJECT, i);
        let category = str_at(&metered, X_TCO_CATEGORY, i).unwrap_or_default();
        let cost = money_at(&metered, "cost", i);
        let key: Option<LineKey> = match str_at(&metered, "metered", i).as_deref() {
            Some("tokens") => {
                let description = str_at(&metered, "ChargeDescription", i).unwrap_or_default();
                let x_model = str_at(&metered, X_MODEL, i);
                let kind = TokenKind::classify(str_at(&metered, X_TOKEN_TYPE, i).as_deref(), &description);
                let kind = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string));
                Some((
                    category.clone(),
                    format!("{} {}", model_name(x_model.as_deref(), &description), kind.unwrap_or_default()),
                    "tokens".to_string(),
                ))
            }
            Some(_) => Some((
                category.clone(),
                str_at(&metered, "item", i).unwrap_or_default(),
                str_at(&metered, "ConsumedUnit", i).unwrap_or_default(),
            )),
            None => None,
        };
        if let (Some(p), Some(k)) = (&project, &key) {
            let e = lines.entry(p.clone()).or_default().entry(k.clone()).or_default();
            e.0 += money_at(&metered, "quantity", i);
            e.1 += cost;
        }
        if let Some(currency) = str_at(&metered, X_FX_CURRENCY, i) {
            let rate = money_at(&metered, X_FX_RATE, i);
            if rate != Money::ZERO {
                *fx.entry((project.clone(), key.filter(|_| project.is_some()), currency, rate)).or_default() += cost;
            }
        }
    }
    out.usage_lines = lines
        .into_iter()
        .map(|(p, l)| {
            let l = l
                .into_iter()
                .map(|((category, item, unit), (quantity, cost))| UsageLine { category, item, unit, quantity, cost })
                .collect();
            (p, l)
        })
        .collect();
    out.fx = fx
        .into_iter()
        .map(|((project, line, currency, rate), cost)| FxAmount { project, line, currency, rate, cost })
        .collect();
    Ok(out)
}

type LineKey = (String, String, String);

/// This month's rows grouped by project, metered item and FX rate: `metered` is `tokens`
/// (model API rows with a token count), `unit` (other usage charges with a consumed quantity and
/// unit) or null (not metered); `quantity` and `cost` summed. Quantities-only rows (kept out of
/// the totals) are left out.
fn metered_groups(this_month: LazyFrame, cost: &str) -> LazyFrame {
    use tally_ledger::schema::X_COST_BASIS;
    let token_unit = col("ConsumedUnit").fill_null(lit("")).str().to_lowercase().str().contains(lit("token"), false);
    let tokens = when(col(X_TOKEN_COUNT).is_not_null())
        .then(col(X_TOKEN_COUNT).cast(tally_ledger::MONEY_DTYPE))
        .when(token_unit)
        .then(col("ConsumedQuantity"))
        .otherwise(lit(NULL).cast(tally_ledger::MONEY_DTYPE));
    let is_tokens = col(X_TCO_CATEGORY).eq(lit(TcoCategory::ModelApi.as_str())).and(tokens.clone().is_not_null());
    let is_unit = col("ChargeCategory")
        .eq(lit("Usage"))
        .and(col("ConsumedQuantity").is_not_null())
        .and(col("ConsumedUnit").is_not_null());
    let metered = when(is_tokens.clone())
        .then(lit("tokens"))
        .when(is_unit.clone())
        .then(lit("unit"))
        .otherwise(lit(NULL).cast(DataType::String));
    let quantity = when(is_tokens.clone())
        .then(tokens)
        .when(is_unit.clone())
        .then(col("ConsumedQuantity"))
        .otherwise(lit(NULL).cast(tally_ledger::MONEY_DTYPE));
    // Only what names the line is kept (the description of SKU-less unit lines and of tokens).
    let item = when(is_tokens.clone())
        .then(lit(NULL).cast(DataType::String))
        .when(is_unit.clone())
        .then(coalesce(&[col("SkuId"), col("ChargeDescription")]))
        .otherwise(lit(NULL).cast(DataType::String));
    let description =
        when(is_tokens.clone()).then(col("ChargeDescription")).otherwise(lit(NULL).cast(DataType::String));
    let keys = [
        X_PROJECT,
        X_TCO_CATEGORY,
        "metered",
        X_MODEL,
        "ChargeDescription",
        X_TOKEN_TYPE,
        "item",
        "ConsumedUnit",
        X_FX_CURRENCY,
        X_FX_RATE,
    ];
    this_month
        .filter(col(X_COST_BASIS).fill_null(lit("")).neq(lit("quantities")))
        .with_columns([
            metered.alias("metered"),
            quantity.alias("quantity"),
            item.alias("item"),
            description.alias("ChargeDescription"),
            when(is_tokens.clone()).then(col(X_MODEL)).otherwise(lit(NULL).cast(DataType::String)).alias(X_MODEL),
            when(is_tokens.clone())
                .then(col(X_TOKEN_TYPE))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias(X_TOKEN_TYPE),
            when(is_unit).then(col("ConsumedUnit")).otherwise(lit(NULL).cast(DataType::String)).alias("ConsumedUnit"),
        ])
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([col("quantity").sum().alias("quantity"), col(cost).sum().alias("cost")])
        .sort(keys, SortMultipleOptions::default().with_nulls_last(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_and_models_from_descriptions() {
        let cases = [
            ("Claude Sonnet 4.5 cache read input tokens", TokenKind::CachedInput, "claude sonnet 4.5"),
            ("Claude Sonnet 4.5 input tokens", TokenKind::Input, "claude sonnet 4.5"),
            ("Claude Haiku 4.5 output tokens", TokenKind::Output, "claude haiku 4.5"),
            ("gpt 4.1 cached Inp glbl", TokenKind::CachedInput, "gpt 4.1"),
            ("gpt-4.1-Inp-glbl Tokens", TokenKind::Input, "gpt 4.1"),
            ("gpt-4.1-Outp-glbl Tokens", TokenKind::Output, "gpt 4.1"),
            ("text-embedding-3-large-glbl Tokens", TokenKind::Other, "text embedding 3 large"),
            (
                "Correction: Claude Sonnet 4.5 output tokens over-metered on 2026-10-14",
                TokenKind::Output,
                "claude sonnet 4.5",
            ),
        ];
        for (d, kind, model) in cases {
            assert_eq!(TokenKind::classify(None, d), kind, "{d}");
            assert_eq!(model_name(None, d), model, "{d}");
        }
        assert_eq!(TokenKind::classify(Some("cached_input"), "whatever"), TokenKind::CachedInput);
        assert_eq!(model_name(Some("gpt-4o"), "x"), "gpt-4o");
    }
}
