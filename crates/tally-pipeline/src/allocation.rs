//! The allocation stage of one month: attribution rules, pool membership, pool splits.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use tally_allocate::pools::{allocate, MonthInput};
use tally_allocate::{attribute, shares_frame, ROLE_DIRECT, ROLE_POOLED, X_ALLOCATION_ROLE, X_POOL};
use tally_ledger::frame::{money_at, scan_ledger, sink_parquet, str_at};
use tally_ledger::schema::{X_PROJECT, X_TCO_CATEGORY};
use tally_ledger::{minor_digits, Money, TcoCategory, MONEY_DTYPE};
use tally_storage::Location;

use crate::config::LoadedPipeline;
use crate::PipelineError;

/// Driver values read from files: driver → (month, target) → value.
pub type DriverFiles = BTreeMap<String, BTreeMap<(String, String), Money>>;

/// Reads every `file` driver (`month,target,value` CSV): a duplicate (month, target), a
/// negative or unreadable value, or a bad month is an error naming the file and row.
pub async fn load_driver_files(p: &LoadedPipeline, scratch: &Path) -> Result<DriverFiles, PipelineError> {
    let mut out = DriverFiles::new();
    for d in &p.config.drivers {
        let Some(file) = &d.file else { continue };
        let loc = Location::open(&p.resolve(file)?)?.with_display(file);
        let objects = loc.list_objects().await?;
        let Some(obj) = objects.first() else {
            return Err(tally_storage::StorageError::NotFound { url: file.clone() }.into());
        };
        let local = loc.fetch_local(obj, scratch).await?;
        let text = std::fs::read_to_string(&local)
            .map_err(|source| PipelineError::Io { path: local.display().to_string(), source })?;
        let bad = |row: usize, message: String| PipelineError::BadRow { object: file.clone(), row, message };
        let mut lines = text.lines();
        let header: Vec<String> =
            lines.next().unwrap_or("").split(',').map(|h| h.trim().trim_matches('"').to_string()).collect();
        let idx = |name: &str| header.iter().position(|h| h == name);
        let (Some(mi), Some(ti), Some(vi)) = (idx("month"), idx("target"), idx("value")) else {
            return Err(bad(0, "the header must have columns month, target, value".into()));
        };
        let values = out.entry(d.name.clone()).or_default();
        for (i, line) in lines.enumerate() {
            let row = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"')).collect();
            let get = |j: usize| cells.get(j).copied().unwrap_or("");
            let month = get(mi);
            if tally_ledger::layout::BillingMonth::parse(month).is_none() {
                return Err(bad(row, format!("column month: `{month}` is not a month (YYYY-MM)")));
            }
            let target = get(ti);
            let value = Money::parse(get(vi)).map_err(|e| bad(row, format!("column value: {e}")))?;
            if value.is_negative() {
                return Err(bad(row, format!("column value: negative driver value {value} for `{target}`")));
            }
            if values.insert((month.to_string(), target.to_string()), value).is_some() {
                return Err(bad(row, format!("duplicate value for month {month} and target `{target}`")));
            }
        }
    }
    Ok(out)
}

/// Rows whose source named a project or pool must name a declared one.
fn check_source_targets(p: &LoadedPipeline, month: &str, ledger: &LazyFrame) -> Result<(), PipelineError> {
    use tally_ledger::condition::is_in_list;
    use tally_ledger::schema::{X_POOL, X_SOURCE_OBJECT, X_SOURCE_ROW};
    let projects: Vec<&str> = p.config.projects.iter().map(|x| x.name.as_str()).collect();
    let pools: Vec<&str> = p.config.pools.iter().map(|x| x.name.as_str()).collect();
    for (column, known, what) in [(X_PROJECT, &projects, "project"), (X_POOL, &pools, "pool")] {
        let bad = ledger
            .clone()
            .filter(col(column).is_not_null().and(is_in_list(col(column), known).fill_null(lit(false)).not()))
            .select([col(X_SOURCE_OBJECT), col(X_SOURCE_ROW), col(column)])
            .limit(1)
            .collect()
            .map_err(polars(month))?;
        if bad.height() > 0 {
            let row = tally_ledger::frame::u64_at(&bad, X_SOURCE_ROW, 0) as usize;
            let name = str_at(&bad, column, 0).unwrap_or_default();
            return Err(PipelineError::BadRow {
                object: str_at(&bad, X_SOURCE_OBJECT, 0).unwrap_or_default(),
                row,
                message: format!("unknown {what} `{name}` (declare it under [[{what}s]] in {})", p.path),
            });
        }
    }
    Ok(())
}

