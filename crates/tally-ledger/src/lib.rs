//! The FOCUS-aligned cost ledger: schema, exact money and the Parquet dataset layout.
//!
//! Every source format maps its rows onto [`schema::ledger_schema`]: the FOCUS 1.2 columns plus
//! tally's own `x_` columns. Money is never a float: in frames it is `Decimal(38, 18)`, and in
//! Rust it is [`Money`], an `i128` count of 10⁻¹⁸ units with the same physical layout.

pub mod category;
pub mod condition;
pub mod frame;
pub mod layout;
pub mod money;
pub mod schema;
pub mod split;

pub use category::TcoCategory;
pub use money::{minor_digits, Money, MoneyError, MONEY_DTYPE, MONEY_SCALE};
pub use split::split;
