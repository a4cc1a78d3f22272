//! The price book: dated model prices, read from tally's TOML price book or imported from
//! LiteLLM's `model_prices_and_context_window.json`, and exact token pricing.
//!
//! Prices are [`Money`] per unit (per token, image, second, …), never floats. The pricing rules
//! are the ones popular tools get wrong: cached tokens are priced once, at the cached rate;
//! Anthropic cache writes at the rate of their TTL; batch usage at the batch rate; long requests
//! at the long-context tier; an unknown model is an error naming it, never a silent zero.

mod book;
mod error;
pub mod json;
mod litellm;
mod names;

pub use book::{Charge, ModelPrice, PriceBook, Priced, Rates, ServiceTier, TierPrices, Usage};
pub use error::PriceError;
pub use litellm::ImportReport;
pub use names::candidates;
pub use tally_ledger::Money;
