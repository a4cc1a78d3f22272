//! Exact splitting of an amount by weights: the largest-remainder method at the currency's
//! minor unit. The parts always add back to the amount exactly.

use crate::{Money, MONEY_SCALE};
use ethnum::U256;

/// Splits `total` in proportion to `weights` (non-negative; at least one positive).
///
/// Every part is a whole number of minor units (`10^-minor_digits`), distributed by the
/// largest-remainder method (ties to the earlier weight), except that digits of `total` below
/// the minor unit (cloud line items often carry them) go to the largest part, so that the parts
/// add back to `total` exactly. A zero weight always gets exactly zero. Returns `None` when no
/// weight is positive or a weight is negative.
pub fn split(total: Money, weights: &[Money], minor_digits: u32) -> Option<Vec<Money>> {
    if weights.iter().any(|w| w.is_negative()) {
        return None;
    }
    let w: Vec<U256> = weights.iter().map(|w| U256::from(w.raw().unsigned_abs())).collect();
    let sum: U256 = w.iter().copied().fold(U256::ZERO, |a, b| a + b);
    if sum == U256::ZERO {
        return None;
    }
    let unit = 10u128.pow(MONEY_SCALE as u32 - minor_digits.min(MONEY_SCALE as u32));
    let negative = total.is_negative();
    let abs = total.raw().unsigned_abs();
    let units = abs / unit;
    let residue = abs % unit;
    let units256 = U256::from(units);
    let mut parts: Vec<u128> = Vec::with_capacity(w.len());
    let mut remainders: Vec<(U256, usize)> = Vec::with_capacity(w.len());
    let mut given: u128 = 0;
    for (i, wi) in w.iter().enumerate() {
        let product = units256 * *wi;
        let q = product / sum;
        let r = product % sum;
        let q = q.as_u128();
        given += q;
        parts.push(q);
        if *wi > U256::ZERO {
            remainders.push((r, i));
        }
    }
    // Hand out the units lost to flooring, largest remainder first (earlier index on ties).
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = units - given;
    for (_, i) in &remainders {
        if left == 0 {
            break;
        }
        parts[*i] += 1;
        left -= 1;
    }
    let mut out: Vec<u128> = parts.iter().map(|p| p * unit).collect();
    if residue > 0 {
        // The largest part (earliest on ties) among positive weights carries the sub-unit digits.
        let mut best = remainders.first().map(|(_, i)| *i).unwrap_or(0);
        for (i, p) in out.iter().enumerate() {
            if w[i] > U256::ZERO && (*p > out[best] || (*p == out[best] && i < best)) {
                best = i;
            }
        }
        out[best] += residue;
    }
    Some(
        out.into_iter()
            .map(|p| {
                let v = p as i128;
                Money::from_raw(if negative { -v } else { v })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn show(v: &[Money]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn thirds_of_a_hundred_go_to_the_earliest_on_ties() {
        let parts = split(m("100"), &[m("1"), m("1"), m("1")], 2).unwrap_or_default();
        assert_eq!(show(&parts), ["33.34", "33.33", "33.33"]);
    }

    #[test]
    fn largest_remainder_not_first_come() {
        // Exact shares 10.004, 29.996 (×0.25/0.75 of 40.00): floor 10.00 + 29.99, the lost cent
        // goes to the larger remainder (0.006 > 0.004).
        let parts = split(m("40"), &[m("0.2501"), m("0.7499")], 2).unwrap_or_default();
        assert_eq!(show(&parts), ["10.00", "30.00"]);
        let parts = split(m("0.05"), &[m("1"), m("1")], 2).unwrap_or_default();
        assert_eq!(show(&parts), ["0.03", "0.02"]);
    }

    #[test]
    fn sub_cent_digits_go_to_the_largest_part_and_credits_stay_negative() {
        let parts = split(m("-10.005"), &[m("3"), m("1")], 2).unwrap_or_default();
        assert_eq!(show(&parts), ["-7.505", "-2.50"]);
        assert_eq!(parts.iter().copied().sum::<Money>(), m("-10.005"));
    }

    #[test]
    fn zero_weights_get_nothing_and_no_weight_is_no_split() {
        let parts = split(m("1"), &[m("0"), m("2"), m("0")], 2).unwrap_or_default();
        assert_eq!(show(&parts), ["0.00", "1.00", "0.00"]);
        assert_eq!(split(m("1"), &[m("0")], 2), None);
        assert_eq!(split(m("1"), &[], 2), None);
        assert_eq!(split(m("1"), &[m("-1"), m("2")], 2), None);
    }

    fn money_strategy() -> impl Strategy<Value = Money> {
        prop_oneof![
            (-10i128.pow(30)..10i128.pow(30)).prop_map(Money::from_raw),
            (-1_000_000_000i64..1_000_000_000).prop_map(|c| Money::from_raw(i128::from(c) * 10i128.pow(16))),
            Just(Money::ZERO),
        ]
    }

    fn weights_strategy() -> impl Strategy<Value = Vec<Money>> {
        prop::collection::vec(
            prop_oneof![
                Just(Money::ZERO),
                (0i128..10i128.pow(30)).prop_map(Money::from_raw),
                (0i64..1000).prop_map(Money::from_int),
            ],
            1..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn parts_add_back_exactly_and_stay_within_a_unit_of_the_exact_share(
            total in money_strategy(), weights in weights_strategy(), digits in 0u32..4
        ) {
            let positive = weights.iter().any(|w| w.raw() > 0);
            let parts = split(total, &weights, digits);
            prop_assert_eq!(parts.is_some(), positive);
            let Some(parts) = parts else { return Ok(()) };
            prop_assert_eq!(parts.iter().copied().sum::<Money>(), total);
            let unit = 10i128.pow(18 - digits);
            let sum_w: i128 = weights.iter().map(|w| w.raw()).sum::<i128>().max(1);
            let mut carriers = 0;
            for (p, w) in parts.iter().zip(&weights) {
                if w.raw() == 0 {
                    prop_assert_eq!(p.raw(), 0);
                    continue;
                }
                prop_assert_eq!(p.is_negative() && p.raw() != 0, total.is_negative() && p.raw() != 0);
                if p.raw() % unit != 0 {
                    carriers += 1;
                }
                // |part − exact share| ≤ one unit (plus the sub-unit residue on its carrier).
                let exact = (ethnum::I256::from(total.raw()) * ethnum::I256::from(w.raw())) / ethnum::I256::from(sum_w);
                let diff = (ethnum::I256::from(p.raw()) - exact).abs();
                prop_assert!(diff <= ethnum::I256::from(2 * unit), "part {p} exact {exact}");
            }
            prop_assert!(carriers <= 1, "at most one part carries sub-unit digits");
        }
    }
}
