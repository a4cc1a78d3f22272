//! `tally fetch`: download the providers' admin usage and cost reports, page by page, into
//! object storage where the nightly `tally run` picks them up.
//!
//! Each call writes its pages under `DEST/<report>/<from>_<to>/page-NNNN.json`: one folder per
//! fetch, so a later fetch of the same month is a new delivery that replaces the earlier one
//! (`restatement = "latest-delivery"`).

use std::time::Duration;

use bytes::Bytes;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::Value;
use tally_storage::Location;
use tracing::{info, warn};

use crate::PipelineError;

/// A provider whose admin API tally can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI organization Usage and Costs APIs (`OPENAI_ADMIN_KEY`).
    OpenAi,
    /// Anthropic Admin API usage and cost reports (`ANTHROPIC_ADMIN_KEY`).
    Anthropic,
}

impl Provider {
    /// Parses `openai` or `anthropic`.
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "openai" => Some(Provider::OpenAi),
            "anthropic" => Some(Provider::Anthropic),
            _ => None,
        }
    }

    fn key_var(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_ADMIN_KEY",
            Provider::Anthropic => "ANTHROPIC_ADMIN_KEY",
        }
    }

    fn base_url(self) -> String {
        let (var, default) = match self {
            Provider::OpenAi => ("OPENAI_BASE_URL", "https://api.openai.com"),
            Provider::Anthropic => ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        };
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
            .trim_end_matches('/')
            .to_string()
    }

    /// (folder name, path, grouping) of each report fetched.
    fn reports(self) -> Vec<(&'static str, &'static str, &'static [&'static str])> {
        match self {
            Provider::OpenAi => {
                const G: &[&str] = &["project_id", "model", "api_key_id", "batch"];
                vec![
                    ("openai-usage/completions", "/v1/organization/usage/completions", G),
                    (
                        "openai-usage/embeddings",
                        "/v1/organization/usage/embeddings",
                        &["project_id", "model", "api_key_id"],
                    ),
                    (
                        "openai-usage/moderations",
                        "/v1/organization/usage/moderations",
                        &["project_id", "model", "api_key_id"],
                    ),
                    ("openai-usage/images", "/v1/organization/usage/images", &["project_id", "model", "api_key_id"]),
                    (
                        "openai-usage/audio_speeches",
                        "/v1/organization/usage/audio_speeches",
                        &["project_id", "model", "api_key_id"],
                    ),
                    (
                        "openai-usage/audio_transcriptions",
                        "/v1/organization/usage/audio_transcriptions",
                        &["project_id", "model", "api_key_id"],
                    ),
                    ("openai-usage/vector_stores", "/v1/organization/usage/vector_stores", &["project_id"]),
                    ("openai-costs", "/v1/organization/costs", &["project_id", "line_item"]),
                ]
            }
            Provider::Anthropic => vec![
                (
                    "anthropic-usage",
                    "/v1/organizations/usage_report/messages",
                    &["workspace_id", "api_key_id", "model", "service_tier", "context_window"],
                ),
                ("anthropic-costs", "/v1/organizations/cost_report", &["workspace_id", "description"]),
            ],
        }
    }
}

/// What to fetch.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Provider.
    pub provider: Provider,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Destination URL or path.
    pub dest: String,
    /// Retries for 429 and 5xx answers before giving up.
    pub max_retries: u32,
}

/// What a fetch wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FetchReport {
    /// Objects written (relative to the destination).
    pub pages: Vec<String>,
    /// Retries after 429 or 5xx answers.
    pub retries: u32,
}

fn http_err(url: &str, message: impl Into<String>) -> PipelineError {
    PipelineError::Fetch { url: url.to_string(), message: message.into() }
}

