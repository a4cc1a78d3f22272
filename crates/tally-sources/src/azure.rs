//! Azure cost details exports (Cost Management exports, actual or amortised), CSV or CSV.gz, with
//! either the EA column set (`CostInBillingCurrency`, `BillingCurrencyCode`, …) or the MCA/older
//! one (`Cost`, `BillingCurrency`, …); names are matched without regard to case.
//!
//! `Date` is `MM/DD/YYYY` (`9/2/2023` too) or ISO `YYYY-MM-DD`; anything else is an error naming
//! the row. `Tags` is a JSON object, with or without its braces. An export is *amortised* when it
//! has `UnusedReservation`/`UnusedSavingsPlan` rows or commitment-covered usage with a cost;
//! there covered usage and unused commitment are BilledCost 0 and EffectiveCost = cost, and
//! commitment purchases (if present) BilledCost = cost and EffectiveCost 0. In an actual-cost
//! export BilledCost = EffectiveCost = cost. ListCost is `PayGPrice × Quantity` where given.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use polars::prelude::LazyFrame;
use tally_ledger::{Money, TcoCategory};

use crate::cloud::{count_of, month_bounds, mul, to_ledger, token_type_of, CloudRow, Table};
use crate::{BadCell, Format, Input, SourceError};

/// The Azure cost details format.
pub struct Azure;

const NAME: &str = "azure";
const COST: &[&str] = &["CostInBillingCurrency", "Cost", "PreTaxCost"];
const CURRENCY: &[&str] = &["BillingCurrencyCode", "BillingCurrency", "Currency"];
const DATE: &[&str] = &["Date", "UsageDateTime"];
const COMMITMENT_MODELS: &[&str] = &["Reservation", "SavingsPlan", "Savings Plan"];

/// Meter categories of Azure OpenAI / Foundry model usage.
const AI_METERS: &[&str] =
    &["Cognitive Services", "Foundry Models", "Azure OpenAI", "Azure AI Foundry", "Foundry Tools"];

/// FOCUS service category by meter category.
const SERVICE_CATEGORIES: &[(&str, &str)] = &[
    ("Virtual Machines", "Compute"),
    ("Azure App Service", "Compute"),
    ("Functions", "Compute"),
    ("Container Instances", "Compute"),
    ("Azure Kubernetes Service", "Compute"),
    ("Storage", "Storage"),
    ("Bandwidth", "Networking"),
    ("Virtual Network", "Networking"),
    ("Load Balancer", "Networking"),
    ("Azure Front Door Service", "Networking"),
    ("SQL Database", "Databases"),
    ("Azure Cosmos DB", "Databases"),
    ("Azure Database for PostgreSQL", "Databases"),
    ("Redis Cache", "Databases"),
    ("Cognitive Services", "AI and Machine Learning"),
    ("Foundry Models", "AI and Machine Learning"),
    ("Azure OpenAI", "AI and Machine Learning"),
    ("Azure AI Foundry", "AI and Machine Learning"),
    ("Azure Machine Learning", "AI and Machine Learning"),
    ("Azure Cognitive Search", "AI and Machine Learning"),
    ("Azure AI Search", "AI and Machine Learning"),
    ("Key Vault", "Security"),
    ("Microsoft Defender for Cloud", "Security"),
    ("Azure Defender", "Security"),
    ("Microsoft Entra ID", "Identity"),
    ("Azure Monitor", "Management and Governance"),
    ("Log Analytics", "Management and Governance"),
    ("Backup", "Storage"),
];

fn bad(input: &Input<'_>, row: usize, column: &str, value: Option<String>, expected: &str) -> SourceError {
    SourceError::bad_cell(
        input.object,
        BadCell { row: row as u64 + 1, column: column.to_string(), value, expected: expected.to_string() },
    )
}

