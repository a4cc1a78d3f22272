//! Anthropic Admin API `usage_report/messages` pages: token counts per bucket, model,
//! workspace, API key, service tier and context window, priced from the price book.
//!
//! One row per token type: `input` (uncached_input_tokens), `cached_input`
//! (cache_read_input_tokens), `cache_write_5m` and `cache_write_1h` (cache_creation by TTL, each
//! at its own rate), `output`, and `web_search` (server_tool_use.web_search_requests). Anthropic's
//! counts are disjoint, so nothing is subtracted. `context_window` `200k-1M` selects the
//! long-context prices. A null `workspace_id` is the default workspace: SubAccountId `default`.

use polars::prelude::LazyFrame;
use serde_json::Value;
use tally_ledger::Money;
use tally_pricing::Charge;

use crate::provider::{self, count, price_row, text, Loc, Row};
use crate::{Format, Input, SourceError};

/// The Anthropic usage report format.
pub struct AnthropicUsage;

const NAME: &str = "anthropic-usage";
/// The provider name in the ledger.
pub const PROVIDER: &str = "Anthropic";
/// The service name in the ledger.
pub const SERVICE: &str = "Claude API";
/// SubAccountId of the default workspace (reported as a null workspace_id).
pub const DEFAULT_WORKSPACE: &str = "default";

/// Request input tokens to price at, from a context window band (`0-200k`, `200k-1M`).
pub fn context_tokens(band: Option<&str>, loc: &Loc<'_>) -> Result<Option<u64>, SourceError> {
    match band {
        None => Ok(None),
        Some("0-200k") => Ok(Some(0)),
        Some("200k-1M") => Ok(Some(200_001)),
        Some(other) => Err(loc.bad(format!("unknown context_window `{other}` (known: 0-200k, 200k-1M)"))),
    }
}

/// The ledger rows of every result in the file.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let book = provider::require_book(input, NAME)?;
    let mut out = Vec::new();
    let mut record = 0i64;
    for (at, bucket) in provider::buckets(input)? {
        let bloc = Loc { object: input.object, at: at.clone() };
        let start = provider::instant(&bucket, "starting_at", &bloc)?;
        let end = provider::instant(&bucket, "ending_at", &bloc)?;
        for (i, r) in provider::results(&bucket, &bloc)?.iter().enumerate() {
            record += 1;
            let loc = Loc { object: input.object, at: format!("{at}, result {}", i + 1) };
            let empty = Value::Null;
            let cache = r.get("cache_creation").unwrap_or(&empty);
            let tools = r.get("server_tool_use").unwrap_or(&empty);
            let parts = [
                (Charge::Input, count(r, "uncached_input_tokens", &loc)?),
                (Charge::CachedInput, count(r, "cache_read_input_tokens", &loc)?),
                (Charge::CacheWrite5m, count(cache, "ephemeral_5m_input_tokens", &loc)?),
                (Charge::CacheWrite1h, count(cache, "ephemeral_1h_input_tokens", &loc)?),
                (Charge::Output, count(r, "output_tokens", &loc)?),
                (Charge::WebSearch, count(tools, "web_search_requests", &loc)?),
            ];
            let model = text(r, "model")
                .ok_or_else(|| loc.bad("the result has no `model`: export the usage grouped by model to price it"))?;
            let service_tier = text(r, "service_tier");
            let tier = provider::tier(false, service_tier.as_deref(), &loc)?;
            let context = context_tokens(text(r, "context_window").as_deref(), &loc)?;
            let workspace = text(r, "workspace_id");
            let requests = provider::opt_count(r, "num_model_requests", &loc)?;
            for (j, (charge, n)) in parts.into_iter().enumerate() {
                if j > 0 && n == 0 {
                    continue;
                }
                let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
                row.account = text(r, "organization_id").unwrap_or_else(|| NAME.to_string());
                row.sub_account = Some(workspace.clone().unwrap_or_else(|| DEFAULT_WORKSPACE.to_string()));
                row.workspace = workspace.clone();
                row.api_key = text(r, "api_key_id");
                row.model = Some(model.clone());
                row.service_tier = service_tier.clone();
                row.request_count = if j == 0 { requests } else { None };
                price_row(
                    &mut row,
                    book,
                    &loc,
                    &model,
                    charge,
                    Money::from_int(n),
                    tier,
                    context,
                    input.quantities_only,
                )?;
                row.description = Some(format!("{model} {}", charge.token_type().replace('_', " ")));
                out.push(row);
            }
        }
    }
    Ok(out)
}

impl Format for AnthropicUsage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Anthropic usage_report/messages pages (tokens by type, cache TTL, workspace, API key), priced from the price book"
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}
