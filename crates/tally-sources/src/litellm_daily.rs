//! LiteLLM proxy daily spend tables: `LiteLLM_DailyTeamSpend`, `LiteLLM_DailyUserSpend` and
//! `LiteLLM_DailyTagSpend` (also `…OrganizationSpend` and `…EndUserSpend`, which share the shape)
//! exported as CSV, a JSON array, NDJSON, or `{"data": [...]}`.
//!
//! One record per (entity, `date`, `api_key`, `model`, `custom_llm_provider`): the entity is
//! `team_id` (→ `x_team`), `user_id` or `end_user_id` (→ `x_user`), `organization_id`
//! (→ BillingAccountId) or `tag` (→ Tags `{"tag": "project:search", "project": "search"}`: the raw
//! tag, and its `key:value` split as `litellm-spend` does for request tags).
//!
//! Tokens. LiteLLM normalises every provider's usage to OpenAI's convention before logging it:
//! `prompt_tokens` already include the cache reads and (for Anthropic, whose own `input_tokens`
//! exclude both) the cache writes, and the daily tables copy `prompt_tokens` from the spend log
//! and the two cache counts from its usage object. So the `input` row is
//! `prompt_tokens − cache_read_input_tokens − cache_creation_input_tokens`, and a record whose
//! cache tokens exceed its prompt tokens is an error. One ledger row per token type: `input`
//! (always), `cached_input`, `cache_write` and `output` (when non-zero).
//!
//! Money. `spend` (USD, a float) is read through its text into an exact decimal (rounded
//! half-even at 18 digits when printed in full) and is the gateway's own estimate
//! (`x_cost_basis = estimated`). LiteLLM does not say how a day's spend divides between token
//! types, so the whole `spend` sits on the `input` row and the other rows cost zero: cost per
//! model, team, key and day is exact, cost per token type is not. The `input` row also carries
//! `api_requests` as `x_request_count` (the successful and failed counts are not kept).
//!
//! A tag table counts a request once per tag: loading it next to the team table (or a request
//! with two tags) counts the same spend twice; use one of them, or the other `quantities-only`.

use chrono::{Duration, NaiveDate};
use polars::prelude::LazyFrame;
use serde_json::{Map, Value};
use tally_ledger::Money;
use tally_pricing::Charge;

use crate::litellm_spend::provider_of;
use crate::provider::{self, count, text, Loc, Row};
use crate::{BadCell, Format, Input, SourceError};

/// The LiteLLM daily spend table format.
pub struct LiteLlmDaily;

const NAME: &str = "litellm-daily";

/// Columns every daily spend table has.
const REQUIRED: &[&str] = &["date", "api_key", "spend", "prompt_tokens", "completion_tokens"];

/// The entity column of each daily spend table.
const ENTITIES: &[&str] = &["team_id", "user_id", "tag", "organization_id", "end_user_id"];

fn records(input: &Input<'_>) -> Result<Vec<(String, Value)>, SourceError> {
    if provider::is_csv(input.path) {
        let head = crate::CsvHead::read(input.path, input.object)?;
        if !ENTITIES.iter().any(|e| head.columns.iter().any(|c| c == e)) {
            return Err(SourceError::MissingColumns {
                object: input.object.to_string(),
                columns: vec![format!("team_id (or {})", ENTITIES[1..].join(", "))],
            });
        }
    }
    provider::records(input, REQUIRED, "daily spend record")
}

/// Tags JSON of a `tag` (`project:search` → `{"tag":"project:search","project":"search"}`).
fn tag_json(tag: &str) -> String {
    let mut map = Map::new();
    map.insert("tag".to_string(), Value::String(tag.to_string()));
    if let Some((k, v)) = tag.split_once(':') {
        let k = k.trim();
        if !k.is_empty() && k != "tag" {
            map.insert(k.to_string(), Value::String(v.trim().to_string()));
        }
    }
    Value::Object(map).to_string()
}

