//! Pricing rules with hand-computed costs, the repository's price book, and LiteLLM imports.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::NaiveDate;
use tally_pricing::{Charge, Money, PriceBook, PriceError, ServiceTier, Usage};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))
}

fn m(s: &str) -> Money {
    Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn book() -> PriceBook {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../prices/price-book.toml");
    PriceBook::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"))
}

fn usage(model: &str, charge: Charge, quantity: u64, tier: ServiceTier) -> Usage<'_> {
    Usage {
        model,
        charge,
        quantity: Money::from_int(i64::try_from(quantity).unwrap_or(i64::MAX)),
        tier,
        request_input_tokens: None,
        date: d("2026-10-15"),
    }
}

fn cost(b: &PriceBook, u: &Usage<'_>) -> String {
    b.price(u).unwrap_or_else(|e| panic!("{e}")).cost.to_string_min_dp(0)
}

#[test]
fn the_repository_price_book_loads() {
    let b = book();
    assert_eq!(b.currency, "USD");
    assert_eq!(b.as_of, Some(d("2026-11-01")));
    assert!(b.entries().len() >= 20, "{}", b.entries().len());
    for p in ["openai", "anthropic", "google"] {
        assert!(b.entries().iter().any(|e| e.provider.as_deref() == Some(p)), "{p}");
    }
}

#[test]
fn cached_tokens_are_priced_once_at_the_cached_rate() {
    // gpt-4o: 1,000,000 input tokens of which 400,000 cached. The uncached 600,000 at $2.50/M =
    // $1.50, the cached 400,000 at $1.25/M = $0.50: $2.00 (not $2.50 + $0.50).
    let b = book();
    let std = ServiceTier::Standard;
    assert_eq!(cost(&b, &usage("gpt-4o-2024-08-06", Charge::Input, 600_000, std)), "1.5");
    assert_eq!(cost(&b, &usage("gpt-4o-2024-08-06", Charge::CachedInput, 400_000, std)), "0.5");
    // Claude Haiku 4.5 cache read: 2,400 tokens × $0.10/M = $0.00024.
    assert_eq!(cost(&b, &usage("claude-haiku-4-5-20251001", Charge::CachedInput, 2_400, std)), "0.00024");
}

#[test]
fn anthropic_cache_writes_at_the_rate_of_their_ttl() {
    let b = book();
    let std = ServiceTier::Standard;
    // 10,000 tokens: 5-minute writes at $3.75/M = $0.0375, 1-hour writes at $6/M = $0.06.
    assert_eq!(cost(&b, &usage("claude-sonnet-4-5-20250929", Charge::CacheWrite5m, 10_000, std)), "0.0375");
    assert_eq!(cost(&b, &usage("claude-sonnet-4-5-20250929", Charge::CacheWrite1h, 10_000, std)), "0.06");
    // A write of unknown TTL is a 5-minute write (Anthropic's default).
    assert_eq!(cost(&b, &usage("claude-sonnet-4-5", Charge::CacheWrite, 10_000, std)), "0.0375");
}

#[test]
fn batch_usage_at_the_batch_rate() {
    let b = book();
    let batch = ServiceTier::Batch;
    // gpt-4o batch: input $1.25/M, output $5/M.
    assert_eq!(cost(&b, &usage("gpt-4o", Charge::Input, 1_000_000, batch)), "1.25");
    assert_eq!(cost(&b, &usage("gpt-4o", Charge::Output, 340_000, batch)), "1.7");
    // gpt-5-mini batch (the reference's batch row): 1,200,000 input × $0.125/M = $0.15,
    // 340,000 output × $1/M = $0.34.
    assert_eq!(cost(&b, &usage("gpt-5-mini-2025-08-07", Charge::Input, 1_200_000, batch)), "0.15");
    assert_eq!(cost(&b, &usage("gpt-5-mini-2025-08-07", Charge::Output, 340_000, batch)), "0.34");
    // Claude Haiku 4.5 batch cache read: 1M × $0.10 × 0.5 = $0.05.
    assert_eq!(cost(&b, &usage("claude-haiku-4-5", Charge::CachedInput, 1_000_000, batch)), "0.05");
}