/// A date as Azure writes it: `MM/DD/YYYY` (or `M/D/YYYY`), `YYYY-MM-DD`, or ISO date-time.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Some((m, rest)) = s.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        let (m, d, y): (u32, u32, i32) = (m.parse().ok()?, d.parse().ok()?, y.parse().ok()?);
        if y < 1000 {
            return None;
        }
        return NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    }
    if s.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    }
    crate::provider::parse_instant(s)
}

/// Azure `Tags`: a JSON object, with or without braces (`"a": "b","c": "d"`), as JSON object
/// text with string values; `None` when empty.
pub fn parse_tags(raw: &str) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() || s == "{}" {
        return Ok(None);
    }
    let text = if s.starts_with('{') { s.to_string() } else { format!("{{{s}}}") };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err("not a JSON object".to_string());
    };
    if map.is_empty() {
        return Ok(None);
    }
    let out: serde_json::Map<String, serde_json::Value> = map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, serde_json::Value::String(v))
        })
        .collect();
    Ok(Some(serde_json::Value::Object(out).to_string()))
}

/// Model of an Azure OpenAI meter: `gpt-4o-0806-Inp-glbl Tokens` → `gpt-4o-0806`,
/// `gpt 4.1 mini cached Inp glbl Tokens` → `gpt-4.1-mini`.
pub fn meter_model(meter: &str) -> Option<String> {
    let lower = meter.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    let stop = ["inp", "input", "outp", "output", "cached", "cchd", "cache", "in", "out", "batch", "tokens"];
    let end = parts.iter().position(|p| stop.contains(p))?;
    if end == 0 {
        return None;
    }
    Some(parts[..end].join("-"))
}

/// Tokens per unit of measure: `1K` → 1,000, `1M` → 1,000,000, `1`/`Tokens` → 1.
fn unit_size(unit: &str) -> Option<i64> {
    let u = unit.trim().to_ascii_lowercase();
    let u = u.trim_end_matches("tokens").trim();
    match u {
        "" | "1" => Some(1),
        "1k" | "1000" | "1 k" => Some(1000),
        "10k" => Some(10_000),
        "100k" => Some(100_000),
        "1m" | "1 m" | "1000000" => Some(1_000_000),
        _ => None,
    }
}

fn gpu_meter(sub: &str, meter: &str) -> bool {
    let is_gpu = |s: &str| {
        s.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            let w = w.to_ascii_uppercase();
            (w.starts_with("ND") || w.starts_with("NC") || w.starts_with("NV"))
                && w.len() > 2
                && w[2..].chars().next().is_some_and(|c| c.is_ascii_digit() || c.is_ascii_alphabetic())
                && !w.starts_with("NDA") // not a word like "NDAs"
        })
    };
    is_gpu(sub) || is_gpu(meter)
}

fn money(t: &Table, input: &Input<'_>, names: &[&str], i: usize) -> Result<Option<Money>, SourceError> {
    match t.get(names, i) {
        None => Ok(None),
        Some(v) => Money::parse(&v).map(Some).map_err(|_| {
            bad(input, i, &t.which(names).unwrap_or_else(|| names[0].to_string()), Some(v), "a decimal number")
        }),
    }
}

