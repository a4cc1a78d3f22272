//! `tally run`: the nightly job. Lists every source, converts new or changed objects, rebuilds
//! the months they touch (ledger → allocation → reports) aside in a scratch folder, then
//! publishes the files and, last, the manifest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use polars::prelude::*;
use tally_ledger::frame::{scan_ledger, sink_parquet};
use tally_ledger::layout::{partition_dir, partition_file, reports_dir, BillingMonth, Stage, MANIFEST};
use tally_ledger::schema::X_BILLING_MONTH;
use tally_report::Summary;
use tally_sources::{convert_to_parquet, Format, Input};
use tally_storage::{Location, ObjectInfo};
use tracing::{info, warn};

use crate::config::{LoadedPipeline, Restatement};
use crate::manifest::{self, Manifest, ObjectRecord, SourceState};
use crate::PipelineError;

/// Options of one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Rebuild only this month (from the current inputs), even if nothing changed.
    pub month: Option<BillingMonth>,
    /// Output root, overriding the pipeline file's `out`.
    pub out: Option<String>,
    /// Compute everything but publish nothing.
    pub dry_run: bool,
    /// The day the reports are made as of (today, UTC, when `None`): a month in progress on
    /// that day gets a month-end forecast, a month not started by then is marked so.
    pub as_of: Option<chrono::NaiveDate>,
}

/// What a run did, for the summary screen and for tests.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunReport {
    /// Output root.
    pub out: String,
    /// Nothing was published.
    pub dry_run: bool,
    /// Objects listed across all sources.
    pub objects_seen: usize,
    /// Objects read (new, changed, or needed to rebuild a month).
    pub objects_read: usize,
    /// Objects that disappeared since the last run.
    pub objects_removed: usize,
    /// Objects left out because a later delivery restated their month.
    pub superseded: Vec<String>,
    /// Months rebuilt.
    pub months_rebuilt: Vec<String>,
    /// Summaries of the rebuilt months.
    pub summaries: Vec<Summary>,
    /// Rebuilt months that had not started on the day of the run (their reports hold only
    /// costs already committed to them), with that day.
    pub not_started: BTreeMap<String, chrono::NaiveDate>,
    /// Files written (relative to the output root).
    pub files_written: Vec<String>,
    /// Files deleted (relative to the output root).
    pub files_deleted: Vec<String>,
    /// Alerts (anomalies, budgets) of the rebuilt months.
    pub alerts: Vec<tally_report::Alerts>,
}

impl RunReport {
    /// Whether the run changed nothing.
    pub fn is_noop(&self) -> bool {
        self.files_written.is_empty() && self.files_deleted.is_empty()
    }
}

struct Source<'a> {
    name: &'a str,
    quantities_only: bool,
    restatement: Restatement,
    format: &'static dyn Format,
    loc: Location,
    listing: Vec<ObjectInfo>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io { path: path.display().to_string(), source }
}

fn polars<'a>(stage: &'static str, month: &'a str) -> impl FnOnce(PolarsError) -> PipelineError + 'a {
    move |source| PipelineError::Polars { stage, month: month.to_string(), source }
}

async fn read_manifest(out: &Location) -> Result<Manifest, PipelineError> {
    match out.read_bytes(MANIFEST).await? {
        None => Ok(Manifest::default()),
        Some(bytes) => {
            let m: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| PipelineError::Manifest { url: out.display_of(MANIFEST), reason: e.to_string() })?;
            if m.version != manifest::VERSION {
                return Err(PipelineError::Manifest {
                    url: out.display_of(MANIFEST),
                    reason: format!("version {} (this tally writes {})", m.version, manifest::VERSION),
                });
            }
            Ok(m)
        }
    }
}

/// Scratch state: converted objects and staged outputs.
struct Work<'p> {
    pipeline: &'p LoadedPipeline,
    dir: PathBuf,
    converted: HashMap<(usize, String), PathBuf>,
    prices: tally_pricing::PriceBook,
    staged: BTreeMap<String, PathBuf>,
    deleted: BTreeSet<String>,
    objects_read: usize,
    next: usize,
    progress: indicatif::ProgressBar,
}

