//! `tally fetch` against a local HTTP server on 127.0.0.1 serving documented-shape pages,
//! with pagination, a 429 with retry-after, and a 500.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::*;

const USAGE_BUCKET: &str = r#"{"starting_at": "2026-10-17T00:00:00Z", "ending_at": "2026-10-18T00:00:00Z", "results": [{"uncached_input_tokens": 1000000, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0}, "cache_read_input_tokens": 0, "output_tokens": 100000, "server_tool_use": {"web_search_requests": 0}, "api_key_id": "apikey_1", "workspace_id": "wrkspc_support", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k"}]}"#;
const COST_BUCKET: &str = r#"{"starting_at": "2026-10-17T00:00:00Z", "ending_at": "2026-10-18T00:00:00Z", "results": [{"currency": "USD", "amount": "450.00", "workspace_id": "wrkspc_support", "description": "Claude Sonnet 4.5 Usage - Input Tokens", "cost_type": "tokens", "context_window": "0-200k", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "token_type": "uncached_input_tokens"}]}"#;

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Serves, in order: 429 (retry-after 0) then usage page 1 (has_more), a 500 then usage page 2,
/// and the cost report in one page. Records every request line and checks the API key.
fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut hits: HashMap<String, usize> = HashMap::new();
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut key_ok = false;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("x-api-key: test-admin-key") {
                    key_ok = true;
                }
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(target.clone());
            let path = target.split('?').next().unwrap_or("").to_string();
            let page2 = target.contains("page=p2");
            let key = format!("{path}{}", if page2 { "#2" } else { "" });
            let n = hits.entry(key).or_default();
            *n += 1;
            let (status, extra, body) = if !key_ok {
                ("401 Unauthorized", "", "{}".to_string())
            } else if path.ends_with("/usage_report/messages") && !page2 && *n == 1 {
                ("429 Too Many Requests", "retry-after: 0\r\n", r#"{"error":"rate limited"}"#.to_string())
            } else if path.ends_with("/usage_report/messages") && !page2 {
                ("200 OK", "", format!(r#"{{"data": [{USAGE_BUCKET}], "has_more": true, "next_page": "p2"}}"#))
            } else if path.ends_with("/usage_report/messages") && *n == 1 {
                ("500 Internal Server Error", "", "oops".to_string())
            } else if path.ends_with("/usage_report/messages") {
                ("200 OK", "", format!(r#"{{"data": [{USAGE_BUCKET}], "has_more": false, "next_page": null}}"#))
            } else if path.ends_with("/cost_report") {
                ("200 OK", "", format!(r#"{{"data": [{COST_BUCKET}], "has_more": false, "next_page": null}}"#))
            } else {
                ("404 Not Found", "", "{}".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Server { url, seen }
}

#[test]
fn fetch_follows_pages_and_waits_out_429_and_500() {
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ANTHROPIC_BASE_URL".to_string(), server.url.clone()),
        ("ANTHROPIC_ADMIN_KEY".to_string(), "test-admin-key".to_string()),
    ];
    let out = ok(tally_in(
        dir.path(),
        &["fetch", "anthropic", "--from", "2026-10-01", "--to", "2026-10-31", "--dest", "raw", "--max-retries", "3"],
        &env,
    ));
    assert!(out.contains("wrote 3 pages to raw (2 retries)"), "{out}");
    let files: Vec<String> = tree(&dir.path().join("raw")).into_keys().collect();
    assert_eq!(
        files,
        [
            "anthropic-costs/2026-10-01_2026-10-31/page-0001.json",
            "anthropic-usage/2026-10-01_2026-10-31/page-0001.json",
            "anthropic-usage/2026-10-01_2026-10-31/page-0002.json",
        ]
    );
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        seen[0].contains("starting_at=2026-10-01T00%3A00%3A00Z")
            && seen[0].contains("ending_at=2026-11-01T00%3A00%3A00Z"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s.contains("page=p2")));
    // The pages are what the formats read.
    ok(tally_in(dir.path(), &["convert", "--from", "anthropic-usage", "-o", "u.parquet", "raw/anthropic-usage"], &env));
    let df = read_parquet(&[dir.path().join("u.parquet")]);
    let tokens: i64 = df.column("x_token_count").unwrap().i64().unwrap().iter().flatten().sum();
    assert_eq!(tokens, 2 * (1_000_000 + 100_000), "both pages, input and output");
}

#[test]
fn fetch_without_a_key_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.args(["fetch", "openai", "--from", "2026-10-01", "--to", "2026-10-31", "--dest", "raw"])
        .current_dir(dir.path());
    cmd.env_remove("OPENAI_ADMIN_KEY");
    let err = user_error(cmd.output().unwrap());
    assert!(err.contains("set OPENAI_ADMIN_KEY"), "{err}");
    assert!(!dir.path().join("raw").exists());
}