/// The ledger rows of an Azure export.
pub fn rows(input: &Input<'_>) -> Result<Vec<CloudRow>, SourceError> {
    let t = Table::read_csv(input)?;
    let mut missing = Vec::new();
    for (what, names) in
        [("CostInBillingCurrency or Cost", COST), ("BillingCurrencyCode or BillingCurrency", CURRENCY), ("Date", DATE)]
    {
        if t.which(names).is_none() {
            missing.push(what.to_string());
        }
    }
    if !t.has("MeterCategory") && !t.has("ConsumedService") {
        missing.push("MeterCategory".to_string());
    }
    if !missing.is_empty() {
        return Err(SourceError::MissingColumns { object: input.object.to_string(), columns: missing });
    }
    // Amortised or actual: decided once for the file.
    let mut amortised = false;
    for i in 0..t.height {
        let charge = t.get(&["ChargeType"], i).unwrap_or_default();
        let model = t.get(&["PricingModel"], i).unwrap_or_default();
        if charge.starts_with("Unused") {
            amortised = true;
            break;
        }
        if charge == "Usage" && COMMITMENT_MODELS.contains(&model.as_str()) {
            if let Some(c) = money(&t, input, COST, i)? {
                if c != Money::ZERO {
                    amortised = true;
                    break;
                }
            }
        }
    }
    let mut out = Vec::with_capacity(t.height);
    for i in 0..t.height {
        let mut r = CloudRow { row: i as i64 + 1, ..Default::default() };
        let date_raw = t.get(DATE, i);
        let date_col = t.which(DATE).unwrap_or_else(|| "Date".to_string());
        let date = date_raw.as_deref().and_then(parse_date).ok_or_else(|| {
            bad(input, i, &date_col, date_raw.clone(), "a date as MM/DD/YYYY (e.g. 11/01/2026) or YYYY-MM-DD")
        })?;
        let cost = money(&t, input, COST, i)?.ok_or_else(|| {
            bad(input, i, &t.which(COST).unwrap_or_default(), None, "a decimal number (the row's cost)")
        })?;
        let currency = t
            .get(CURRENCY, i)
            .ok_or_else(|| bad(input, i, &t.which(CURRENCY).unwrap_or_default(), None, "an ISO 4217 currency code"))?;
        let (month_start, month_end) = month_bounds(date);
        let period_start = match t.get(&["BillingPeriodStartDate"], i) {
            Some(v) => parse_date(&v)
                .ok_or_else(|| bad(input, i, "BillingPeriodStartDate", Some(v), "a date as MM/DD/YYYY"))?,
            None => month_start,
        };
        let period_end = match t.get(&["BillingPeriodEndDate"], i) {
            // Azure gives the last day of the period; FOCUS wants the exclusive end.
            Some(v) => {
                parse_date(&v).ok_or_else(|| bad(input, i, "BillingPeriodEndDate", Some(v), "a date as MM/DD/YYYY"))?
                    + Duration::days(1)
            }
            None => month_end,
        };
        r.times.insert("ChargePeriodStart", date);
        r.times.insert("ChargePeriodEnd", date + Duration::days(1));
        r.times.insert("BillingPeriodStart", period_start);
        r.times.insert("BillingPeriodEnd", period_end);

        let charge = t.get(&["ChargeType"], i).unwrap_or_else(|| "Usage".to_string());
        let pricing_model = t.get(&["PricingModel"], i).unwrap_or_default();
        let commitment = COMMITMENT_MODELS.contains(&pricing_model.as_str());
        let unused = charge.starts_with("Unused");
        let (category, billed, effective) = match charge.as_str() {
            "Purchase" if commitment && amortised => ("Purchase", cost, Money::ZERO),
            "Purchase" => ("Purchase", cost, cost),
            "Usage" if commitment && amortised => ("Usage", Money::ZERO, cost),
            _ if unused => ("Usage", Money::ZERO, cost),
            "Tax" => ("Tax", cost, cost),
            "Refund" | "RoundingAdjustment" => ("Adjustment", cost, cost),
            "Adjustment" | "Credit" => ("Credit", cost, cost),
            _ => ("Usage", cost, cost),
        };
        r.set("ChargeCategory", Some(category));
        if charge == "RoundingAdjustment" || charge == "Refund" {
            r.set("ChargeClass", None::<String>);
        }
        r.set_money("BilledCost", Some(billed));
        r.set_money("EffectiveCost", Some(effective));
        r.set_money("ContractedCost", Some(billed));
        let quantity = money(&t, input, &["Quantity", "UsageQuantity"], i)?;
        let payg = money(&t, input, &["PayGPrice"], i)?;
        let list = match (payg, quantity) {
            (Some(p), Some(q)) if category == "Usage" && !unused => mul(p, q).unwrap_or(billed),
            _ => billed,
        };
        r.set_money("ListCost", Some(list));
        r.set_money("ListUnitPrice", payg);
        r.set_money("ContractedUnitPrice", money(&t, input, &["UnitPrice", "EffectivePrice"], i)?);
        let unit = t.get(&["UnitOfMeasure"], i);
        if category == "Usage" {
            r.set_money("ConsumedQuantity", quantity);
            r.set("ConsumedUnit", unit.clone());
        }
        r.set_money("PricingQuantity", quantity);
        r.set("PricingUnit", unit.clone());
        r.set("BillingCurrency", Some(currency.clone()));
        r.set("PricingCurrency", t.get(&["PricingCurrency", "PricingCurrencyCode"], i).or(Some(currency)));

        let sub = t.get(&["SubscriptionId", "SubscriptionGuid"], i);
        r.set(
            "BillingAccountId",
            t.get(&["BillingAccountId", "BillingProfileId"], i).or_else(|| sub.clone()).or(Some("unknown".to_string())),
        );
        r.set("BillingAccountName", t.get(&["BillingAccountName", "BillingProfileName"], i));
        r.set("SubAccountId", sub);
        r.set("SubAccountName", t.get(&["SubscriptionName"], i));
        r.set("InvoiceId", t.get(&["InvoiceId", "InvoiceNumber"], i));
        r.set("ProviderName", Some("Microsoft"));
        r.set("InvoiceIssuerName", Some("Microsoft"));
        r.set("PublisherName", t.get(&["PublisherName"], i).or(Some("Microsoft".to_string())));
        let meter_category =
            t.get(&["MeterCategory"], i).or_else(|| t.get(&["ConsumedService"], i)).unwrap_or_default();
        let meter_sub = t.get(&["MeterSubCategory"], i).unwrap_or_default();
        let meter = t.get(&["MeterName"], i).unwrap_or_default();
        let service_cat = SERVICE_CATEGORIES
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(&meter_category))
            .map(|(_, c)| *c)
            .unwrap_or("Other");
        r.set(
            "ServiceName",
            Some(if meter_category.is_empty() { "Azure".to_string() } else { meter_category.clone() }),
        );
        r.set("ServiceCategory", Some(service_cat));
        r.set("ChargeDescription", t.get(&["ProductName", "MeterName"], i));
        r.set("SkuMeter", Some(meter.clone()));
        r.set("SkuId", t.get(&["ProductId", "PartNumber"], i));
        r.set("SkuPriceId", t.get(&["MeterId"], i));
        r.set("ResourceId", t.get(&["ResourceId", "InstanceId"], i));
        r.set("ResourceName", t.get(&["ResourceName"], i));
        let location = t.get(&["ResourceLocation", "MeterRegion"], i);
        r.set("RegionName", location.clone());
        r.set("RegionId", location.map(|l| l.to_ascii_lowercase().replace(' ', "")));
        r.set("AvailabilityZone", t.get(&["AvailabilityZone"], i));
        r.set(
            "ChargeFrequency",
            Some(match t.get(&["Frequency"], i).as_deref() {
                Some("OneTime") => "One-Time",
                Some("Recurring") => "Recurring",
                Some("UsageBased") => "Usage-Based",
                _ if category == "Purchase" => "One-Time",
                _ if category == "Usage" => "Usage-Based",
                _ => "Recurring",
            }),
        );
        r.set(
            "PricingCategory",
            match pricing_model.as_str() {
                "OnDemand" if category == "Usage" => Some("Standard"),
                "Spot" => Some("Dynamic"),
                _ if commitment && category == "Usage" => Some("Committed"),
                _ => None,
            },
        );
        if commitment || unused {
            let id = t.get(&["BenefitId", "ReservationId"], i);
            r.set("CommitmentDiscountId", id);
            r.set("CommitmentDiscountName", t.get(&["BenefitName", "ReservationName"], i));
            let sp = pricing_model.starts_with("Savings") || charge == "UnusedSavingsPlan";
            r.set("CommitmentDiscountType", Some(if sp { "Savings Plan" } else { "Reservation" }));
            r.set("CommitmentDiscountCategory", Some(if sp { "Spend" } else { "Usage" }));
            if category == "Usage" {
                r.set("CommitmentDiscountStatus", Some(if unused { "Unused" } else { "Used" }));
            }
        }
        if let Some(raw) = t.raw(&["Tags"], i) {
            let tags = parse_tags(&raw)
                .map_err(|e| bad(input, i, "Tags", Some(raw.clone()), &format!("a JSON object of tags ({e})")))?;
            r.set("Tags", tags);
        }
        // AI model meters and GPU machines.
        let ai =
            AI_METERS.iter().any(|m| m.eq_ignore_ascii_case(&meter_category) || m.eq_ignore_ascii_case(&meter_sub));
        if ai && category == "Usage" {
            if let Some(tt) = token_type_of(&meter) {
                r.token_type = Some(tt.to_string());
                r.model = meter_model(&meter);
                r.category = Some(TcoCategory::ModelApi);
                r.set("ServiceSubcategory", Some("Generative AI"));
                if meter.to_ascii_lowercase().contains("batch") {
                    r.service_tier = Some("batch".to_string());
                }
                if let (Some(q), Some(per)) = (quantity, unit.as_deref().and_then(unit_size)) {
                    r.token_count = count_of(q, per);
                }
            }
        }
        if meter_category.eq_ignore_ascii_case("Virtual Machines") && gpu_meter(&meter_sub, &meter) {
            r.category = Some(TcoCategory::Compute);
            r.set("ServiceSubcategory", Some("Virtual Machines"));
        }
        out.push(r);
    }
    Ok(out)
}