#[test]
fn flex_and_priority_tiers() {
    let b = book();
    assert_eq!(cost(&b, &usage("gpt-5-mini", Charge::Output, 1_000_000, ServiceTier::Flex)), "1");
    assert_eq!(cost(&b, &usage("gpt-4o", Charge::Input, 1_000_000, ServiceTier::Priority)), "4.25");
    // No flex price for gpt-4o: an error, not the standard price.
    let e = b.price(&usage("gpt-4o", Charge::Input, 1, ServiceTier::Flex));
    assert!(matches!(e, Err(PriceError::NoRate { .. })), "{e:?}");
}

#[test]
fn long_context_tier_above_200k_input_tokens() {
    let b = book();
    let mut u = usage("claude-sonnet-4-5-20250929", Charge::Input, 1_000_000, ServiceTier::Standard);
    u.request_input_tokens = Some(250_000);
    assert_eq!(cost(&b, &u), "6");
    u.charge = Charge::Output;
    assert_eq!(cost(&b, &u), "22.5");
    u.request_input_tokens = Some(200_000);
    assert_eq!(cost(&b, &u), "15");
    let mut g = usage("gemini-2.5-pro", Charge::Input, 1_000_000, ServiceTier::Standard);
    g.request_input_tokens = Some(300_000);
    assert_eq!(cost(&b, &g), "2.5");
    g.tier = ServiceTier::Batch;
    assert_eq!(cost(&b, &g), "1.25");
}

#[test]
fn other_units() {
    let b = book();
    let std = ServiceTier::Standard;
    // 10 web searches at $10 per 1,000 = $0.10; 20 s of whisper at $0.0001/s = $0.002;
    // 2 images at $0.042 = $0.084; 1,000 characters of tts-1 at $15/M = $0.015.
    assert_eq!(cost(&b, &usage("claude-sonnet-4-5", Charge::WebSearch, 10, std)), "0.1");
    assert_eq!(cost(&b, &usage("whisper-1", Charge::Second, 20, std)), "0.002");
    assert_eq!(cost(&b, &usage("gpt-image-1", Charge::Image, 2, std)), "0.084");
    assert_eq!(cost(&b, &usage("tts-1", Charge::Character, 1_000, std)), "0.015");
    // 1.5 GB-days at $0.10 = $0.15 (fractional quantity).
    let mut v = usage("vector-store", Charge::GbDay, 0, std);
    v.quantity = m("1.5");
    assert_eq!(cost(&b, &v), "0.15");
}

#[test]
fn unknown_model_and_missing_rate_are_errors_naming_them() {
    let b = book();
    let e = b.price(&usage("gpt-9-turbo", Charge::Input, 1, ServiceTier::Standard));
    match e {
        Err(err @ PriceError::UnknownModel { .. }) => assert!(err.to_string().contains("gpt-9-turbo"), "{err}"),
        other => panic!("{other:?}"),
    }
    let e = b.price(&usage("gpt-4o", Charge::CacheWrite1h, 1, ServiceTier::Standard));
    match e {
        Err(err @ PriceError::NoRate { .. }) => {
            let s = err.to_string();
            assert!(s.contains("gpt-4o") && s.contains("cache-write-1h"), "{s}");
        }
        other => panic!("{other:?}"),
    }
}

const DATED: &str = r#"
currency = "USD"
as-of = 2026-11-01
[[model]]
name = "acme-1"
effective-from = 2026-01-01
standard = { input = "2.00", output = "8.00" }
[[model]]
name = "acme-1"
effective-from = "2026-10-01"
standard = { input = "1.00", output = "4.00" }
"#;

