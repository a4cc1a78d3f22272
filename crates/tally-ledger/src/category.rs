//! The five parts of AI total cost of ownership.

use std::fmt;

/// Which part of AI TCO a ledger row belongs to (`x_tco_category`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcoCategory {
    /// Model usage billed per token or request (OpenAI, Anthropic, Bedrock, Azure OpenAI, Vertex).
    ModelApi,
    /// GPU and CPU for training and inference.
    Compute,
    /// Storage, networking, databases (vector stores), monitoring.
    Infrastructure,
    /// ML, data and platform engineers.
    People,
    /// Security tooling, identity, governance, audits and certifications.
    SecurityCompliance,
}

impl TcoCategory {
    /// All categories, in report order.
    pub const ALL: [TcoCategory; 5] = [
        TcoCategory::ModelApi,
        TcoCategory::Compute,
        TcoCategory::Infrastructure,
        TcoCategory::People,
        TcoCategory::SecurityCompliance,
    ];

    /// The value stored in `x_tco_category`.
    pub fn as_str(self) -> &'static str {
        match self {
            TcoCategory::ModelApi => "model_api",
            TcoCategory::Compute => "compute",
            TcoCategory::Infrastructure => "infrastructure",
            TcoCategory::People => "people",
            TcoCategory::SecurityCompliance => "security_compliance",
        }
    }

    /// Parses the stored value.
    pub fn parse(s: &str) -> Option<TcoCategory> {
        TcoCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for TcoCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
