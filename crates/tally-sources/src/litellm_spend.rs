//! LiteLLM proxy spend logs: an export of the `LiteLLM_SpendLogs` table as CSV, a JSON array,
//! NDJSON, or `{"data": [...]}`.
//!
//! One row per logged request: `spend` (USD, a float) read through its shortest text form into
//! an exact decimal (`x_cost_basis = estimated`: it is the gateway's own estimate, not an
//! invoice), tokens (`total_tokens`, else prompt + completion), the underlying provider
//! (`custom_llm_provider`), API key hash, team, user, and `request_tags` (`key:value`) as Tags.

use polars::prelude::LazyFrame;
use serde_json::{Map, Value};
use tally_ledger::Money;

use crate::provider::{self, opt_count, text, Loc, Row};
use crate::{Format, Input, SourceError};

/// The LiteLLM spend log format.
pub struct LiteLlmSpend;

const NAME: &str = "litellm-spend";

/// ProviderName and ServiceName of a LiteLLM `custom_llm_provider`.
pub fn provider_of(custom: Option<&str>) -> (&'static str, &'static str) {
    match custom.unwrap_or("").to_ascii_lowercase().as_str() {
        "openai" | "text-completion-openai" => ("OpenAI", "OpenAI API"),
        "anthropic" => ("Anthropic", "Claude API"),
        "azure" | "azure_ai" => ("Microsoft", "Azure OpenAI"),
        "bedrock" | "sagemaker" => ("AWS", "Amazon Bedrock"),
        "vertex_ai" | "vertex_ai_beta" | "gemini" => ("Google", "Vertex AI"),
        "mistral" => ("Mistral AI", "Mistral API"),
        "cohere" | "cohere_chat" => ("Cohere", "Cohere API"),
        _ => ("LiteLLM", "LiteLLM Proxy"),
    }
}

/// Tags JSON from `request_tags` (`["project:search", "beta"]` → `{"project":"search","beta":""}`).
pub fn tags_json(tags: &Value) -> Option<String> {
    let list = match tags {
        Value::Array(a) => a.clone(),
        Value::String(s) if s.trim_start().starts_with('[') => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            _ => return None,
        },
        _ => return None,
    };
    let mut map = Map::new();
    for t in list {
        if let Value::String(t) = t {
            let (k, v) = t.split_once(':').unwrap_or((t.as_str(), ""));
            map.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
        }
    }
    if map.is_empty() {
        None
    } else {
        Some(Value::Object(map).to_string())
    }
}

fn records(input: &Input<'_>) -> Result<Vec<(String, Value)>, SourceError> {
    provider::records(input, &["spend", "startTime", "model"], "spend log")
}

/// The ledger rows of the export.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let mut out = Vec::new();
    for (i, (at, r)) in records(input)?.into_iter().enumerate() {
        let loc = Loc { object: input.object, at };
        let start = provider::instant(&r, "startTime", &loc)?;
        let end = match text(&r, "endTime") {
            Some(raw) => provider::parse_instant(&raw)
                .ok_or_else(|| loc.bad(format!("`endTime` is `{raw}`, not a date/time")))?,
            None => start,
        };
        let spend = provider::opt_money(&r, "spend", &loc)?.unwrap_or(Money::ZERO);
        let prompt = opt_count(&r, "prompt_tokens", &loc)?;
        let completion = opt_count(&r, "completion_tokens", &loc)?;
        let total = match opt_count(&r, "total_tokens", &loc)? {
            Some(t) => Some(t),
            None => match (prompt, completion) {
                (None, None) => None,
                (p, c) => Some(p.unwrap_or(0) + c.unwrap_or(0)),
            },
        };
        let metadata = match r.get("metadata") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        let custom = text(&r, "custom_llm_provider");
        let (provider_name, service) = provider_of(custom.as_deref());
        let mut row = Row::new(i64::try_from(i + 1).unwrap_or(i64::MAX), provider_name, service, start, end);
        row.cost = spend;
        row.cost_basis = "estimated";
        row.account = text(&r, "organization_id").unwrap_or_else(|| NAME.to_string());
        row.model = text(&r, "model");
        row.api_key = text(&r, "api_key").or_else(|| text(&metadata, "user_api_key_alias"));
        row.team = text(&r, "team_id").or_else(|| text(&metadata, "user_api_key_team_id"));
        row.user = text(&r, "user").or_else(|| text(&r, "end_user"));
        row.tags = r.get("request_tags").and_then(tags_json);
        row.request_count = Some(1);
        if let Some(t) = total {
            row.token_type = Some("total".to_string());
            row.token_count = Some(t);
            row.consumed = Some(Money::from_int(t));
            row.consumed_unit = Some("Tokens".to_string());
        }
        row.description = Some(format!(
            "{} {}",
            text(&r, "call_type").unwrap_or_else(|| "request".to_string()),
            row.model.clone().unwrap_or_default()
        ));
        out.push(row);
    }
    Ok(out)
}

impl Format for LiteLlmSpend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "LiteLLM proxy spend logs (LiteLLM_SpendLogs exported as CSV or JSON), the gateway's per-request spend"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["request_id", "spend", "startTime", "model"].iter().all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_tags() {
        assert_eq!(provider_of(Some("anthropic")).0, "Anthropic");
        assert_eq!(provider_of(Some("vertex_ai")).0, "Google");
        assert_eq!(provider_of(Some("")).0, "LiteLLM");
        assert_eq!(provider_of(None).0, "LiteLLM");
        let tags = serde_json::json!(["project:search", "beta", 3]);
        assert_eq!(tags_json(&tags).as_deref(), Some(r#"{"project":"search","beta":""}"#));
        assert_eq!(tags_json(&Value::String("[\"a:b\"]".into())).as_deref(), Some(r#"{"a":"b"}"#));
        assert_eq!(tags_json(&serde_json::json!([])), None);
        assert_eq!(tags_json(&Value::Null), None);
    }
}
