//! Google Cloud billing export (standard or detailed usage cost), as exported from BigQuery to
//! storage: newline-delimited JSON (nested), Parquet (nested), or CSV with flattened columns
//! (`service.description` or `service_description`; `labels`, `credits`, `project.labels` as
//! JSON text).
//!
//! BilledCost = EffectiveCost = `cost`; ListCost is `cost_at_list` where given. Each entry of
//! `credits` becomes its own `Credit` row (negative amount, same source row), so Σ BilledCost =
//! Σ cost + Σ credits = the invoice. `cost_type` `tax` → Tax, `adjustment` and `rounding error` →
//! Adjustment, commitment fee SKUs (`Commitment …`) → Purchase, else Usage. `invoice.month`
//! (`202611`) is the billing period. Tags are the project labels overlaid by the resource
//! labels (`[{key, value}]` → `{"key": "value"}`).

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use serde_json::Value;
use tally_ledger::{Money, TcoCategory};

use crate::cloud::{any_to_json, count_of, month_bounds, to_ledger, token_type_of, CloudRow};
use crate::provider::{json_documents, parse_instant};
use crate::{CsvHead, Format, Input, SourceError};

/// The GCP billing export format.
pub struct Gcp;

const NAME: &str = "gcp";

/// FOCUS service category by service description.
const SERVICE_CATEGORIES: &[(&str, &str)] = &[
    ("Compute Engine", "Compute"),
    ("Kubernetes Engine", "Compute"),
    ("Cloud Run", "Compute"),
    ("Cloud Functions", "Compute"),
    ("Cloud Storage", "Storage"),
    ("Filestore", "Storage"),
    ("Vertex AI", "AI and Machine Learning"),
    ("Gemini API", "AI and Machine Learning"),
    ("Generative Language API", "AI and Machine Learning"),
    ("Cloud Vision API", "AI and Machine Learning"),
    ("BigQuery", "Analytics"),
    ("Dataflow", "Analytics"),
    ("Networking", "Networking"),
    ("Cloud CDN", "Networking"),
    ("Cloud DNS", "Networking"),
    ("Cloud SQL", "Databases"),
    ("Cloud Spanner", "Databases"),
    ("Cloud Memorystore for Redis", "Databases"),
    ("Cloud Logging", "Management and Governance"),
    ("Cloud Monitoring", "Management and Governance"),
    ("Secret Manager", "Security"),
    ("Cloud Key Management Service (KMS)", "Security"),
    ("Security Command Center", "Security"),
    ("Identity Platform", "Identity"),
];

const AI_SERVICES: &[&str] = &["Vertex AI", "Gemini API", "Generative Language API"];

/// A field by dotted path: nested (`service` → `description`), or flattened
/// (`service.description`, `service_description`).
fn field<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = Some(v);
    for part in path.split('.') {
        cur = cur.and_then(|c| c.get(part));
    }
    cur.or_else(|| v.get(path)).or_else(|| v.get(path.replace('.', "_").as_str())).filter(|x| !x.is_null())
}

fn text(v: &Value, path: &str) -> Option<String> {
    match field(v, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Rec<'a> {
    object: &'a str,
    at: String,
    row: i64,
}

impl Rec<'_> {
    fn bad(&self, column: &str, problem: impl Into<String>) -> SourceError {
        SourceError::BadRecord {
            object: self.object.to_string(),
            location: format!("{}, column {column}", self.at),
            problem: problem.into(),
        }
    }

    fn money(&self, v: &Value, path: &str) -> Result<Option<Money>, SourceError> {
        match text(v, path) {
            None => Ok(None),
            Some(s) => tally_pricing::json::money_rounded(&s)
                .map(Some)
                .map_err(|_| self.bad(path, format!("`{s}` is not a decimal number"))),
        }
    }

    /// A nested list or object given as JSON text in CSV, or already nested.
    fn nested(&self, v: &Value, path: &str) -> Result<Option<Value>, SourceError> {
        match field(v, path) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => tally_pricing::json::parse_exact(s)
                .map(Some)
                .map_err(|e| self.bad(path, format!("malformed nested JSON `{s}`: {e}"))),
            Some(other) => Ok(Some(other.clone())),
        }
    }

    fn time(&self, v: &Value, path: &str) -> Result<DateTime<Utc>, SourceError> {
        let raw = text(v, path).ok_or_else(|| self.bad(path, "missing"))?;
        let s = raw.trim().trim_end_matches(" UTC");
        parse_instant(s).ok_or_else(|| self.bad(path, format!("`{raw}` is not a date/time")))
    }
}

