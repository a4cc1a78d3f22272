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

/// A small CSV input of the pipeline (drivers, exchange rates): its header and cells.
struct SmallCsv {
    file: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl SmallCsv {
    async fn read(p: &LoadedPipeline, file: &str, scratch: &Path) -> Result<SmallCsv, PipelineError> {
        let loc = Location::open(&p.resolve(file)?)?.with_display(file);
        let objects = loc.list_objects().await?;
        let Some(obj) = objects.first() else {
            return Err(tally_storage::StorageError::NotFound { url: file.to_string() }.into());
        };
        let local = loc.fetch_local(obj, scratch).await?;
        let text = std::fs::read_to_string(&local)
            .map_err(|source| PipelineError::Io { path: local.display().to_string(), source })?;
        let split = |l: &str| l.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect::<Vec<_>>();
        let mut lines = text.lines();
        let header = lines.next().map(split).unwrap_or_default();
        let rows = lines.map(split).collect();
        Ok(SmallCsv { file: file.to_string(), header, rows })
    }

    fn bad(&self, row: usize, message: String) -> PipelineError {
        PipelineError::BadRow { object: self.file.clone(), row, message }
    }

    fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N], PipelineError> {
        let mut out = [0; N];
        for (k, name) in names.iter().enumerate() {
            out[k] = self
                .header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| self.bad(0, format!("the header must have the columns {}", names.join(", "))))?;
        }
        Ok(out)
    }

    /// Data rows (1-based numbers) that are not blank.
    fn data(&self) -> impl Iterator<Item = (usize, &Vec<String>)> {
        self.rows.iter().enumerate().map(|(i, r)| (i + 1, r)).filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
    }
}

fn cell(r: &[String], i: usize) -> &str {
    r.get(i).map(String::as_str).unwrap_or("")
}

/// Reads every `file` driver (`month,target,value` CSV): a duplicate (month, target), a
/// negative or unreadable value, or a bad month is an error naming the file and row.
pub async fn load_driver_files(p: &LoadedPipeline, scratch: &Path) -> Result<DriverFiles, PipelineError> {
    let mut out = DriverFiles::new();
    for d in &p.config.drivers {
        let Some(file) = &d.file else { continue };
        let csv = SmallCsv::read(p, file, scratch).await?;
        let [mi, ti, vi] = csv.columns(["month", "target", "value"])?;
        let values = out.entry(d.name.clone()).or_default();
        for (row, r) in csv.data() {
            let month = cell(r, mi);
            if tally_ledger::layout::BillingMonth::parse(month).is_none() {
                return Err(csv.bad(row, format!("column month: `{month}` is not a month (YYYY-MM)")));
            }
            let target = cell(r, ti);
            let value = Money::parse(cell(r, vi)).map_err(|e| csv.bad(row, format!("column value: {e}")))?;
            if value.is_negative() {
                return Err(csv.bad(row, format!("column value: negative driver value {value} for `{target}`")));
            }
            if values.insert((month.to_string(), target.to_string()), value).is_some() {
                return Err(csv.bad(row, format!("duplicate value for month {month} and target `{target}`")));
            }
        }
    }
    Ok(out)
}

/// Exchange rates to the reporting currency, per month or per day.
#[derive(Clone, Debug, Default)]
pub struct FxTable {
    /// The file, as named in the pipeline.
    pub file: String,
    /// (YYYY-MM, currency) → rate.
    pub monthly: BTreeMap<(String, String), Money>,
    /// (YYYY-MM-DD, currency) → rate.
    pub daily: BTreeMap<(String, String), Money>,
}

/// Reads the pipeline's `fx` file: `month,currency,rate` or `date,currency,rate` rows (either
/// or both), rate = units of the reporting currency per unit of `currency`.
pub async fn load_fx(p: &LoadedPipeline, scratch: &Path) -> Result<Option<FxTable>, PipelineError> {
    let Some(file) = &p.config.fx else { return Ok(None) };
    let csv = SmallCsv::read(p, file, scratch).await?;
    let [ci, ri] = csv.columns(["currency", "rate"])?;
    let mi = csv.header.iter().position(|h| h == "month");
    let di = csv.header.iter().position(|h| h == "date");
    if mi.is_none() && di.is_none() {
        return Err(csv.bad(0, "the header must have a `month` or a `date` column".into()));
    }
    let mut fx = FxTable { file: file.clone(), ..Default::default() };
    for (row, r) in csv.data() {
        let currency = cell(r, ci).to_ascii_uppercase();
        if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(csv.bad(row, format!("column currency: `{currency}` is not a currency code such as EUR")));
        }
        let rate = Money::parse(cell(r, ri)).map_err(|e| csv.bad(row, format!("column rate: {e}")))?;
        if rate.raw() <= 0 {
            return Err(csv.bad(row, format!("column rate: {rate} is not a positive rate")));
        }
        let date = di.map(|i| cell(r, i)).filter(|d| !d.is_empty());
        let month = mi.map(|i| cell(r, i)).filter(|m| !m.is_empty());
        let (key, map) = match (date, month) {
            (Some(d), _) => {
                if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                    return Err(csv.bad(row, format!("column date: `{d}` is not a date (YYYY-MM-DD)")));
                }
                (d.to_string(), &mut fx.daily)
            }
            (None, Some(m)) => {
                if tally_ledger::layout::BillingMonth::parse(m).is_none() {
                    return Err(csv.bad(row, format!("column month: `{m}` is not a month (YYYY-MM)")));
                }
                (m.to_string(), &mut fx.monthly)
            }
            (None, None) => return Err(csv.bad(row, "a rate needs a month or a date".into())),
        };
        if map.insert((key.clone(), currency.clone()), rate).is_some() {
            return Err(csv.bad(row, format!("duplicate rate for {currency} on {key}")));
        }
    }
    Ok(Some(fx))
}