/// Fetches every report of the provider for the days `from..=to`, following pagination and
/// waiting out rate limits (429 with `retry-after`) and server errors (5xx, with backoff).
pub async fn fetch(opts: &FetchOptions) -> Result<FetchReport, PipelineError> {
    let key = std::env::var(opts.provider.key_var()).ok().filter(|k| !k.is_empty()).ok_or_else(|| {
        PipelineError::Usage(format!("set {} to an admin API key of your organization", opts.provider.key_var()))
    })?;
    if opts.to < opts.from {
        return Err(PipelineError::Usage(format!("--to {} is before --from {}", opts.to, opts.from)));
    }
    let dest = Location::open(&opts.dest)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| http_err(&opts.provider.base_url(), e.to_string()))?;
    let start = Utc.from_utc_datetime(&opts.from.and_hms_opt(0, 0, 0).unwrap_or_default());
    let end_day = opts.to.succ_opt().unwrap_or(opts.to);
    let end = Utc.from_utc_datetime(&end_day.and_hms_opt(0, 0, 0).unwrap_or_default());
    let window = format!("{}_{}", opts.from, opts.to);
    let mut report = FetchReport::default();
    for (folder, path, group_by) in opts.provider.reports() {
        let mut page: Option<String> = None;
        let mut n = 0;
        loop {
            let mut query: Vec<(String, String)> = match opts.provider {
                Provider::OpenAi => vec![
                    ("start_time".into(), start.timestamp().to_string()),
                    ("end_time".into(), end.timestamp().to_string()),
                    ("bucket_width".into(), "1d".into()),
                    ("limit".into(), "31".into()),
                ],
                Provider::Anthropic => vec![
                    ("starting_at".into(), start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    ("ending_at".into(), end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    ("bucket_width".into(), "1d".into()),
                    ("limit".into(), "31".into()),
                ],
            };
            query.extend(group_by.iter().map(|g| ("group_by[]".to_string(), g.to_string())));
            if let Some(p) = &page {
                query.push(("page".into(), p.clone()));
            }
            let url = format!("{}{path}", opts.provider.base_url());
            let body = get_with_retries(&client, opts, &url, &query, &key, &mut report).await?;
            let json: Value = serde_json::from_slice(&body).map_err(|e| http_err(&url, format!("not JSON: {e}")))?;
            if !json.get("data").is_some_and(Value::is_array) {
                return Err(http_err(&url, "the answer has no `data` list"));
            }
            n += 1;
            let rel = format!("{folder}/{window}/page-{n:04}.json");
            dest.write_bytes(&rel, body).await?;
            info!(object = %dest.display_of(&rel), "fetched");
            report.pages.push(rel);
            let more = json.get("has_more").and_then(Value::as_bool).unwrap_or(false);
            page = json.get("next_page").and_then(Value::as_str).map(str::to_string);
            if !more || page.is_none() {
                break;
            }
            if n >= 10_000 {
                return Err(http_err(&url, "more than 10,000 pages: stopping"));
            }
        }
    }
    Ok(report)
}

async fn get_with_retries(
    client: &reqwest::Client,
    opts: &FetchOptions,
    url: &str,
    query: &[(String, String)],
    key: &str,
    report: &mut FetchReport,
) -> Result<Bytes, PipelineError> {
    let mut attempt = 0;
    loop {
        let mut req = client.get(url).query(query);
        req = match opts.provider {
            Provider::OpenAi => req.bearer_auth(key),
            Provider::Anthropic => req.header("x-api-key", key).header("anthropic-version", "2023-06-01"),
        };
        let result = req.send().await;
        let (status, retry_after, body) = match result {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(|s| Duration::from_millis((s.clamp(0.0, 300.0) * 1000.0) as u64));
                let body = resp.bytes().await.map_err(|e| http_err(url, e.to_string()))?;
                (Some(status), retry_after, body)
            }
            Err(e) if e.is_timeout() || e.is_connect() => (None, None, Bytes::from(e.to_string())),
            Err(e) => return Err(http_err(url, e.to_string())),
        };
        match status {
            Some(s) if s.is_success() => return Ok(body),
            Some(s) if s.as_u16() == 401 || s.as_u16() == 403 => {
                return Err(http_err(url, format!("{s}: the admin key in {} was refused", opts.provider.key_var())));
            }
            Some(s) if !(s.as_u16() == 429 || s.is_server_error()) => {
                let text = String::from_utf8_lossy(&body);
                return Err(http_err(url, format!("{s}: {}", text.chars().take(300).collect::<String>())));
            }
            _ => {}
        }
        attempt += 1;
        if attempt > opts.max_retries {
            let what = status.map(|s| s.to_string()).unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(http_err(url, format!("gave up after {} retries: {what}", opts.max_retries)));
        }
        let backoff = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(6)));
        let wait = retry_after.unwrap_or(backoff);
        warn!(url = %url, status = ?status.map(|s| s.as_u16()), wait_ms = wait.as_millis() as u64, "retrying");
        report.retries += 1;
        tokio::time::sleep(wait).await;
    }
}