/// Labels (`[{key, value}]`, or an object) into `map`.
fn labels_into(
    rec: &Rec<'_>,
    labels: Option<Value>,
    path: &str,
    map: &mut serde_json::Map<String, Value>,
) -> Result<(), SourceError> {
    match labels {
        None => Ok(()),
        Some(Value::Array(items)) => {
            for item in items {
                let key = text(&item, "key").ok_or_else(|| rec.bad(path, "a label without `key`"))?;
                let value = text(&item, "value").unwrap_or_default();
                map.insert(key, Value::String(value));
            }
            Ok(())
        }
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(k, Value::String(v));
            }
            Ok(())
        }
        Some(other) => Err(rec.bad(path, format!("expected a list of {{key, value}}, found `{other}`"))),
    }
}

/// Model named by a Gemini SKU: `Gemini 2.5 Flash GA Text Input - Predictions` → `Gemini 2.5 Flash`.
pub fn sku_model(sku: &str) -> Option<String> {
    let words: Vec<&str> = sku.split_whitespace().collect();
    let stop = [
        "ga",
        "preview",
        "text",
        "image",
        "audio",
        "video",
        "multimodal",
        "input",
        "output",
        "cached",
        "caching",
        "thinking",
        "batch",
        "-",
        "context",
        "long",
    ];
    let end = words.iter().position(|w| stop.contains(&w.to_ascii_lowercase().as_str()))?;
    (end > 0).then(|| words[..end].join(" "))
}

fn gpu_sku(sku: &str) -> bool {
    let s = sku.to_ascii_lowercase();
    ["nvidia", "gpu", "a100", "h100", "h200", "l4 ", "tpu"].iter().any(|w| s.contains(w))
        || s.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| matches!(w, "a2" | "a3" | "g2"))
}

/// A billing period: start and exclusive end.
type Period = (DateTime<Utc>, DateTime<Utc>);

fn invoice_month(rec: &Rec<'_>, v: &Value) -> Result<Option<Period>, SourceError> {
    let Some(m) = text(v, "invoice.month") else {
        return Ok(None);
    };
    let date = NaiveDate::parse_from_str(&format!("{m}01"), "%Y%m%d")
        .map_err(|_| rec.bad("invoice.month", format!("`{m}` is not a month as YYYYMM")))?;
    let start = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| rec.bad("invoice.month", "invalid"))?;
    Ok(Some(month_bounds(start)))
}

