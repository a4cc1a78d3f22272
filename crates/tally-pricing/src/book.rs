//! The price book: entries, the TOML file format, lookup and exact pricing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use tally_ledger::{Money, MONEY_SCALE};

use crate::names::candidates;
use crate::PriceError;

const ONE: i128 = 10i128.pow(MONEY_SCALE as u32);

/// A kind of priced usage: a token type or another unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Charge {
    /// Uncached input (prompt) tokens.
    Input,
    /// Input tokens read from the prompt cache.
    CachedInput,
    /// Prompt cache writes of unspecified TTL (priced at `cache-write`, else `cache-write-5m`).
    CacheWrite,
    /// Prompt cache writes with a 5-minute TTL.
    CacheWrite5m,
    /// Prompt cache writes with a 1-hour TTL.
    CacheWrite1h,
    /// Output tokens (reasoning included).
    Output,
    /// Uncached audio input tokens.
    AudioInput,
    /// Cached audio input tokens.
    CachedAudioInput,
    /// Audio output tokens.
    AudioOutput,
    /// Uncached image input tokens.
    ImageInput,
    /// Cached image input tokens.
    CachedImageInput,
    /// Image output tokens.
    ImageOutput,
    /// Generated images.
    Image,
    /// Seconds of audio (transcription).
    Second,
    /// Characters of text (speech synthesis).
    Character,
    /// Web search requests (server tools).
    WebSearch,
    /// Stored gigabytes per day (vector stores).
    GbDay,
}

impl Charge {
    /// Every charge.
    pub const ALL: [Charge; 17] = [
        Charge::Input,
        Charge::CachedInput,
        Charge::CacheWrite,
        Charge::CacheWrite5m,
        Charge::CacheWrite1h,
        Charge::Output,
        Charge::AudioInput,
        Charge::CachedAudioInput,
        Charge::AudioOutput,
        Charge::ImageInput,
        Charge::CachedImageInput,
        Charge::ImageOutput,
        Charge::Image,
        Charge::Second,
        Charge::Character,
        Charge::WebSearch,
        Charge::GbDay,
    ];

    /// Its key in the TOML price book.
    pub fn key(self) -> &'static str {
        match self {
            Charge::Input => "input",
            Charge::CachedInput => "cached-input",
            Charge::CacheWrite => "cache-write",
            Charge::CacheWrite5m => "cache-write-5m",
            Charge::CacheWrite1h => "cache-write-1h",
            Charge::Output => "output",
            Charge::AudioInput => "audio-input",
            Charge::CachedAudioInput => "cached-audio-input",
            Charge::AudioOutput => "audio-output",
            Charge::ImageInput => "image-input",
            Charge::CachedImageInput => "cached-image-input",
            Charge::ImageOutput => "image-output",
            Charge::Image => "per-image",
            Charge::Second => "per-second",
            Charge::Character => "per-1m-characters",
            Charge::WebSearch => "per-1k-web-searches",
            Charge::GbDay => "per-gb-day",
        }
    }

    /// The ledger's `x_token_type` for it.
    pub fn token_type(self) -> &'static str {
        match self {
            Charge::Input => "input",
            Charge::CachedInput => "cached_input",
            Charge::CacheWrite => "cache_write",
            Charge::CacheWrite5m => "cache_write_5m",
            Charge::CacheWrite1h => "cache_write_1h",
            Charge::Output => "output",
            Charge::AudioInput => "audio_input",
            Charge::CachedAudioInput => "cached_audio_input",
            Charge::AudioOutput => "audio_output",
            Charge::ImageInput => "image_input",
            Charge::CachedImageInput => "cached_image_input",
            Charge::ImageOutput => "image_output",
            Charge::Image => "image",
            Charge::Second => "audio_seconds",
            Charge::Character => "characters",
            Charge::WebSearch => "web_search",
            Charge::GbDay => "storage",
        }
    }

    /// The FOCUS unit of its quantity (`ConsumedUnit`).
    pub fn unit(self) -> &'static str {
        match self {
            Charge::Image => "Images",
            Charge::Second => "Seconds",
            Charge::Character => "Characters",
            Charge::WebSearch => "Requests",
            Charge::GbDay => "GB-Days",
            _ => "Tokens",
        }
    }

    /// Whether its quantity is a token count.
    pub fn is_token(self) -> bool {
        self.unit() == "Tokens"
    }

    /// How many units the price in the book is for: 1M tokens, 1M characters, 1k searches, 1.
    pub fn per(self) -> i128 {
        match self {
            Charge::Image | Charge::Second | Charge::GbDay => 1,
            Charge::WebSearch => 1000,
            _ => 1_000_000,
        }
    }

    /// The charge of a price book key.
    pub fn from_key(key: &str) -> Option<Charge> {
        Charge::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// Prices per unit (per token, image, second, …) of one service tier.
pub type Rates = BTreeMap<Charge, Money>;

/// Service tier or processing mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceTier {
    /// Standard (on-demand, `default`, `auto`).
    Standard,
    /// Batch API.
    Batch,
    /// OpenAI flex processing.
    Flex,
    /// Priority processing.
    Priority,
}

