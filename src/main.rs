//! The `tally` command line: a thin layer over the `tally-pipeline` library.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tally_ledger::layout::BillingMonth;
use tally_pipeline::{ConvertOptions, LoadedPipeline, PipelineError, RunOptions, RunReport};

/// What your AI really costs: provider and cloud bills into an exact, allocated AI TCO.
#[derive(Parser)]
#[command(name = "tally", version, about, long_about = None)]
struct Cli {
    /// Only print warnings and errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline: ingest new or changed exports, rebuild the months they touch, publish.
    Run {
        /// The pipeline file (TOML).
        pipeline: String,
        /// Rebuild only this billing month (YYYY-MM), even if no input changed.
        #[arg(long, value_parser = parse_month)]
        month: Option<BillingMonth>,
        /// Output root (path or URL), overriding the pipeline file's `out`.
        #[arg(long)]
        out: Option<String>,
        /// Compute everything and show what would change, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Make the reports as of this day (YYYY-MM-DD) instead of today (UTC): a month in
        /// progress then gets a month-end forecast, a later month is marked not started.
        #[arg(long, value_parser = parse_day)]
        as_of: Option<chrono::NaiveDate>,
        /// Print the run report as JSON on stdout instead of the summary screen.
        #[arg(long)]
        json: bool,
        /// Exit with code 3 when a rebuilt month raises these alerts (after publishing
        /// everything, alerts.json included): `anomaly`, `budget`, or both comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = ["anomaly", "budget"])]
        fail_on: Vec<String>,
    },
    /// Convert exports of one format into ledger rows in one Parquet file.
    Convert {
        /// Export format (see `tally formats`); detected from the header when omitted.
        #[arg(long = "from")]
        from: Option<String>,
        /// Output Parquet file (path or URL).
        #[arg(long, short)]
        output: String,
        /// Price book (TOML) for usage exports; the bundled prices/price-book.toml by default.
        #[arg(long)]
        prices: Option<String>,
        /// Input files, prefixes or globs (paths or URLs).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
    /// Check a pipeline file without running it, reporting every problem at once.
    Validate {
        /// The pipeline file (TOML).
        pipeline: String,
    },
    /// Show how every cent of a project's TCO for a month arrived (after `tally run`).
    Explain {
        /// The pipeline file (TOML).
        pipeline: String,
        /// Billing month (YYYY-MM).
        #[arg(long, value_parser = parse_month)]
        month: BillingMonth,
        /// Project name.
        #[arg(long)]
        project: String,
        /// Output root the run wrote (default: the pipeline file's `out`).
        #[arg(long)]
        out: Option<String>,
    },
    /// Download OpenAI or Anthropic admin usage and cost reports into object storage.
    Fetch {
        /// `openai` (OPENAI_ADMIN_KEY) or `anthropic` (ANTHROPIC_ADMIN_KEY).
        #[arg(value_parser = ["openai", "anthropic"])]
        provider: String,
        /// First day, YYYY-MM-DD.
        #[arg(long = "from")]
        from: chrono::NaiveDate,
        /// Last day (inclusive), YYYY-MM-DD.
        #[arg(long = "to")]
        to: chrono::NaiveDate,
        /// Where to write the pages (path or URL).
        #[arg(long)]
        dest: String,
        /// Retries for rate limits (429) and server errors (5xx).
        #[arg(long, default_value_t = 8)]
        max_retries: u32,
    },
    /// List the export formats tally reads.
    Formats,
}

fn parse_month(s: &str) -> Result<BillingMonth, String> {
    BillingMonth::parse(s).ok_or_else(|| format!("`{s}` is not a month: use YYYY-MM"))
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a day: use YYYY-MM-DD"))
}

/// Alerts raised by `run --fail-on` (the run itself succeeded and published its outputs).
#[derive(Debug)]
struct Alert(String);

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "alerts raised: {} (see reports/<month>/alerts.json)", self.0)
    }
}

impl std::error::Error for Alert {}

