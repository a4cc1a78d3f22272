//! Value metrics (the ROI input): a CSV of `project,month,metric,units,unit_value,value`.
//!
//! A row gives a metric's volume (`units`) and its value: `units × unit_value`, or a direct
//! `value` amount. A row with `units` only is a volume metric: it yields a unit cost (cost per
//! conversation, per request…) but no value. Amounts are exact decimals in the reporting
//! currency.

use std::collections::{BTreeMap, BTreeSet};

use tally_allocate::Project;
use tally_ledger::layout::BillingMonth;
use tally_ledger::Money;

use crate::ReportError;

/// One row of the value-metrics file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ValueRow {
    /// 1-based data row in the file (header excluded).
    pub row: usize,
    /// Project.
    pub project: String,
    /// Month.
    pub month: BillingMonth,
    /// Metric name (`conversations`, `hours_saved`, …).
    pub metric: String,
    /// Volume, when given.
    pub units: Option<Money>,
    /// Value in the reporting currency (`units × unit_value` or `value`), when given.
    pub value: Option<Money>,
}

/// A parsed value-metrics file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueMetrics {
    /// The file's name, as given (for messages).
    pub file: String,
    /// Its rows, in file order.
    pub rows: Vec<ValueRow>,
}

/// Splits one CSV line (RFC 4180 quotes, `""` inside quotes).
pub(crate) fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cur).trim().to_string()),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