impl Work<'_> {
    fn scratch_file(&mut self, ext: &str) -> PathBuf {
        self.next += 1;
        self.dir.join(format!("f{:06}.{ext}", self.next))
    }

    /// Converts one object to ledger rows in the scratch folder, returning its record.
    async fn convert(&mut self, si: usize, src: &Source<'_>, obj: &ObjectInfo) -> Result<ObjectRecord, PipelineError> {
        self.progress.set_message(obj.display.clone());
        let local = src.loc.fetch_local(obj, &self.dir).await?;
        let dest = self.scratch_file("parquet");
        let input = Input {
            path: &local,
            object: &obj.display,
            source: src.name,
            category_rules: &self.pipeline.config.category_rules,
            prices: Some(&self.prices),
            quantities_only: src.quantities_only,
        };
        info!(object = %obj.display, format = src.format.name(), "reading");
        let stats = convert_to_parquet(src.format, &[input], &dest)?;
        if local.starts_with(&self.dir) {
            let _ = std::fs::remove_file(&local);
        }
        self.objects_read += 1;
        self.progress.inc(1);
        self.converted.insert((si, obj.rel.clone()), dest);
        Ok(ObjectRecord {
            object: obj.display.clone(),
            rel: obj.rel.clone(),
            size: obj.size,
            etag: obj.etag.clone(),
            last_modified: obj.last_modified.to_rfc3339(),
            months: stats.months,
        })
    }
}

/// The records that count for `month`, and those superseded by a later delivery.
fn choose<'r>(
    records: &'r [ObjectRecord],
    month: &str,
    mode: Restatement,
) -> (Vec<&'r ObjectRecord>, Vec<&'r ObjectRecord>) {
    let candidates: Vec<&ObjectRecord> = records.iter().filter(|r| r.months.contains_key(month)).collect();
    if mode == Restatement::All {
        return (candidates, Vec::new());
    }
    let mut latest: BTreeMap<&str, &str> = BTreeMap::new();
    for r in &candidates {
        let e = latest.entry(r.delivery()).or_insert(r.last_modified.as_str());
        if r.last_modified.as_str() > *e {
            *e = r.last_modified.as_str();
        }
    }
    let winner = latest.iter().max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0))).map(|(d, _)| *d);
    candidates.into_iter().partition(|r| Some(r.delivery()) == winner)
}