impl ServiceTier {
    /// Reads a provider's tier name (`default`, `auto`, `standard`, `batch`, `flex`, `priority`);
    /// `None` for a tier the book cannot price (`scale`, …).
    pub fn parse(name: &str) -> Option<ServiceTier> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "default" | "auto" | "standard" | "standard_only" | "on_demand" => Some(ServiceTier::Standard),
            "batch" => Some(ServiceTier::Batch),
            "flex" => Some(ServiceTier::Flex),
            "priority" => Some(ServiceTier::Priority),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }
}

/// The prices of one context tier, per service tier.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierPrices {
    /// Standard prices.
    pub standard: Rates,
    /// Batch prices (missing ones come from `batch_discount` × standard).
    pub batch: Rates,
    /// Flex prices.
    pub flex: Rates,
    /// Priority prices.
    pub priority: Rates,
}

impl TierPrices {
    fn rates(&self, tier: ServiceTier) -> &Rates {
        match tier {
            ServiceTier::Standard => &self.standard,
            ServiceTier::Batch => &self.batch,
            ServiceTier::Flex => &self.flex,
            ServiceTier::Priority => &self.priority,
        }
    }

    fn rates_mut(&mut self, tier: ServiceTier) -> &mut Rates {
        match tier {
            ServiceTier::Standard => &mut self.standard,
            ServiceTier::Batch => &mut self.batch,
            ServiceTier::Flex => &mut self.flex,
            ServiceTier::Priority => &mut self.priority,
        }
    }

    pub(crate) fn rates_entry(&mut self, tier: ServiceTier) -> &mut Rates {
        self.rates_mut(tier)
    }

    pub(crate) fn insert(&mut self, tier: ServiceTier, charge: Charge, price: Money) {
        self.rates_mut(tier).insert(charge, price);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.standard.is_empty() && self.batch.is_empty() && self.flex.is_empty() && self.priority.is_empty()
    }
}

fn get(rates: &Rates, charge: Charge) -> Option<Money> {
    rates.get(&charge).copied().or_else(|| match charge {
        Charge::CacheWrite => rates.get(&Charge::CacheWrite5m).copied(),
        _ => None,
    })
}

/// The prices of one model from a date on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelPrice {
    /// Canonical model name (lowercase).
    pub name: String,
    /// Provider (`openai`, `anthropic`, `google`, or LiteLLM's `litellm_provider`).
    pub provider: Option<String>,
    /// First day these prices apply (UTC).
    pub effective_from: NaiveDate,
    /// Other names of the same model (lowercase).
    pub aliases: Vec<String>,
    /// Prices for requests up to the first long-context threshold.
    pub base: TierPrices,
    /// Long-context tiers: prices for requests with more input tokens than the threshold,
    /// ascending by threshold.
    pub long_context: Vec<(u64, TierPrices)>,
    /// Batch price = standard price × this, for batch prices not given explicitly.
    pub batch_discount: Option<Money>,
}

