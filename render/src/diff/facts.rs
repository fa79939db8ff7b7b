//! Claims flattened into facts: one `path → value` per leaf of the effective authorization, keyed
//! so that a rule's identity (an export's type and subject, an import's exporter, a signing key)
//! and not its position decides what counts as the same rule on both sides.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::Names;
use crate::inspect::rfc3339;
use crate::jwt::{self, ClaimBody};

/// Leaf path → value. A rule, set member or map entry also has a fact of its own
/// ([`Fact::Present`]) so additions and removals can be shown as one line.
pub type Facts = BTreeMap<String, Fact>;

/// The value of one fact, typed as in the claims: JSON shows it as such, text as people read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// A rule, set member or map entry exists (JSON `true`).
    Present,
    /// A claim value: a string, number or boolean.
    Value(Value),
    /// A time in Unix seconds (shown as RFC 3339).
    Time(i64),
    /// A public key (shown with the account, user or key owner it belongs to).
    Key {
        /// The public key.
        key: String,
        /// What text shows: `Account shop/billing (AA5E73QD…)`.
        label: String,
    },
}

impl Fact {
    /// The value as text and markdown show it.
    pub fn shown(&self) -> String {
        match self {
            Fact::Present => String::new(),
            Fact::Value(Value::String(s)) => quoted(s),
            Fact::Value(Value::Number(n)) if n.as_i64() == Some(-1) => "-1 (unlimited)".into(),
            Fact::Value(v) => v.to_string(),
            Fact::Time(t) => rfc3339(*t),
            Fact::Key { label, .. } => label.clone(),
        }
    }
}

impl Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Present => serializer.serialize_bool(true),
            Fact::Value(v) => v.serialize(serializer),
            Fact::Time(t) => serializer.serialize_i64(*t),
            Fact::Key { key, .. } => serializer.serialize_str(key),
        }
    }
}

/// Claim fields that change with every signature or never carry meaning for a reviewer.
const SKIPPED: [&str; 4] = ["iat", "jti", "nats.type", "nats.version"];

/// An account's facts.
pub fn account(claims: &jwt::Claims<jwt::Account>, names: &Names) -> Facts {
    let mut facts = Facts::new();
    flatten(&to_value(claims), "", names, &mut facts);
    facts
}

/// A user's facts. A user signed by a scoped signing key carries no permissions of its own: the
/// scope's template applies, so its facts are the user's effective permissions.
pub fn user(
    claims: &jwt::Claims<jwt::User>,
    scope: Option<&jwt::UserScope>,
    names: &Names,
) -> Facts {
    let mut facts = Facts::new();
    flatten(&to_value(claims), "", names, &mut facts);
    if let Some(scope) = scope {
        facts.insert("scope.role".into(), Fact::Value(scope.role.clone().into()));
        let template = serde_json::to_value(&scope.template).expect("templates serialize");
        flatten(&template, "", names, &mut facts);
    }
    facts
}

fn to_value<T: ClaimBody>(claims: &jwt::Claims<T>) -> Value {
    let mut prepared = claims.clone();
    // Exports and imports sorted as encoding sorts them (a preview's claims are not encoded).
    // Preparing fails only for claims whose hash a render could not take, so none get here.
    let _ = prepared.nats.prepare();
    serde_json::to_value(&prepared).expect("claims serialize")
}

fn flatten(value: &Value, path: &str, names: &Names, facts: &mut Facts) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let child = join(path, key);
                if SKIPPED.contains(&child.as_str()) {
                    continue;
                }
                let child = display_path(&child);
                match (key.as_str(), v) {
                    ("exp" | "nbf", Value::Number(n)) => {
                        facts.insert(child, Fact::Time(n.as_i64().unwrap_or_default()));
                    }
                    ("revocations", Value::Object(times)) => {
                        for (k, t) in times {
                            let at = Fact::Time(t.as_i64().unwrap_or_default());
                            facts.insert(format!("{child}[{}]", names.label(k)), at);
                        }
                    }
                    _ => flatten(v, &child, names, facts),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let (identity, rest) = element(path, item, names);
                let at = format!("{path}[{identity}]");
                facts.insert(at.clone(), Fact::Present);
                if let Some(rest) = rest {
                    flatten(&rest, &at, names, facts);
                }
            }
        }
        leaf => {
            facts.insert(path.to_string(), scalar(path, leaf, names));
        }
    }
}

/// How an array element is named, and what of it is left to compare once named.
fn element(path: &str, item: &Value, names: &Names) -> (String, Option<Value>) {
    let field = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
    let without = |keys: &[&str]| {
        let mut rest = item.clone();
        if let Value::Object(map) = &mut rest {
            for k in keys {
                map.remove(*k);
            }
        }
        Some(rest)
    };
    match (last_segment(path), item) {
        ("exports", Value::Object(_)) => (
            format!("{} {}", field("type"), quoted(field("subject"))),
            without(&["type", "subject"]),
        ),
        ("imports", Value::Object(_)) => (
            format!(
                "{} {} from {}",
                field("type"),
                quoted(field("subject")),
                names.label(field("account"))
            ),
            without(&["type", "subject", "account"]),
        ),
        ("signing_keys", Value::String(key)) => (names.label(key), None),
        ("signing_keys", Value::Object(_)) => {
            (names.label(field("key")), without(&["key", "kind"]))
        }
        (_, Value::String(s)) => (quoted(s), None),
        (_, Value::Object(_) | Value::Array(_)) => (item.to_string(), None),
        (_, other) => (other.to_string(), None),
    }
}

fn scalar(path: &str, value: &Value, names: &Names) -> Fact {
    match value {
        Value::String(s) if matches!(path, "public_key" | "issuer" | "issuer_account") => {
            Fact::Key {
                key: s.clone(),
                label: names.label(s),
            }
        }
        other => Fact::Value(other.clone()),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Claim names a reviewer reads: the body's fields without the `nats.` prefix, `sub` and `iss`
/// spelled out.
fn display_path(path: &str) -> String {
    match path {
        "sub" => "public_key".into(),
        "iss" => "issuer".into(),
        _ => path.strip_prefix("nats.").unwrap_or(path).to_string(),
    }
}

/// Whether `path` is a fact that belongs to the rule or entry at `parent`.
pub fn is_within(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}
