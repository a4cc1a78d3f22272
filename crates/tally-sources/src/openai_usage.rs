//! OpenAI Usage API pages (`/v1/organization/usage/{completions, embeddings, moderations, images,
//! audio_speeches, audio_transcriptions, vector_stores}`), saved as JSON pages, a JSON array of
//! pages, or NDJSON (one page or one bucket per line).
//!
//! One ledger row per token type (or other unit) of each result, priced from the price book
//! (`x_cost_basis = estimated`). `input_tokens` already includes the cached, cache-write, audio
//! and image input tokens: the `input` row is what remains (input − cached − cache writes −
//! uncached audio − uncached image), so no token is counted or priced twice. The request count
//! goes on the first row of each result only (the `input` row for token endpoints).

use polars::prelude::LazyFrame;
use serde_json::Value;
use tally_ledger::Money;
use tally_pricing::Charge;

use crate::provider::{self, count, opt_count, price_row, text, Loc, Row};
use crate::{Format, Input, SourceError};

/// The OpenAI Usage API format.
pub struct OpenAiUsage;

const NAME: &str = "openai-usage";
/// The provider name in the ledger.
pub const PROVIDER: &str = "OpenAI";
/// The service name in the ledger.
pub const SERVICE: &str = "OpenAI API";

const KINDS: &[&str] =
    &["completions", "embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions", "vector_stores"];

/// The (charge, quantity) pairs of one completions result, `input` first.
pub(crate) fn completion_parts(r: &Value, loc: &Loc<'_>) -> Result<Vec<(Charge, i64)>, SourceError> {
    let f = |name: &str| count(r, name, loc);
    let (input, cached, write) = (f("input_tokens")?, f("input_cached_tokens")?, f("input_cache_write_tokens")?);
    let (audio, cached_audio) = (f("input_audio_tokens")?, f("input_cached_audio_tokens")?);
    let (image, cached_image) = (f("input_image_tokens")?, f("input_cached_image_tokens")?);
    let (output, audio_out, image_out) = (f("output_tokens")?, f("output_audio_tokens")?, f("output_image_tokens")?);
    let sub = |a: i64, b: i64, what: &str| -> Result<i64, SourceError> {
        let v = a - b;
        if v < 0 {
            Err(loc.bad(format!("{what} is negative ({a} − {b}): the token counts contradict each other")))
        } else {
            Ok(v)
        }
    };
    let uncached_audio = sub(audio, cached_audio, "input_audio_tokens − input_cached_audio_tokens")?;
    let uncached_image = sub(image, cached_image, "input_image_tokens − input_cached_image_tokens")?;
    let cached_text = sub(cached, cached_audio + cached_image, "cached text tokens")?;
    let uncached_text = sub(
        input,
        cached + write + uncached_audio + uncached_image,
        "uncached input (input_tokens − cached − cache writes − audio − image)",
    )?;
    let output_text = sub(output, audio_out + image_out, "output_tokens − audio − image output tokens")?;
    Ok(vec![
        (Charge::Input, uncached_text),
        (Charge::CachedInput, cached_text),
        (Charge::CacheWrite, write),
        (Charge::AudioInput, uncached_audio),
        (Charge::CachedAudioInput, cached_audio),
        (Charge::ImageInput, uncached_image),
        (Charge::CachedImageInput, cached_image),
        (Charge::Output, output_text),
        (Charge::AudioOutput, audio_out),
        (Charge::ImageOutput, image_out),
    ])
}

/// The ledger rows of every result in the file.
pub fn rows(input: &Input<'_>) -> Result<Vec<Row>, SourceError> {
    let book = provider::require_book(input, NAME)?;
    let mut out = Vec::new();
    let mut record = 0i64;
    for (at, bucket) in provider::buckets(input)? {
        let bloc = Loc { object: input.object, at: at.clone() };
        let start = provider::unix_time(&bucket, "start_time", &bloc)?;
        let end = provider::unix_time(&bucket, "end_time", &bloc)?;
        let org = text(&bucket, "organization_id");
        for (i, r) in provider::results(&bucket, &bloc)?.iter().enumerate() {
            record += 1;
            let loc = Loc { object: input.object, at: format!("{at}, result {}", i + 1) };
            let object = text(r, "object").unwrap_or_default();
            let kind = object
                .strip_prefix("organization.usage.")
                .and_then(|k| k.strip_suffix(".result"))
                .filter(|k| KINDS.contains(k))
                .ok_or_else(|| {
                    loc.bad(format!(
                        "result object `{object}` is not a usage result this format reads ({})",
                        KINDS.join(", ")
                    ))
                })?;
            let batch = match r.get("batch") {
                Some(Value::Bool(b)) => *b,
                Some(Value::Null) | None => false,
                Some(other) => return Err(loc.bad(format!("`batch` is `{other}`, not true or false"))),
            };
            let service_tier = text(r, "service_tier");
            let tier = provider::tier(batch, service_tier.as_deref(), &loc)?;
            let parts: Vec<(Charge, Money)> = match kind {
                "completions" => completion_parts(r, &loc)?
                    .into_iter()
                    .enumerate()
                    .filter(|(j, (_, n))| *j == 0 || *n > 0)
                    .map(|(_, (c, n))| (c, Money::from_int(n)))
                    .collect(),
                "embeddings" | "moderations" => vec![(Charge::Input, Money::from_int(count(r, "input_tokens", &loc)?))],
                "images" => vec![(Charge::Image, Money::from_int(count(r, "images", &loc)?))],
                "audio_speeches" => vec![(Charge::Character, Money::from_int(count(r, "characters", &loc)?))],
                "audio_transcriptions" => vec![(Charge::Second, Money::from_int(count(r, "seconds", &loc)?))],
                _ => {
                    // vector_stores: bytes stored over the bucket, in GB-days.
                    let bytes = i128::from(count(r, "usage_bytes", &loc)?);
                    let secs = i128::from((end - start).num_seconds().max(0));
                    let raw = bytes.checked_mul(1_000_000_000).and_then(|v| v.checked_mul(secs)).map(|v| v / 86_400);
                    vec![(Charge::GbDay, Money::from_raw(raw.ok_or_else(|| loc.bad("`usage_bytes` is out of range"))?))]
                }
            };
            let model = match kind {
                "vector_stores" => Some("vector-store".to_string()),
                _ => text(r, "model"),
            };
            let Some(model) = model else {
                return Err(loc.bad("the result has no `model`: export the usage grouped by model to price it"));
            };
            let requests = opt_count(r, "num_model_requests", &loc)?;
            for (j, (charge, quantity)) in parts.into_iter().enumerate() {
                let mut row = Row::new(record, PROVIDER, SERVICE, start, end);
                row.account = org.clone().or_else(|| text(r, "organization_id")).unwrap_or_else(|| NAME.to_string());
                row.sub_account = text(r, "project_id");
                row.workspace = text(r, "project_id");
                row.api_key = text(r, "api_key_id");
                row.user = text(r, "user_id");
                row.model = Some(model.clone());
                row.service_tier = if batch { Some("batch".to_string()) } else { service_tier.clone() };
                row.request_count = if j == 0 { requests } else { None };
                price_row(&mut row, book, &loc, &model, charge, quantity, tier, None, input.quantities_only)?;
                row.description = Some(format!("{model} {}", charge.token_type().replace('_', " ")));
                out.push(row);
            }
        }
    }
    Ok(out)
}

impl Format for OpenAiUsage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "OpenAI Usage API pages (completions, embeddings, images, audio, moderations, vector stores), JSON or NDJSON, priced from the price book"
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        provider::to_ledger(&rows(input)?, input, NAME)
    }
}