fn polars<'a>(month: &'a str) -> impl FnOnce(PolarsError) -> PipelineError + 'a {
    move |source| PipelineError::Polars { stage: "allocation", month: month.to_string(), source }
}

/// Attributes the month's ledger rows, splits the pools, and writes the allocation dataset
/// file (rows and share rows) to `dest`. Returns warnings.
pub fn allocate_month(
    p: &LoadedPipeline,
    month: &str,
    files: &[std::path::PathBuf],
    driver_files: &DriverFiles,
    dest: &Path,
) -> Result<Vec<String>, PipelineError> {
    let cfg = &p.config;
    let measure = cfg.cost_measure.column();
    let ledger = scan_ledger(files).map_err(polars(month))?;
    check_source_targets(p, month, &ledger)?;
    let attributed = attribute(ledger, &cfg.rules, &cfg.projects, &cfg.pools);
    if cfg.pools.is_empty() {
        sink_parquet(attributed, dest).map_err(polars(month))?;
        return Ok(Vec::new());
    }
    let rows_path = dest.with_extension("rows.parquet");
    sink_parquet(attributed, &rows_path).map_err(polars(month))?;
    let rows = scan_ledger(std::slice::from_ref(&rows_path)).map_err(polars(month))?;

    let agg = rows
        .clone()
        .filter(col(X_ALLOCATION_ROLE).eq(lit(ROLE_DIRECT)).or(col(X_ALLOCATION_ROLE).eq(lit(ROLE_POOLED))))
        .group_by([col("BillingCurrency"), col(X_PROJECT), col(X_POOL), col(X_TCO_CATEGORY)])
        .agg([col(measure).sum().alias("amount")])
        .sort(
            ["BillingCurrency", X_PROJECT, X_POOL, X_TCO_CATEGORY],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
        .map_err(polars(month))?;
    let mut inputs: BTreeMap<String, MonthInput> = BTreeMap::new();
    for i in 0..agg.height() {
        let cur = str_at(&agg, "BillingCurrency", i).unwrap_or_default();
        let cat =
            str_at(&agg, X_TCO_CATEGORY, i).and_then(|c| TcoCategory::parse(&c)).unwrap_or(TcoCategory::Infrastructure);
        let amount = money_at(&agg, "amount", i);
        let input = inputs.entry(cur).or_default();
        match (str_at(&agg, X_PROJECT, i), str_at(&agg, X_POOL, i)) {
            (Some(project), _) => *input.direct.entry((project, cat)).or_insert(Money::ZERO) += amount,
            (None, Some(pool)) => *input.pooled.entry((pool, cat)).or_insert(Money::ZERO) += amount,
            (None, None) => {}
        }
    }
    // Drivers: from the ledger (per project, all currencies) or from files.
    let mut drivers: BTreeMap<String, BTreeMap<String, Money>> = BTreeMap::new();
    for d in &cfg.drivers {
        let values = drivers.entry(d.name.clone()).or_default();
        if let Some(column) = &d.column {
            let mut lf = rows.clone().filter(col(X_PROJECT).is_not_null());
            if let Some(w) = &d.when {
                lf = lf.filter(w.to_expr());
            }
            let df = lf
                .group_by([col(X_PROJECT)])
                .agg([col(column.as_str()).cast(MONEY_DTYPE).sum().alias("v")])
                .sort([X_PROJECT], Default::default())
                .collect()
                .map_err(polars(month))?;
            for i in 0..df.height() {
                if let Some(project) = str_at(&df, X_PROJECT, i) {
                    values.insert(project, money_at(&df, "v", i));
                }
            }
        } else if let Some(file_values) = driver_files.get(&d.name) {
            for ((m, target), v) in file_values {
                if m == month {
                    values.insert(target.clone(), *v);
                }
            }
        }
    }
    let mut frames = vec![rows];
    let mut warnings = Vec::new();
    for (currency, mut input) in inputs {
        input.drivers = drivers.clone();
        let (shares, w) = allocate(&cfg.pools, &cfg.projects, &input, minor_digits(&currency));
        warnings.extend(w.into_iter().map(|w| format!("{currency}: {w}")));
        if !shares.is_empty() {
            frames.push(shares_frame(&shares, month, &currency, measure, &cfg.projects).map_err(polars(month))?);
        }
    }
    let all =
        concat(frames, UnionArgs { parallel: false, rechunk: false, ..Default::default() }).map_err(polars(month))?;
    sink_parquet(all, dest).map_err(polars(month))?;
    let _ = std::fs::remove_file(&rows_path);
    Ok(warnings)
}