/// One priced quantity of usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage<'a> {
    /// Model as the source names it.
    pub model: &'a str,
    /// What was used.
    pub charge: Charge,
    /// How much, in the charge's unit (tokens, images, seconds, characters, requests, GB-days).
    pub quantity: Money,
    /// Service tier.
    pub tier: ServiceTier,
    /// Input tokens of the request(s), when known: selects a long-context tier. Sources that
    /// only give a context-window band pass a value inside the band.
    pub request_input_tokens: Option<u64>,
    /// Day of the usage (UTC), to pick the price effective then.
    pub date: NaiveDate,
}

/// The price of one [`Usage`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// Price per unit of the charge.
    pub unit_price: Money,
    /// quantity × unit price, exact (rounded half away from zero at 18 decimals if ever needed).
    pub cost: Money,
    /// The book entry used.
    pub entry: String,
    /// Its effective date.
    pub effective_from: NaiveDate,
}

/// A dated price book.
#[derive(Clone, Debug, Default)]
pub struct PriceBook {
    /// Currency of every price (ISO 4217).
    pub currency: String,
    /// Date the book was last checked against the providers' price pages.
    pub as_of: Option<NaiveDate>,
    /// Where the prices come from.
    pub source: String,
    entries: Vec<ModelPrice>,
    index: HashMap<String, Vec<usize>>,
}

/// Multiplies exactly at scale 18, `None` on overflow; a remainder below 10⁻¹⁸ is rounded half
/// away from zero.
pub(crate) fn mul(a: Money, b: Money) -> Option<Money> {
    let (ai, af) = (a.raw() / ONE, a.raw() % ONE);
    let whole = ai.checked_mul(b.raw())?;
    let part = af.checked_mul(b.raw())?;
    let q = part / ONE;
    let r = part % ONE;
    let q = if r.abs() * 2 >= ONE { q + part.signum() } else { q };
    Some(Money::from_raw(whole.checked_add(q)?))
}

impl PriceBook {
    /// A book from entries.
    pub fn from_entries(currency: &str, as_of: Option<NaiveDate>, source: &str, entries: Vec<ModelPrice>) -> PriceBook {
        let mut book = PriceBook {
            currency: currency.to_string(),
            as_of,
            source: source.to_string(),
            entries,
            index: HashMap::new(),
        };
        book.entries.sort_by(|a, b| a.name.cmp(&b.name).then(a.effective_from.cmp(&b.effective_from)));
        for (i, e) in book.entries.iter().enumerate() {
            for n in std::iter::once(&e.name).chain(e.aliases.iter()) {
                book.index.entry(n.clone()).or_default().push(i);
            }
        }
        book
    }

    /// Adds another name for the entries of `target`; false when `target` is unknown.
    pub(crate) fn add_alias(&mut self, alias: &str, target: &str) -> bool {
        match self.index.get(target).cloned() {
            Some(ids) => {
                self.index.entry(alias.to_ascii_lowercase()).or_default().extend(ids);
                true
            }
            None => false,
        }
    }

    /// The entries (every model and effective date).
    pub fn entries(&self) -> &[ModelPrice] {
        &self.entries
    }

    /// The price book shipped with tally (`prices/price-book.toml` at build time).
    pub fn bundled() -> Result<PriceBook, PriceError> {
        PriceBook::from_toml(include_str!("../../../prices/price-book.toml"), "prices/price-book.toml (bundled)")
    }