/// Runs the pipeline.
pub async fn run(p: &LoadedPipeline, opts: &RunOptions) -> Result<RunReport, PipelineError> {
    p.check()?;
    let cfg = &p.config;
    let out_url = match (&opts.out, &cfg.out) {
        (Some(o), _) => o.clone(),
        (None, Some(o)) => p.resolve(o)?,
        (None, None) => {
            return Err(PipelineError::Usage("no output: give --out or set `out` in the pipeline file".into()))
        }
    };
    let out = Location::open(&out_url)?;
    let old = read_manifest(&out).await?;
    let config_changed = old.pipeline_hash != p.hash;
    let today = opts.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    if config_changed && !old.pipeline_hash.is_empty() {
        info!("the pipeline file changed since the last run: rebuilding every month");
    }

    let mut sources = Vec::new();
    for s in &cfg.sources {
        let loc = Location::open(&p.resolve(&s.url)?)?.with_display(&s.url);
        let listing = loc.list_objects().await?;
        if listing.is_empty() {
            return Err(PipelineError::NoObjects { source_name: s.name.clone(), url: s.url.clone() });
        }
        sources.push(Source {
            name: &s.name,
            quantities_only: s.quantities_only,
            restatement: s.restatement,
            format: tally_sources::format_by_name(&s.format)?,
            loc,
            listing,
        });
    }

    let scratch = tempfile::tempdir().map_err(io(Path::new("scratch directory")))?;
    let total: usize = sources.iter().map(|s| s.listing.len()).sum();
    let progress = indicatif::ProgressBar::new(total as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} objects {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut work = Work {
        pipeline: p,
        dir: scratch.path().to_path_buf(),
        converted: HashMap::new(),
        prices: load_prices(p, scratch.path()).await?,
        staged: BTreeMap::new(),
        deleted: BTreeSet::new(),
        objects_read: 0,
        next: 0,
        progress,
    };
    let mut report =
        RunReport { out: out.display().to_string(), dry_run: opts.dry_run, objects_seen: total, ..Default::default() };

    // 1. What changed: convert new and changed objects; note the months they touch.
    let mut records: Vec<Vec<ObjectRecord>> = Vec::new();
    let mut kept_old: Vec<Vec<ObjectRecord>> = Vec::new();
    let mut affected: Vec<BTreeSet<String>> = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let old_objs: &[ObjectRecord] = old.sources.get(src.name).map(|s| s.objects.as_slice()).unwrap_or(&[]);
        let mut recs = Vec::new();
        let mut unchanged = Vec::new();
        let mut months = BTreeSet::new();
        for obj in &src.listing {
            let prev = old_objs.iter().find(|r| r.rel == obj.rel);
            match prev {
                Some(r) if r.same_version(obj) => {
                    recs.push(r.clone());
                    unchanged.push(r.clone());
                }
                _ => {
                    let rec = work.convert(si, src, obj).await?;
                    months.extend(rec.months.keys().cloned());
                    if let Some(r) = prev {
                        months.extend(r.months.keys().cloned());
                        unchanged.push(r.clone());
                    }
                    recs.push(rec);
                }
            }
        }
        for r in old_objs {
            if !src.listing.iter().any(|o| o.rel == r.rel) {
                report.objects_removed += 1;
                months.extend(r.months.keys().cloned());
            }
        }
        if config_changed {
            months.extend(recs.iter().flat_map(|r| r.months.keys().cloned()));
            months.extend(old.months.iter().cloned());
        }
        records.push(recs);
        kept_old.push(unchanged);
        affected.push(months);
    }
    if config_changed {
        let all: BTreeSet<String> = affected.iter().flatten().cloned().collect();
        affected.iter_mut().for_each(|a| *a = all.clone());
    }
    // Months published as not started that have started since: rebuilt, with the sources
    // that have rows in them.
    for month in old.not_started.iter().filter(|m| parse_month(m).is_ok_and(|bm| !bm.starts_after(today))) {
        for (si, recs) in records.iter().enumerate() {
            if recs.iter().any(|r| r.months.contains_key(month)) {
                affected[si].insert(month.clone());
            }
        }
    }
    if let Some(m) = opts.month {
        let m = m.to_string();
        affected.iter_mut().for_each(|a| *a = BTreeSet::from([m.clone()]));
    }

    // 2. Ledger: rebuild each affected (source, month) partition from the objects that count.
    let mut rebuilt: BTreeMap<String, BTreeMap<usize, Option<PathBuf>>> = BTreeMap::new();
    for (si, src) in sources.iter().enumerate() {
        for month in &affected[si] {
            let (chosen, superseded) = choose(&records[si], month, src.restatement);
            for r in &superseded {
                report.superseded.push(format!("{} ({month})", r.object));
            }
            let rel = partition_file(Stage::Ledger, parse_month(month)?, src.name);
            if chosen.is_empty() {
                rebuilt.entry(month.clone()).or_default().insert(si, None);
                work.deleted.insert(rel);
                continue;
            }
            let mut paths = Vec::new();
            for r in &chosen {
                let key = (si, r.rel.clone());
                if !work.converted.contains_key(&key) {
                    let obj = src.listing.iter().find(|o| o.rel == r.rel).cloned();
                    if let Some(obj) = obj {
                        work.convert(si, src, &obj).await?;
                    }
                }
                if let Some(path) = work.converted.get(&key) {
                    paths.push(path.clone());
                }
            }
            let dest = work.scratch_file("parquet");
            let lf = scan_ledger(&paths).map_err(polars("reading the ledger", month))?;
            sink_parquet(lf.filter(col(X_BILLING_MONTH).eq(lit(month.clone()))), &dest)
                .map_err(polars("writing the ledger", month))?;
            work.staged.insert(rel, dest.clone());
            rebuilt.entry(month.clone()).or_default().insert(si, Some(dest));
        }
    }
    work.progress.finish_and_clear();

    // 3. Allocation and reports for every rebuilt month, over all sources' ledger files.
    let driver_files = crate::allocation::load_driver_files(p, &work.dir).await?;
    // Every month the outputs will have, for value metrics and history.
    let known_months: std::collections::BTreeSet<BillingMonth> =
        old.months.iter().chain(rebuilt.keys()).filter_map(|m| BillingMonth::parse(m)).collect();
    let value_metrics = match &cfg.value_metrics {
        None => None,
        Some(file) => {
            let loc = Location::open(&p.resolve(file)?)?.with_display(file);
            let objects = loc.list_objects().await?;
            let Some(obj) = objects.first() else {
                return Err(tally_storage::StorageError::NotFound { url: file.clone() }.into());
            };
            let local = loc.fetch_local(obj, &work.dir).await?;
            let text = std::fs::read_to_string(&local).map_err(io(&local))?;
            Some(tally_report::ValueMetrics::parse(file, &text, &cfg.projects, &known_months)?)
        }
    };
    let templates = cfg.templates.as_ref().map(|t| p.resolve(t)).transpose()?.map(PathBuf::from);
    let report_options =
        tally_report::ReportOptions { showback: cfg.showback, today: Some(today), ..Default::default() };
    let mut points: BTreeMap<BillingMonth, tally_report::MonthPoint> = BTreeMap::new();
    let fx = crate::allocation::load_fx(p, &work.dir).await?;
    for (month, parts) in &rebuilt {
        let bm = parse_month(month)?;
        let mut files = Vec::new();
        for (si, src) in sources.iter().enumerate() {
            match parts.get(&si) {
                Some(Some(path)) => files.push(path.clone()),
                Some(None) => {}
                None => {
                    if let Some(path) = out.fetch_rel(&partition_file(Stage::Ledger, bm, src.name), &work.dir).await? {
                        files.push(path);
                    }
                }
            }
        }
        let alloc_rel = partition_file(Stage::Allocation, bm, "allocated");
        let summary_rel = format!("{}/summary.json", reports_dir(bm));
        if files.is_empty() {
            work.deleted.insert(alloc_rel);
            let _ = &summary_rel;
            for name in tally_report::REPORT_FILES {
                work.deleted.insert(format!("{}/{name}", reports_dir(bm)));
            }
            continue;
        }
        let alloc_path = work.scratch_file("parquet");
        let warnings = crate::allocation::allocate_month(p, month, &files, &driver_files, fx.as_ref(), &alloc_path)?;
        for w in warnings {
            warn!(month = %month, "{w}");
        }
        let summary = tally_report::summarize(
            scan_ledger(std::slice::from_ref(&alloc_path)).map_err(polars("reading the allocation", month))?,
            bm,
            &cfg.currency,
            cfg.cost_measure,
            &cfg.projects,
        )?;
        for o in &summary.other_currencies {
            warn!(month = %month, currency = %o.currency, rows = o.rows, "rows in a currency other than {} are left out of the totals", cfg.currency);
        }
        // Reports: trends and month-over-month from earlier months (this run's, else the
        // published summaries); the previous month's rows as the anomaly baseline.
        let mut history = Vec::new();
        for m in known_months.iter().filter(|m| **m < bm) {
            if let Some(point) = points.get(m) {
                history.push(point.clone());
            } else if let Some(bytes) = out.read_bytes(&format!("{}/summary.json", reports_dir(*m))).await? {
                history.push(tally_report::MonthPoint::from_json(
                    &out.display_of(&format!("{}/summary.json", reports_dir(*m))),
                    &bytes,
                )?);
            }
        }
        let prev_rel = partition_file(Stage::Allocation, bm.prev(), "allocated");
        let mut alloc_files = Vec::new();
        if let Some(prev) = work.staged.get(&prev_rel) {
            alloc_files.push(prev.clone());
        } else if let Some(prev) = out.fetch_rel(&prev_rel, &work.dir).await? {
            alloc_files.push(prev);
        }
        alloc_files.push(alloc_path.clone());
        let rendered = tally_report::render_month(tally_report::MonthInputs {
            summary: &summary,
            history: &history,
            projects: &cfg.projects,
            allocation: scan_ledger(&alloc_files).map_err(polars("reading the allocation", month))?,
            measure: cfg.cost_measure,
            value: value_metrics.as_ref(),
            templates: templates.as_deref(),
            options: &report_options,
        })?;
        for (name, bytes) in &rendered.files {
            let path = work.scratch_file("out");
            std::fs::write(&path, bytes).map_err(io(&path))?;
            work.staged.insert(format!("{}/{name}", reports_dir(bm)), path);
        }
        let _ = &summary_rel;
        points.insert(bm, tally_report::MonthPoint::from_summary(&summary, Some(&rendered.report)));
        work.staged.insert(alloc_rel, alloc_path);
        report.months_rebuilt.push(month.clone());
        if let Some(day) = rendered.report.not_started {
            report.not_started.insert(month.clone(), day);
        }
        report.alerts.push(rendered.alerts);
        report.summaries.push(summary);
    }
    report.objects_read = work.objects_read;

    // 4. The new manifest. With --month, objects touching other months keep their old record
    // (or none), so the next full run still sees them as changed.
    let mut new_manifest = Manifest {
        version: manifest::VERSION,
        pipeline_hash: if opts.month.is_some() && config_changed { old.pipeline_hash.clone() } else { p.hash.clone() },
        sources: BTreeMap::new(),
        months: Vec::new(),
        not_started: Vec::new(),
    };
    let mut months: BTreeSet<String> = old.months.iter().cloned().collect();
    let mut not_started: BTreeSet<String> =
        old.not_started.iter().filter(|m| !rebuilt.contains_key(*m)).cloned().collect();
    not_started.extend(report.not_started.keys().cloned());
    for (si, src) in sources.iter().enumerate() {
        let mut objects = Vec::new();
        for r in &records[si] {
            let complete = r.months.keys().all(|m| affected[si].contains(m));
            if complete || opts.month.is_none() {
                objects.push(r.clone());
            } else if let Some(prev) = kept_old[si].iter().find(|o| o.rel == r.rel) {
                objects.push(prev.clone());
            }
        }
        new_manifest.sources.insert(src.name.to_string(), SourceState { objects });
    }
    for month in rebuilt.keys() {
        let dir = partition_dir(Stage::Allocation, parse_month(month)?);
        if work.staged.keys().any(|k| k.starts_with(&dir)) {
            months.insert(month.clone());
        } else {
            months.remove(month);
        }
    }
    not_started.retain(|m| months.contains(m));
    new_manifest.months = months.into_iter().collect();
    new_manifest.not_started = not_started.into_iter().collect();
    let manifest_text = serde_json::to_string_pretty(&new_manifest).unwrap_or_default() + "\n";
    let unchanged_manifest = out.read_bytes(MANIFEST).await?.is_some_and(|b| b.as_ref() == manifest_text.as_bytes());

    // 5. Publish: files first, deletions, then the manifest (the commit point).
    for (rel, path) in &work.staged {
        let same = match out.fetch_rel(rel, &work.dir).await? {
            Some(existing) => files_equal(&existing, path),
            None => false,
        };
        if !same {
            report.files_written.push(rel.clone());
        }
    }
    for rel in &work.deleted {
        if !work.staged.contains_key(rel) && out.read_bytes(rel).await?.is_some() {
            report.files_deleted.push(rel.clone());
        }
    }
    if !unchanged_manifest {
        report.files_written.push(MANIFEST.to_string());
    }
    if opts.dry_run {
        return Ok(report);
    }
    for rel in &report.files_written {
        if let Some(path) = work.staged.get(rel) {
            out.publish_file(rel, path).await?;
        }
    }
    for rel in &report.files_deleted {
        out.delete(rel).await?;
    }
    if !unchanged_manifest {
        out.write_bytes(MANIFEST, Bytes::from(manifest_text)).await?;
    }
    Ok(report)
}