impl ValueMetrics {
    /// Parses the CSV text of `file`. Every row must name a declared project and one of
    /// `months` (the months the output has); errors name the file, row and column.
    pub fn parse(
        file: &str,
        text: &str,
        projects: &[Project],
        months: &BTreeSet<BillingMonth>,
    ) -> Result<ValueMetrics, ReportError> {
        let bad = |row: usize, column: &str, message: String| ReportError::ValueMetrics {
            file: file.to_string(),
            row,
            column: column.to_string(),
            message,
        };
        let mut lines = text.lines();
        let header = split_csv_line(lines.next().unwrap_or("").trim_start_matches('\u{feff}'));
        let idx = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(pi), Some(mi), Some(ki)) = (idx("project"), idx("month"), idx("metric")) else {
            return Err(bad(0, "header", "the header must have columns project, month, metric".into()));
        };
        let (ui, vi, di) = (idx("units"), idx("unit_value"), idx("value"));
        if ui.is_none() && di.is_none() {
            return Err(bad(0, "header", "the header needs `units` (with `unit_value`) or `value`".into()));
        }
        let mut out = ValueMetrics { file: file.to_string(), rows: Vec::new() };
        let mut seen = BTreeSet::new();
        for (i, line) in lines.enumerate() {
            let row = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let cells = split_csv_line(line);
            let get = |j: Option<usize>| j.and_then(|j| cells.get(j)).map(String::as_str).unwrap_or("");
            let project = get(Some(pi));
            if !projects.iter().any(|p| p.name == project) {
                return Err(bad(
                    row,
                    "project",
                    format!("unknown project `{project}` (declare it under [[projects]])"),
                ));
            }
            let month_text = get(Some(mi));
            let month = BillingMonth::parse(month_text)
                .ok_or_else(|| bad(row, "month", format!("`{month_text}` is not a month (YYYY-MM)")))?;
            if !months.contains(&month) {
                return Err(bad(row, "month", format!("unknown month {month}: the ledger has no costs for it")));
            }
            let metric = get(Some(ki));
            if metric.is_empty() {
                return Err(bad(row, "metric", "the metric is empty".into()));
            }
            let amount = |column: &str, j: Option<usize>| -> Result<Option<Money>, ReportError> {
                let t = get(j);
                if t.is_empty() {
                    return Ok(None);
                }
                Money::parse(t).map(Some).map_err(|e| bad(row, column, e.to_string()))
            };
            let units = amount("units", ui)?;
            let unit_value = amount("unit_value", vi)?;
            let direct = amount("value", di)?;
            if units.is_some_and(Money::is_negative) {
                return Err(bad(row, "units", "units cannot be negative".into()));
            }
            let value = match (units, unit_value, direct) {
                (_, Some(_), Some(_)) => {
                    return Err(bad(row, "value", "give either `unit_value` or `value`, not both".into()));
                }
                (Some(u), Some(uv), None) => Some(
                    u.mul_div(uv, Money::from_int(1))
                        .ok_or_else(|| bad(row, "unit_value", "units × unit_value is out of range".into()))?,
                ),
                (None, Some(_), None) => {
                    return Err(bad(row, "units", "`unit_value` needs `units`".into()));
                }
                (_, None, Some(v)) => Some(v),
                (Some(_), None, None) => None,
                (None, None, None) => {
                    return Err(bad(row, "units", "give `units`, `units` and `unit_value`, or `value`".into()));
                }
            };
            if !seen.insert((project.to_string(), month, metric.to_string())) {
                return Err(bad(row, "metric", format!("duplicate metric `{metric}` for {project} in {month}")));
            }
            out.rows.push(ValueRow {
                row,
                project: project.to_string(),
                month,
                metric: metric.to_string(),
                units,
                value,
            });
        }
        Ok(out)
    }

    /// The value of `project` in `month` (`None` when no row gives a value).
    pub fn value(&self, project: &str, month: BillingMonth) -> Option<Money> {
        let mut any = false;
        let mut total = Money::ZERO;
        for r in self.rows.iter().filter(|r| r.project == project && r.month == month) {
            if let Some(v) = r.value {
                any = true;
                total += v;
            }
        }
        any.then_some(total)
    }

    /// Volume-only metrics of `project` in `month` (rows with units and no value), by metric.
    pub fn volumes(&self, project: &str, month: BillingMonth) -> BTreeMap<String, Money> {
        self.rows
            .iter()
            .filter(|r| r.project == project && r.month == month && r.value.is_none())
            .filter_map(|r| r.units.map(|u| (r.metric.clone(), u)))
            .collect()
    }

    /// Volumes of `project` in `month`, by metric (metric → units).
    pub fn units(&self, project: &str, month: BillingMonth) -> BTreeMap<String, Money> {
        self.rows
            .iter()
            .filter(|r| r.project == project && r.month == month)
            .filter_map(|r| r.units.map(|u| (r.metric.clone(), u)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects() -> Vec<Project> {
        vec![Project {
            name: "a".into(),
            business_unit: "BU".into(),
            cost_center: None,
            gl_account: None,
            monthly_budget: None,
        }]
    }

    fn months() -> BTreeSet<BillingMonth> {
        ["2026-09", "2026-10"].iter().filter_map(|m| BillingMonth::parse(m)).collect()
    }

    #[test]
    fn values_are_units_times_unit_value_or_direct() {
        let text = "project,month,metric,units,unit_value,value\n\
                    a,2026-10,tickets,\"1,000\",6.40,\n";
        // "1,000" is not a number: named by row and column.
        let err = ValueMetrics::parse("v.csv", text, &projects(), &months()).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("v.csv: row 1, column units: `1,000` is not a decimal number"));
        let text = "project,month,metric,units,unit_value,value\n\
                    a,2026-10,tickets,1000,6.40,\n\
                    a,2026-10,conversations,500000,,\n\
                    a,2026-10,avoided,,,250.5\n";
        let v = ValueMetrics::parse("v.csv", text, &projects(), &months()).unwrap_or_else(|e| panic!("{e}"));
        let m = BillingMonth::parse("2026-10").unwrap_or_else(|| panic!());
        assert_eq!(v.value("a", m), Money::parse("6650.5").ok());
        assert_eq!(v.units("a", m).len(), 2);
        assert_eq!(v.value("a", m.prev()), None);
    }

    #[test]
    fn unknown_projects_and_months_name_the_file_and_row() {
        let head = "project,month,metric,units,unit_value,value\n";
        let cases = [
            ("a,2026-10,x,1,,\nb,2026-10,x,1,,\n", "v.csv: row 2, column project: unknown project `b`"),
            ("a,2027-01,x,1,,\n", "v.csv: row 1, column month: unknown month 2027-01"),
            ("a,2026-10,x,,,\n", "v.csv: row 1, column units: give"),
            ("a,2026-10,x,1,2,3\n", "v.csv: row 1, column value: give either"),
            ("a,2026-10,x,1,,\na,2026-10,x,2,,\n", "v.csv: row 2, column metric: duplicate"),
        ];
        for (rows, want) in cases {
            let err = ValueMetrics::parse("v.csv", &format!("{head}{rows}"), &projects(), &months())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
