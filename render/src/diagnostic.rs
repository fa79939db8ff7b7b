//! Problems with the input, located well enough that a user can fix them without guessing.

use std::fmt;

use serde::Serialize;

/// How bad a problem is: errors stop the render (exit 1), warnings are printed and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input cannot be rendered as it is.
    Error,
    /// Rendered anyway; the user probably wants to know.
    Warning,
}

/// One problem: where it is (file, object, field) and which rule it breaks.
///
/// Messages name public keys and subjects, never seeds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The input file (`-` for standard input), when the problem comes from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The object as `Kind namespace/name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The field path inside the object, such as `spec.exports[1].subject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule that was broken, or what happened.
    pub message: String,
}

impl Diagnostic {
    /// An error with only a message; locate it with the builder methods. Message, object and
    /// field pass through [`redact`]: some quote input (a parser's message, a key of a broken
    /// mapping), and input can hold keys.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: None,
            object: None,
            field: None,
            message: redact(&message.into()),
        }
    }

    /// A warning with only a message.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Names the file the problem is in.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Names the object (`Kind namespace/name`) the problem is in.
    pub fn in_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(redact(&object.into()));
        self
    }

    /// Names the field the problem is in.
    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(redact(&field.into()));
        self
    }

    /// Whether this problem stops the render.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `text` with every word that may be key material replaced: nkey seeds (`S` and a key type
/// letter, then base32, whole or truncated) and base64 runs (mixed case and digits, such as an
/// encoded seed or seed root). Public keys, names, subjects and hex hashes pass unchanged.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if labels_a_public_key(word) {
            out.push_str(word);
        } else if looks_like_seed(word) {
            out.push_str(&word[..2]);
            out.push_str("…(seed not shown)");
        } else if looks_like_base64(word) {
            out.push_str("…(not shown)");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "+/=_-".contains(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `S`, a key type letter and base32: the shape of every nkey seed, or of a cut one.
pub fn looks_like_seed(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 20
        && b[0] == b'S'
        && b"OAUNCXP".contains(&b[1])
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c))
}

/// A public nkey after a lowercase label or path (`io/id=ADZ…` of a label selector
/// `account.nauth.io/id=ADZ…`): public, and never the shape of base64 key material.
fn labels_a_public_key(word: &str) -> bool {
    let Some(at) = word.rfind(['=', '/', ':']) else {
        return false;
    };
    let (label, key) = (&word[..at], &word.as_bytes()[at + 1..]);
    !label.bytes().any(|c| c.is_ascii_uppercase())
        && key.len() == 56
        && b"ACNOUX".contains(&key[0])
        && key
            .iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c))
}

fn looks_like_base64(word: &str) -> bool {
    word.len() >= 20
        && word.bytes().any(|c| c.is_ascii_lowercase())
        && word.bytes().any(|c| c.is_ascii_uppercase())
        && word.bytes().any(|c| c.is_ascii_digit())
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        for part in [&self.file, &self.object, &self.field]
            .into_iter()
            .flatten()
        {
            write!(f, "{part}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_seeds_and_keeps_public_keys_and_label_selectors() {
        let user = nkeys::KeyPair::new_user();
        let (seed, public) = (user.seed().unwrap(), user.public_key());
        // As a Secret's `data` holds it.
        let encoded = serde_json::to_value(k8s_openapi::ByteString(seed.clone().into_bytes()))
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        for text in [
            format!("User shop/{seed} is not in the input"),
            format!("got {seed:?}"),
            format!("key={seed}"),
            format!("data.default: {encoded}"),
            format!("io/id={encoded}"),
        ] {
            let shown = redact(&text);
            assert!(!shown.contains(&seed[2..22]), "{shown}");
            assert!(!shown.contains(&encoded[..20]), "{shown}");
        }
        for text in [
            format!("no Secret labelled account.nauth.io/id={public}"),
            format!("user {public} is revoked"),
            format!("path nats/{public}.jwt"),
        ] {
            assert_eq!(redact(&text), text);
        }
    }

    #[test]
    fn display_names_every_known_location() {
        let d = Diagnostic::error("subject \"a b\" cannot have spaces")
            .in_file("accounts.yaml")
            .in_object("Account team-a/orders")
            .at_field("spec.exports[1].subject");
        assert_eq!(
            d.to_string(),
            "accounts.yaml: Account team-a/orders: spec.exports[1].subject: subject \"a b\" cannot have spaces"
        );
        assert_eq!(
            Diagnostic::warning("ignored").in_file("x.yaml").to_string(),
            "warning: x.yaml: ignored"
        );
    }
}
