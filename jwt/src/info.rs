//! Human-facing description fields shared by accounts and exports.

use serde::{Deserialize, Serialize};

use super::url::parse_url;
use super::validation::ValidationResults;

/// Go's `MaxInfoLength`.
const MAX_INFO_LENGTH: usize = 8 * 1024;

/// Go's `Info`: a description and a link, flattened into the owning object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Info {
    /// Free text, at most 8 KiB.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Absolute URL with scheme and host.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub info_url: String,
}

impl Info {
    /// Go's `Info.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if self.description.len() > MAX_INFO_LENGTH {
            vr.add_error("Description is too long");
        }
        if self.info_url.is_empty() {
            return;
        }
        if self.info_url.len() > MAX_INFO_LENGTH {
            vr.add_error("Info URL is too long");
        }
        match parse_url(&self.info_url) {
            Ok(u) if u.host.is_empty() || u.scheme.is_empty() => {
                vr.add_error("error parsing info url: no hostname or scheme")
            }
            Ok(_) => {}
            Err(e) => vr.add_error(format!("error parsing info url: {e}")),
        }
    }
}
