//! Anthropic Admin API `cost_report` pages: billed amounts per bucket, workspace, model, cost
//! type and token type.
//!
//! `amount` is a decimal string in **cents** (`"123.45"` is $1.2345): it is divided by 100
//! exactly. A null `workspace_id` is the default workspace (SubAccountId `default`).

use polars::prelude::LazyFrame;
use tally_ledger::Money;

use crate::anthropic_usage::{DEFAULT_WORKSPACE, PROVIDER, SERVICE};
use crate::openai_costs::currency;
use crate::provider::{self, text, Loc, Row};
use crate::{Format, Input, SourceError};

/// The Anthropic cost report format.
pub struct AnthropicCosts;

const NAME: &str = "anthropic-costs";

/// Dollars from a decimal amount in cents, exactly (`"123.45"` → 1.2345).
pub fn cents_to_dollars(cents: &str) -> Result<Money, String> {
    let c = Money::parse(cents).map_err(|e| e.to_string())?;
    if c.raw() % 100 != 0 {
        return Err(format!("`{cents}` cents has more than 16 decimal places"));
    }
    Ok(Money::from_raw(c.raw() / 100))
}

/// The ledger `x_token_type` of a cost report `token_type`.
pub fn token_type(raw: &str) -> String {
    match raw {
        "uncached_input_tokens" => "input".to_string(),
        "cache_read_input_tokens" => "cached_input".to_string(),
        "cache_creation.ephemeral_5m_input_tokens" => "cache_write_5m".to_string(),
        "cache_creation.ephemeral_1h_input_tokens" => "cache_write_1h".to_string(),
        "output_tokens" => "output".to_string(),
        other => other.replace('.', "_"),
    }
}

/// The ledger rows of every result in the file.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let mut out = Vec::new();
    let mut record = 0i64;
    for (at, bucket) in provider::buckets(input)? {
        let bloc = Loc { object: input.object, at: at.clone() };
        let start = provider::instant(&bucket, "starting_at", &bloc)?;
        let end = provider::instant(&bucket, "ending_at", &bloc)?;
        for (i, r) in provider::results(&bucket, &bloc)?.iter().enumerate() {
            record += 1;
            let loc = Loc { object: input.object, at: format!("{at}, result {}", i + 1) };
            let amount = text(r, "amount").ok_or_else(|| loc.bad("`amount` is missing"))?;
            let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
            row.cost = cents_to_dollars(&amount).map_err(|e| loc.bad(format!("`amount` (cents): {e}")))?;
            row.currency = currency(text(r, "currency"), &loc)?;
            row.account = text(r, "organization_id").unwrap_or_else(|| NAME.to_string());
            let workspace = text(r, "workspace_id");
            row.sub_account = Some(workspace.clone().unwrap_or_else(|| DEFAULT_WORKSPACE.to_string()));
            row.workspace = workspace;
            row.model = text(r, "model");
            row.service_tier = text(r, "service_tier");
            row.token_type = match (text(r, "cost_type").as_deref(), text(r, "token_type")) {
                (Some("tokens") | None, Some(t)) => Some(token_type(&t)),
                (Some(cost_type), _) => Some(cost_type.to_string()),
                (None, None) => None,
            };
            row.description = text(r, "description");
            out.push(row);
        }
    }
    Ok(out)
}

impl Format for AnthropicCosts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Anthropic cost_report pages (billed amounts in cents, per workspace, model and token type)"
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_become_dollars_exactly() {
        let d = |c: &str| cents_to_dollars(c).map(|m| m.to_string_min_dp(0));
        assert_eq!(d("123.45").as_deref(), Ok("1.2345"));
        assert_eq!(d("123.78912").as_deref(), Ok("1.2378912"));
        assert_eq!(d("12").as_deref(), Ok("0.12"));
        assert_eq!(d("0").as_deref(), Ok("0"));
        assert_eq!(d("-250").as_deref(), Ok("-2.5"));
        assert_eq!(d("0.0000000000000001").as_deref(), Ok("0.000000000000000001"));
        assert!(d("0.00000000000000001").is_err());
        assert!(d("12,5").is_err());
    }

    #[test]
    fn token_types() {
        assert_eq!(token_type("uncached_input_tokens"), "input");
        assert_eq!(token_type("cache_creation.ephemeral_1h_input_tokens"), "cache_write_1h");
        assert_eq!(token_type("something.new"), "something_new");
    }
}