/// Exit code for alerts raised by `run --fail-on`.
const EXIT_ALERT: u8 = 3;
/// Exit code for bad configuration or bad input.
const EXIT_USER: u8 = 2;
/// Exit code for any other failure.
const EXIT_FAILURE: u8 = 1;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Polars engine settings tally runs with, unless the environment already sets them.
///
/// - `POLARS_FORCE_ASYNC`: read local Parquet files as a stream of chunks rather than through a
///   memory map whose pages count as resident memory that grows with the file. (Local CSV
///   inputs are memory-mapped by tally itself, which lets the pages go behind the reader: see
///   `tally-sources`' `mapped` module.)
/// - `POLARS_CSV_CHUNK_SIZE`: 8 MiB read-ahead chunks (Polars' default is 32 MiB) for a CSV that
///   cannot be mapped.
/// - `POLARS_ROW_GROUP_PREFETCH_SIZE`: read ahead one Parquet row group, not up to 128. With 4,
///   `tally run` peaked at 0.88, 1.23 and 1.93 GB for 1M, 2M and 4M rows; with 1 at 644, 705 and
///   701 MB, in the same time.
/// - `POLARS_FORCE_STREAMING`: every query (the totals, checks and report aggregations too, not
///   only the writes) runs on the streaming engine, which holds what it aggregates rather than
///   the columns it reads.
///
/// Peak memory of `tally convert` then hardly grows with the input (`bench/run.sh`, README
/// "Benchmarks").
const POLARS_DEFAULTS: [(&str, &str); 4] = [
    ("POLARS_FORCE_ASYNC", "1"),
    ("POLARS_CSV_CHUNK_SIZE", "8388608"),
    ("POLARS_ROW_GROUP_PREFETCH_SIZE", "1"),
    ("POLARS_FORCE_STREAMING", "1"),
];

fn main() -> ExitCode {
    // Before any thread starts (and before Polars reads its configuration).
    for (key, value) in POLARS_DEFAULTS {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    let cli = Cli::parse();
    if let Err(msg) = tally_ledger::frame::parquet_compression().and(tally_sources::direct_reader()) {
        let _ = writeln!(std::io::stderr(), "error: {msg}");
        return ExitCode::from(EXIT_USER);
    }
    let default_level = if cli.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();

    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err)
            if err.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            let user = err.downcast_ref::<PipelineError>().is_some_and(PipelineError::is_user_error);
            if err.downcast_ref::<Alert>().is_some() {
                let _ = writeln!(std::io::stderr(), "{err}");
                return ExitCode::from(EXIT_ALERT);
            }
            let mut msg = format!("error: {err}");
            for cause in err.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg.push_str(&format!("\n  caused by: {c}"));
                }
            }
            let _ = writeln!(std::io::stderr(), "{msg}");
            ExitCode::from(if user { EXIT_USER } else { EXIT_FAILURE })
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Run { pipeline, month, out, dry_run, as_of, json, fail_on } => {
            let p = LoadedPipeline::load(&pipeline)?;
            let report = rt.block_on(tally_pipeline::run(&p, &RunOptions { month, out, dry_run, as_of }))?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                write_summary(&mut stdout, &pipeline, &report)?;
            }
            let raised: Vec<String> = report
                .alerts
                .iter()
                .flat_map(|a| fail_on.iter().filter(|k| a.has(k)).map(move |k| format!("{k} in {}", a.billing_month)))
                .collect();
            if !raised.is_empty() {
                return Err(Alert(raised.join(", ")).into());
            }
        }
        Command::Convert { from, output, inputs, prices } => {
            let stats = rt.block_on(tally_pipeline::convert(&ConvertOptions {
                format: from,
                inputs,
                output: output.clone(),
                prices,
            }))?;
            writeln!(stdout, "wrote {} ledger rows to {output}", stats.rows)?;
            for (month, currencies) in &stats.months {
                for (cur, s) in currencies {
                    writeln!(
                        stdout,
                        "  {month} {cur}: {} rows, BilledCost {}, EffectiveCost {}",
                        s.rows, s.billed_cost, s.effective_cost
                    )?;
                }
            }
        }
        Command::Validate { pipeline } => {
            let p = LoadedPipeline::load(&pipeline)?;
            p.check()?;
            let c = &p.config;
            writeln!(
                stdout,
                "{pipeline}: ok ({} sources, {} projects, {} rules)",
                c.sources.len(),
                c.projects.len(),
                c.rules.len()
            )?;
        }
        Command::Explain { pipeline, month, project, out } => {
            let p = LoadedPipeline::load(&pipeline)?;
            let e = rt.block_on(tally_pipeline::explain(&p, month, &project, out.as_deref()))?;
            write_explanation(&mut stdout, &e)?;
        }
        Command::Fetch { provider, from, to, dest, max_retries } => {
            let provider = tally_pipeline::fetch::Provider::parse(&provider)
                .ok_or_else(|| PipelineError::Usage(format!("unknown provider `{provider}`")))?;
            let opts = tally_pipeline::fetch::FetchOptions { provider, from, to, dest: dest.clone(), max_retries };
            let r = rt.block_on(tally_pipeline::fetch::fetch(&opts))?;
            writeln!(stdout, "wrote {} pages to {dest} ({} retries)", r.pages.len(), r.retries)?;
        }
        Command::Formats => {
            for f in tally_sources::FORMATS {
                writeln!(stdout, "{:<18} {}", f.name(), f.description())?;
            }
        }
    }
    Ok(())
}