#[test]
fn the_price_effective_on_the_usage_date_applies() {
    let b = PriceBook::from_toml(DATED, "dated.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut u = usage("acme-1-2026-02-02", Charge::Input, 1_000_000, ServiceTier::Standard);
    u.date = d("2026-09-30");
    assert_eq!(cost(&b, &u), "2");
    u.date = d("2026-10-01");
    assert_eq!(cost(&b, &u), "1");
    u.date = d("2025-12-31");
    let e = b.price(&u);
    assert!(matches!(e, Err(PriceError::NotEffective { .. })), "{e:?}");
    // No batch price and no batch-discount: an error, not the standard price.
    u.date = d("2026-10-01");
    u.tier = ServiceTier::Batch;
    assert!(matches!(b.price(&u), Err(PriceError::NoRate { .. })));
}

#[test]
fn malformed_price_books_are_clear_errors() {
    let cases = [
        ("currency = \"USD\"\nas-of = \"2026-11-01\"\n[[model]]\nname = \"x\"\neffective-from = \"2026-01-01\"\nstandard = { input = 2.5 }\n", "write prices as strings"),
        ("currency = \"USD\"\nas-of = \"2026-11-01\"\n[[model]]\nname = \"x\"\neffective-from = \"2026-01-01\"\nstandard = { inptu = \"2.5\" }\n", "unknown price `inptu`"),
        ("currency = \"USD\"\nas-of = \"2026-11-01\"\n[[model]]\nname = \"x\"\nstandard = { input = \"2.5\" }\n", "effective-from"),
        ("currency = \"USD\"\nas-of = \"2026-11-01\"\n[[model]]\nname = \"x\"\neffective-from = \"2026-01-01\"\nstandard = { input = \"-1\" }\n", "negative"),
        ("currency = \"USD\"\nas-of = \"2026-11-01\"\n[[model]]\nname = \"x\"\neffective-from = \"2026-01-01\"\nstandard = { input = \"abc\" }\n", "not a decimal"),
        ("currency = \"USD\"\nas-of = \"soon\"\n", "as-of"),
        ("this is not toml", "not a valid price book"),
    ];
    for (text, needle) in cases {
        match PriceBook::from_toml(text, "bad.toml") {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => {
                let s = e.to_string();
                assert!(s.contains(needle) && s.contains("bad.toml"), "{s} (wanted {needle})");
            }
        }
    }
}

const LITELLM: &str = r#"{
  "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of …"},
  "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
             "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06,
             "input_cost_per_token_priority": 4.25e-06, "litellm_provider": "openai", "mode": "chat"},
  "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
             "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
             "cache_creation_input_token_cost_above_1hr": 6e-06, "input_cost_per_token_above_200k_tokens": 6e-06,
             "search_context_cost_per_query": {"search_context_size_low": 0.01}, "litellm_provider": "anthropic"},
  "dashscope/qwen-flash": {"litellm_provider": "dashscope", "tiered_pricing": [
             {"input_cost_per_token": 5e-08, "output_cost_per_token": 4e-07, "range": [0, 256000.0]},
             {"input_cost_per_token": 2.5e-07, "output_cost_per_token": 2e-06, "range": [256000.0, 1000000.0]}]},
  "precise": {"input_cost_per_token": 0.1000000000000000055511151231257827, "litellm_provider": "x"},
  "bedrock/claude-latest": {"alias_of": "claude-sonnet-4-5"},
  "orphan": {"alias_of": "nowhere"},
  "no-prices": {"mode": "chat", "litellm_provider": "x"}
}"#;

