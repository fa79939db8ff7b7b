//! Finding the tokens, creds and seeds in what a user hands to `inspect`: a bare JWT, a creds
//! file, a seed, or YAML Secrets and ConfigMaps (base64 `data`, `stringData`, `binaryData`).

use data_encoding::BASE64;
use nkeys::KeyPair;
use serde_json::Value;

use crate::diagnostic::redact;
use crate::jwt::creds::parse_creds;

/// One thing found in an input.
#[derive(Debug)]
pub struct Found {
    /// Where: the file, and for objects `Kind namespace/name key K`.
    pub source: String,
    /// What.
    pub content: Content,
}

/// What a piece of input holds. Seeds stay inside key pairs; `Debug` never shows them.
#[derive(Debug)]
pub enum Content {
    /// A JWT, not yet verified.
    Jwt(String),
    /// A creds file: its JWT and the key pair of its seed.
    Creds {
        /// The JWT block.
        jwt: String,
        /// The seed block's key pair.
        key: KeyPair,
    },
    /// A bare nkey seed.
    Seed(KeyPair),
    /// Something that looks like one of the above but cannot be read; the reason never quotes
    /// a seed.
    Unreadable(String),
}

/// Everything `text` (from `source`) holds. An input with nothing to inspect is an error.
pub fn read(source: &str, text: &str) -> Result<Vec<Found>, String> {
    if let Some(content) = classify(text) {
        return Ok(vec![Found {
            source: source.to_string(),
            content,
        }]);
    }
    let options = serde_saphyr::options! { with_snippet: false };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
            format!(
                "not a JWT, creds file, seed or YAML: {}",
                redact(&e.to_string())
            )
        })?;
    let mut found = Vec::new();
    for doc in docs.iter().flat_map(list_items) {
        found.extend(object_values(source, doc));
    }
    if found.is_empty() {
        return Err(
            "no JWT, creds file or seed found (looked for a bare JWT, a creds file, a \
                    seed, and Secret or ConfigMap values)"
                .to_string(),
        );
    }
    Ok(found)
}

/// The documents of a `v1 List`, or the document itself.
fn list_items(doc: &Value) -> Vec<&Value> {
    match doc.get("items").and_then(Value::as_array) {
        Some(items) if doc.get("kind").and_then(Value::as_str) == Some("List") => {
            items.iter().collect()
        }
        _ => vec![doc],
    }
}

/// The JWTs, creds and seeds among a Secret's or ConfigMap's values; other kinds and other
/// values (a `claims.yaml`, a URL) are passed over.
fn object_values(file: &str, doc: &Value) -> Vec<Found> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (plain, encoded) = match kind {
        "Secret" => ("stringData", "data"),
        "ConfigMap" => ("data", "binaryData"),
        _ => return Vec::new(),
    };
    let meta = doc.get("metadata");
    let field = |f: &str| meta.and_then(|m| m.get(f)).and_then(Value::as_str);
    let object = format!(
        "{file}: {kind} {}/{}",
        field("namespace").unwrap_or(crate::input::DEFAULT_NAMESPACE),
        field("name").unwrap_or_default()
    );
    let mut found = Vec::new();
    for (section, base64) in [(plain, false), (encoded, true)] {
        let Some(values) = doc.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in values {
            let source = format!("{object} {section}.{key}");
            let Some(text) = value.as_str() else {
                continue;
            };
            let decoded;
            let text = if base64 {
                match BASE64.decode(text.trim().as_bytes()).map(String::from_utf8) {
                    Ok(Ok(t)) => {
                        decoded = t;
                        decoded.as_str()
                    }
                    _ => {
                        found.push(Found {
                            source,
                            content: Content::Unreadable("not base64 of UTF-8 text".into()),
                        });
                        continue;
                    }
                }
            } else {
                text
            };
            if let Some(content) = classify(text) {
                found.push(Found { source, content });
            }
        }
    }
    found
}

/// A JWT, creds file or seed, or `None` for anything else.
fn classify(text: &str) -> Option<Content> {
    let t = text.trim();
    let single_token = !t.is_empty() && !t.contains(char::is_whitespace);
    if single_token && t.split('.').count() == 3 {
        return Some(Content::Jwt(t.to_string()));
    }
    if t.starts_with("-----BEGIN") || t.contains("\n-----BEGIN") {
        return Some(match parse_creds(t) {
            Ok((jwt, key)) => Content::Creds { jwt, key },
            Err(e) => Content::Unreadable(e.to_string()),
        });
    }
    if single_token && crate::diagnostic::looks_like_seed(t) {
        return Some(match KeyPair::from_seed(t) {
            Ok(key) => Content::Seed(key),
            Err(_) => Content::Unreadable("an nkey seed that does not decode".into()),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use nkeys::KeyPairType;

    fn seed() -> String {
        KeyPair::new_from_raw(KeyPairType::User, [4; 32])
            .unwrap()
            .seed()
            .unwrap()
    }

    #[test]
    fn finds_values_in_secrets_configmaps_and_lists() {
        let seed = seed();
        let b64 = BASE64.encode(seed.as_bytes());
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n\
             - kind: Secret\n  metadata: {{name: s, namespace: ns}}\n  data: {{default: {b64}}}\n\
             - kind: ConfigMap\n  metadata: {{name: c}}\n  data: {{account.jwt: a.b.c, claims.yaml: 'x: 1'}}\n\
             ---\nkind: Deployment\nmetadata: {{name: d}}\n"
        );
        let found = read("f.yaml", &text).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].source, "f.yaml: Secret ns/s data.default");
        assert!(matches!(&found[0].content, Content::Seed(k) if k.public_key().starts_with('U')));
        assert_eq!(
            found[1].source,
            "f.yaml: ConfigMap default/c data.account.jwt"
        );
        assert!(matches!(&found[1].content, Content::Jwt(t) if t == "a.b.c"));
    }

    #[test]
    fn nothing_to_inspect_is_an_error() {
        assert!(
            read("f", "kind: Deployment\n")
                .unwrap_err()
                .contains("no JWT")
        );
        assert!(
            read("f", "a: [")
                .unwrap_err()
                .starts_with("not a JWT, creds file")
        );
    }

    #[test]
    fn bad_seeds_are_never_quoted() {
        let mut broken = seed();
        broken.replace_range(20..21, if &broken[20..21] == "A" { "B" } else { "A" });
        let Some(Content::Unreadable(why)) = classify(&broken) else {
            panic!("expected unreadable");
        };
        assert!(!why.contains(&broken[2..]));
        let redacted = redact(&format!("at line 1: '{broken}' is odd"));
        assert_eq!(redacted, "at line 1: 'SU…(seed not shown)' is odd");
    }
}