    /// Reads a TOML price book file (`.toml`).
    pub fn load(path: &Path) -> Result<PriceBook, PriceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PriceError::Io { path: path.display().to_string(), source })?;
        PriceBook::from_toml(&text, &path.display().to_string())
    }

    /// Parses a TOML price book; `name` is used in messages.
    pub fn from_toml(text: &str, name: &str) -> Result<PriceBook, PriceError> {
        crate::book::toml_file::parse(text, name)
    }

    /// The entry for `model` effective on `date`: matched as given, without a provider prefix,
    /// then without a date suffix; the latest entry effective on or before `date`.
    pub fn find(&self, model: &str, date: NaiveDate) -> Result<&ModelPrice, PriceError> {
        for name in candidates(model) {
            let Some(ids) = self.index.get(&name) else { continue };
            let mut best: Option<&ModelPrice> = None;
            for e in ids.iter().filter_map(|i| self.entries.get(*i)) {
                if e.effective_from <= date && best.is_none_or(|b| e.effective_from >= b.effective_from) {
                    best = Some(e);
                }
            }
            if let Some(e) = best {
                return Ok(e);
            }
            let first = ids.iter().filter_map(|i| self.entries.get(*i)).map(|e| e.effective_from).min();
            if let Some(first) = first {
                return Err(PriceError::NotEffective { model: model.to_string(), date, first });
            }
        }
        Err(PriceError::UnknownModel { model: model.to_string() })
    }

    /// The price per unit of `usage`.
    pub fn unit_price(&self, usage: &Usage<'_>) -> Result<(Money, &ModelPrice), PriceError> {
        let entry = self.find(usage.model, usage.date)?;
        let (context, prices) = match usage.request_input_tokens {
            Some(n) => entry
                .long_context
                .iter()
                .rev()
                .find(|(above, _)| n > *above)
                .map(|(above, p)| (Some(*above), p))
                .unwrap_or((None, &entry.base)),
            None => (None, &entry.base),
        };
        let rate = get(prices.rates(usage.tier), usage.charge).or_else(|| match usage.tier {
            ServiceTier::Batch => {
                let d = entry.batch_discount?;
                mul(get(&prices.standard, usage.charge)?, d)
            }
            _ => None,
        });
        rate.map(|r| (r, entry)).ok_or_else(|| PriceError::NoRate {
            model: usage.model.to_string(),
            charge: usage.charge.key(),
            tier: match context {
                Some(above) => format!("{} (above {above} input tokens)", usage.tier.as_str()),
                None => usage.tier.as_str().to_string(),
            },
        })
    }

    /// Prices `usage`: quantity × the unit price of its model, charge, tier and context.
    pub fn price(&self, usage: &Usage<'_>) -> Result<Priced, PriceError> {
        let (unit_price, entry) = self.unit_price(usage)?;
        let cost = mul(usage.quantity, unit_price).ok_or_else(|| PriceError::Overflow {
            model: usage.model.to_string(),
            charge: usage.charge.key(),
            quantity: usage.quantity.to_string_min_dp(0),
        })?;
        Ok(Priced { unit_price, cost, entry: entry.name.clone(), effective_from: entry.effective_from })
    }
}

pub(crate) mod toml_file {
    //! The TOML price book format.

    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use serde::Deserialize;
    use tally_ledger::Money;

    use super::{Charge, ModelPrice, PriceBook, ServiceTier, TierPrices};
    use crate::PriceError;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct File {
        currency: String,
        as_of: toml::Value,
        #[serde(default)]
        source: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        model: Vec<Entry>,
    }