impl Format for Azure {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Azure cost details exports, actual or amortised, EA or MCA column sets (CSV, CSV.gz)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        let has = |n: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(n));
        has("MeterCategory")
            && (has("CostInBillingCurrency") || has("Cost") || has("PreTaxCost"))
            && (has("SubscriptionId") || has("SubscriptionGuid"))
            && !has("BilledCost")
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        to_ledger(&rows(input)?, input, NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_tags_and_meters() {
        assert_eq!(parse_date("11/01/2026").map(|d| d.to_rfc3339()), Some("2026-11-01T00:00:00+00:00".into()));
        assert_eq!(parse_date("9/2/2023").map(|d| d.to_rfc3339()), Some("2023-09-02T00:00:00+00:00".into()));
        assert_eq!(parse_date("2026-11-01").map(|d| d.to_rfc3339()), Some("2026-11-01T00:00:00+00:00".into()));
        assert_eq!(parse_date("31/10/2026"), None);
        assert_eq!(parse_date("2026.11.01"), None);
        assert_eq!(
            parse_tags(r#""tagA": "valueA","tagB": "valueB""#).ok().flatten().as_deref(),
            Some(r#"{"tagA":"valueA","tagB":"valueB"}"#)
        );
        assert_eq!(parse_tags(r#"{"project": "search"}"#).ok().flatten().as_deref(), Some(r#"{"project":"search"}"#));
        assert_eq!(parse_tags("").ok().flatten(), None);
        assert!(parse_tags("{oops").is_err());
        assert_eq!(meter_model("gpt-4o-0806-Inp-glbl Tokens").as_deref(), Some("gpt-4o-0806"));
        assert_eq!(meter_model("gpt 4.1 mini cached Inp glbl Tokens").as_deref(), Some("gpt-4.1-mini"));
        assert!(gpu_meter("NDasrA100 v4 Series", "ND96asr A100 v4"));
        assert!(!gpu_meter("Dsv5 Series", "D4s v5"));
    }
}
