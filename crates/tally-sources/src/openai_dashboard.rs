//! OpenAI usage dashboard CSV exports: the cost export (`amount_value`, `amount_currency`,
//! `line_item`, `project_id`, `organization_id`, `organization_name`) and the activity export
//! (the Usage API's completions fields, one row per day and group).
//!
//! Columns are found by name. Counts are written as `10.0`, `batch` as `FALSE`, and idle days as
//! rows with nothing but their dates: those are skipped (they carry no usage and no cost). Cost
//! rows are billed; activity rows are priced from the price book, like `openai-usage`.

use polars::prelude::LazyFrame;
use serde_json::{Map, Value};
use tally_ledger::Money;

use crate::openai_costs::{currency, split_line_item};
use crate::openai_usage::{completion_parts, PROVIDER, SERVICE};
use crate::provider::{self, cell, parse_bool, parse_count, price_row, Loc, Row};
use crate::{Format, Input, SourceError};

/// The OpenAI dashboard CSV format.
pub struct OpenAiDashboard;

const NAME: &str = "openai-dashboard";
const TIMES: &[&str] = &["start_time", "end_time", "start_time_iso", "end_time_iso"];

fn is_cost(columns: &[String]) -> bool {
    ["amount_value", "amount_currency", "start_time"].iter().all(|c| columns.iter().any(|n| n == c))
}

fn is_activity(columns: &[String]) -> bool {
    ["num_model_requests", "input_tokens", "output_tokens", "model", "start_time"]
        .iter()
        .all(|c| columns.iter().any(|n| n == c))
}

fn time(
    df: &polars::prelude::DataFrame,
    i: usize,
    field: &str,
    loc: &Loc<'_>,
) -> Result<chrono::DateTime<chrono::Utc>, SourceError> {
    if let Some(raw) = cell(df, field, i) {
        let secs = parse_count(&raw, field, loc)?;
        return chrono::DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| loc.bad(format!("`{field}` ({raw}) is not a valid time")));
    }
    let iso = format!("{field}_iso");
    let raw = cell(df, &iso, i).ok_or_else(|| loc.bad(format!("`{field}` is empty")))?;
    provider::parse_instant(&raw).ok_or_else(|| loc.bad(format!("`{iso}` is `{raw}`, not a date/time")))
}

/// The ledger rows of the export.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let (columns, df) = provider::csv_rows(input, &["start_time"])?;
    let cost = is_cost(&columns);
    if !cost && !is_activity(&columns) {
        return Err(SourceError::MissingColumns {
            object: input.object.to_string(),
            columns: vec!["amount_value (cost export) or num_model_requests, input_tokens, output_tokens, model (activity export)".into()],
        });
    }
    let book = if cost { None } else { Some(provider::require_book(input, NAME)?) };
    let mut out = Vec::new();
    for i in 0..df.height() {
        let record = i64::try_from(i + 1).unwrap_or(i64::MAX);
        let loc = Loc { object: input.object, at: format!("row {} (line {})", i + 1, i + 2) };
        let idle = columns.iter().filter(|c| !TIMES.contains(&c.as_str())).all(|c| cell(&df, c, i).is_none());
        if idle {
            continue;
        }
        let start = time(&df, i, "start_time", &loc)?;
        let end = time(&df, i, "end_time", &loc)?;
        let base = |row: &mut Row| {
            row.account = cell(&df, "organization_id", i).unwrap_or_else(|| NAME.to_string());
            row.account_name = cell(&df, "organization_name", i);
            row.sub_account = cell(&df, "project_id", i);
            row.workspace = cell(&df, "project_id", i);
            row.api_key = cell(&df, "api_key_id", i);
            row.user = cell(&df, "user_id", i);
        };
        if cost {
            let raw = cell(&df, "amount_value", i).ok_or_else(|| loc.bad("`amount_value` is empty"))?;
            let amount =
                tally_pricing::json::money_rounded(&raw).map_err(|e| loc.bad(format!("`amount_value`: {e}")))?;
            let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
            base(&mut row);
            row.cost = amount;
            row.currency = currency(cell(&df, "amount_currency", i), &loc)?;
            if let Some(item) = cell(&df, "line_item", i) {
                let (model, kind) = split_line_item(&item);
                row.model = model;
                row.token_type = kind;
                row.description = Some(item);
            }
            out.push(row);
            continue;
        }
        // Activity: the Usage API's completions fields, as text.
        let mut obj = Map::new();
        for c in &columns {
            if let Some(v) = cell(&df, c, i) {
                obj.insert(c.clone(), Value::String(v));
            }
        }
        let r = Value::Object(obj);
        let batch = match cell(&df, "batch", i) {
            Some(b) => parse_bool(&b).ok_or_else(|| loc.bad(format!("`batch` is `{b}`, not TRUE or FALSE")))?,
            None => false,
        };
        let service_tier = cell(&df, "service_tier", i);
        let tier = provider::tier(batch, service_tier.as_deref(), &loc)?;
        let model = cell(&df, "model", i)
            .ok_or_else(|| loc.bad("`model` is empty: export the usage grouped by model to price it"))?;
        let requests = provider::opt_count(&r, "num_model_requests", &loc)?;
        let parts = completion_parts(&r, &loc)?;
        for (j, (charge, n)) in parts.into_iter().enumerate() {
            if j > 0 && n == 0 {
                continue;
            }
            let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
            base(&mut row);
            row.model = Some(model.clone());
            row.service_tier = if batch { Some("batch".to_string()) } else { service_tier.clone() };
            row.request_count = if j == 0 { requests } else { None };
            if let Some(book) = book {
                price_row(&mut row, book, &loc, &model, charge, Money::from_int(n), tier, None, input.quantities_only)?;
            }
            row.description = Some(format!("{model} {}", charge.token_type().replace('_', " ")));
            out.push(row);
        }
    }
    Ok(out)
}

impl Format for OpenAiDashboard {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "OpenAI usage dashboard CSV exports: cost export (billed) and activity export (priced from the price book)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        columns.iter().any(|c| c == "start_time_iso") && (is_cost(columns) || is_activity(columns))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}
