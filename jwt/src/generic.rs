//! Fields every typed claim body ends with, and the untyped body of generic claims (used for
//! `$SYS.REQ.CLAIMS.DELETE` requests).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::json::is_zero;

/// Claim format version this module writes (Go's `libVersion`).
pub const LIB_VERSION: i64 = 2;

/// Go's `GenericFields`: tags, claim type and format version, the last fields of every body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenericFields {
    /// Free-form labels. Go's `TagList.Add` trims, lower-cases and de-duplicates them; encoding
    /// applies the same normalisation (see [`normalize_tags`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `nats.type`; set by encoding from the body type.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// `nats.version`; set to 2 by encoding.
    #[serde(skip_serializing_if = "is_zero")]
    pub version: i64,
}

impl GenericFields {
    /// Adds tags the way Go's `TagList.Add` does.
    pub fn add_tags<S: AsRef<str>>(&mut self, tags: impl IntoIterator<Item = S>) {
        for tag in tags {
            let tag = tag.as_ref().trim().to_lowercase();
            if !tag.is_empty() && !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
    }

    /// Stamps type and version and normalises tags, as Go's `Encode` path leaves them.
    pub(crate) fn prepare(&mut self, claim_type: &str) {
        self.claim_type = claim_type.to_string();
        self.version = LIB_VERSION;
        normalize_tags(&mut self.tags);
    }
}

/// Trims, lower-cases and de-duplicates tags in place, keeping first occurrences: idempotent on
/// any list built with Go's `TagList.Add`, so Go-made tokens re-encode unchanged.
pub fn normalize_tags(tags: &mut Vec<String>) {
    let mut out = GenericFields::default();
    out.add_tags(tags.iter());
    *tags = out.tags;
}

/// Body of a claim whose `nats.type` is not one of the typed kinds (Go's `GenericClaims.Data`):
/// a sorted map, emitted with sorted keys like Go marshals a `map[string]interface{}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Generic(pub BTreeMap<String, Value>);

impl Generic {
    /// The body of a resolver delete request: `{"accounts":[...]}` (version added on encode).
    pub fn delete_accounts<S: Into<String>>(accounts: impl IntoIterator<Item = S>) -> Self {
        let list = accounts.into_iter().map(|a| Value::String(a.into()));
        Generic(BTreeMap::from([(
            "accounts".to_string(),
            Value::Array(list.collect()),
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_go_taglist_add() {
        let mut g = GenericFields::default();
        g.add_tags([" Env:Prod ", "env:prod", "", "Team"]);
        assert_eq!(g.tags, vec!["env:prod", "team"]);
        let mut raw = vec!["B".to_string(), "b".to_string(), "a".to_string()];
        normalize_tags(&mut raw);
        assert_eq!(raw, vec!["b", "a"]);
    }
}
