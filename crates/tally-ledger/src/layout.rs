//! Where each stage's Parquet dataset lives under a run's output root.
//!
//! Every dataset is hive-partitioned by billing month, so DuckDB
//! (`read_parquet('out/ledger/**/*.parquet', hive_partitioning = true)`) and Polars
//! (`scan_parquet` with hive partitioning) open it as is.

use std::fmt;

/// A billing month, `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingMonth {
    /// Calendar year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
}

impl BillingMonth {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<BillingMonth> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        (1..=12).contains(&month).then_some(BillingMonth { year, month })
    }

    /// Whether the month starts after `day` (it had not started on that day).
    pub fn starts_after(self, day: chrono::NaiveDate) -> bool {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).is_some_and(|first| first > day)
    }

    /// The month after this one.
    pub fn next(self) -> BillingMonth {
        if self.month == 12 {
            BillingMonth { year: self.year + 1, month: 1 }
        } else {
            BillingMonth { year: self.year, month: self.month + 1 }
        }
    }

    /// The month before this one.
    pub fn prev(self) -> BillingMonth {
        if self.month == 1 {
            BillingMonth { year: self.year - 1, month: 12 }
        } else {
            BillingMonth { year: self.year, month: self.month - 1 }
        }
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for BillingMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BillingMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BillingMonth::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a month (YYYY-MM)")))
    }
}

/// The stages that write a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Normalised ledger rows, one file per source per month.
    Ledger,
    /// Ledger rows with their project, business unit and allocation rule.
    Allocation,
}

impl Stage {
    /// Folder name under the output root.
    pub fn dir(self) -> &'static str {
        match self {
            Stage::Ledger => "ledger",
            Stage::Allocation => "allocation",
        }
    }
}

/// Key of the partition folder of `month` in a stage's dataset, relative to the output root.
pub fn partition_dir(stage: Stage, month: BillingMonth) -> String {
    format!("{}/billing_month={month}", stage.dir())
}

/// Key of one source's file for `month` in a stage's dataset, relative to the output root.
pub fn partition_file(stage: Stage, month: BillingMonth, part: &str) -> String {
    format!("{}/{part}.parquet", partition_dir(stage, month))
}

/// Key of the reports folder of `month`, relative to the output root.
pub fn reports_dir(month: BillingMonth) -> String {
    format!("reports/{month}")
}

/// Key of the run manifest, relative to the output root.
pub const MANIFEST: &str = "_tally/manifest.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step() {
        let m = BillingMonth::parse("2026-12").unwrap_or_else(|| panic!("parse"));
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(BillingMonth::parse("2026-13"), None);
        assert_eq!(BillingMonth::parse("2026-1"), None);
        assert_eq!(partition_file(Stage::Ledger, m, "aws"), "ledger/billing_month=2026-12/aws.parquet");
    }
}
