//! Exact JSON numbers: every number token is turned into a string holding its exact text before
//! `serde_json` sees it, so no value ever passes through an `f64`.

use tally_ledger::{Money, MoneyError, MONEY_SCALE};

/// Parses JSON text, with every number replaced by a string of its exact JSON text
/// (`0.1336` → `"0.1336"`, `2.5e-06` → `"2.5e-06"`).
pub fn parse_exact(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(&quote_numbers(text))
}

/// The JSON text with every number token outside strings wrapped in quotes.
pub fn quote_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for ch in text.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
            continue;
        }
        if in_number {
            if ch.is_ascii_digit() || matches!(ch, '.' | 'e' | 'E' | '+' | '-') {
                out.push(ch);
                continue;
            }
            out.push('"');
            in_number = false;
        }
        match ch {
            '"' => {
                in_string = true;
                out.push(ch);
            }
            '-' | '0'..='9' => {
                in_number = true;
                out.push('"');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    if in_number {
        out.push('"');
    }
    out
}

/// Reads a decimal number exactly; when it has more than 18 fractional digits (a float printed
/// in full, such as `0.00034500000000000004`) it is rounded half-even to 18 digits, the ledger's
/// precision, instead of being rejected.
pub fn money_rounded(text: &str) -> Result<Money, MoneyError> {
    match Money::parse(text) {
        Err(MoneyError::TooPrecise(_)) => {}
        other => return other,
    }
    let s = text.trim();
    let invalid = || MoneyError::Invalid(text.to_string());
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i64>().map_err(|_| invalid())?),
        None => (s, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).map(|b| b - b'0').collect();
    // value = all × 10^(exp − frac_len); keep `keep` digits so the scale is 18.
    let scale_shift = exp - frac_part.len() as i64 + MONEY_SCALE as i64; // < 0 here
    let drop = usize::try_from(-scale_shift).map_err(|_| invalid())?;
    let keep = all.len().saturating_sub(drop);
    let mut raw: i128 = 0;
    for d in &all[..keep] {
        raw = raw.checked_mul(10).and_then(|r| r.checked_add(i128::from(*d))).ok_or_else(invalid)?;
    }
    let rest = &all[keep..];
    let first_dropped = if drop > all.len() { 0 } else { rest.first().copied().unwrap_or(0) };
    let beyond_nonzero = rest.iter().skip(1).any(|d| *d != 0) || (drop > all.len() && rest.iter().any(|d| *d != 0));
    let round_up = if drop > all.len() {
        false
    } else {
        first_dropped > 5 || (first_dropped == 5 && (beyond_nonzero || raw % 2 == 1))
    };
    if round_up {
        raw = raw.checked_add(1).ok_or_else(invalid)?;
    }
    Ok(Money::from_raw(if neg { -raw } else { raw }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_their_exact_text() {
        let v = parse_exact(r#"{"a": 0.1336, "b": [2.5e-06, -3, 1E+2], "c": "x 1.5 \" 2", "d": null, "e": true}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["a"], "0.1336");
        assert_eq!(v["b"][0], "2.5e-06");
        assert_eq!(v["b"][1], "-3");
        assert_eq!(v["b"][2], "1E+2");
        assert_eq!(v["c"], "x 1.5 \" 2");
        assert!(v["d"].is_null());
        assert_eq!(v["e"], true);
        assert_eq!(parse_exact("42").unwrap_or_else(|e| panic!("{e}")), "42");
    }

    #[test]
    fn long_floats_round_half_even_to_18_digits() {
        let m = |s: &str| money_rounded(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m("0.000345").to_string_min_dp(0), "0.000345");
        assert_eq!(m("0.00034500000000000004").to_string_min_dp(0), "0.000345");
        assert_eq!(m("0.0000000000000000015").raw(), 2);
        assert_eq!(m("0.0000000000000000025").raw(), 2);
        assert_eq!(m("0.00000000000000000251").raw(), 3);
        assert_eq!(m("1.2345678901234567e-05").to_string_min_dp(0), "0.000012345678901235");
        assert_eq!(m("-1e-20").raw(), 0);
        assert!(money_rounded("abc").is_err());
    }
}
