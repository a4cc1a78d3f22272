//! What the provider usage and cost formats share: reading JSON pages exactly, checked field
//! access with locations for messages, pricing from the book, and building ledger frames from
//! rows.

use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone as _, Utc};
use polars::prelude::*;
use serde_json::Value;
use tally_ledger::frame::{billing_month_expr, category_expr, str_at, with_category_rules, RowsBuilder};
use tally_ledger::{schema, Money, MONEY_SCALE};
use tally_pricing::{Charge, PriceBook, ServiceTier, Usage};

use crate::{CsvHead, Input, SourceError};

/// FOCUS service category of every provider row.
pub const AI_CATEGORY: &str = "AI and Machine Learning";
/// FOCUS service subcategory of every provider row.
pub const GENAI_SUBCATEGORY: &str = "Generative AI";

/// One ledger row of a provider export, before it becomes a frame.
#[derive(Clone, Debug)]
pub struct Row {
    /// 1-based record number within the object (`x_source_row`).
    pub row: i64,
    /// ProviderName, PublisherName and InvoiceIssuerName.
    pub provider: String,
    /// ServiceName.
    pub service: String,
    /// ChargePeriodStart.
    pub start: DateTime<Utc>,
    /// ChargePeriodEnd.
    pub end: DateTime<Utc>,
    /// BillingAccountId.
    pub account: String,
    /// BillingAccountName.
    pub account_name: Option<String>,
    /// SubAccountId.
    pub sub_account: Option<String>,
    /// BillingCurrency.
    pub currency: String,
    /// BilledCost = EffectiveCost = ListCost = ContractedCost.
    pub cost: Money,
    /// ListUnitPrice = ContractedUnitPrice, per PricingUnit.
    pub unit_price: Option<Money>,
    /// ConsumedQuantity.
    pub consumed: Option<Money>,
    /// ConsumedUnit.
    pub consumed_unit: Option<String>,
    /// PricingQuantity.
    pub pricing_quantity: Option<Money>,
    /// PricingUnit.
    pub pricing_unit: Option<String>,
    /// ChargeDescription.
    pub description: Option<String>,
    /// Tags (JSON object text).
    pub tags: Option<String>,
    /// x_model.
    pub model: Option<String>,
    /// x_token_type.
    pub token_type: Option<String>,
    /// x_token_count.
    pub token_count: Option<i64>,
    /// x_request_count.
    pub request_count: Option<i64>,
    /// x_cost_basis: `billed`, `estimated` or [`UNPRICED`].
    pub cost_basis: &'static str,
    /// x_workspace.
    pub workspace: Option<String>,
    /// x_api_key.
    pub api_key: Option<String>,
    /// x_team.
    pub team: Option<String>,
    /// x_user.
    pub user: Option<String>,
    /// x_service_tier.
    pub service_tier: Option<String>,
}

impl Row {
    /// A row with the given essentials and everything else empty.
    pub fn new(row: i64, provider: &str, service: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Row {
        Row {
            row,
            provider: provider.to_string(),
            service: service.to_string(),
            start,
            end,
            account: String::new(),
            account_name: None,
            sub_account: None,
            currency: "USD".to_string(),
            cost: Money::ZERO,
            unit_price: None,
            consumed: None,
            consumed_unit: None,
            pricing_quantity: None,
            pricing_unit: None,
            description: None,
            tags: None,
            model: None,
            token_type: None,
            token_count: None,
            request_count: None,
            cost_basis: "billed",
            workspace: None,
            api_key: None,
            team: None,
            user: None,
            service_tier: None,
        }
    }

    /// Sets a usage quantity: consumed and priced in the charge's unit (`Tokens`, `Images`, …).
    pub fn set_quantity(&mut self, charge: Charge, quantity: Money) {
        self.consumed = Some(quantity);
        self.consumed_unit = Some(charge.unit().to_string());
        self.pricing_quantity = Some(quantity);
        self.pricing_unit = Some(charge.unit().to_string());
        self.token_type = Some(charge.token_type().to_string());
        if charge.is_token() {
            self.token_count = i64::try_from(quantity.raw() / 10i128.pow(MONEY_SCALE as u32)).ok();
        }
    }
}

/// `x_cost_basis` of a quantities-only usage row whose model has no price: tokens, no estimate.
pub const UNPRICED: &str = "unpriced";

/// Where a record is, for messages.
#[derive(Clone, Debug)]
pub struct Loc<'a> {
    /// Object name.
    pub object: &'a str,
    /// `page 1, bucket 2, result 3` or `row 7`.
    pub at: String,
}

