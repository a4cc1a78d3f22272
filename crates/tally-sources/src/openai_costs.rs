//! OpenAI Costs API pages (`/v1/organization/costs`): billed amounts per day, project and line
//! item, as JSON pages, a JSON array of pages, or NDJSON.
//!
//! `amount.value` is read from its JSON text (never a float), `currency` is upper-cased, the
//! line item `gpt-4o-2024-08-06, input` gives the model and token type, and `quantity` with
//! `quantity_unit` gives the consumed quantity (an unknown unit is an error).

use polars::prelude::LazyFrame;
use serde_json::Value;
use tally_ledger::Money;

use crate::openai_usage::{PROVIDER, SERVICE};
use crate::provider::{self, opt_money, text, Loc, Row};
use crate::{Format, Input, SourceError};

/// The OpenAI Costs API format.
pub struct OpenAiCosts;

const NAME: &str = "openai-costs";

/// `quantity_unit` values: (consumed unit, units per quantity, pricing unit).
const UNITS: &[(&str, &str, i64, &str)] = &[
    ("tokens", "Tokens", 1, "Tokens"),
    ("1000_tokens", "Tokens", 1000, "1000 Tokens"),
    ("duration_seconds", "Seconds", 1, "Seconds"),
    ("duration_minutes", "Minutes", 1, "Minutes"),
    ("duration_hours", "Hours", 1, "Hours"),
    ("gibibyte_hours", "GiB-Hours", 1, "GiB-Hours"),
    ("images", "Images", 1, "Images"),
    ("characters", "Characters", 1, "Characters"),
];

/// Model and token type of a line item such as `gpt-4o-2024-08-06, cached input`.
pub fn split_line_item(item: &str) -> (Option<String>, Option<String>) {
    match item.split_once(", ") {
        Some((model, kind)) => {
            let kind = kind.trim().to_ascii_lowercase().replace([' ', '-'], "_");
            (Some(model.trim().to_string()), Some(kind))
        }
        None => (None, None),
    }
}

/// Sets the quantity columns of a billed row from a quantity and its OpenAI unit.
pub(crate) fn set_quantity(
    row: &mut Row,
    quantity: Option<Money>,
    unit: Option<&str>,
    loc: &Loc<'_>,
) -> Result<(), SourceError> {
    let Some(unit) = unit else {
        return Ok(());
    };
    let Some(&(_, consumed_unit, per, pricing_unit)) = UNITS.iter().find(|(u, ..)| *u == unit) else {
        return Err(loc.bad(format!(
            "unknown quantity_unit `{unit}` (known: {})",
            UNITS.iter().map(|(u, ..)| *u).collect::<Vec<_>>().join(", ")
        )));
    };
    let Some(q) = quantity else {
        return Ok(());
    };
    if q.is_negative() {
        return Err(loc.bad(format!("`quantity` is negative ({q})")));
    }
    let consumed = Money::from_raw(
        q.raw().checked_mul(i128::from(per)).ok_or_else(|| loc.bad(format!("`quantity` is out of range ({q})")))?,
    );
    row.consumed = Some(consumed);
    row.consumed_unit = Some(consumed_unit.to_string());
    row.pricing_quantity = Some(q);
    row.pricing_unit = Some(pricing_unit.to_string());
    let one = 10i128.pow(tally_ledger::MONEY_SCALE as u32);
    if consumed_unit == "Tokens" && consumed.raw() % one == 0 {
        row.token_count = i64::try_from(consumed.raw() / one).ok();
    }
    Ok(())
}

/// Upper-cased ISO currency, or an error.
pub(crate) fn currency(raw: Option<String>, loc: &Loc<'_>) -> Result<String, SourceError> {
    let c = raw.ok_or_else(|| loc.bad("the currency is missing"))?.to_ascii_uppercase();
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(loc.bad(format!("currency `{c}` is not an ISO 4217 code")))
    }
}

/// The ledger rows of every result in the file.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let mut out = Vec::new();
    let mut record = 0i64;
    for (at, bucket) in provider::buckets(input)? {
        let bloc = Loc { object: input.object, at: at.clone() };
        let start = provider::unix_time(&bucket, "start_time", &bloc)?;
        let end = provider::unix_time(&bucket, "end_time", &bloc)?;
        for (i, r) in provider::results(&bucket, &bloc)?.iter().enumerate() {
            record += 1;
            let loc = Loc { object: input.object, at: format!("{at}, result {}", i + 1) };
            let amount = match r.get("amount") {
                Some(a @ Value::Object(_)) => a,
                _ => return Err(loc.bad("the result has no `amount` object")),
            };
            let cost = opt_money(amount, "value", &loc)?.ok_or_else(|| loc.bad("`amount.value` is missing"))?;
            let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
            row.currency = currency(text(amount, "currency"), &loc)?;
            row.cost = cost;
            row.account = text(r, "organization_id").unwrap_or_else(|| NAME.to_string());
            row.account_name = text(r, "organization_name");
            row.sub_account = text(r, "project_id");
            row.workspace = text(r, "project_id");
            row.api_key = text(r, "api_key_id");
            let line_item = text(r, "line_item");
            if let Some(item) = &line_item {
                let (model, kind) = split_line_item(item);
                if kind.as_deref().is_some_and(|k| k.contains("batch")) {
                    row.service_tier = Some("batch".to_string());
                }
                row.model = model;
                row.token_type = kind;
            }
            row.description = line_item;
            set_quantity(&mut row, opt_money(r, "quantity", &loc)?, text(r, "quantity_unit").as_deref(), &loc)?;
            out.push(row);
        }
    }
    Ok(out)
}

impl Format for OpenAiCosts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "OpenAI Costs API pages (billed amounts per day, project and line item), JSON or NDJSON"
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_items_give_model_and_token_type() {
        let s = |t: &str| split_line_item(t);
        assert_eq!(s("gpt-4o-2024-08-06, input"), (Some("gpt-4o-2024-08-06".into()), Some("input".into())));
        assert_eq!(s("gpt-4.1-mini, cached input"), (Some("gpt-4.1-mini".into()), Some("cached_input".into())));
        assert_eq!(s("gpt-4o, Batch Output"), (Some("gpt-4o".into()), Some("batch_output".into())));
        assert_eq!(s("Web search tool calls"), (None, None));
    }

    #[test]
    fn quantity_units_and_currency() {
        let loc = Loc { object: "x", at: "row 1".into() };
        let start = chrono::DateTime::UNIX_EPOCH;
        let mut row = Row::new(1, "OpenAI", "OpenAI API", start, start);
        set_quantity(&mut row, Some(Money::from_int(7)), Some("1000_tokens"), &loc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(row.consumed, Some(Money::from_int(7000)));
        assert_eq!(row.pricing_unit.as_deref(), Some("1000 Tokens"));
        assert_eq!(row.token_count, Some(7000));
        let e = set_quantity(&mut row, Some(Money::from_int(1)), Some("parsecs"), &loc);
        assert!(e.is_err_and(|e| e.to_string().contains("unknown quantity_unit `parsecs`")));
        assert_eq!(currency(Some("usd".into()), &loc).ok().as_deref(), Some("USD"));
        assert!(currency(Some("dollars".into()), &loc).is_err());
        assert!(currency(None, &loc).is_err());
    }
}
