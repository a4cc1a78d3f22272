//! What the row-by-row cloud formats (Azure cost details, GCP billing export) share: a ledger
//! row with every FOCUS column they fill, building the ledger frame from rows, case-insensitive
//! text tables, exact decimal products, Parquet values as JSON, and AI model meter parsing.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use polars::prelude::*;
use tally_ledger::frame::{billing_month_expr, category_expr, select_ledger, with_category_rules};
use tally_ledger::{schema, Money, TcoCategory, MONEY_SCALE};

use crate::{Input, SourceError};

/// One ledger row of a cloud export.
#[derive(Clone, Debug, Default)]
pub struct CloudRow {
    /// 1-based data row of the object (`x_source_row`).
    pub row: i64,
    /// Text columns by FOCUS name (ProviderName, ServiceName, ChargeCategory, …).
    pub text: HashMap<&'static str, String>,
    /// Money and quantity columns by FOCUS name.
    pub money: HashMap<&'static str, Money>,
    /// ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, BillingPeriodEnd.
    pub times: HashMap<&'static str, DateTime<Utc>>,
    /// `x_model`.
    pub model: Option<String>,
    /// `x_token_type`.
    pub token_type: Option<String>,
    /// `x_token_count`.
    pub token_count: Option<i64>,
    /// `x_service_tier`.
    pub service_tier: Option<String>,
    /// A category this format decided (model API, GPU compute), before the defaults.
    pub category: Option<TcoCategory>,
}

impl CloudRow {
    /// Sets a text column when the value is present and not blank.
    pub fn set(&mut self, column: &'static str, value: Option<impl Into<String>>) {
        if let Some(v) = value.map(Into::into).filter(|v: &String| !v.trim().is_empty()) {
            self.text.insert(column, v);
        }
    }

    /// Sets a money column.
    pub fn set_money(&mut self, column: &'static str, value: Option<Money>) {
        if let Some(v) = value {
            self.money.insert(column, v);
        }
    }
}

const TEXT_COLUMNS: &[&str] = &[
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedUnit",
    "InvoiceId",
    "InvoiceIssuerName",
    "PricingCategory",
    "PricingCurrency",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
];

const MONEY_COLUMNS: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ConsumedQuantity",
    "PricingQuantity",
];

const TIME_COLUMNS: &[&str] = &["ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"];

/// The first instant of `t`'s month and of the next month.
pub fn month_bounds(t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = NaiveDate::from_ymd_opt(t.year(), t.month(), 1);
    let next = if t.month() == 12 {
        NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)
    };
    let at = |d: Option<NaiveDate>| d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or(t);
    (at(start), at(next))
}