/// Converts every row billed in another currency into the reporting currency, with the daily
/// rate of its charge date or else the month's rate, recording `x_fx_rate` and
/// `x_fx_currency`. A currency in use without a rate is an error naming it and a row.
fn convert_currency(
    ledger: LazyFrame,
    fx: Option<&FxTable>,
    reporting: &str,
    month: &str,
) -> Result<(LazyFrame, Vec<String>), PipelineError> {
    use tally_ledger::schema::{X_FX_CURRENCY, X_FX_RATE, X_SOURCE_OBJECT, X_SOURCE_ROW};
    let foreign = col("BillingCurrency").neq(lit(reporting.to_string()));
    let Some(fx) = fx else {
        return Ok((ledger, Vec::new()));
    };
    let monthly: Vec<(&String, &Money)> =
        fx.monthly.iter().filter(|((m, _), _)| m == month).map(|((_, c), r)| (c, r)).collect();
    let daily: Vec<(&(String, String), &Money)> = fx.daily.iter().filter(|((d, _), _)| d.starts_with(month)).collect();
    let dec = |name: &str, v: Vec<i128>| {
        Int128Chunked::from_vec(name.into(), v)
            .into_decimal_unchecked(38, tally_ledger::MONEY_SCALE)
            .into_series()
            .into_column()
    };
    let m_df = DataFrame::new(
        monthly.len(),
        vec![
            Column::new("__fx_cur".into(), monthly.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>()),
            dec("__fx_m", monthly.iter().map(|(_, r)| r.raw()).collect()),
        ],
    )
    .map_err(polars(month))?;
    let d_df = DataFrame::new(
        daily.len(),
        vec![
            Column::new("__fx_day".into(), daily.iter().map(|((d, _), _)| d.as_str()).collect::<Vec<_>>()),
            Column::new("__fx_dcur".into(), daily.iter().map(|((_, c), _)| c.as_str()).collect::<Vec<_>>()),
            dec("__fx_d", daily.iter().map(|(_, r)| r.raw()).collect()),
        ],
    )
    .map_err(polars(month))?;
    let joined = ledger
        .with_column(col("ChargePeriodStart").dt().strftime("%Y-%m-%d").alias("__day"))
        .join(
            m_df.lazy(),
            [col("BillingCurrency")],
            [col("__fx_cur")],
            JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::KeepColumns),
        )
        .join(
            d_df.lazy(),
            [col("__day"), col("BillingCurrency")],
            [col("__fx_day"), col("__fx_dcur")],
            JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::KeepColumns),
        )
        .with_column(
            when(foreign.clone())
                .then(coalesce(&[col("__fx_d"), col("__fx_m")]))
                .otherwise(lit(NULL).cast(MONEY_DTYPE))
                .alias("__rate"),
        );
    let missing = joined
        .clone()
        .filter(foreign.clone().and(col("__rate").is_null()))
        .select([col("BillingCurrency"), col(X_SOURCE_OBJECT), col(X_SOURCE_ROW)])
        .limit(1)
        .collect()
        .map_err(polars(month))?;
    if missing.height() > 0 {
        return Err(PipelineError::MissingFx {
            file: fx.file.clone(),
            currency: str_at(&missing, "BillingCurrency", 0).unwrap_or_default(),
            month: month.to_string(),
            object: str_at(&missing, X_SOURCE_OBJECT, 0).unwrap_or_default(),
            row: tally_ledger::frame::u64_at(&missing, X_SOURCE_ROW, 0),
        });
    }
    let rate = col("__rate");
    let convert = |c: &str| when(rate.clone().is_not_null()).then(col(c) * rate.clone()).otherwise(col(c)).alias(c);
    let converted = joined
        .with_columns([
            convert("BilledCost"),
            convert("EffectiveCost"),
            convert("ListCost"),
            convert("ContractedCost"),
            rate.clone().alias(X_FX_RATE),
            when(rate.clone().is_not_null())
                .then(col("BillingCurrency"))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias(X_FX_CURRENCY),
        ])
        .with_column(
            when(rate.is_not_null())
                .then(lit(reporting.to_string()))
                .otherwise(col("BillingCurrency"))
                .alias("BillingCurrency"),
        )
        .select(tally_ledger::schema::ledger_columns().map(|c| col(c.name)).collect::<Vec<_>>());
    Ok((converted, Vec::new()))
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
    fx: Option<&FxTable>,
    dest: &Path,
) -> Result<Vec<String>, PipelineError> {
    let cfg = &p.config;
    let measure = cfg.cost_measure.column();
    let ledger = scan_ledger(files).map_err(polars(month))?;
    check_source_targets(p, month, &ledger)?;
    let (ledger, _) = convert_currency(ledger, fx, &cfg.currency, month)?;
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