impl Loc<'_> {
    /// A [`SourceError::BadRecord`] here.
    pub fn bad(&self, problem: impl Into<String>) -> SourceError {
        SourceError::BadRecord { object: self.object.to_string(), location: self.at.clone(), problem: problem.into() }
    }
}

/// The price book of a usage format, or the error saying one is needed.
pub fn require_book<'a>(input: &Input<'a>, format: &'static str) -> Result<&'a PriceBook, SourceError> {
    input.prices.ok_or_else(|| SourceError::NoPriceBook { object: input.object.to_string(), format })
}

/// Prices a row's quantity from the book: sets the cost, unit price and `estimated` basis.
///
/// A model the book does not know is an error, unless the source is quantities-only (another
/// export bills the same usage): then the row keeps its tokens with no estimate, basis
/// `unpriced`, and the nightly run goes on with a warning.
#[allow(clippy::too_many_arguments)]
pub fn price_row(
    row: &mut Row,
    book: &PriceBook,
    loc: &Loc<'_>,
    model: &str,
    charge: Charge,
    quantity: Money,
    tier: ServiceTier,
    request_input_tokens: Option<u64>,
    quantities_only: bool,
) -> Result<(), SourceError> {
    let usage = Usage { model, charge, quantity, tier, request_input_tokens, date: row.start.date_naive() };
    let priced = match book.price(&usage) {
        Ok(priced) => priced,
        Err(tally_pricing::PriceError::UnknownModel { .. }) if quantities_only => {
            tracing::warn!(
                object = loc.object,
                location = %loc.at,
                model,
                "model not in the price book: tokens kept, no cost estimate (the source is quantities-only)"
            );
            row.set_quantity(charge, quantity);
            row.cost = Money::ZERO;
            row.cost_basis = UNPRICED;
            return Ok(());
        }
        Err(source) => {
            return Err(SourceError::Unpriced { object: loc.object.to_string(), location: loc.at.clone(), source })
        }
    };
    row.set_quantity(charge, quantity);
    row.cost = priced.cost;
    row.unit_price = Some(priced.unit_price);
    row.cost_basis = "estimated";
    Ok(())
}

