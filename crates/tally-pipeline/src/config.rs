//! The pipeline file (TOML): parsed, then validated with no I/O, every problem reported at once.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tally_allocate::pools::{Driver, Pool};
use tally_allocate::{Project, Rule};
use tally_ledger::frame::CategoryRule;
use tally_report::CostMeasure;

use crate::PipelineError;

/// How re-delivered exports of a billing month are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restatement {
    /// A delivery is the folder holding an object; for each month only the most recent delivery
    /// that contains the month counts (all its parts), so a restated export replaces the old one.
    #[default]
    LatestDelivery,
    /// Every object counts (exports overwritten in place, or split by day).
    All,
}

/// One input of a pipeline: where its objects are and how to read them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourceConfig {
    /// Name (`x_source`, and the ledger file name): lowercase letters, digits, `-`, `_`.
    pub name: String,
    /// Export format (`tally convert --help` lists them).
    pub format: String,
    /// Where the objects are: a path (relative to the pipeline file), `file://`, `s3://`,
    /// `gs://`, `az://`, `abfs://` or `memory://`; a prefix, one object, or a glob.
    pub url: String,
    /// How re-deliveries of a month are treated.
    #[serde(default)]
    pub restatement: Restatement,
    /// Another source bills the same usage (e.g. usage exports next to the cost export, or a
    /// gateway's logs next to the provider's bill): take only quantities from this one.
    #[serde(default)]
    pub quantities_only: bool,
}

/// A pipeline file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// Reporting currency (ISO 4217).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Which cost column measures TCO.
    #[serde(default)]
    pub cost_measure: CostMeasure,
    /// Output root (relative to the pipeline file); `--out` overrides it.
    #[serde(default)]
    pub out: Option<String>,
    /// Inputs.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Category overrides, checked before the defaults.
    #[serde(default)]
    pub category_rules: Vec<CategoryRule>,
    /// The organisation's AI projects.
    #[serde(default)]
    pub projects: Vec<Project>,
    /// Attribution rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Shared cost pools, split in declared order.
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// Drivers for pools split by driver.
    #[serde(default)]
    pub drivers: Vec<Driver>,
    /// The price book for usage exports (path or URL, relative to the pipeline file); the
    /// bundled `prices/price-book.toml` when absent.
    #[serde(default)]
    pub prices: Option<String>,
    /// A folder of minijinja templates overriding the built-in reports (file by file).
    #[serde(default)]
    pub templates: Option<String>,
    /// Value metrics for ROI: CSV `project,month,metric,units,unit_value,value`.
    #[serde(default)]
    pub value_metrics: Option<String>,
    /// Showback: chargeback journals without cost centres and GL accounts.
    #[serde(default)]
    pub showback: bool,
    /// Exchange rates to the reporting currency: a CSV `month,currency,rate` or
    /// `date,currency,rate` (path or URL, relative to the pipeline file).
    #[serde(default)]
    pub fx: Option<String>,
}

fn default_currency() -> String {
    "USD".to_string()
}

/// One problem in a pipeline file: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, e.g. `sources[1].format`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

const SCHEMES: &[&str] = &["file", "memory", "s3", "s3a", "gs", "az", "azure", "abfs", "abfss"];

fn url_problem(url: &str) -> Option<String> {
    if url.trim().is_empty() {
        return Some("empty URL".to_string());
    }
    if let Err(e) = interpolate(url) {
        return Some(e);
    }
    match url.split_once("://") {
        Some((scheme, _)) if !SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) => Some(format!(
            "unsupported URL scheme `{scheme}` (use a path, file://, s3://, gs://, az://, abfs:// or memory://)"
        )),
        _ => None,
    }
}

