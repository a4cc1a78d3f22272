//! FOCUS 1.0–1.2 cost-and-usage exports (CSV, CSV.gz or Parquet) from any provider.
//!
//! The columns are FOCUS's own, so the mapping is the identity: typed, in ledger order, with
//! tally's `x_` columns added. Cost and quantity columns are read straight into
//! `Decimal(38, 18)` (E-notation included), never through a float.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;
use tally_ledger::frame::{billing_month_expr, category_expr, select_ledger, with_category_rules};
use tally_ledger::schema::{self, focus_column, Kind, FOCUS_COLUMNS};
use tally_ledger::MONEY_DTYPE;

use crate::{BadCell, CsvHead, Format, Input, SourceError};

/// The FOCUS format.
pub struct Focus;

const ROW: &str = "__tally_row";
const MONTH: &str = "__tally_month";

fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The chrono format of a FOCUS date/time sample such as `2026-09-01T00:00:00Z`.
pub fn datetime_format(sample: &str) -> Option<String> {
    let b = sample.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10)) {
        return None;
    }
    let mut fmt = String::from("%Y-%m-%d");
    if b.len() == 10 {
        return Some(fmt);
    }
    match b.get(10) {
        Some(b'T') => fmt.push('T'),
        Some(b' ') => fmt.push(' '),
        _ => return None,
    }
    if !(digits(11..13) && b.get(13) == Some(&b':') && digits(14..16)) {
        return None;
    }
    fmt.push_str("%H:%M");
    let mut i = 16;
    if b.get(16) == Some(&b':') && digits(17..19) {
        fmt.push_str(":%S");
        i = 19;
        if b.get(19) == Some(&b'.') {
            fmt.push_str("%.f");
            i = 20;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    let rest = &sample[i..];
    match rest {
        "" => {}
        "Z" => fmt.push('Z'),
        r if (r.starts_with('+') || r.starts_with('-')) && r.len() == 6 && r.as_bytes()[3] == b':' => {
            fmt.push_str("%:z")
        }
        r if (r.starts_with('+') || r.starts_with('-')) && r.len() == 5 => fmt.push_str("%z"),
        r if (r.starts_with('+') || r.starts_with('-')) && r.len() == 3 => fmt.push_str("%#z"),
        _ => return None,
    }
    Some(fmt)
}

/// Parses a text column as a UTC instant with an explicit format; unparseable values become
/// null (and are then reported by [`Format::diagnose`]).
pub fn parse_datetime(e: Expr, format: &str) -> Expr {
    e.str().to_datetime(
        Some(TimeUnit::Microseconds),
        Some(TimeZone::UTC),
        StrptimeOptions { format: Some(format.into()), strict: false, exact: true, cache: true },
        lit("raise"),
    )
}

struct Plan {
    lf: LazyFrame,
    /// FOCUS columns present, with the dtype they were read as.
    present: Vec<(&'static schema::Column, DataType)>,
    /// Date format per date/time column read as text.
    formats: HashMap<&'static str, String>,
}

fn check_columns(names: &[String], object: &str) -> Result<(), SourceError> {
    let missing: Vec<String> = FOCUS_COLUMNS
        .iter()
        .filter(|c| c.mandatory && !names.iter().any(|n| n == c.name))
        .map(|c| c.name.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(SourceError::MissingColumns { object: object.to_string(), columns: missing });
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(SourceError::Unreadable {
            object: object.to_string(),
            reason: format!("column `{dup}` appears twice in the header"),
        });
    }
    Ok(())
}

fn polars_err<'a>(object: &'a str, action: &'static str) -> impl FnOnce(PolarsError) -> SourceError + 'a {
    move |source| SourceError::Polars { object: object.to_string(), action, source }
}

fn csv_reader(path: &Path, schema: Schema) -> LazyCsvReader {
    LazyCsvReader::new_with_sources(crate::mapped::csv_sources(path))
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_row_index(Some(RowIndex { name: ROW.into(), offset: 1 }))
        .with_missing_is_null(true)
}

fn plan(input: &Input<'_>, all_text: bool) -> Result<Plan, SourceError> {
    if is_parquet(input.path) {
        return plan_parquet(input);
    }
    let head = CsvHead::read(input.path, input.object)?;
    check_columns(&head.columns, input.object)?;
    let mut schema = Schema::with_capacity(head.columns.len());
    let mut present = Vec::new();
    let mut formats = HashMap::new();
    for name in &head.columns {
        let col = focus_column(name);
        let dtype = match col {
            Some(c) if c.kind == Kind::Decimal && !all_text => MONEY_DTYPE,
            _ => DataType::String,
        };
        if let Some(c) = col {
            present.push((c, dtype.clone()));
            if c.kind == Kind::DateTime {
                let fmt =
                    head.sample(c.name).and_then(datetime_format).unwrap_or_else(|| "%Y-%m-%dT%H:%M:%SZ".to_string());
                formats.insert(c.name, fmt);
            }
        }
        schema.with_column(name.as_str().into(), dtype);
    }
    let lf = csv_reader(input.path, schema).finish().map_err(polars_err(input.object, "reading the CSV header"))?;
    Ok(Plan { lf, present, formats })
}

fn plan_parquet(input: &Input<'_>) -> Result<Plan, SourceError> {
    let args = ScanArgsParquet {
        row_index: Some(RowIndex { name: ROW.into(), offset: 1 }),
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    let mut lf = LazyFrame::scan_parquet(PlRefPath::new(input.path.to_string_lossy().as_ref()), args)
        .map_err(polars_err(input.object, "opening the Parquet file"))?;
    let file_schema = lf.collect_schema().map_err(polars_err(input.object, "reading the Parquet schema"))?;
    let names: Vec<String> = file_schema.iter_names().map(|n| n.to_string()).filter(|n| n != ROW).collect();
    check_columns(&names, input.object)?;
    let mut present = Vec::new();
    let mut formats = HashMap::new();
    for (name, dtype) in file_schema.iter() {
        if let Some(c) = focus_column(name) {
            present.push((c, dtype.clone()));
            if c.kind == Kind::DateTime && dtype == &DataType::String {
                let first = lf
                    .clone()
                    .select([col(c.name)])
                    .drop_nulls(None)
                    .limit(1)
                    .collect()
                    .map_err(polars_err(input.object, "reading a date sample"))?;
                let sample =
                    first.column(c.name).ok().and_then(|s| s.str().ok().and_then(|s| s.get(0).map(str::to_string)));
                let fmt =
                    sample.as_deref().and_then(datetime_format).unwrap_or_else(|| "%Y-%m-%dT%H:%M:%SZ".to_string());
                formats.insert(c.name, fmt);
            }
        }
    }
    Ok(Plan { lf, present, formats })
}

/// The typed expression of a FOCUS column read as `dtype`.
fn typed(c: &schema::Column, dtype: &DataType, formats: &HashMap<&'static str, String>) -> Expr {
    let e = col(c.name);
    match (c.kind, dtype) {
        (Kind::Decimal, DataType::Decimal(_, _)) => e.cast(MONEY_DTYPE),
        // Floats go through their shortest text form, which is the value the exporter meant.
        (Kind::Decimal, DataType::Float32 | DataType::Float64) => e.cast(DataType::String).cast(MONEY_DTYPE),
        // Text: leading blanks skipped, as Polars' CSV reader skips them before a decimal.
        (Kind::Decimal, _) => e.cast(DataType::String).str().strip_chars_start(lit(" \t")).cast(MONEY_DTYPE),
        (Kind::DateTime, DataType::String) => {
            parse_datetime(e, formats.get(c.name).map(String::as_str).unwrap_or("%Y-%m-%dT%H:%M:%SZ"))
        }
        (Kind::DateTime, DataType::Datetime(_, Some(_))) => {
            e.dt().convert_time_zone(TimeZone::UTC).cast(schema::datetime_dtype())
        }
        (Kind::DateTime, _) => e.cast(DataType::Datetime(TimeUnit::Microseconds, None)).dt().replace_time_zone(
            Some(TimeZone::UTC),
            lit("raise"),
            NonExistent::Raise,
        ),
        _ => e.cast(DataType::String),
    }
}

impl Format for Focus {
    fn name(&self) -> &'static str {
        "focus"
    }

    fn description(&self) -> &'static str {
        "FOCUS 1.0, 1.1 and 1.2 cost-and-usage exports (CSV, CSV.gz, Parquet) from any provider"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["BilledCost", "EffectiveCost", "ChargeCategory", "BillingPeriodStart"]
            .iter()
            .all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        let Plan { lf, present, formats } = plan(input, false)?;
        let mut exprs: HashMap<&'static str, Expr> = HashMap::new();
        for (c, dtype) in &present {
            exprs.insert(c.name, typed(c, dtype, &formats));
        }
        // `YYYY-MM` straight from the text when the dates are written in UTC (a `Z` or no
        // offset): slicing a string is cheaper than formatting a parsed date for every row.
        let month_from_text =
            present.iter().any(|(c, dtype)| c.name == "BillingPeriodStart" && dtype == &DataType::String)
                && formats
                    .get("BillingPeriodStart")
                    .is_some_and(|f| !f.contains("%z") && !f.contains("%:z") && !f.contains("%#z"));
        let mut with: Vec<Expr> = exprs.drain().map(|(k, e)| e.alias(k)).collect();
        if month_from_text {
            with.push(col("BillingPeriodStart").str().slice(lit(0), lit(7)).alias(MONTH));
        }
        let lf = lf.with_columns(with);
        let mut x: HashMap<&'static str, Expr> = HashMap::new();
        for (c, _) in &present {
            x.insert(c.name, col(c.name));
        }
        x.insert(schema::X_SOURCE, lit(input.source.to_string()));
        x.insert(schema::X_SOURCE_FORMAT, lit(self.name()));
        x.insert(schema::X_SOURCE_OBJECT, lit(input.object.to_string()));
        x.insert(schema::X_SOURCE_ROW, col(ROW));
        x.insert(schema::X_BILLING_MONTH, if month_from_text { col(MONTH) } else { billing_month_expr() });
        x.insert(schema::X_TCO_CATEGORY, category_expr());
        x.insert(schema::X_COST_BASIS, lit("billed"));
        Ok(with_category_rules(select_ledger(lf, x), input.category_rules))
    }

    fn diagnose(&self, input: &Input<'_>) -> Result<Option<BadCell>, SourceError> {
        let Plan { lf, present, formats } = plan(input, true)?;
        let mut checks = Vec::new();
        for (c, dtype) in &present {
            let parsed = match c.kind {
                Kind::Decimal | Kind::DateTime => typed(c, dtype, &formats),
                _ => col(c.name),
            };
            let bad = if c.nullable { col(c.name).is_not_null().and(parsed.is_null()) } else { parsed.is_null() };
            checks.push((c, bad));
        }
        if checks.is_empty() {
            return Ok(None);
        }
        let any_bad = checks.iter().map(|(_, b)| b.clone()).reduce(|a, b| a.or(b)).unwrap_or(lit(false));
        let mut sel = vec![col(ROW)];
        for (i, (c, bad)) in checks.iter().enumerate() {
            sel.push(bad.clone().alias(format!("__bad{i}")));
            sel.push(col(c.name).cast(DataType::String).alias(format!("__raw{i}")));
        }
        let df =
            lf.filter(any_bad).select(sel).limit(1).collect().map_err(polars_err(input.object, "checking values"))?;
        if df.height() == 0 {
            return Ok(None);
        }
        let row = df
            .column(ROW)
            .ok()
            .and_then(|c| c.cast(&DataType::UInt64).ok())
            .and_then(|c| c.u64().ok().and_then(|c| c.get(0)));
        for (i, (c, _)) in checks.iter().enumerate() {
            let flagged = df
                .column(&format!("__bad{i}"))
                .ok()
                .and_then(|s| s.bool().ok().and_then(|b| b.get(0)))
                .unwrap_or(false);
            if flagged {
                let value = df
                    .column(&format!("__raw{i}"))
                    .ok()
                    .and_then(|s| s.str().ok().and_then(|s| s.get(0).map(str::to_string)));
                let expected = match c.kind {
                    Kind::Decimal => "a decimal number",
                    Kind::DateTime => "a date/time (ISO 8601, e.g. 2026-10-01T00:00:00Z)",
                    _ => "a value",
                };
                return Ok(Some(BadCell {
                    row: row.unwrap_or(0),
                    column: c.name.to_string(),
                    value,
                    expected: expected.to_string(),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_date_formats_seen_in_exports() {
        let f = |s: &str| datetime_format(s);
        assert_eq!(f("2026-09-01T00:00:00Z").as_deref(), Some("%Y-%m-%dT%H:%M:%SZ"));
        assert_eq!(f("2026-09-01T00:00:00.000Z").as_deref(), Some("%Y-%m-%dT%H:%M:%S%.fZ"));
        assert_eq!(f("2026-09-01 00:00:00").as_deref(), Some("%Y-%m-%d %H:%M:%S"));
        assert_eq!(f("2026-09-01T00:00:00+00:00").as_deref(), Some("%Y-%m-%dT%H:%M:%S%:z"));
        assert_eq!(f("2026-09-01T00:00Z").as_deref(), Some("%Y-%m-%dT%H:%MZ"));
        assert_eq!(f("2026-09-01").as_deref(), Some("%Y-%m-%d"));
        assert_eq!(f("09/01/2026"), None);
    }
}
