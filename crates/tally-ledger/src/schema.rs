//! The ledger's columns: FOCUS 1.2 first, then tally's `x_` columns.

use polars::prelude::{DataType, Field, Schema, TimeUnit, TimeZone};

use crate::money::MONEY_DTYPE;

/// What kind of value a ledger column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// An exact decimal (money, prices, quantities): `Decimal(38, 18)`.
    Decimal,
    /// A UTC instant.
    DateTime,
    /// JSON object text (`Tags`, `SkuPriceDetails`).
    Json,
    /// A whole number (counts).
    Count,
}

impl Kind {
    /// The Polars type of a column of this kind in the ledger.
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Text | Kind::Json => DataType::String,
            Kind::Decimal => MONEY_DTYPE,
            Kind::DateTime => datetime_dtype(),
            Kind::Count => DataType::Int64,
        }
    }
}

/// The type of every date/time column of the ledger: microseconds, UTC.
pub fn datetime_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// One column of the ledger.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Value kind.
    pub kind: Kind,
    /// Mandatory in every FOCUS version (1.0–1.2): a FOCUS input without it is rejected.
    pub mandatory: bool,
    /// Whether nulls are allowed (FOCUS `allows_nulls`, or tally's rule for `x_` columns).
    pub nullable: bool,
}

const fn c(name: &'static str, kind: Kind, mandatory: bool, nullable: bool) -> Column {
    Column { name, kind, mandatory, nullable }
}

use Kind::{Count, DateTime, Decimal, Json, Text};

/// The FOCUS 1.2 columns, in the specification's alphabetical order.
pub const FOCUS_COLUMNS: &[Column] = &[
    c("AvailabilityZone", Text, false, true),
    c("BilledCost", Decimal, true, false),
    c("BillingAccountId", Text, true, false),
    c("BillingAccountName", Text, true, true),
    c("BillingAccountType", Text, false, true),
    c("BillingCurrency", Text, true, false),
    c("BillingPeriodEnd", DateTime, true, false),
    c("BillingPeriodStart", DateTime, true, false),
    c("CapacityReservationId", Text, false, true),
    c("CapacityReservationStatus", Text, false, true),
    c("ChargeCategory", Text, true, false),
    c("ChargeClass", Text, true, true),
    c("ChargeDescription", Text, true, true),
    c("ChargeFrequency", Text, false, true),
    c("ChargePeriodEnd", DateTime, true, false),
    c("ChargePeriodStart", DateTime, true, false),
    c("CommitmentDiscountCategory", Text, false, true),
    c("CommitmentDiscountId", Text, false, true),
    c("CommitmentDiscountName", Text, false, true),
    c("CommitmentDiscountQuantity", Decimal, false, true),
    c("CommitmentDiscountStatus", Text, false, true),
    c("CommitmentDiscountType", Text, false, true),
    c("CommitmentDiscountUnit", Text, false, true),
    c("ConsumedQuantity", Decimal, false, true),
    c("ConsumedUnit", Text, false, true),
    c("ContractedCost", Decimal, true, false),
    c("ContractedUnitPrice", Decimal, false, true),
    c("EffectiveCost", Decimal, true, false),
    c("InvoiceId", Text, false, true),
    c("InvoiceIssuerName", Text, true, false),
    c("ListCost", Decimal, true, false),
    c("ListUnitPrice", Decimal, false, true),
    c("PricingCategory", Text, false, true),
    c("PricingCurrency", Text, false, true),
    c("PricingCurrencyContractedUnitPrice", Decimal, false, true),
    c("PricingCurrencyEffectiveCost", Decimal, false, true),
    c("PricingCurrencyListUnitPrice", Decimal, false, true),
    c("PricingQuantity", Decimal, true, true),
    c("PricingUnit", Text, true, true),
    c("ProviderName", Text, true, false),
    c("PublisherName", Text, true, false),
    c("RegionId", Text, false, true),
    c("RegionName", Text, false, true),
    c("ResourceId", Text, false, true),
    c("ResourceName", Text, false, true),
    c("ResourceType", Text, false, true),
    c("ServiceCategory", Text, true, false),
    c("ServiceName", Text, true, false),
    c("ServiceSubcategory", Text, false, true),
    c("SkuId", Text, false, true),
    c("SkuMeter", Text, false, true),
    c("SkuPriceDetails", Json, false, true),
    c("SkuPriceId", Text, false, true),
    c("SubAccountId", Text, false, true),
    c("SubAccountName", Text, false, true),
    c("SubAccountType", Text, false, true),
    c("Tags", Json, false, true),
];