/// The ledger rows of the export.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let mut out = Vec::new();
    for (i, (at, r)) in records(input)?.into_iter().enumerate() {
        let loc = Loc { object: input.object, at };
        let raw_date = text(&r, "date").ok_or_else(|| loc.bad("`date` is missing"))?;
        let date = NaiveDate::parse_from_str(raw_date.trim(), "%Y-%m-%d")
            .map_err(|_| loc.bad(format!("`date` is `{raw_date}`, not a date (YYYY-MM-DD)")))?;
        let start = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| loc.bad("`date` is out of range"))?;
        let end = start + Duration::days(1);
        let spend = provider::opt_money(&r, "spend", &loc)?.ok_or_else(|| loc.bad("`spend` is missing"))?;
        if spend.is_negative() {
            return Err(loc.bad(format!("`spend` is negative ({spend})")));
        }
        let prompt = count(&r, "prompt_tokens", &loc)?;
        let completion = count(&r, "completion_tokens", &loc)?;
        let cache_read = count(&r, "cache_read_input_tokens", &loc)?;
        let cache_write = count(&r, "cache_creation_input_tokens", &loc)?;
        let requests = count(&r, "api_requests", &loc)?;
        let uncached = prompt - cache_read - cache_write;
        if uncached < 0 {
            return Err(loc.bad(format!(
                "`cache_read_input_tokens` + `cache_creation_input_tokens` ({}) exceed `prompt_tokens` ({prompt}), \
                 which include them",
                cache_read + cache_write
            )));
        }
        let custom = text(&r, "custom_llm_provider");
        let (provider_name, service) = provider_of(custom.as_deref());
        let model = text(&r, "model").or_else(|| text(&r, "model_group"));
        let tags = text(&r, "tag").map(|t| tag_json(&t));
        let parts = [
            (Charge::Input, uncached),
            (Charge::CachedInput, cache_read),
            (Charge::CacheWrite, cache_write),
            (Charge::Output, completion),
        ];
        for (charge, tokens) in parts {
            if charge != Charge::Input && tokens == 0 {
                continue;
            }
            let mut row = Row::new(i64::try_from(i + 1).unwrap_or(i64::MAX), provider_name, service, start, end);
            row.set_quantity(charge, Money::from_int(tokens));
            row.cost_basis = "estimated";
            if charge == Charge::Input {
                row.cost = spend;
                row.request_count = Some(requests);
            }
            row.account = text(&r, "organization_id").unwrap_or_else(|| NAME.to_string());
            row.model = model.clone();
            row.api_key = text(&r, "api_key");
            row.team = text(&r, "team_id");
            row.user = text(&r, "user_id").or_else(|| text(&r, "end_user_id"));
            row.tags = tags.clone();
            row.description = Some(format!(
                "LiteLLM daily spend: {} {} tokens",
                model.as_deref().unwrap_or("(no model)"),
                charge.token_type()
            ));
            out.push(row);
        }
    }
    Ok(out)
}

impl Format for LiteLlmDaily {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "LiteLLM proxy daily spend tables (LiteLLM_DailyTeamSpend, …UserSpend, …TagSpend as CSV or JSON): \
         the gateway's spend per day, team, user or tag, key and model"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        let has = |c: &str| columns.iter().any(|n| n == c);
        ["date", "api_key", "spend", "prompt_tokens", "api_requests"].iter().all(|c| has(c))
            && ENTITIES.iter().any(|c| has(c))
            && !has("startTime")
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }

    fn diagnose(&self, _input: &Input<'_>) -> Result<Option<BadCell>, SourceError> {
        // Every value is checked as the rows are built, so there is never a bad cell left to find.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_the_raw_tag_and_its_key_value_split() {
        assert_eq!(tag_json("project:search"), r#"{"tag":"project:search","project":"search"}"#);
        assert_eq!(tag_json("beta"), r#"{"tag":"beta"}"#);
        assert_eq!(tag_json("tag:x"), r#"{"tag":"tag:x"}"#);
    }

    #[test]
    fn sniff_needs_an_entity_column_and_no_start_time() {
        let cols = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        let f = LiteLlmDaily;
        assert!(f.sniff(&cols("id,team_id,date,api_key,model,spend,prompt_tokens,api_requests")));
        assert!(f.sniff(&cols("tag,date,api_key,spend,prompt_tokens,api_requests,request_id")));
        assert!(!f.sniff(&cols("date,api_key,spend,prompt_tokens,api_requests")));
        assert!(!f.sniff(&cols("request_id,team_id,date,api_key,spend,prompt_tokens,api_requests,startTime")));
    }
}
