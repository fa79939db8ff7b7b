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

/// One problem: where it is (file, object, field), which rule it breaks, and a stable [`Code`]
/// saying what kind of problem it is.
///
/// Messages name public keys and subjects, never seeds. Fields compare in declaration order, so
/// lists sort by severity, file, object, field, then message.
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
    /// A remedy only the CLI offers (`--seed-root`), shown after the message; a caller that
    /// has no such option (the controller) clears it. Boxed to keep diagnostics small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<Box<String>>,
    /// The object [`Diagnostic::object`] names, typed: where a controller puts the condition.
    /// Boxed to keep diagnostics small, as results carry them by value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Box<ObjectRef>>,
    /// What kind of problem this is, for programs (a condition's reason); never shown in text.
    pub code: Code,
}

impl Diagnostic {
    /// An error with only a message and code [`Code::Invalid`]; locate it and say its code
    /// with the builder methods. Message, object and field pass through [`redact`]: some quote
    /// input (a parser's message, a key of a broken mapping), and input can hold keys.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: None,
            object: None,
            field: None,
            message: redact(&message.into()),
            hint: None,
            reference: None,
            code: Code::Invalid,
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

    /// Names the object the problem is in, typed and as text (`Kind namespace/name`).
    pub fn about(self, reference: ObjectRef) -> Self {
        let reference = ObjectRef {
            kind: redact(&reference.kind),
            namespace: redact(&reference.namespace),
            name: redact(&reference.name),
        };
        Diagnostic {
            reference: Some(Box::new(reference.clone())),
            ..self.in_object(reference.to_string())
        }
    }

    /// Says what kind of problem this is.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// Adds a CLI-only remedy (see [`Diagnostic::hint`]).
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint.map(|h| Box::new(redact(&h)));
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

/// An object by kind, namespace and name, as a diagnostic refers to it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// The kind, such as `Account` or `Secret`.
    pub kind: String,
    /// The namespace (`default` when a manifest names none).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    /// `Kind namespace/name`, as messages name objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Declares [`Code`] with each variant's name as its string, so the two cannot drift apart and
/// [`Code::ALL`] lists every one.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// What kind of problem a [`Diagnostic`] is: stable, CamelCase, usable as the `reason` of
        /// a Kubernetes condition or event, so programs need not parse messages. The message
        /// says the details; the code only sorts problems into kinds a caller may act on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code.
            pub const ALL: &[Code] = &[$(Code::$name,)*];

            /// The code as a condition reason: the variant's name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => stringify!($name),)*
                }
            }
        }
    };
}

codes! {
    /// Invalid input without a more specific code.
    Invalid,
    /// A file is not YAML.
    InvalidYaml,
    /// A document is left out: not a Kubernetes object, or not a kind nauth-render reads.
    Ignored,
    /// A document is encrypted with SOPS.
    Encrypted,
    /// A document claims NAuth's API group with an unknown version or kind.
    UnknownKind,
    /// A field the schema does not know; the API server would drop it.
    UnknownField,
    /// A Secret that does not parse as one.
    InvalidSecret,
    /// A field breaks a rule of the schema, the API server's or NATS's.
    InvalidSpec,
    /// An object is defined more than once.
    Duplicate,
    /// A referenced object is not in the input.
    NotFound,
    /// A reference to an object that exists but may not be used from here (a signing key the
    /// Account does not trust).
    InvalidReference,
    /// An Account names no NatsCluster and no operator cluster is configured.
    NoCluster,
    /// An Account names a NatsCluster other than the required operator cluster.
    ClusterMismatch,
    /// No source holds a key: a controller may generate it (see [`crate::keys::KeyErrorKind`]).
    MissingKey,
    /// A key source holds something unusable, or a key that is not the recorded identity.
    InvalidKey,
    /// Two objects claim the same thing: an account ID, a Secret, an adopted rule.
    Conflict,
    /// A raised `nauth.io/key-generation` gives an object a new key.
    KeyRotation,
    /// The Account is its NatsCluster's system account, which is never managed.
    SystemAccount,
    /// The object is in observe mode: read from NATS, not rendered.
    Observed,
    /// A setup NAuth deprecated and nauth-rs still accepts (its NATS_URL mode).
    Deprecated,
    /// An import no export of the exporting account matches.
    UnmatchedImport,
    /// An import of an export that requires an activation token.
    TokenRequired,
    /// A User's key is revoked by its Account.
    Revoked,
    /// A bearer-token User in an Account that disallows bearer tokens.
    BearerNotAllowed,
    /// A User whose expiry is already past.
    Expired,
    /// A lock file that cannot be used.
    InvalidLock,
    /// A command-line argument or option that cannot be used.
    InvalidArgument,
    /// A file or directory that cannot be read.
    ReadFailed,
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
        f.write_str(&self.message)?;
        match &self.hint {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_a_unique_condition_reason() {
        // The pattern of metav1.Condition's `reason`.
        let valid = |s: &str| {
            let b = s.as_bytes();
            let inner = |c: &u8| c.is_ascii_alphanumeric() || b"_,:".contains(c);
            let last = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
            b.first().is_some_and(u8::is_ascii_alphabetic)
                && b[1..].iter().all(inner)
                && b.last().is_some_and(last)
        };
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(valid(s), "{s}");
            assert!(s.len() <= 1024, "{s}");
            assert!(seen.insert(s), "{s} twice");
            assert_eq!(serde_json::to_value(code).unwrap(), s);
        }
        assert!(!valid("Not valid") && !valid("1st") && !valid("Trailing,"));
    }

    #[test]
    fn a_typed_reference_names_the_object_as_the_text_does() {
        let d = Diagnostic::error("x")
            .about(ObjectRef {
                kind: "User".into(),
                namespace: "team".into(),
                name: "alice".into(),
            })
            .with_code(Code::NotFound);
        assert_eq!(d.object.as_deref(), Some("User team/alice"));
        assert_eq!(d.reference.as_ref().unwrap().name, "alice");
        assert_eq!(d.code.as_str(), "NotFound");
        assert_eq!(d.to_string(), "User team/alice: x");
    }

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
