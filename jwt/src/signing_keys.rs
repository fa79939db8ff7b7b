//! Account signing keys: plain keys or keys scoped to a user permission template.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::json::go_quote;
use super::limits::NatsLimits;
use super::user::UserPermissionLimits;
use super::validation::{ValidationResults, is_account_key};

/// Go's `UserScope`: a signing key whose users get `template` instead of their own permissions.
/// Every field is always emitted, `description` included (Go ≥ 2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserScope {
    /// Always `user_scope`.
    pub kind: ScopeKind,
    /// The signing key (an account public key).
    pub key: String,
    /// Free-form role name.
    pub role: String,
    /// Permissions and limits applied to users this key signs. When decoding, absent
    /// `subs`/`data`/`payload` read as -1, as Go's `NewUserScope` pre-sets them.
    #[serde(deserialize_with = "deserialize_template")]
    pub template: UserPermissionLimits,
    /// Free text.
    pub description: String,
}

/// The only scope kind NATS knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// JSON `user_scope`.
    #[default]
    #[serde(rename = "user_scope")]
    UserScope,
}

fn deserialize_template<'de, D: Deserializer<'de>>(d: D) -> Result<UserPermissionLimits, D::Error> {
    let mut value = Value::deserialize(d)?;
    if let Value::Object(map) = &mut value {
        for key in ["subs", "data", "payload"] {
            map.entry(key).or_insert(Value::from(-1));
        }
    }
    serde_json::from_value(value).map_err(de::Error::custom)
}

impl UserScope {
    /// Like Go's `NewUserScope`: an empty template with subs, data and payload unlimited.
    pub fn new(key: impl Into<String>) -> Self {
        UserScope {
            kind: ScopeKind::UserScope,
            key: key.into(),
            role: String::new(),
            template: UserPermissionLimits {
                nats_limits: NatsLimits::UNLIMITED,
                ..Default::default()
            },
            description: String::new(),
        }
    }
}

/// Go's `SigningKeys`: key → optional scope, encoded as a key-sorted JSON array of plain key
/// strings (unscoped) and `user_scope` objects (scoped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigningKeys(pub BTreeMap<String, Option<UserScope>>);

impl SigningKeys {
    /// True when no key is present (the field is then omitted).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds an unscoped key.
    pub fn add(&mut self, key: impl Into<String>) {
        self.0.insert(key.into(), None);
    }

    /// Adds a scoped key under its own `key`.
    pub fn add_scoped(&mut self, scope: UserScope) {
        self.0.insert(scope.key.clone(), Some(scope));
    }

    /// True when `key` is one of the signing keys, scoped or not.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Go's `SigningKeys.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        for (key, scope) in &self.0 {
            match scope {
                Some(scope) if !is_account_key(&scope.key) => {
                    vr.add_error(format!("{} is not an account public key", scope.key))
                }
                None if !is_account_key(key) => vr.add_error(format!(
                    "{} is not a valid account signing key",
                    go_quote(key)
                )),
                _ => {}
            }
        }
    }
}

impl Serialize for SigningKeys {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (key, scope) in &self.0 {
            match scope {
                Some(scope) => seq.serialize_element(scope)?,
                None => seq.serialize_element(key)?,
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for SigningKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut keys = SigningKeys::default();
        for item in Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default() {
            match item {
                Value::String(key) => keys.add(key),
                Value::Object(ref map) if map.get("kind") == Some(&Value::from("user_scope")) => {
                    keys.add_scoped(serde_json::from_value(item).map_err(de::Error::custom)?)
                }
                Value::Object(map) => {
                    let kind = map.get("kind").cloned().unwrap_or_default();
                    return Err(de::Error::custom(format!(
                        "unknown signing key scope {kind}"
                    )));
                }
                other => {
                    return Err(de::Error::custom(format!(
                        "invalid signing key entry {other}"
                    )));
                }
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_go_json;

    #[test]
    fn sorted_mixed_array_like_go() {
        let mut keys = SigningKeys::default();
        keys.add("B_PLAIN");
        let mut scope = UserScope::new("A_SCOPED");
        scope.role = "r".into();
        keys.add_scoped(scope);
        let json = String::from_utf8(to_go_json(&keys).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"user_scope","key":"A_SCOPED","role":"r","template":{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1},"description":""},"B_PLAIN"]"#
        );
        let back: SigningKeys = serde_json::from_str(&json).unwrap();
        assert_eq!(back, keys);
    }

    #[test]
    fn template_limits_default_to_unlimited_like_go() {
        let json = r#"[{"kind":"user_scope","key":"K","role":"","template":{},"description":""}]"#;
        let keys: SigningKeys = serde_json::from_str(json).unwrap();
        let scope = keys.0["K"].as_ref().unwrap();
        assert_eq!(scope.template.nats_limits, NatsLimits::UNLIMITED);
        assert!(serde_json::from_str::<SigningKeys>(r#"[{"kind":"other"}]"#).is_err());
    }
}