/// The ledger frame of `rows`.
pub fn to_ledger(rows: &[CloudRow], input: &Input<'_>, format: &'static str) -> Result<LazyFrame, SourceError> {
    let n = rows.len();
    let mut columns: Vec<Column> = Vec::new();
    for name in TEXT_COLUMNS {
        let v: Vec<Option<&str>> = rows.iter().map(|r| r.text.get(name).map(String::as_str)).collect();
        columns.push(Series::new((*name).into(), v).into_column());
    }
    for name in MONEY_COLUMNS {
        let v = Int128Chunked::from_iter_options(
            (*name).into(),
            rows.iter().map(|r| r.money.get(name).copied().map(Money::raw)),
        );
        columns.push(v.into_decimal_unchecked(38, MONEY_SCALE).into_series().into_column());
    }
    for name in TIME_COLUMNS {
        let v = Int64Chunked::from_iter_options(
            (*name).into(),
            rows.iter().map(|r| r.times.get(name).map(DateTime::timestamp_micros)),
        );
        columns.push(v.into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)).into_series().into_column());
    }
    let opt_text = |name: &'static str, f: &dyn Fn(&CloudRow) -> Option<String>| -> Column {
        Series::new(name.into(), rows.iter().map(f).collect::<Vec<_>>()).into_column()
    };
    columns
        .push(Series::new(schema::X_SOURCE_ROW.into(), rows.iter().map(|r| r.row).collect::<Vec<_>>()).into_column());
    columns.push(opt_text(schema::X_MODEL, &|r| r.model.clone()));
    columns.push(opt_text(schema::X_TOKEN_TYPE, &|r| r.token_type.clone()));
    columns.push(
        Series::new(schema::X_TOKEN_COUNT.into(), rows.iter().map(|r| r.token_count).collect::<Vec<_>>()).into_column(),
    );
    columns.push(opt_text(schema::X_SERVICE_TIER, &|r| r.service_tier.clone()));
    columns.push(opt_text("__category", &|r| r.category.map(|c| c.as_str().to_string())));
    let df = DataFrame::new(n, columns).map_err(|source| SourceError::Polars {
        object: input.object.to_string(),
        action: "building the ledger rows",
        source,
    })?;
    let mut exprs: HashMap<&'static str, Expr> = HashMap::new();
    for name in TEXT_COLUMNS.iter().chain(MONEY_COLUMNS).chain(TIME_COLUMNS) {
        exprs.insert(name, col(*name));
    }
    for name in
        [schema::X_SOURCE_ROW, schema::X_MODEL, schema::X_TOKEN_TYPE, schema::X_TOKEN_COUNT, schema::X_SERVICE_TIER]
    {
        exprs.insert(name, col(name));
    }
    exprs.insert(schema::X_SOURCE, lit(input.source.to_string()));
    exprs.insert(schema::X_SOURCE_FORMAT, lit(format));
    exprs.insert(schema::X_SOURCE_OBJECT, lit(input.object.to_string()));
    exprs.insert(schema::X_COST_BASIS, lit("billed"));
    exprs.insert(schema::X_BILLING_MONTH, billing_month_expr());
    let chain = when(col("__category").is_not_null()).then(col("__category")).otherwise(category_expr());
    exprs.insert(schema::X_TCO_CATEGORY, chain);
    Ok(with_category_rules(select_ledger(df.lazy(), exprs), input.category_rules))
}

/// A CSV file read as text, with columns looked up by name without regard to case.
pub struct Table {
    columns: HashMap<String, StringChunked>,
    /// Data rows.
    pub height: usize,
    /// Column names as written.
    pub names: Vec<String>,
}

impl Table {
    /// Reads a local CSV file with every column as text.
    pub fn read_csv(input: &Input<'_>) -> Result<Table, SourceError> {
        let (names, df) = crate::provider::csv_rows(input, &[])?;
        let mut columns = HashMap::new();
        for name in &names {
            let c = df.column(name).and_then(|c| c.str().cloned()).map_err(|source| SourceError::Polars {
                object: input.object.to_string(),
                action: "reading the CSV",
                source,
            })?;
            columns.entry(name.to_ascii_lowercase()).or_insert(c);
        }
        Ok(Table { columns, height: df.height(), names })
    }

    /// Whether a column exists.
    pub fn has(&self, name: &str) -> bool {
        self.columns.contains_key(&name.to_ascii_lowercase())
    }

