//! Display formatting of exact amounts: the currency's minor unit, thousands separators, a
//! leading minus for negatives. Never a float.

use tally_ledger::{minor_digits, Money};

/// `amount` rounded half away from zero to `digits` decimals, with thousands separators:
/// `-1,234,567.89`.
pub fn grouped(amount: Money, digits: u32) -> String {
    let plain = amount.round_dp(digits).to_string_min_dp(digits as usize);
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(plain.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    // "-0.00" after rounding a tiny negative is shown as "0.00".
    let sign = if amount.round_dp(digits) == Money::ZERO { "" } else { sign };
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// An amount in `currency`, to its minor unit: `-1,234.56` (USD), `1,235` (JPY).
pub fn money(amount: Money, currency: &str) -> String {
    grouped(amount, minor_digits(currency))
}

/// A plain amount to the minor unit, for CSV journals: `-1234.56`.
pub fn plain(amount: Money, currency: &str) -> String {
    let digits = minor_digits(currency);
    amount.round_dp(digits).to_string_min_dp(digits as usize)
}

/// A unit cost (small amounts: cost per conversation, per 1,000 tokens): four decimals.
pub fn unit_cost(amount: Money) -> String {
    grouped(amount, 4)
}

/// `part ÷ total` as a percentage with one decimal (`"87.5"`), exact; `None` for a zero total.
pub fn percent(part: Money, total: Money) -> Option<String> {
    part.percent_of(total)
}

/// `a ÷ b` to two decimals (`"2.09"`), exact; `None` when `b` is zero.
pub fn ratio(a: Money, b: Money) -> Option<String> {
    a.mul_div(Money::from_int(1), b).map(|r| r.round_dp(2).to_string_min_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn groups_thousands_rounds_to_the_minor_unit_and_shows_negatives() {
        assert_eq!(money(m("1234567.894"), "USD"), "1,234,567.89");
        assert_eq!(money(m("-1234.565"), "USD"), "-1,234.57");
        assert_eq!(money(m("999.999"), "USD"), "1,000.00");
        assert_eq!(money(m("123456.5"), "JPY"), "123,457");
        assert_eq!(money(m("-0.001"), "USD"), "0.00");
        assert_eq!(money(m("12.3456"), "KWD"), "12.346");
        assert_eq!(money(Money::ZERO, "USD"), "0.00");
        assert_eq!(plain(m("-1234.565"), "USD"), "-1234.57");
        assert_eq!(unit_cost(m("0.0881234")), "0.0881");
        assert_eq!(ratio(m("43897.0056"), m("21012.6098")).as_deref(), Some("2.09"));
        assert_eq!(ratio(m("1"), Money::ZERO), None);
    }
}