/// The pipeline's price book, or the bundled one.
pub(crate) async fn load_prices(p: &LoadedPipeline, scratch: &Path) -> Result<tally_pricing::PriceBook, PipelineError> {
    match &p.config.prices {
        None => Ok(tally_pricing::PriceBook::bundled()?),
        Some(url) => {
            let loc = Location::open(&p.resolve(url)?)?.with_display(url);
            let objects = loc.list_objects().await?;
            let Some(obj) = objects.first() else {
                return Err(tally_storage::StorageError::NotFound { url: url.clone() }.into());
            };
            let local = loc.fetch_local(obj, scratch).await?;
            let text = std::fs::read_to_string(&local).map_err(io(&local))?;
            Ok(tally_pricing::PriceBook::from_toml(&text, url)?)
        }
    }
}

fn parse_month(m: &str) -> Result<BillingMonth, PipelineError> {
    BillingMonth::parse(m).ok_or_else(|| PipelineError::Polars {
        stage: "reading billing months",
        month: m.to_string(),
        source: PolarsError::ComputeError(format!("`{m}` is not a billing month").into()),
    })
}

fn files_equal(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.len() == mb.len() => std::fs::read(a).ok() == std::fs::read(b).ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(rel: &str, modified: &str, months: &[&str]) -> ObjectRecord {
        ObjectRecord {
            object: rel.into(),
            rel: rel.into(),
            size: 1,
            etag: None,
            last_modified: modified.into(),
            months: months.iter().map(|m| (m.to_string(), BTreeMap::new())).collect(),
        }
    }

    #[test]
    fn the_latest_delivery_of_a_month_wins_whole() {
        let recs = vec![
            rec("2026-10/run1/part-1.csv", "2026-11-02T00:00:00+00:00", &["2026-10"]),
            rec("2026-10/run1/part-2.csv", "2026-11-02T00:00:01+00:00", &["2026-10"]),
            rec("2026-10/run2/part-1.csv", "2026-11-05T00:00:00+00:00", &["2026-10"]),
            rec("2026-09/run1/part-1.csv", "2026-10-03T00:00:00+00:00", &["2026-09"]),
        ];
        let (chosen, superseded) = choose(&recs, "2026-10", Restatement::LatestDelivery);
        assert_eq!(chosen.iter().map(|r| r.rel.as_str()).collect::<Vec<_>>(), ["2026-10/run2/part-1.csv"]);
        assert_eq!(superseded.len(), 2);
        let (chosen, _) = choose(&recs, "2026-10", Restatement::All);
        assert_eq!(chosen.len(), 3);
        let (chosen, superseded) = choose(&recs, "2026-09", Restatement::LatestDelivery);
        assert_eq!((chosen.len(), superseded.len()), (1, 0));
    }
}