    /// The first of `names` present in the header, as written.
    pub fn which(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.names.iter().find(|h| h.eq_ignore_ascii_case(n)).cloned())
    }

    /// The first non-blank value among `names` at row `i` (trimmed).
    pub fn get(&self, names: &[&str], i: usize) -> Option<String> {
        names.iter().find_map(|n| {
            self.columns
                .get(&n.to_ascii_lowercase())
                .and_then(|c| c.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    }

    /// The raw value (untrimmed, may be blank) of the first of `names` present.
    pub fn raw(&self, names: &[&str], i: usize) -> Option<String> {
        names.iter().find_map(|n| self.columns.get(&n.to_ascii_lowercase()).and_then(|c| c.get(i)).map(str::to_string))
    }
}

/// `a × b` exactly when the result has at most 18 decimals, else rounded half away from zero at
/// 18 decimals; `None` on overflow.
pub fn mul(a: Money, b: Money) -> Option<Money> {
    let strip = |m: Money| {
        let mut raw = m.raw();
        let mut scale = MONEY_SCALE as u32;
        while scale > 0 && raw % 10 == 0 {
            raw /= 10;
            scale -= 1;
        }
        (raw, scale)
    };
    let (ra, sa) = strip(a);
    let (rb, sb) = strip(b);
    let raw = ra.checked_mul(rb)?;
    let scale = sa + sb;
    let target = MONEY_SCALE as u32;
    if scale <= target {
        return raw.checked_mul(10i128.checked_pow(target - scale)?).map(Money::from_raw);
    }
    let div = 10i128.checked_pow(scale - target)?;
    let q = raw / div;
    let r = raw % div;
    let q = if r.abs() * 2 >= div { q + raw.signum() } else { q };
    Some(Money::from_raw(q))
}

/// A whole count from a quantity times a unit size (rounded half away from zero).
pub fn count_of(quantity: Money, per: i64) -> Option<i64> {
    let total = mul(quantity, Money::from_int(per))?;
    let one = 10i128.pow(MONEY_SCALE as u32);
    let whole = total.round_dp(0).raw() / one;
    i64::try_from(whole).ok()
}

/// A Polars value as JSON: numbers keep their shortest text (as strings of digits, read later
/// exactly), structs become objects, lists arrays.
pub fn any_to_json(v: AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v.into_static() {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::StructOwned(payload) => {
            let (values, fields) = *payload;
            let mut obj = serde_json::Map::new();
            for (f, v) in fields.iter().zip(values) {
                obj.insert(f.name().to_string(), any_to_json(v));
            }
            Value::Object(obj)
        }
        AnyValue::List(s) => {
            let mut out = Vec::with_capacity(s.len());
            for i in 0..s.len() {
                out.push(s.get(i).map(any_to_json).unwrap_or(Value::Null));
            }
            Value::Array(out)
        }
        AnyValue::Float64(f) => Value::String(format!("{f}")),
        AnyValue::Float32(f) => Value::String(format!("{f}")),
        other => Value::String(other.to_string().trim_matches('"').to_string()),
    }
}

/// Token type named by an AI meter or SKU (`cached_input`, `cache_write`, `input`, `output`), or
/// `None` when it is not a token meter.
pub fn token_type_of(meter: &str) -> Option<&'static str> {
    let m = meter.to_ascii_lowercase();
    if m.contains("storage") {
        return None;
    }
    let word = |w: &str| m.split(|c: char| !c.is_ascii_alphanumeric()).any(|part| part == w);
    if m.contains("cache write") || m.contains("cache-write") || m.contains("cache creation") {
        Some("cache_write")
    } else if m.contains("cached") || m.contains("caching") || word("cchd") || m.contains("cache read") {
        Some("cached_input")
    } else if word("inp") || word("input") || word("in") {
        Some("input")
    } else if word("outp") || word("output") || word("out") {
        Some("output")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_default()
    }

    #[test]
    fn products_are_exact() {
        assert_eq!(mul(m("1171.44"), m("0.0025")), Some(m("2.9286")));
        assert_eq!(mul(m("-3"), m("0.1")), Some(m("-0.3")));
        assert_eq!(mul(m("0.000000001"), m("0.0000000001")), Some(m("0.0000000000000000001").round_dp(18)));
        assert_eq!(count_of(m("1171.44"), 1000), Some(1_171_440));
    }

    #[test]
    fn token_types_from_meters() {
        assert_eq!(token_type_of("gpt-4o-0806-Inp-glbl Tokens"), Some("input"));
        assert_eq!(token_type_of("gpt-4o-0806-Outp-glbl Tokens"), Some("output"));
        assert_eq!(token_type_of("gpt 4.1 mini cached Inp glbl Tokens"), Some("cached_input"));
        assert_eq!(token_type_of(" Gemini 2.5 Flash GA Input Text Caching"), Some("cached_input"));
        assert_eq!(token_type_of("Gemini 2.5 Flash GA Text Output - Predictions"), Some("output"));
        assert_eq!(token_type_of("Gemini 2.5 Flash Context Caching Storage"), None);
        assert_eq!(token_type_of("D4s v5"), None);
    }
}
