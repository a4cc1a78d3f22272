//! Exact money: a fixed-point decimal with 18 fractional digits, stored as an `i128`.
//!
//! This is the same physical representation Polars uses for `Decimal(38, 18)`, so values move
//! between frames and Rust without any conversion, and sums are plain integer additions.

use std::fmt;
use std::str::FromStr;

use polars::prelude::DataType;

/// Number of fractional digits kept for every money and quantity column of the ledger.
pub const MONEY_SCALE: usize = 18;

/// The Polars type of every money column of the ledger.
pub const MONEY_DTYPE: DataType = DataType::Decimal(38, MONEY_SCALE);

const ONE: i128 = 1_000_000_000_000_000_000;

/// Digits of a currency's minor unit (ISO 4217): 2 for most, 0 for JPY, KRW…, 3 for BHD, KWD…
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Why a string could not be read as money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a decimal number.
    #[error("`{0}` is not a decimal number")]
    Invalid(String),
    /// The number has more fractional digits than the ledger keeps (after E-notation).
    #[error("`{0}` has more than 18 decimal places")]
    TooPrecise(String),
    /// The number does not fit in the ledger's range.
    #[error("`{0}` is out of range")]
    Overflow(String),
}

/// An exact amount with 18 fractional digits (the ledger's `Decimal(38, 18)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// Builds a value from its raw representation: a count of 10⁻¹⁸ units.
    pub const fn from_raw(raw: i128) -> Self {
        Money(raw)
    }

    /// The raw representation: a count of 10⁻¹⁸ units.
    pub const fn raw(self) -> i128 {
        self.0
    }

    /// A whole number of units.
    pub fn from_int(units: i64) -> Self {
        Money(i128::from(units) * ONE)
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Subtracts, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Whether the amount is negative.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Rounds half away from zero to `digits` fractional digits (e.g. 2 for cents).
    pub fn round_dp(self, digits: u32) -> Money {
        let digits = digits.min(MONEY_SCALE as u32);
        let unit = 10i128.pow(MONEY_SCALE as u32 - digits);
        let q = self.0 / unit;
        let r = self.0 % unit;
        let q = if r.abs() * 2 >= unit { q + self.0.signum() } else { q };
        Money(q * unit)
    }

    /// `self × num ÷ den`, rounded half away from zero to the ledger's 18 decimals; `None` when
    /// `den` is zero or the result does not fit.
    pub fn mul_div(self, num: Money, den: Money) -> Option<Money> {
        use ethnum::I256;
        if den.0 == 0 {
            return None;
        }
        let p = I256::from(self.0) * I256::from(num.0);
        let d = I256::from(den.0);
        let q = p / d;
        let r = p % d;
        let q = if r.abs() * 2 >= d.abs() { q + I256::from((p.signum() * d.signum()).as_i128()) } else { q };
        i128::try_from(q).ok().map(Money)
    }

    /// `self` as a percentage of `total`, rounded half away from zero to one decimal
    /// (`"87.5"`), computed exactly; `None` when `total` is zero or the values are too large.
    pub fn percent_of(self, total: Money) -> Option<String> {
        if total.0 == 0 {
            return None;
        }
        let num = self.0.checked_mul(2000)?;
        let q = num / total.0;
        let tenths = (q + q.signum()) / 2;
        let sign = if tenths < 0 { "-" } else { "" };
        Some(format!("{sign}{}.{}", tenths.abs() / 10, tenths.abs() % 10))
    }

    /// Formats with at least `min_dp` and at most 18 fractional digits, dropping trailing zeros.
    pub fn to_string_min_dp(self, min_dp: usize) -> String {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let int = abs / ONE as u128;
        let frac = abs % ONE as u128;
        let mut frac_s = format!("{frac:018}");
        while frac_s.len() > min_dp && frac_s.ends_with('0') {
            frac_s.pop();
        }
        let sign = if neg { "-" } else { "" };
        if frac_s.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac_s}")
        }
    }

    /// Parses a decimal number exactly: optional sign, digits, optional fraction, optional
    /// E-notation exponent (`35.2E-7`), as FOCUS allows. No float is involved.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let s = text.trim();
        let invalid = || MoneyError::Invalid(text.to_string());
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = s[i + 1..].parse().map_err(|_| invalid())?;
                (&s[..i], e)
            }
            None => (s, 0),
        };
        let (neg, digits) = match mantissa.as_bytes().first() {
            Some(b'-') => (true, &mantissa[1..]),
            Some(b'+') => (false, &mantissa[1..]),
            _ => (false, mantissa),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((a, b)) => (a, b),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        // value = all_digits * 10^(exp - frac_len); we want value * 10^18.
        let all: String = format!("{int_part}{frac_part}");
        let all = all.trim_start_matches('0');
        let shift = i64::from(exp) - frac_part.len() as i64 + MONEY_SCALE as i64;
        let overflow = || MoneyError::Overflow(text.to_string());
        let mut raw: i128 = 0;
        let digits_used: &str = if shift < 0 {
            let drop = shift.unsigned_abs() as usize;
            if drop >= all.len() {
                if all.is_empty() {
                    ""
                } else {
                    return Err(MoneyError::TooPrecise(text.to_string()));
                }
            } else {
                let (keep, dropped) = all.split_at(all.len() - drop);
                if dropped.bytes().any(|b| b != b'0') {
                    return Err(MoneyError::TooPrecise(text.to_string()));
                }
                keep
            }
        } else {
            all
        };
        for b in digits_used.bytes() {
            raw = raw.checked_mul(10).and_then(|r| r.checked_add(i128::from(b - b'0'))).ok_or_else(overflow)?;
        }
        if shift > 0 {
            let mul = 10i128.checked_pow(u32::try_from(shift).map_err(|_| overflow())?).ok_or_else(overflow)?;
            raw = if raw == 0 { 0 } else { raw.checked_mul(mul).ok_or_else(overflow)? };
        }
        // Keep within Decimal(38, 18).
        if raw >= 10i128.pow(38) {
            return Err(overflow());
        }
        Ok(Money(if neg { -raw } else { raw }))
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_min_dp(2))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_plain_and_e_notation_exactly() {
        assert_eq!(m("1").raw(), ONE);
        assert_eq!(m("-0.5").raw(), -ONE / 2);
        assert_eq!(m("35.2E-7").to_string_min_dp(0), "0.00000352");
        assert_eq!(m("3.52e-7").to_string_min_dp(0), "0.000000352");
        assert_eq!(m("1e-18").raw(), 1);
        assert_eq!(m("1.5E3").to_string(), "1500.00");
        assert_eq!(m(".25").to_string(), "0.25");
        assert_eq!(m("0.000000000000000000").raw(), 0);
        assert_eq!(m("12.340000000000000000000").to_string(), "12.34");
        assert_eq!(m("+7").to_string(), "7.00");
    }

    #[test]
    fn rejects_what_is_not_a_number_or_too_precise() {
        for bad in ["", "abc", "1.2.3", "1e", "--1", "1,5", "NaN", "e5", "."] {
            assert!(matches!(Money::parse(bad), Err(MoneyError::Invalid(_))), "{bad}");
        }
        assert!(matches!(Money::parse("1e-19"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e30"), Err(MoneyError::Overflow(_))));
    }

    #[test]
    fn mul_div_rounds_half_away_from_zero() {
        assert_eq!(m("150000").mul_div(m("1.25"), m("12")), Some(m("15625")));
        assert_eq!(m("1").mul_div(m("1"), m("3")).map(|v| v.to_string_min_dp(0)), Some("0.333333333333333333".into()));
        assert_eq!(m("2").mul_div(m("1"), m("3")).map(|v| v.to_string_min_dp(0)), Some("0.666666666666666667".into()));
        assert_eq!(
            m("-2").mul_div(m("1"), m("3")).map(|v| v.to_string_min_dp(0)),
            Some("-0.666666666666666667".into())
        );
        assert_eq!(m("1").mul_div(m("1"), Money::ZERO), None);
    }

    #[test]
    fn percentages_are_exact_to_one_decimal() {
        assert_eq!(m("1").percent_of(m("3")).as_deref(), Some("33.3"));
        assert_eq!(m("2").percent_of(m("3")).as_deref(), Some("66.7"));
        assert_eq!(m("7").percent_of(m("8")).as_deref(), Some("87.5"));
        assert_eq!(m("-1").percent_of(m("8")).as_deref(), Some("-12.5"));
        assert_eq!(m("5").percent_of(Money::ZERO), None);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(m("1.005").round_dp(2), m("1.01"));
        assert_eq!(m("-1.005").round_dp(2), m("-1.01"));
        assert_eq!(m("1.0049").round_dp(2), m("1"));
    }

    proptest! {
        #[test]
        fn display_round_trips(raw in -(10i128.pow(30))..10i128.pow(30)) {
            let v = Money::from_raw(raw);
            prop_assert_eq!(Money::parse(&v.to_string_min_dp(0)).ok(), Some(v));
        }

        #[test]
        fn e_notation_equals_shifted_plain(int in 0u64..1_000_000_000, exp in -9i32..9) {
            let e = Money::parse(&format!("{int}E{exp}"));
            let plain = if exp >= 0 {
                format!("{int}{}", "0".repeat(exp as usize))
            } else {
                let s = format!("{int:0>width$}", width = (-exp) as usize + 1);
                let (a, b) = s.split_at(s.len() - (-exp) as usize);
                format!("{a}.{b}")
            };
            prop_assert_eq!(e.ok(), Money::parse(&plain).ok());
        }
    }
}