#[test]
fn litellm_import_reads_exact_prices_tiers_and_aliases() {
    let (b, report) =
        PriceBook::import_litellm(LITELLM, "litellm.json", d("2026-01-01")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.models, 4);
    assert_eq!(report.aliases, 1);
    assert_eq!(report.skipped, ["no-prices", "orphan"]);
    assert_eq!(report.ignored_keys.get("search_context_cost_per_query"), Some(&1));
    let std = ServiceTier::Standard;
    assert_eq!(cost(&b, &usage("gpt-4o-2024-08-06", Charge::Input, 1_000_000, std)), "2.5");
    assert_eq!(cost(&b, &usage("openai/gpt-4o", Charge::CachedInput, 1_000_000, std)), "1.25");
    assert_eq!(cost(&b, &usage("gpt-4o", Charge::Output, 1_000_000, ServiceTier::Batch)), "5");
    assert_eq!(cost(&b, &usage("gpt-4o", Charge::Input, 1_000_000, ServiceTier::Priority)), "4.25");
    assert_eq!(cost(&b, &usage("bedrock/claude-latest", Charge::CacheWrite1h, 1_000_000, std)), "6");
    assert_eq!(cost(&b, &usage("claude-sonnet-4-5-20250929", Charge::CacheWrite5m, 1_000_000, std)), "3.75");
    let mut u = usage("claude-sonnet-4-5", Charge::Input, 1_000_000, std);
    u.request_input_tokens = Some(200_001);
    assert_eq!(cost(&b, &u), "6");
    let mut q = usage("dashscope/qwen-flash", Charge::Output, 1_000_000, std);
    assert_eq!(cost(&b, &q), "0.4");
    q.request_input_tokens = Some(300_000);
    assert_eq!(cost(&b, &q), "2");
    // A float printed with more digits than the ledger keeps is rounded at 18 decimals, not
    // passed through an f64: 0.1000000000000000055511151231257827 → 0.100000000000000006.
    let p = b.unit_price(&usage("precise", Charge::Input, 1, std)).unwrap_or_else(|e| panic!("{e}")).0;
    assert_eq!(p.to_string_min_dp(0), "0.100000000000000006");
    assert!(matches!(
        PriceBook::import_litellm("[1, 2]", "x.json", d("2026-11-01")),
        Err(PriceError::Malformed { .. })
    ));
    assert!(matches!(
        PriceBook::import_litellm("{\"a\": ", "x.json", d("2026-11-01")),
        Err(PriceError::Malformed { .. })
    ));
}

#[test]
fn imports_the_real_litellm_price_file_when_present() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference/litellm/model_prices_and_context_window.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} not found (../shared/reference is not beside the checkout)");
        return;
    };
    let (b, report) = PriceBook::import_litellm(&text, path, d("2026-01-01")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.models > 4000, "{report:?}");
    assert!(report.aliases > 50, "{}", report.aliases);
    let std = ServiceTier::Standard;
    // The same prices as the repository's book for the main models.
    let ours = book();
    for (model, charge, tier) in [
        ("gpt-4o-2024-08-06", Charge::Input, std),
        ("gpt-4o-2024-08-06", Charge::CachedInput, std),
        ("gpt-4o-mini", Charge::Output, ServiceTier::Batch),
        ("gpt-5-mini-2025-08-07", Charge::Input, ServiceTier::Batch),
        ("gpt-5-mini", Charge::CachedInput, ServiceTier::Flex),
        ("claude-sonnet-4-5-20250929", Charge::CacheWrite5m, std),
        ("claude-sonnet-4-5-20250929", Charge::CacheWrite1h, std),
        ("claude-haiku-4-5", Charge::CachedInput, std),
        ("claude-haiku-4-5", Charge::Output, ServiceTier::Batch),
        ("claude-opus-4-5", Charge::Output, std),
        ("gemini-2.5-pro", Charge::Output, std),
        ("gemini-2.5-flash", Charge::Input, std),
        ("text-embedding-3-small", Charge::Input, std),
    ] {
        let u = usage(model, charge, 1_000_000, tier);
        assert_eq!(cost(&b, &u), cost(&ours, &u), "{model} {charge:?} {tier:?}");
    }
    let mut g = usage("gemini-2.5-pro", Charge::Output, 1_000_000, std);
    g.request_input_tokens = Some(250_000);
    assert_eq!(cost(&b, &g), "15");
    assert_eq!(cost(&b, &usage("whisper-1", Charge::Second, 60, std)), "0.006");
}