/// Name of the source (as named in the pipeline file, or the format name for `convert`).
pub const X_SOURCE: &str = "x_source";
/// Name of the export format the row was read from.
pub const X_SOURCE_FORMAT: &str = "x_source_format";
/// The object (URL or path) the row was read from.
pub const X_SOURCE_OBJECT: &str = "x_source_object";
/// The 1-based data row within that object (header excluded).
pub const X_SOURCE_ROW: &str = "x_source_row";
/// Billing month `YYYY-MM`, from `BillingPeriodStart`; also the dataset's partition key.
pub const X_BILLING_MONTH: &str = "x_billing_month";
/// TCO category (see [`crate::TcoCategory`]).
pub const X_TCO_CATEGORY: &str = "x_tco_category";
/// AI project the row is attributed to, when known.
pub const X_PROJECT: &str = "x_project";
/// Business unit the row is attributed to, when known.
pub const X_BUSINESS_UNIT: &str = "x_business_unit";
/// AI model, for model usage rows.
pub const X_MODEL: &str = "x_model";
/// Token type: `input`, `output`, `cached_input`, `cache_write`.
pub const X_TOKEN_TYPE: &str = "x_token_type";
/// Token count, for token-priced rows.
pub const X_TOKEN_COUNT: &str = "x_token_count";
/// Number of model requests, when the source gives it.
pub const X_REQUEST_COUNT: &str = "x_request_count";
/// `billed` (the provider's invoice) or `estimated` (priced by tally).
pub const X_COST_BASIS: &str = "x_cost_basis";
/// The provider's own project or workspace (OpenAI project, Anthropic workspace), for rules.
pub const X_WORKSPACE: &str = "x_workspace";
/// The API key (id or alias) the usage was made with, for rules.
pub const X_API_KEY: &str = "x_api_key";
/// The gateway team (LiteLLM team), for rules.
pub const X_TEAM: &str = "x_team";
/// The end user or user id the provider reports, for rules.
pub const X_USER: &str = "x_user";
/// The shared pool a source puts the row in (e.g. an invoice for a shared service); the
/// allocation stage also fills it for rows its pools take.
pub const X_POOL: &str = "x_pool";
/// For rows of a quantities-only source: what the row's cost would have been (the source's
/// cost, or tally's estimate from the price book), kept out of every total.
pub const X_ESTIMATED_COST: &str = "x_estimated_cost";
/// The exchange rate a row's costs were converted with (reporting currency per unit of the
/// billing currency), in the allocation dataset; null for rows billed in the reporting currency.
pub const X_FX_RATE: &str = "x_fx_rate";
/// The billing currency of a row before conversion, in the allocation dataset.
pub const X_FX_CURRENCY: &str = "x_fx_currency";
/// Service tier or processing mode (`batch`, `flex`, `priority`, `default`), when known.
pub const X_SERVICE_TIER: &str = "x_service_tier";

/// tally's own columns, after the FOCUS ones.
pub const X_COLUMNS: &[Column] = &[
    c(X_SOURCE, Text, false, false),
    c(X_SOURCE_FORMAT, Text, false, false),
    c(X_SOURCE_OBJECT, Text, false, false),
    c(X_SOURCE_ROW, Count, false, false),
    c(X_BILLING_MONTH, Text, false, false),
    c(X_TCO_CATEGORY, Text, false, false),
    c(X_PROJECT, Text, false, true),
    c(X_BUSINESS_UNIT, Text, false, true),
    c(X_MODEL, Text, false, true),
    c(X_TOKEN_TYPE, Text, false, true),
    c(X_TOKEN_COUNT, Count, false, true),
    c(X_REQUEST_COUNT, Count, false, true),
    c(X_COST_BASIS, Text, false, false),
    c(X_WORKSPACE, Text, false, true),
    c(X_API_KEY, Text, false, true),
    c(X_TEAM, Text, false, true),
    c(X_USER, Text, false, true),
    c(X_SERVICE_TIER, Text, false, true),
    c(X_POOL, Text, false, true),
    c(X_ESTIMATED_COST, Decimal, false, true),
    c(X_FX_RATE, Decimal, false, true),
    c(X_FX_CURRENCY, Text, false, true),
];

/// Every ledger column in order: FOCUS columns, then `x_` columns.
pub fn ledger_columns() -> impl Iterator<Item = &'static Column> {
    FOCUS_COLUMNS.iter().chain(X_COLUMNS.iter())
}

/// Looks a FOCUS column up by name.
pub fn focus_column(name: &str) -> Option<&'static Column> {
    FOCUS_COLUMNS.iter().find(|c| c.name == name)
}

/// The Polars schema of the ledger.
pub fn ledger_schema() -> Schema {
    ledger_columns().map(|c| Field::new(c.name.into(), c.kind.dtype())).collect()
}

/// The money columns every summary totals.
pub const COST_COLUMNS: [&str; 4] = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_1_2_has_57_columns_and_x_columns_follow() {
        assert_eq!(FOCUS_COLUMNS.len(), 57);
        let names: Vec<_> = ledger_columns().map(|c| c.name).collect();
        let first_x = names.iter().position(|n| n.starts_with("x_")).unwrap_or(0);
        assert_eq!(first_x, 57);
        assert!(names[first_x..].iter().all(|n| n.starts_with("x_")));
        let mut sorted = names[..57].to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, names[..57].to_vec(), "FOCUS columns in alphabetical order");
    }

    #[test]
    fn matches_the_reference_column_list_when_present() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference/focus_columns.csv");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} not found (../shared/reference is not beside the checkout)");
            return;
        };
        let mut seen = 0;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 8 || f[1] != "1.2" {
                continue;
            }
            if !f[7].starts_with("FOCUS_Spec@v1.2") {
                continue;
            }
            let col = focus_column(f[0]).unwrap_or_else(|| panic!("missing FOCUS 1.2 column {}", f[0]));
            let expect = match f[3] {
                "Decimal" => Kind::Decimal,
                "Date/Time" => Kind::DateTime,
                "JSON" => Kind::Json,
                _ => Kind::Text,
            };
            assert_eq!(col.kind, expect, "{}", f[0]);
            assert_eq!(col.mandatory, f[2] == "Mandatory", "{}", f[0]);
            seen += 1;
        }
        assert_eq!(seen, 57);
    }
}
