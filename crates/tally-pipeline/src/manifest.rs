//! The run manifest (`_tally/manifest.json` under the output root): what each source's objects
//! were when last consumed, and which months they hold. It is written last, so a run that
//! stops half-way is redone by the next one.

use std::collections::BTreeMap;

use tally_sources::MonthStats;

/// Manifest format version.
pub const VERSION: u32 = 1;

/// What a run consumed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// SHA-256 of the pipeline file the outputs were built with.
    pub pipeline_hash: String,
    /// Per source name.
    pub sources: BTreeMap<String, SourceState>,
    /// Months that have published outputs.
    pub months: Vec<String>,
    /// Months whose published reports say they had not started: rebuilt by the first run on or
    /// after their first day, even if no input changed, so that the mark does not outlive it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_started: Vec<String>,
}

/// The objects of one source, as last consumed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceState {
    /// Objects, sorted by name.
    pub objects: Vec<ObjectRecord>,
}

/// One consumed object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectRecord {
    /// The object's name (URL or path as configured).
    pub object: String,
    /// Key relative to the source's URL.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag, when the store gives one.
    pub etag: Option<String>,
    /// Last modification (RFC 3339).
    pub last_modified: String,
    /// Rows and exact totals per billing month and currency.
    pub months: BTreeMap<String, BTreeMap<String, MonthStats>>,
}

impl ObjectRecord {
    /// The delivery an object belongs to: the folder that holds it.
    pub fn delivery(&self) -> &str {
        self.rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
    }

    /// Whether the listing `info` describes the same version of this object.
    pub fn same_version(&self, info: &tally_storage::ObjectInfo) -> bool {
        self.size == info.size && self.etag == info.etag && self.last_modified == info.last_modified.to_rfc3339()
    }
}