fn write_explanation(w: &mut impl Write, e: &tally_pipeline::Explanation) -> anyhow::Result<()> {
    writeln!(w, "{} — {} — TCO {} ({})", e.project, e.month, e.total.round_dp(2), e.cost_measure)?;
    let direct: tally_ledger::Money = e.direct.iter().map(|l| l.amount).sum();
    writeln!(w, "\ndirect {:>14}", direct.round_dp(2).to_string())?;
    for l in &e.direct {
        writeln!(w, "  {:<12} {:<36} {:<20} {:>14}", l.from, l.how, l.category, l.amount.round_dp(2).to_string())?;
    }
    let shared: tally_ledger::Money = e.shared.iter().map(|l| l.amount).sum();
    writeln!(w, "\nshared {:>14}", shared.round_dp(2).to_string())?;
    for l in &e.shared {
        writeln!(w, "  {:<24} {:<44} {:<16} {:>14}", l.from, l.how, l.category, l.amount.round_dp(2).to_string())?;
    }
    writeln!(w, "\ntotal  {:>14}   (exact: {})", e.total.round_dp(2).to_string(), e.total)?;
    Ok(())
}

fn write_summary(w: &mut impl Write, pipeline: &str, r: &RunReport) -> anyhow::Result<()> {
    let verb = if r.dry_run { "would write" } else { "wrote" };
    writeln!(w, "tally run {pipeline} → {}", r.out)?;
    writeln!(
        w,
        "objects: {} listed, {} read, {} removed since last run{}",
        r.objects_seen,
        r.objects_read,
        r.objects_removed,
        if r.superseded.is_empty() {
            String::new()
        } else {
            format!(", {} superseded by a later delivery", r.superseded.len())
        }
    )?;
    for s in &r.summaries {
        let pct = s.allocated_total.percent_of(s.ingested_total).unwrap_or_else(|| "100.0".into());
        writeln!(w)?;
        writeln!(
            w,
            "{}  TCO {} {}  allocated {} ({pct}%)  unallocated {}{}",
            s.billing_month,
            s.currency,
            s.ingested_total.round_dp(2),
            s.allocated_total.round_dp(2),
            s.unallocated_total.round_dp(2),
            match r.not_started.get(&s.billing_month.to_string()) {
                Some(day) => format!("  (not started on {day}: committed costs only)"),
                None => String::new(),
            }
        )?;
        for p in &s.projects {
            writeln!(w, "  {:<24} {:<24} {:>16}", p.project, p.business_unit, p.tco_total.round_dp(2).to_string())?;
        }
        writeln!(w, "  {:<24} {:<24} {:>16}", "(unallocated)", "", s.unallocated_total.round_dp(2).to_string())?;
        for o in &s.other_currencies {
            writeln!(w, "  not converted: {} rows in {}, total {}", o.rows, o.currency, o.total.round_dp(2))?;
        }
    }
    writeln!(w)?;
    if r.is_noop() {
        writeln!(w, "nothing changed since the last run")?;
    } else {
        writeln!(w, "{verb} {} files, deleted {}", r.files_written.len(), r.files_deleted.len())?;
    }
    Ok(())
}