/// Reads a local file as text.
pub fn read_text(input: &Input<'_>) -> Result<String, SourceError> {
    let bytes = std::fs::read(input.path)
        .map_err(|source| SourceError::Io { path: input.path.display().to_string(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| SourceError::Unreadable {
        object: input.object.to_string(),
        reason: "not UTF-8 text".to_string(),
    })?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// The JSON documents of a file: one document, a JSON array of documents, or NDJSON (one
/// document per line), each with its location (`page 2` or `line 3`). Numbers are kept as their
/// exact text.
pub fn json_documents(input: &Input<'_>) -> Result<Vec<(String, Value)>, SourceError> {
    let text = read_text(input)?;
    if text.trim().is_empty() {
        return Err(SourceError::Empty { object: input.object.to_string() });
    }
    match tally_pricing::json::parse_exact(&text) {
        Ok(Value::Array(items)) => {
            Ok(items.into_iter().enumerate().map(|(i, v)| (format!("page {}", i + 1), v)).collect())
        }
        Ok(v) => Ok(vec![("page 1".to_string(), v)]),
        Err(whole) => {
            let lines: Vec<(usize, &str)> =
                text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l)).collect();
            if lines.len() < 2 {
                return Err(SourceError::Unreadable {
                    object: input.object.to_string(),
                    reason: format!("not valid JSON: {whole}"),
                });
            }
            lines
                .into_iter()
                .map(|(n, l)| {
                    tally_pricing::json::parse_exact(l).map(|v| (format!("line {n}"), v)).map_err(|e| {
                        SourceError::Unreadable {
                            object: input.object.to_string(),
                            reason: format!("line {n}: not valid JSON: {e}"),
                        }
                    })
                })
                .collect()
        }
    }
}

/// The buckets of API pages (`{"data": [bucket, …]}`), each with its location; an NDJSON line may
/// also be one bucket (`{"results": […]}`). A page without `data` is an error.
pub fn buckets(input: &Input<'_>) -> Result<Vec<(String, Value)>, SourceError> {
    let mut out = Vec::new();
    for (at, doc) in json_documents(input)? {
        let loc = Loc { object: input.object, at: at.clone() };
        match doc {
            Value::Object(mut page) => {
                if let Some(data) = page.remove("data") {
                    let Value::Array(items) = data else {
                        return Err(loc.bad("`data` is not a list of buckets"));
                    };
                    for (i, b) in items.into_iter().enumerate() {
                        out.push((format!("{at}, bucket {}", i + 1), b));
                    }
                } else if page.contains_key("results") {
                    out.push((at, Value::Object(page)));
                } else {
                    return Err(loc.bad("the page has no `data` (expected an API page: {\"data\": [buckets…]})"));
                }
            }
            _ => return Err(loc.bad("not a JSON object (expected an API page: {\"data\": [buckets…]})")),
        }
    }
    Ok(out)
}

/// The `results` of a bucket.
pub fn results<'v>(bucket: &'v Value, loc: &Loc<'_>) -> Result<&'v [Value], SourceError> {
    match bucket.get("results") {
        Some(Value::Array(r)) => Ok(r),
        Some(_) => Err(loc.bad("`results` is not a list")),
        None => Err(loc.bad("the bucket has no `results`")),
    }
}

/// A text field: null, absent and `""` are `None`; numbers give their text.
pub fn text(v: &Value, field: &str) -> Option<String> {
    match v.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a whole non-negative count written as `12`, `12.0` or `"12"`.
pub fn parse_count(raw: &str, field: &str, loc: &Loc<'_>) -> Result<i64, SourceError> {
    let m = Money::parse(raw).map_err(|_| loc.bad(format!("`{field}` is `{raw}`, not a number")))?;
    let one = 10i128.pow(MONEY_SCALE as u32);
    if m.is_negative() {
        return Err(loc.bad(format!("`{field}` is negative ({raw})")));
    }
    if m.raw() % one != 0 {
        return Err(loc.bad(format!("`{field}` is `{raw}`, not a whole number")));
    }
    i64::try_from(m.raw() / one).map_err(|_| loc.bad(format!("`{field}` is out of range ({raw})")))
}

/// A count field: absent or null is `None`.
pub fn opt_count(v: &Value, field: &str, loc: &Loc<'_>) -> Result<Option<i64>, SourceError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_count(s, field, loc).map(Some),
        Some(other) => Err(loc.bad(format!("`{field}` is `{other}`, not a number"))),
    }
}

/// A count field, zero when absent or null.
pub fn count(v: &Value, field: &str, loc: &Loc<'_>) -> Result<i64, SourceError> {
    opt_count(v, field, loc).map(Option::unwrap_or_default)
}

/// A decimal field read exactly (`None` when absent or null).
pub fn opt_money(v: &Value, field: &str, loc: &Loc<'_>) -> Result<Option<Money>, SourceError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            tally_pricing::json::money_rounded(s).map(Some).map_err(|e| loc.bad(format!("`{field}`: {e}")))
        }
        Some(other) => Err(loc.bad(format!("`{field}` is `{other}`, not a decimal number"))),
    }
}

/// An instant from Unix seconds (`1761955200`, `"1761955200"`, `1761955200.0`).
pub fn unix_time(v: &Value, field: &str, loc: &Loc<'_>) -> Result<DateTime<Utc>, SourceError> {
    let secs = opt_count(v, field, loc)?.ok_or_else(|| loc.bad(format!("`{field}` is missing")))?;
    Utc.timestamp_opt(secs, 0).single().ok_or_else(|| loc.bad(format!("`{field}` ({secs}) is not a valid time")))
}

/// An instant from RFC 3339 text (`2026-11-01T00:00:00Z`) or `2026-11-01 00:00:00[.fff]` (UTC).
pub fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// An RFC 3339 instant field.
pub fn instant(v: &Value, field: &str, loc: &Loc<'_>) -> Result<DateTime<Utc>, SourceError> {
    let raw = text(v, field).ok_or_else(|| loc.bad(format!("`{field}` is missing")))?;
    parse_instant(&raw).ok_or_else(|| loc.bad(format!("`{field}` is `{raw}`, not a date/time")))
}

/// A boolean written as `true`/`false` in JSON, or `TRUE`/`FALSE`/`True`/`1`/`0` in CSV.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The service tier to price at: batch when `batch` is true, else the provider's tier.
pub fn tier(batch: bool, service_tier: Option<&str>, loc: &Loc<'_>) -> Result<ServiceTier, SourceError> {
    if batch {
        return Ok(ServiceTier::Batch);
    }
    let name = service_tier.unwrap_or("");
    ServiceTier::parse(name).ok_or_else(|| loc.bad(format!("service tier `{name}` cannot be priced from the book")))
}

