//! Import of LiteLLM's `model_prices_and_context_window.json`.
//!
//! Every number is read from its JSON text ([`crate::json::parse_exact`]), never through a float.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::Value;
use tally_ledger::Money;

use crate::book::{Charge, ModelPrice, PriceBook, ServiceTier, TierPrices};
use crate::json::{money_rounded, parse_exact};
use crate::PriceError;

/// What an import kept and left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Models imported.
    pub models: usize,
    /// `alias_of` entries resolved.
    pub aliases: usize,
    /// Entries without any token, image, second or character price (or whose alias target is
    /// missing), by name.
    pub skipped: Vec<String>,
    /// Cost keys that were not understood (e.g. `search_context_cost_per_query`), with a count.
    pub ignored_keys: BTreeMap<String, usize>,
}

/// Base keys, longest first so that a key is matched by its most specific base.
const BASES: &[(&str, Charge)] = &[
    ("cache_creation_input_token_cost_above_1hr", Charge::CacheWrite1h),
    ("cache_creation_input_token_cost", Charge::CacheWrite5m),
    ("cache_read_input_audio_token_cost", Charge::CachedAudioInput),
    ("cache_read_input_image_token_cost", Charge::CachedImageInput),
    ("cache_read_input_token_cost", Charge::CachedInput),
    ("output_cost_per_image_token", Charge::ImageOutput),
    ("output_cost_per_audio_token", Charge::AudioOutput),
    ("input_cost_per_image_token", Charge::ImageInput),
    ("input_cost_per_audio_token", Charge::AudioInput),
    ("input_cost_per_character", Charge::Character),
    ("input_cost_per_second", Charge::Second),
    ("output_cost_per_image", Charge::Image),
    ("output_cost_per_token", Charge::Output),
    ("input_cost_per_token", Charge::Input),
];

/// A LiteLLM cost key: its charge, service tier and long-context threshold.
fn parse_key(key: &str) -> Option<(Charge, ServiceTier, Option<u64>)> {
    let mut best: Option<(&str, Charge)> = None;
    for (base, charge) in BASES {
        if key.starts_with(base) && best.is_none_or(|(b, _)| base.len() > b.len()) {
            best = Some((base, *charge));
        }
    }
    let (base, charge) = best?;
    let mut rest = &key[base.len()..];
    let mut tier = ServiceTier::Standard;
    let mut above = None;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("_batches") {
            tier = ServiceTier::Batch;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("_flex") {
            tier = ServiceTier::Flex;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("_priority") {
            tier = ServiceTier::Priority;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("_above_") {
            let end = r.find("k_tokens")?;
            let k: u64 = r[..end].parse().ok()?;
            above = Some(k.checked_mul(1000)?);
            rest = &r[end + "k_tokens".len()..];
        } else {
            return None;
        }
    }
    Some((charge, tier, above))
}

fn number(v: &Value) -> Option<Money> {
    v.as_str().and_then(|s| money_rounded(s).ok())
}

impl PriceBook {
    /// Imports LiteLLM's price file. LiteLLM does not date its prices: every entry gets
    /// `effective_from` (the date the file was taken). `name` is used in messages.
    pub fn import_litellm(
        text: &str,
        name: &str,
        effective_from: NaiveDate,
    ) -> Result<(PriceBook, ImportReport), PriceError> {
        let root =
            parse_exact(text).map_err(|e| PriceError::Malformed { path: name.to_string(), reason: e.to_string() })?;
        let Value::Object(models) = root else {
            return Err(PriceError::Malformed {
                path: name.to_string(),
                reason: "the top level is not an object".into(),
            });
        };
        let mut report = ImportReport::default();
        let mut entries = Vec::new();
        let mut aliases = Vec::new();
        for (key, spec) in &models {
            if key == "sample_spec" {
                continue;
            }
            let Value::Object(spec) = spec else {
                report.skipped.push(key.clone());
                continue;
            };
            if let Some(target) = spec.get("alias_of").and_then(Value::as_str) {
                aliases.push((key.to_ascii_lowercase(), target.to_ascii_lowercase()));
                continue;
            }
            let mut base = TierPrices::default();
            let mut long: BTreeMap<u64, TierPrices> = BTreeMap::new();
            for (k, v) in spec {
                if !k.contains("cost") {
                    continue;
                }
                match (parse_key(k), number(v)) {
                    (Some((charge, tier, above)), Some(price)) if !price.is_negative() => match above {
                        Some(a) => long.entry(a).or_default().insert(tier, charge, price),
                        None => base.insert(tier, charge, price),
                    },
                    _ => *report.ignored_keys.entry(k.clone()).or_default() += 1,
                }
            }
            if let Some(Value::Array(tiers)) = spec.get("tiered_pricing") {
                for t in tiers {
                    let Some(lo) = t.get("range").and_then(|r| r.get(0)).and_then(number) else {
                        *report.ignored_keys.entry("tiered_pricing".into()).or_default() += 1;
                        continue;
                    };
                    let lo = u64::try_from(lo.raw() / 10i128.pow(18)).unwrap_or(0);
                    let Value::Object(t) = t else { continue };
                    for (k, v) in t {
                        if let (Some((charge, tier, None)), Some(price)) = (parse_key(k), number(v)) {
                            if lo == 0 {
                                base.rates_entry(tier).entry(charge).or_insert(price);
                            } else {
                                long.entry(lo).or_default().insert(tier, charge, price);
                            }
                        }
                    }
                }
            }
            if base.is_empty() && long.is_empty() {
                report.skipped.push(key.clone());
                continue;
            }
            entries.push(ModelPrice {
                name: key.to_ascii_lowercase(),
                provider: spec.get("litellm_provider").and_then(Value::as_str).map(str::to_string),
                effective_from,
                aliases: Vec::new(),
                base,
                long_context: long.into_iter().collect(),
                batch_discount: None,
            });
        }
        report.models = entries.len();
        let mut book = PriceBook::from_entries("USD", Some(effective_from), name, entries);
        let mut unresolved = BTreeSet::new();
        for (alias, target) in aliases {
            if book.add_alias(&alias, &target) {
                report.aliases += 1;
            } else {
                unresolved.insert(alias);
            }
        }
        report.skipped.extend(unresolved);
        Ok((book, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_split_into_charge_tier_and_threshold() {
        assert_eq!(parse_key("input_cost_per_token"), Some((Charge::Input, ServiceTier::Standard, None)));
        assert_eq!(
            parse_key("cache_creation_input_token_cost_above_1hr"),
            Some((Charge::CacheWrite1h, ServiceTier::Standard, None))
        );
        assert_eq!(
            parse_key("output_cost_per_token_above_200k_tokens_priority"),
            Some((Charge::Output, ServiceTier::Priority, Some(200_000)))
        );
        assert_eq!(
            parse_key("cache_read_input_token_cost_batches"),
            Some((Charge::CachedInput, ServiceTier::Batch, None))
        );
        assert_eq!(parse_key("output_cost_per_image"), Some((Charge::Image, ServiceTier::Standard, None)));
        assert_eq!(parse_key("output_cost_per_image_token"), Some((Charge::ImageOutput, ServiceTier::Standard, None)));
        assert_eq!(parse_key("search_context_cost_per_query"), None);
        assert_eq!(parse_key("input_cost_per_token_cache_hit"), None);
        assert_eq!(parse_key("output_cost_per_second"), None);
    }
}