/// Replaces `${NAME}` with the environment variable `NAME` (for bucket names and paths that
/// differ between environments).
pub fn interpolate(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed `${{` in `{s}`"));
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => return Err(format!("environment variable `{name}` (used in `{s}`) is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Pipeline {
    /// Parses a pipeline file's text.
    pub fn parse(text: &str, path: &str) -> Result<Pipeline, PipelineError> {
        toml::from_str(text).map_err(|e| PipelineError::ParseConfig {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Every problem in the pipeline; empty when it is valid. Does no I/O.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut add = |at: String, message: String| out.push(Problem { at, message });
        if self.name.trim().is_empty() {
            add("name".into(), "empty pipeline name".into());
        }
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            add("currency".into(), format!("`{}` is not an ISO 4217 code such as USD", self.currency));
        }
        if let Some(out_url) = &self.out {
            if let Some(p) = url_problem(out_url) {
                add("out".into(), p);
            }
        }
        if self.sources.is_empty() {
            add("sources".into(), "no sources: add at least one [[sources]] table".into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = |f: &str| format!("sources[{i}].{f}");
            if s.name.is_empty()
                || !s.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                add(at("name"), format!("`{}`: use lowercase letters, digits, `-` and `_`", s.name));
            } else if !names.insert(s.name.as_str()) {
                add(at("name"), format!("duplicate source name `{}`", s.name));
            }
            if let Err(e) = tally_sources::format_by_name(&s.format) {
                add(at("format"), e.to_string());
            }
            if let Some(p) = url_problem(&s.url) {
                add(at("url"), p);
            }
        }
        for (i, r) in self.category_rules.iter().enumerate() {
            for p in r.when.problems() {
                add(format!("category-rules[{i}].when"), p);
            }
        }
        let mut pnames = std::collections::HashSet::new();
        for (i, p) in self.projects.iter().enumerate() {
            if p.name.trim().is_empty() {
                add(format!("projects[{i}].name"), "empty project name".into());
            } else if !pnames.insert(p.name.as_str()) {
                add(format!("projects[{i}].name"), format!("duplicate project `{}`", p.name));
            }
            if p.business_unit.trim().is_empty() {
                add(format!("projects[{i}].business-unit"), "empty business unit".into());
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            for p in r.problems(&self.projects) {
                add(format!("rules[{i}]"), p);
            }
        }
        for (at, p) in tally_allocate::pools::problems(&self.pools, &self.drivers, &self.projects) {
            add(at, p);
        }
        if let Some(p) = self.value_metrics.as_deref().and_then(url_problem) {
            add("value-metrics".into(), p);
        }
        if let Some(t) = &self.templates {
            if t.contains("://") {
                add("templates".into(), "a template folder must be a local path".into());
            }
        }
        if let Some(p) = self.prices.as_deref().and_then(url_problem) {
            add("prices".into(), p);
        }
        if let Some(p) = self.fx.as_deref().and_then(url_problem) {
            add("fx".into(), p);
        }
        for (i, d) in self.drivers.iter().enumerate() {
            if let Some(p) = d.file.as_deref().and_then(url_problem) {
                add(format!("drivers[{i}].file"), p);
            }
        }
        out
    }
}

/// A pipeline file read from disk, with where it lives.
#[derive(Clone, Debug)]
pub struct LoadedPipeline {
    /// The parsed file.
    pub config: Pipeline,
    /// Its path, as given.
    pub path: String,
    /// The folder relative paths in it are resolved against.
    pub base_dir: PathBuf,
    /// SHA-256 of the file's text: a changed file rebuilds every month.
    pub hash: String,
}

impl LoadedPipeline {
    /// Reads and parses a pipeline file (no validation: see [`Pipeline::validate`]).
    pub fn load(path: &str) -> Result<LoadedPipeline, PipelineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PipelineError::ReadConfig { path: path.to_string(), source })?;
        let config = Pipeline::parse(&text, path)?;
        let base_dir = Path::new(path).parent().map(Path::to_path_buf).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(LoadedPipeline { config, path: path.to_string(), base_dir, hash })
    }

    /// Validates, returning every problem as one error.
    pub fn check(&self) -> Result<(), PipelineError> {
        let problems = self.config.validate();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::Invalid { path: self.path.clone(), problems })
        }
    }

    /// Resolves a URL of the file: `${VAR}` replaced; relative paths against the file's folder.
    pub fn resolve(&self, url: &str) -> Result<String, PipelineError> {
        let url = interpolate(url).map_err(|m| PipelineError::Invalid {
            path: self.path.clone(),
            problems: vec![Problem { at: "url".into(), message: m }],
        })?;
        if url.contains("://") || Path::new(&url).is_absolute() {
            return Ok(url);
        }
        let mut out = PathBuf::new();
        for comp in self.base_dir.join(&url).components() {
            match comp {
                std::path::Component::ParentDir
                    if out.components().next_back().is_some_and(|c| matches!(c, std::path::Component::Normal(_))) =>
                {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        if out.as_os_str().is_empty() {
            out.push(".");
        }
        Ok(out.to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() -> Result<(), PipelineError> {
        let text = r#"
            name = "t"
            currency = "usd"
            [[sources]]
            name = "AWS"
            format = "nope"
            url = "ftp://x/y"
            [[sources]]
            name = "b"
            format = "focus"
            url = "data"
            [[projects]]
            name = "p"
            business-unit = "BU"
            [[rules]]
            project = "q"
            when = { column = "Nope", equals = "1" }
        "#;
        let p = Pipeline::parse(text, "t.toml")?;
        let problems: Vec<String> = p.validate().iter().map(ToString::to_string).collect();
        let known = tally_sources::FORMATS.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
        assert_eq!(
            problems,
            [
                "currency: `usd` is not an ISO 4217 code such as USD".to_string(),
                "sources[0].name: `AWS`: use lowercase letters, digits, `-` and `_`".to_string(),
                format!("sources[0].format: unknown format `nope` (known formats: {known})"),
                "sources[0].url: unsupported URL scheme `ftp` (use a path, file://, s3://, gs://, az://, abfs:// or memory://)"
                    .to_string(),
                "rules[0]: unknown project `q` (declare it under [[projects]])".to_string(),
                "rules[0]: unknown ledger column `Nope`".to_string(),
            ]
        );
        Ok(())
    }

    #[test]
    fn unknown_keys_are_rejected_with_a_line() {
        let err =
            Pipeline::parse("name = \"t\"\nsorces = []\n", "t.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown field `sorces`") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn interpolates_environment_variables() {
        assert_eq!(interpolate("s3://${HOME}/x").ok(), std::env::var("HOME").ok().map(|h| format!("s3://{h}/x")));
        assert!(interpolate("${TALLY_SURELY_UNSET_VAR}").is_err());
    }
}
