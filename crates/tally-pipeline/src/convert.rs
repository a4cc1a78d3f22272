//! `tally convert`: export files of one format into ledger rows in one Parquet file.

use tally_sources::{convert_to_parquet, ConvertStats, Input};
use tally_storage::Location;

use crate::PipelineError;

/// What to convert, and where.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Format name, or `None` to detect it from each file's header.
    pub format: Option<String>,
    /// Input URLs or paths (objects, prefixes or globs).
    pub inputs: Vec<String>,
    /// Output Parquet file (path or URL).
    pub output: String,
    /// Price book for usage exports (a local TOML file); the bundled one when `None`.
    pub prices: Option<String>,
}

/// Converts the inputs into one ledger Parquet file. Nothing is written when any input is bad.
pub async fn convert(opts: &ConvertOptions) -> Result<ConvertStats, PipelineError> {
    let format = opts.format.as_deref().map(tally_sources::format_by_name).transpose()?;
    let out_url = opts.output.as_str();
    let (out_dir, out_name) = match out_url.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n.to_string()),
        None => (".".to_string(), out_url.to_string()),
    };
    if out_name.is_empty() {
        return Err(PipelineError::Usage(format!("--output `{out_url}` names a folder, not a file")));
    }
    let out = Location::open(&out_dir)?;
    let scratch =
        tempfile::tempdir().map_err(|source| PipelineError::Io { path: "scratch directory".into(), source })?;
    let mut locals = Vec::new();
    for url in &opts.inputs {
        let loc = Location::open(url)?;
        let objects = loc.list_objects().await?;
        if objects.is_empty() {
            return Err(tally_storage::StorageError::NotFound { url: url.clone() }.into());
        }
        for obj in objects {
            let path = loc.fetch_local(&obj, scratch.path()).await?;
            locals.push((obj.display, path));
        }
    }
    let format = match format {
        Some(f) => f,
        None => {
            let (name, path) = locals.first().ok_or_else(|| PipelineError::Usage("no input".into()))?;
            tally_sources::detect_format(path, name)?
        }
    };
    let prices = match &opts.prices {
        Some(path) => tally_pricing::PriceBook::load(std::path::Path::new(path))?,
        None => tally_pricing::PriceBook::bundled()?,
    };
    let inputs: Vec<Input<'_>> = locals
        .iter()
        .map(|(name, path)| Input {
            path,
            object: name,
            source: format.name(),
            category_rules: &[],
            prices: Some(&prices),
            quantities_only: false,
        })
        .collect();
    let dest = scratch.path().join("out.parquet");
    let stats = convert_to_parquet(format, &inputs, &dest)?;
    out.publish_file(&out_name, &dest).await?;
    Ok(stats)
}
