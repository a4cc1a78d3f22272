//! Spend anomalies: each day's usage spend per project and provider against a trailing
//! baseline, robustly (median and median absolute deviation), computed exactly.

use std::collections::{BTreeMap, BTreeSet};

use tally_ledger::Money;

use crate::detail::DailySpend;

/// How anomalies are detected.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AnomalyOptions {
    /// Days before each day that form its baseline.
    pub baseline_days: usize,
    /// Fewer baseline days than this: the day is not judged.
    pub min_baseline_days: usize,
    /// A day is anomalous when |spend − median| ÷ (1.4826 × MAD) is at least this.
    pub threshold: Money,
    /// …and |spend − median| is at least this amount (ignores noise on tiny series).
    pub min_deviation: Money,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        AnomalyOptions {
            baseline_days: 14,
            min_baseline_days: 7,
            threshold: Money::from_int(5),
            min_deviation: Money::from_int(100),
        }
    }
}

/// One anomalous day.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Anomaly {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Project (or `pool <name>`, `(unallocated)`).
    pub project: String,
    /// Provider.
    pub provider: String,
    /// The day's spend.
    pub actual: Money,
    /// The baseline median.
    pub expected: Money,
    /// actual − expected.
    pub deviation: Money,
    /// The robust score |deviation| ÷ (1.4826 × MAD), to one decimal (`None` when the
    /// baseline does not vary: then any deviation of at least `min_deviation` counts).
    pub score: Option<String>,
    /// `spike` or `drop`.
    pub direction: &'static str,
    /// Baseline days used.
    pub baseline_days: usize,
}

fn median(mut v: Vec<Money>) -> Money {
    v.sort();
    let n = v.len();
    if n == 0 {
        return Money::ZERO;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        Money::from_raw(v[n / 2 - 1].raw() / 2 + v[n / 2].raw() / 2 + (v[n / 2 - 1].raw() % 2 + v[n / 2].raw() % 2) / 2)
    }
}

fn next_day(day: &str) -> Option<String> {
    // Days are `YYYY-MM-DD`; step with the civil calendar.
    let y: i32 = day.get(0..4)?.parse().ok()?;
    let m: u32 = day.get(5..7)?.parse().ok()?;
    let d: u32 = day.get(8..10)?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        _ => 28,
    };
    let (y, m, d) = if d < len {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Anomalies among the days of `month` (`YYYY-MM`), judged against the trailing days of the
/// same series (days with no spend count as zero, from the first day the frame has). Sorted by
/// size (largest |deviation| first), then day, project, provider.
pub fn detect(daily: &[DailySpend], month: &str, opts: &AnomalyOptions) -> Vec<Anomaly> {
    let mut series: BTreeMap<(&str, &str), BTreeMap<&str, Money>> = BTreeMap::new();
    let mut days: BTreeSet<&str> = BTreeSet::new();
    for d in daily {
        *series.entry((d.project.as_str(), d.provider.as_str())).or_default().entry(d.day.as_str()).or_default() +=
            d.cost;
        days.insert(d.day.as_str());
    }
    let (Some(first), Some(last)) = (days.first(), days.last()) else { return Vec::new() };
    let mut grid = vec![first.to_string()];
    while grid.last().is_some_and(|d| d.as_str() < *last) && grid.len() < 3700 {
        match grid.last().and_then(|d| next_day(d)) {
            Some(n) => grid.push(n),
            None => break,
        }
    }
    let scale_factor = Money::from_raw(1_482_600_000_000_000_000); // 1.4826
    let mut out = Vec::new();
    for ((project, provider), values) in &series {
        let v: Vec<Money> = grid.iter().map(|d| values.get(d.as_str()).copied().unwrap_or_default()).collect();
        for (i, day) in grid.iter().enumerate() {
            if !day.starts_with(month) {
                continue;
            }
            let start = i.saturating_sub(opts.baseline_days);
            let base: Vec<Money> = v[start..i].to_vec();
            if base.len() < opts.min_baseline_days.max(1) {
                continue;
            }
            let med = median(base.clone());
            let mad = median(base.iter().map(|x| Money::from_raw((*x - med).raw().abs())).collect());
            let dev = v[i] - med;
            let abs = Money::from_raw(dev.raw().abs());
            if abs < opts.min_deviation || abs == Money::ZERO {
                continue;
            }
            let sigma = mad.mul_div(scale_factor, Money::from_int(1)).unwrap_or_default();
            let score = abs.mul_div(Money::from_int(1), sigma);
            if score.is_some_and(|s| s < opts.threshold) {
                continue;
            }
            out.push(Anomaly {
                day: day.clone(),
                project: project.to_string(),
                provider: provider.to_string(),
                actual: v[i],
                expected: med,
                deviation: dev,
                score: score.map(|s| s.round_dp(1).to_string_min_dp(1)),
                direction: if dev.is_negative() { "drop" } else { "spike" },
                baseline_days: base.len(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.deviation
            .raw()
            .abs()
            .cmp(&a.deviation.raw().abs())
            .then_with(|| a.day.cmp(&b.day))
            .then_with(|| a.project.cmp(&b.project))
            .then_with(|| a.provider.cmp(&b.provider))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, cost: i64) -> DailySpend {
        let (m, d) = if d > 30 { (10, d - 30) } else { (9, d) };
        DailySpend {
            day: format!("2026-{m:02}-{d:02}"),
            project: "p".into(),
            provider: "AWS".into(),
            cost: Money::from_int(cost),
        }
    }

    #[test]
    fn a_spike_against_a_noisy_baseline_is_found_and_sized() {
        let mut daily: Vec<DailySpend> = (1..=40).map(|d| day(d, 1000 + i64::from(d % 3) * 10)).collect();
        daily[35].cost = Money::from_int(3000); // 2026-10-06
        let found = detect(&daily, "2026-10", &AnomalyOptions::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        assert_eq!((a.day.as_str(), a.direction), ("2026-10-06", "spike"));
        assert_eq!(a.expected, Money::from_int(1010));
        assert_eq!(a.deviation, Money::from_int(1990));
        // September days are only baseline.
        assert!(detect(&daily, "2026-08", &AnomalyOptions::default()).is_empty());
    }

    #[test]
    fn flat_baselines_and_short_histories() {
        let mut daily: Vec<DailySpend> = (1..=10).map(|d| day(d, 500)).collect();
        daily[9].cost = Money::from_int(550); // below min_deviation
        assert!(detect(&daily, "2026-09", &AnomalyOptions::default()).is_empty());
        daily[9].cost = Money::from_int(0); // a drop to zero on a flat series
        let found = detect(&daily, "2026-09", &AnomalyOptions::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].direction, found[0].score.clone()), ("drop", None));
        assert_eq!(next_day("2028-02-28").as_deref(), Some("2028-02-29"));
        assert_eq!(next_day("2026-12-31").as_deref(), Some("2027-01-01"));
    }
}