/// A CSV file read with every column as text, rows as maps from column to non-empty value.
pub fn csv_rows(input: &Input<'_>, required: &[&str]) -> Result<(Vec<String>, DataFrame), SourceError> {
    let head = CsvHead::read(input.path, input.object)?;
    let missing: Vec<String> =
        required.iter().filter(|c| !head.columns.iter().any(|n| n == *c)).map(|c| c.to_string()).collect();
    if !missing.is_empty() {
        return Err(SourceError::MissingColumns { object: input.object.to_string(), columns: missing });
    }
    let schema: Schema = head.columns.iter().map(|c| Field::new(c.as_str().into(), DataType::String)).collect();
    let df = LazyCsvReader::new(PlRefPath::new(input.path.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_missing_is_null(true)
        .finish()
        .and_then(|lf| lf.collect())
        .map_err(|source| SourceError::Polars {
            object: input.object.to_string(),
            action: "reading the CSV",
            source,
        })?;
    Ok((head.columns, df))
}

/// The records of a CSV or JSON export as JSON objects with where each one is (`row 3 (line 4)`,
/// `page 1, record 2`): CSV rows (with the `required` columns) become objects of their non-empty
/// cells; JSON may be one object per record, pages with a `data` list, or NDJSON of either.
/// `what` names a record in messages.
pub fn records(input: &Input<'_>, required: &[&str], what: &str) -> Result<Vec<(String, Value)>, SourceError> {
    if is_csv(input.path) {
        let (columns, df) = csv_rows(input, required)?;
        let mut out = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let mut obj = serde_json::Map::new();
            for c in &columns {
                if let Some(v) = cell(&df, c, i) {
                    obj.insert(c.clone(), Value::String(v));
                }
            }
            out.push((format!("row {} (line {})", i + 1, i + 2), Value::Object(obj)));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for (at, doc) in json_documents(input)? {
        match doc {
            Value::Object(mut o) if o.contains_key("data") => match o.remove("data") {
                Some(Value::Array(items)) => {
                    out.extend(items.into_iter().enumerate().map(|(i, v)| (format!("{at}, record {}", i + 1), v)))
                }
                _ => return Err(Loc { object: input.object, at }.bad(format!("`data` is not a list of {what}s"))),
            },
            v @ Value::Object(_) => out.push((at.replace("page", "record"), v)),
            _ => return Err(Loc { object: input.object, at }.bad(format!("not a {what} (a JSON object)"))),
        }
    }
    Ok(out)
}

/// The non-empty text of CSV column `name` at row `i`.
pub fn cell(df: &DataFrame, name: &str, i: usize) -> Option<String> {
    str_at(df, name, i).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Whether a path looks like a CSV file.
pub fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn month_bounds(t: DateTime<Utc>) -> (i64, i64) {
    let start = NaiveDate::from_ymd_opt(t.year(), t.month(), 1);
    let next = if t.month() == 12 {
        NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)
    };
    let micros = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp_micros()).unwrap_or_default()
    };
    (micros(start), micros(next))
}

/// The ledger frame of `rows`.
pub fn to_ledger(rows: &[Row], input: &Input<'_>, format: &'static str) -> Result<LazyFrame, SourceError> {
    let texts = |f: &dyn Fn(&Row) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let moneys = |f: &dyn Fn(&Row) -> Option<Money>| rows.iter().map(f).collect::<Vec<_>>();
    let ints = |f: &dyn Fn(&Row) -> Option<i64>| rows.iter().map(f).collect::<Vec<_>>();
    let times = |f: &dyn Fn(&Row) -> i64| rows.iter().map(|r| Some(f(r))).collect::<Vec<_>>();
    RowsBuilder::new(rows.len())
        .text("ProviderName", texts(&|r| Some(r.provider.clone())))
        .text("PublisherName", texts(&|r| Some(r.provider.clone())))
        .text("InvoiceIssuerName", texts(&|r| Some(r.provider.clone())))
        .text("ServiceName", texts(&|r| Some(r.service.clone())))
        .constant("ServiceCategory", AI_CATEGORY)
        .constant("ServiceSubcategory", GENAI_SUBCATEGORY)
        .constant("ChargeCategory", "Usage")
        .constant("ChargeFrequency", "Usage-Based")
        .time("ChargePeriodStart", times(&|r| r.start.timestamp_micros()))
        .time("ChargePeriodEnd", times(&|r| r.end.timestamp_micros()))
        .time("BillingPeriodStart", times(&|r| month_bounds(r.start).0))
        .time("BillingPeriodEnd", times(&|r| month_bounds(r.start).1))
        .text("BillingAccountId", texts(&|r| Some(r.account.clone())))
        .text("BillingAccountName", texts(&|r| r.account_name.clone()))
        .text("SubAccountId", texts(&|r| r.sub_account.clone()))
        .text("BillingCurrency", texts(&|r| Some(r.currency.clone())))
        .text("PricingCurrency", texts(&|r| Some(r.currency.clone())))
        .money("BilledCost", moneys(&|r| Some(r.cost)))
        .money("EffectiveCost", moneys(&|r| Some(r.cost)))
        .money("ListCost", moneys(&|r| Some(r.cost)))
        .money("ContractedCost", moneys(&|r| Some(r.cost)))
        .money("ListUnitPrice", moneys(&|r| r.unit_price))
        .money("ContractedUnitPrice", moneys(&|r| r.unit_price))
        .money("ConsumedQuantity", moneys(&|r| r.consumed))
        .text("ConsumedUnit", texts(&|r| r.consumed_unit.clone()))
        .money("PricingQuantity", moneys(&|r| r.pricing_quantity))
        .text("PricingUnit", texts(&|r| r.pricing_unit.clone()))
        .text("ChargeDescription", texts(&|r| r.description.clone()))
        .text("Tags", texts(&|r| r.tags.clone()))
        .int(schema::X_SOURCE_ROW, ints(&|r| Some(r.row)))
        .text(schema::X_MODEL, texts(&|r| r.model.clone()))
        .text(schema::X_TOKEN_TYPE, texts(&|r| r.token_type.clone()))
        .int(schema::X_TOKEN_COUNT, ints(&|r| r.token_count))
        .int(schema::X_REQUEST_COUNT, ints(&|r| r.request_count))
        .text(schema::X_COST_BASIS, texts(&|r| Some(r.cost_basis.to_string())))
        .text(schema::X_WORKSPACE, texts(&|r| r.workspace.clone()))
        .text(schema::X_API_KEY, texts(&|r| r.api_key.clone()))
        .text(schema::X_TEAM, texts(&|r| r.team.clone()))
        .text(schema::X_USER, texts(&|r| r.user.clone()))
        .text(schema::X_SERVICE_TIER, texts(&|r| r.service_tier.clone()))
        .constant(schema::X_SOURCE, input.source)
        .constant(schema::X_SOURCE_FORMAT, format)
        .constant(schema::X_SOURCE_OBJECT, input.object)
        .expr(schema::X_BILLING_MONTH, billing_month_expr())
        .expr(schema::X_TCO_CATEGORY, category_expr())
        .build()
        .map(|lf| with_category_rules(lf, input.category_rules))
        .map_err(|source| SourceError::Polars {
            object: input.object.to_string(),
            action: "building the ledger rows",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_booleans_and_counts() {
        let t = |s: &str| parse_instant(s).map(|t| t.to_rfc3339());
        assert_eq!(t("2026-11-01T09:48:01.786Z").as_deref(), Some("2026-11-01T09:48:01.786+00:00"));
        assert_eq!(t("2026-11-01 09:48:01.786").as_deref(), Some("2026-11-01T09:48:01.786+00:00"));
        assert_eq!(t("2026-11-01T02:00:00+02:00").as_deref(), Some("2026-11-01T00:00:00+00:00"));
        assert_eq!(t("2026-11-01").as_deref(), Some("2026-11-01T00:00:00+00:00"));
        assert_eq!(t("yesterday"), None);
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
        let loc = Loc { object: "x", at: "row 1".into() };
        assert_eq!(parse_count("10.0", "n", &loc).ok(), Some(10));
        assert!(parse_count("10.5", "n", &loc).is_err());
        assert!(parse_count("-1", "n", &loc).is_err());
        assert!(parse_count("ten", "n", &loc).is_err());
    }

    #[test]
    fn billing_period_is_the_calendar_month() {
        let t = parse_instant("2026-12-31T23:00:00Z").unwrap_or_default();
        let (s, e) = month_bounds(t);
        assert_eq!(
            DateTime::from_timestamp_micros(s).map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-01T00:00:00+00:00")
        );
        assert_eq!(
            DateTime::from_timestamp_micros(e).map(|t| t.to_rfc3339()).as_deref(),
            Some("2027-01-01T00:00:00+00:00")
        );
    }
}