    type Table = BTreeMap<String, toml::Value>;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct Entry {
        name: String,
        provider: Option<String>,
        effective_from: toml::Value,
        #[serde(default)]
        aliases: Vec<String>,
        batch_discount: Option<toml::Value>,
        #[serde(default)]
        notes: String,
        standard: Table,
        batch: Option<Table>,
        flex: Option<Table>,
        priority: Option<Table>,
        #[serde(default)]
        long_context: Vec<Long>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct Long {
        above_input_tokens: u64,
        standard: Table,
        batch: Option<Table>,
        flex: Option<Table>,
        priority: Option<Table>,
    }

    fn date(v: &toml::Value) -> Option<NaiveDate> {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            _ => return None,
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()
    }

    fn decimal(v: &toml::Value) -> Result<Money, String> {
        match v {
            toml::Value::String(s) => Money::parse(s).map_err(|e| e.to_string()),
            toml::Value::Integer(i) => Ok(Money::from_int(*i)),
            toml::Value::Float(f) => {
                Err(format!("{f} is a TOML float: write prices as strings (\"{f}\") so they stay exact"))
            }
            other => Err(format!("`{other}` is not a decimal number")),
        }
    }

    fn tier(
        prices: &mut TierPrices,
        tier: ServiceTier,
        table: &Table,
        err: &dyn Fn(String) -> PriceError,
    ) -> Result<(), PriceError> {
        for (key, value) in table {
            let charge = Charge::from_key(key).ok_or_else(|| {
                err(format!(
                    "unknown price `{key}` in [{}] (known: {})",
                    tier.as_str(),
                    Charge::ALL.iter().map(|c| c.key()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let price = decimal(value).map_err(|e| err(format!("{key}: {e}")))?;
            if price.is_negative() {
                return Err(err(format!("{key}: a price cannot be negative")));
            }
            let per = charge.per();
            if price.raw() % per != 0 {
                return Err(err(format!("{key}: {price} has too many decimals to divide per unit exactly")));
            }
            prices.insert(tier, charge, Money::from_raw(price.raw() / per));
        }
        Ok(())
    }

    fn tiers(
        standard: &Table,
        batch: Option<&Table>,
        flex: Option<&Table>,
        priority: Option<&Table>,
        err: &dyn Fn(String) -> PriceError,
    ) -> Result<TierPrices, PriceError> {
        let mut p = TierPrices::default();
        tier(&mut p, ServiceTier::Standard, standard, err)?;
        for (t, table) in [(ServiceTier::Batch, batch), (ServiceTier::Flex, flex), (ServiceTier::Priority, priority)] {
            if let Some(table) = table {
                tier(&mut p, t, table, err)?;
            }
        }
        Ok(p)
    }

    pub(crate) fn parse(text: &str, path: &str) -> Result<PriceBook, PriceError> {
        let file: File = toml::from_str(text)
            .map_err(|e| PriceError::Malformed { path: path.to_string(), reason: e.to_string() })?;
        let _ = &file.description;
        let as_of = date(&file.as_of).ok_or_else(|| PriceError::Malformed {
            path: path.to_string(),
            reason: "as-of must be a date (YYYY-MM-DD)".to_string(),
        })?;
        if file.currency.len() != 3 || !file.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(PriceError::Malformed {
                path: path.to_string(),
                reason: format!("currency `{}` is not an ISO 4217 code", file.currency),
            });
        }
        let mut entries = Vec::with_capacity(file.model.len());
        let mut seen = std::collections::HashSet::new();
        for m in &file.model {
            let name = m.name.trim().to_ascii_lowercase();
            let err = |reason: String| PriceError::BadEntry { path: path.to_string(), model: m.name.clone(), reason };
            let _ = &m.notes;
            let effective_from =
                date(&m.effective_from).ok_or_else(|| err("effective-from must be a date (YYYY-MM-DD)".into()))?;
            if !seen.insert((name.clone(), effective_from)) {
                return Err(err(format!("listed twice with effective-from {effective_from}")));
            }
            let batch_discount = match &m.batch_discount {
                Some(v) => {
                    let d = decimal(v).map_err(|e| err(format!("batch-discount: {e}")))?;
                    if d.is_negative() || d > Money::from_int(1) {
                        return Err(err(format!("batch-discount {d} must be between 0 and 1 (a multiplier)")));
                    }
                    Some(d)
                }
                None => None,
            };
            let base = tiers(&m.standard, m.batch.as_ref(), m.flex.as_ref(), m.priority.as_ref(), &err)?;
            if base.standard.is_empty() {
                return Err(err("[standard] has no price".into()));
            }
            let mut long_context = Vec::new();
            for l in &m.long_context {
                let p = tiers(&l.standard, l.batch.as_ref(), l.flex.as_ref(), l.priority.as_ref(), &err)?;
                long_context.push((l.above_input_tokens, p));
            }
            long_context.sort_by_key(|(above, _)| *above);
            entries.push(ModelPrice {
                name,
                provider: m.provider.clone(),
                effective_from,
                aliases: m.aliases.iter().map(|a| a.trim().to_ascii_lowercase()).collect(),
                base,
                long_context,
                batch_discount,
            });
        }
        Ok(PriceBook::from_entries(&file.currency, Some(as_of), &file.source, entries))
    }
}
