//! Rendering a month's reports: `tco.html`, `tco.md`, `chargeback.html`, `chargeback.md`,
//! `chargeback.csv`, `chargeback.xlsx`, `alerts.json` and the extended `summary.json`.
//!
//! Templates are minijinja files named as the outputs. They are looked up in the pipeline's
//! template directory first, then in the defaults built into the binary (the repository's
//! `reports/` folder), so a directory may override only some of them. `.html` templates
//! autoescape HTML; `.md` templates escape Markdown (tables and links cannot be broken by a
//! project or tag name). The charts are inline SVG built here from exact amounts.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use polars::prelude::LazyFrame;
use tally_allocate::Project;
use tally_ledger::Money;

use crate::anomaly::Anomaly;
use crate::chargeback::{self, Journal, JournalLine};
use crate::report::{self, MonthPoint, ProjectReport, Report, ReportInputs, ReportOptions};
use crate::value::ValueMetrics;
use crate::{format, CostMeasure, ReportError, Summary};

/// The templates built into the binary (from `reports/`).
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("tco.html", include_str!("../../../reports/tco.html")),
    ("tco.md", include_str!("../../../reports/tco.md")),
    ("chargeback.html", include_str!("../../../reports/chargeback.html")),
    ("chargeback.md", include_str!("../../../reports/chargeback.md")),
    ("_style.css", include_str!("../../../reports/_style.css")),
];

/// The rendered templates, in output order.
pub const RENDERED: [&str; 4] = ["tco.html", "tco.md", "chargeback.html", "chargeback.md"];

/// Everything `render_month` needs.
pub struct MonthInputs<'a> {
    /// The month's summary ([`crate::summarize`]).
    pub summary: &'a Summary,
    /// Earlier months, for trends, month-over-month and cumulative ROI (any order; months
    /// after this one are ignored).
    pub history: &'a [MonthPoint],
    /// The pipeline's projects.
    pub projects: &'a [Project],
    /// The month's allocation frame (`allocated.parquet`); it may also hold the previous
    /// month's rows, which then serve as the anomaly baseline for the first days.
    pub allocation: LazyFrame,
    /// The cost measure of the summary.
    pub measure: CostMeasure,
    /// Value metrics ([`ValueMetrics::parse`]), if any.
    pub value: Option<&'a ValueMetrics>,
    /// A template directory overriding the built-in templates (file by file).
    pub templates: Option<&'a Path>,
    /// Settings.
    pub options: &'a ReportOptions,
}

/// What a project's budget alert says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BudgetAlert {
    /// Project.
    pub project: String,
    /// Business unit.
    pub business_unit: String,
    /// Budget.
    pub budget: Money,
    /// Actual TCO.
    pub actual: Money,
    /// actual − budget.
    pub over_by: Money,
}

/// `alerts.json`: what `--fail-on anomaly,budget` looks at.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Alerts {
    /// Month.
    pub billing_month: tally_ledger::layout::BillingMonth,
    /// Currency.
    pub currency: String,
    /// Spend anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Projects over budget.
    pub budgets: Vec<BudgetAlert>,
}

impl Alerts {
    /// Whether any alert of `kind` (`anomaly` or `budget`) was raised.
    pub fn has(&self, kind: &str) -> bool {
        match kind {
            "anomaly" => !self.anomalies.is_empty(),
            "budget" => !self.budgets.is_empty(),
            _ => false,
        }
    }
}

/// A rendered month.
#[derive(Clone, Debug)]
pub struct RenderedMonth {
    /// `(file name, bytes)` to write in `reports/YYYY-MM/`, `summary.json` included (it
    /// replaces the plain summary: same fields first, then `report`).
    pub files: Vec<(String, Vec<u8>)>,
    /// The report data.
    pub report: Report,
    /// The alerts.
    pub alerts: Alerts,
    /// The chargeback journal.
    pub journal: Journal,
}

/// The extended `summary.json`: the summary's fields, then `report`.
#[derive(serde::Serialize)]
struct Extended<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    report: &'a Report,
}

fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn template_error(dir: Option<&Path>, e: &Error) -> ReportError {
    let name = e.name().unwrap_or("(template)").to_string();
    let file = match dir {
        Some(d) if d.join(&name).is_file() => d.join(&name).display().to_string(),
        _ => format!("{name} (built-in)"),
    };
    let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    ReportError::Template { file, line, message: format!("{}{detail}", e.kind()) }
}

/// The template environment: templates from `dir` (when given) over the built-in ones, the
/// `money`, `signed`, `unit_cost` and `pct` filters for `currency`.
pub fn environment(dir: Option<&Path>, currency: &str) -> Result<Environment<'static>, ReportError> {
    if let Some(d) = dir {
        if !d.is_dir() {
            return Err(ReportError::TemplateDir { dir: d.display().to_string(), message: "not a directory".into() });
        }
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    let dir: Option<PathBuf> = dir.map(Path::to_path_buf);
    env.set_loader(move |name| {
        if let Some(d) = &dir {
            let safe =
                !name.is_empty() && Path::new(name).components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if safe {
                match std::fs::read_to_string(d.join(name)) {
                    Ok(text) => return Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("reading {}", d.join(name).display()),
                        )
                        .with_source(e))
                    }
                }
            }
        }
        Ok(DEFAULT_TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, t)| (*t).to_string()))
    });
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".md") {
            AutoEscape::Custom("markdown")
        } else {
            minijinja::default_auto_escape_callback(name)
        }
    });
    env.set_formatter(|out, state, value| {
        if state.auto_escape() == AutoEscape::Custom("markdown") {
            if value.is_safe() {
                return out.write_str(&value.to_string()).map_err(Error::from);
            }
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            out.write_str(&markdown_escape(&value.to_string())).map_err(Error::from)
        } else if value.is_none() {
            minijinja::escape_formatter(out, state, &Value::UNDEFINED)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    let parse = |v: &Value| -> Option<Money> {
        if v.is_none() || v.is_undefined() {
            return None;
        }
        Money::parse(&v.to_string()).ok()
    };
    let cur = currency.to_string();
    env.add_filter("money", move |v: Value| parse(&v).map(|m| format::money(m, &cur)).unwrap_or_else(|| "–".into()));
    let cur = currency.to_string();
    env.add_filter("signed", move |v: Value| {
        parse(&v)
            .map(|m| {
                let s = format::money(m, &cur);
                if m > Money::ZERO && !s.starts_with('-') {
                    format!("+{s}")
                } else {
                    s
                }
            })
            .unwrap_or_else(|| "–".into())
    });
    env.add_filter("category", |v: Value| {
        let s = v.as_str().unwrap_or_default().to_string();
        tally_ledger::TcoCategory::parse(&s).map(|c| crate::report::category_label(c).to_string()).unwrap_or(s)
    });
    env.add_filter("unit_cost", move |v: Value| parse(&v).map(format::unit_cost).unwrap_or_else(|| "–".into()));
    env.add_filter("count", move |v: Value| parse(&v).map(|m| format::grouped(m, 0)).unwrap_or_else(|| "–".into()));
    env.add_filter("pct", |v: Value| if v.is_none() || v.is_undefined() { "n/a".to_string() } else { format!("{v}%") });
    env.add_filter("signed_pct", |v: Value| {
        if v.is_none() || v.is_undefined() {
            "n/a".to_string()
        } else {
            let s = v.to_string();
            if s.starts_with('-') || s == "0.0" {
                format!("{s}%")
            } else {
                format!("+{s}%")
            }
        }
    });
    Ok(env)
}

/// A business unit's chargeback statement.
#[derive(serde::Serialize)]
struct Statement<'a> {
    business_unit: &'a str,
    cost_centers: Vec<&'a str>,
    total: Money,
    lines: Vec<&'a JournalLine>,
    projects: Vec<&'a ProjectReport>,
}

/// Renders one month. Nothing is written: the caller writes `files` next to `summary.json`.
pub fn render_month(inputs: MonthInputs<'_>) -> Result<RenderedMonth, ReportError> {
    let s = inputs.summary;
    let detail = crate::detail::month_detail(inputs.allocation, s.billing_month, &s.currency, inputs.measure)?;
    let journal = chargeback::journal(s, inputs.projects);
    let report = report::build(
        &ReportInputs {
            summary: s,
            history: inputs.history,
            projects: inputs.projects,
            detail: &detail,
            value: inputs.value,
            options: inputs.options,
        },
        &journal,
    );
    let alerts = Alerts {
        billing_month: s.billing_month,
        currency: s.currency.clone(),
        anomalies: report.anomalies.clone(),
        budgets: report
            .projects
            .iter()
            .filter_map(|p| {
                let b = p.budget.as_ref().filter(|b| b.status == "unfavourable")?;
                Some(BudgetAlert {
                    project: p.project.clone(),
                    business_unit: p.business_unit.clone(),
                    budget: b.budget,
                    actual: b.actual,
                    over_by: b.actual - b.budget,
                })
            })
            .collect(),
    };

    let env = environment(inputs.templates, &s.currency)?;
    let charts = serde_json::json!({
        "categories": crate::charts::stacked_categories(&report.projects, &s.currency),
        "trend": crate::charts::trend(&report.trend, &s.currency),
        "waterfall": crate::charts::waterfall(&report.headline, &s.currency),
        "value": if report.projects.iter().any(|p| p.roi.is_some()) {
            crate::charts::value_vs_tco(&report.projects, &s.currency)
        } else {
            String::new()
        },
    });
    let charts: Value = charts
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), Value::from_safe_string(v.as_str().unwrap_or_default().to_string())))
                .collect::<std::collections::BTreeMap<String, Value>>()
        })
        .map(Value::from_serialize)
        .unwrap_or_default();
    let groups = chargeback::by_business_unit(&journal);
    let statements: Vec<Statement<'_>> = groups
        .iter()
        .map(|(bu, (lines, total))| {
            let mut ccs: Vec<&str> = lines.iter().map(|l| l.cost_center.as_str()).filter(|c| !c.is_empty()).collect();
            ccs.sort_unstable();
            ccs.dedup();
            Statement {
                business_unit: bu,
                cost_centers: ccs,
                total: *total,
                lines: lines.clone(),
                projects: report.projects.iter().filter(|p| &p.business_unit == bu).collect(),
            }
        })
        .collect();
    let ctx = minijinja::context! {
        month => s.billing_month.to_string(),
        currency => s.currency.clone(),
        cost_measure => s.cost_measure,
        summary => Value::from_serialize(s),
        report => Value::from_serialize(&report),
        journal => Value::from_serialize(&journal),
        statements => Value::from_serialize(&statements),
        showback => inputs.options.showback,
        charts => charts,
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut summary_json = serde_json::to_string_pretty(&Extended { summary: s, report: &report })
        .map_err(|e| ReportError::Json { file: "summary.json".into(), message: e.to_string() })?;
    summary_json.push('\n');
    files.push(("summary.json".into(), summary_json.into_bytes()));
    for name in RENDERED {
        let t = env.get_template(name).map_err(|e| template_error(inputs.templates, &e))?;
        let text = t.render(&ctx).map_err(|e| template_error(inputs.templates, &e))?;
        files.push((name.to_string(), text.into_bytes()));
    }
    files.push(("chargeback.csv".into(), chargeback::to_csv(&journal, inputs.options.showback).into_bytes()));
    files.push((
        "chargeback.xlsx".into(),
        chargeback::to_xlsx(&journal, &s.currency, s.billing_month, inputs.options.showback)?,
    ));
    let mut alerts_json = serde_json::to_string_pretty(&alerts)
        .map_err(|e| ReportError::Json { file: "alerts.json".into(), message: e.to_string() })?;
    alerts_json.push('\n');
    files.push(("alerts.json".into(), alerts_json.into_bytes()));
    Ok(RenderedMonth { files, report, alerts, journal })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_values_cannot_break_tables_or_inject_html() {
        assert_eq!(
            markdown_escape("a|b <script>x</script> [l](u) *e* & co"),
            "a\\|b &lt;script&gt;x&lt;/script&gt; \\[l\\](u) \\*e\\* & co"
        );
    }
}