fn map_record(rec: &Rec<'_>, v: &Value, out: &mut Vec<CloudRow>) -> Result<(), SourceError> {
    if !v.is_object() {
        return Err(rec.bad("(record)", "not a JSON object"));
    }
    let mut r = CloudRow { row: rec.row, ..Default::default() };
    let start = rec.time(v, "usage_start_time")?;
    let end = match text(v, "usage_end_time") {
        Some(_) => rec.time(v, "usage_end_time")?,
        None => start,
    };
    let (ps, pe) = invoice_month(rec, v)?.unwrap_or_else(|| month_bounds(start));
    r.times.insert("ChargePeriodStart", start);
    r.times.insert("ChargePeriodEnd", end);
    r.times.insert("BillingPeriodStart", ps);
    r.times.insert("BillingPeriodEnd", pe);
    let cost = rec.money(v, "cost")?.ok_or_else(|| rec.bad("cost", "missing"))?;
    let currency = text(v, "currency").ok_or_else(|| rec.bad("currency", "missing"))?;
    let service = text(v, "service.description").unwrap_or_else(|| "Google Cloud".to_string());
    let sku_raw = text(v, "sku.description").unwrap_or_default();
    let sku = sku_raw.trim().to_string();
    let cost_type = text(v, "cost_type").unwrap_or_else(|| "regular".to_string());
    let category = match cost_type.as_str() {
        "tax" => "Tax",
        "adjustment" | "rounding error" | "rounding_error" => "Adjustment",
        _ if sku.starts_with("Commitment") => "Purchase",
        _ => "Usage",
    };
    r.set("ChargeCategory", Some(category));
    r.set("ChargeFrequency", Some(if category == "Usage" { "Usage-Based" } else { "Recurring" }));
    r.set_money("BilledCost", Some(cost));
    r.set_money("EffectiveCost", Some(cost));
    r.set_money("ContractedCost", Some(cost));
    r.set_money("ListCost", Some(rec.money(v, "cost_at_list")?.unwrap_or(cost)));
    r.set("BillingCurrency", Some(currency.clone()));
    r.set("PricingCurrency", Some(currency.clone()));
    let account = text(v, "billing_account_id").ok_or_else(|| rec.bad("billing_account_id", "missing"))?;
    r.set("BillingAccountId", Some(account.clone()));
    r.set("SubAccountId", text(v, "project.id"));
    r.set("SubAccountName", text(v, "project.name"));
    r.set("ProviderName", Some("Google Cloud"));
    r.set("InvoiceIssuerName", Some("Google Cloud"));
    r.set("PublisherName", text(v, "seller_name").or(Some("Google Cloud".to_string())));
    r.set("ServiceName", Some(service.clone()));
    let service_cat = SERVICE_CATEGORIES.iter().find(|(s, _)| *s == service).map(|(_, c)| *c).unwrap_or("Other");
    r.set("ServiceCategory", Some(service_cat));
    r.set("ChargeDescription", Some(sku_raw.clone()));
    r.set("SkuId", text(v, "sku.id"));
    r.set("SkuMeter", Some(sku.clone()));
    r.set("RegionId", text(v, "location.region").or_else(|| text(v, "location.location")));
    r.set("RegionName", text(v, "location.location"));
    r.set("AvailabilityZone", text(v, "location.zone"));
    r.set("ResourceId", text(v, "resource.global_name"));
    r.set("ResourceName", text(v, "resource.name"));
    let amount = rec.money(v, "usage.amount")?;
    let unit = text(v, "usage.unit");
    if category == "Usage" {
        r.set_money("ConsumedQuantity", amount);
        r.set("ConsumedUnit", unit.clone());
    }
    r.set_money("PricingQuantity", rec.money(v, "usage.amount_in_pricing_units")?);
    r.set("PricingUnit", text(v, "usage.pricing_unit"));
    let mut tags = serde_json::Map::new();
    labels_into(rec, rec.nested(v, "project.labels")?, "project.labels", &mut tags)?;
    labels_into(rec, rec.nested(v, "labels")?, "labels", &mut tags)?;
    if !tags.is_empty() {
        r.set("Tags", Some(Value::Object(tags).to_string()));
    }
    if AI_SERVICES.contains(&service.as_str()) && category == "Usage" {
        if let Some(tt) = token_type_of(&sku) {
            r.token_type = Some(tt.to_string());
            r.model = sku_model(&sku);
            r.category = Some(TcoCategory::ModelApi);
            r.set("ServiceSubcategory", Some("Generative AI"));
            if sku.to_ascii_lowercase().contains("batch") {
                r.service_tier = Some("batch".to_string());
            }
            r.token_count = amount.and_then(|a| count_of(a, 1));
        }
    }
    if service == "Compute Engine" && category == "Usage" && gpu_sku(&sku) {
        r.category = Some(TcoCategory::Compute);
    }
    let credits = rec.nested(v, "credits")?;
    let base = r.clone();
    out.push(r);
    match credits {
        None => {}
        Some(Value::Array(items)) => {
            for (k, c) in items.iter().enumerate() {
                let path = format!("credits[{k}].amount");
                let amount = match text(c, "amount") {
                    Some(s) => tally_pricing::json::money_rounded(&s)
                        .map_err(|_| rec.bad(&path, format!("`{s}` is not a decimal number")))?,
                    None => return Err(rec.bad(&path, "missing")),
                };
                let mut cr = base.clone();
                cr.token_type = None;
                cr.token_count = None;
                cr.category = base.category;
                cr.text.remove("ConsumedUnit");
                cr.money.remove("ConsumedQuantity");
                cr.money.remove("PricingQuantity");
                cr.set("ChargeCategory", Some("Credit"));
                cr.set("ChargeFrequency", Some("Usage-Based"));
                let name = text(c, "full_name").or_else(|| text(c, "name")).or_else(|| text(c, "type"));
                cr.set("ChargeDescription", name.map(|n| format!("Credit: {n}")));
                for col in ["BilledCost", "EffectiveCost", "ContractedCost"] {
                    cr.set_money(col, Some(amount));
                }
                cr.set_money("ListCost", Some(Money::ZERO));
                out.push(cr);
            }
        }
        Some(other) => return Err(rec.bad("credits", format!("expected a list of credits, found `{other}`"))),
    }
    Ok(())
}

fn is_parquet(input: &Input<'_>) -> bool {
    input.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

fn is_csv(input: &Input<'_>) -> Result<bool, SourceError> {
    if crate::provider::is_csv(input.path) {
        return Ok(true);
    }
    let head = CsvHead::read(input.path, input.object)?;
    Ok(!head.columns.first().is_some_and(|c| c.trim_start().starts_with('{') || c.trim_start().starts_with('[')))
}

/// The ledger rows of a GCP export.
pub fn rows(input: &Input<'_>) -> Result<Vec<CloudRow>, SourceError> {
    let mut out = Vec::new();
    if is_parquet(input) {
        let df =
            LazyFrame::scan_parquet(PlRefPath::new(input.path.to_string_lossy().as_ref()), ScanArgsParquet::default())
                .and_then(|lf| lf.collect())
                .map_err(|source| SourceError::Polars {
                    object: input.object.to_string(),
                    action: "reading the Parquet file",
                    source,
                })?;
        let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
        for i in 0..df.height() {
            let mut obj = serde_json::Map::new();
            for (name, c) in names.iter().zip(df.columns()) {
                let v = c.get(i).map(any_to_json).unwrap_or(Value::Null);
                obj.insert(name.clone(), v);
            }
            let rec = Rec { object: input.object, at: format!("row {}", i + 1), row: i as i64 + 1 };
            map_record(&rec, &Value::Object(obj), &mut out)?;
        }
        return Ok(out);
    }
    if is_csv(input)? {
        let t = crate::cloud::Table::read_csv(input)?;
        for i in 0..t.height {
            let mut obj = serde_json::Map::new();
            for name in &t.names {
                if let Some(v) = t.raw(&[name.as_str()], i) {
                    obj.insert(name.clone(), Value::String(v));
                }
            }
            let rec = Rec { object: input.object, at: format!("row {}", i + 1), row: i as i64 + 1 };
            map_record(&rec, &Value::Object(obj), &mut out)?;
        }
        return Ok(out);
    }
    for (n, (at, doc)) in json_documents(input)?.into_iter().enumerate() {
        let rec = Rec { object: input.object, at, row: n as i64 + 1 };
        map_record(&rec, &doc, &mut out)?;
    }
    Ok(out)
}

impl Format for Gcp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Google Cloud billing export from BigQuery (NDJSON, Parquet, or CSV with flattened columns)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        let has = |n: &str| columns.iter().any(|c| c == n || c.replace('.', "_") == n.replace('.', "_"));
        has("billing_account_id") && has("sku.description") && has("cost") && has("usage_start_time")
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        to_ledger(&rows(input)?, input, NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_skus_name_their_model() {
        assert_eq!(sku_model("Gemini 2.5 Flash GA Text Input - Predictions").as_deref(), Some("Gemini 2.5 Flash"));
        assert_eq!(sku_model("Gemini 2.5 Flash GA Input Text Caching").as_deref(), Some("Gemini 2.5 Flash"));
        assert_eq!(sku_model("Gemini 3 Flash Text Input - Predictions").as_deref(), Some("Gemini 3 Flash"));
        assert!(gpu_sku("Nvidia H100 80GB GPU running in Americas"));
        assert!(gpu_sku("A3 Instance Core running in Americas"));
        assert!(!gpu_sku("N2 Instance Core running in Americas"));
    }
}
