//! Validation results in the shape of Go's `jwt.ValidationResults`, and the nkey checks that
//! several claim types share.

use nkeys::KeyPairType;

/// One finding of a `validate` call, as Go's `ValidationIssue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationIssue {
    /// Go's message text, verbatim where Go has one.
    pub description: String,
    /// The claim must not be used (Go's `AddError`).
    pub blocking: bool,
    /// Expiry or not-before problem; non-blocking, as the NATS resolver treats them on update.
    pub time_check: bool,
}

/// Findings collected by the `validate` functions, in the order Go would report them where Go's
/// order is deterministic (and sorted by key where Go iterates a map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationResults {
    /// Every finding, blocking or not.
    pub issues: Vec<ValidationIssue>,
}

impl ValidationResults {
    /// Records a blocking error.
    pub fn add_error(&mut self, description: impl Into<String>) {
        self.push(description.into(), true, false);
    }

    /// Records a non-blocking warning.
    pub fn add_warning(&mut self, description: impl Into<String>) {
        self.push(description.into(), false, false);
    }

    /// Records a non-blocking time-check finding.
    pub fn add_time_check(&mut self, description: impl Into<String>) {
        self.push(description.into(), false, true);
    }

    fn push(&mut self, description: String, blocking: bool, time_check: bool) {
        self.issues.push(ValidationIssue {
            description,
            blocking,
            time_check,
        });
    }

    /// True when any finding is blocking, or a time check and `include_time_checks` is set.
    pub fn is_blocking(&self, include_time_checks: bool) -> bool {
        self.issues
            .iter()
            .any(|i| i.blocking || (include_time_checks && i.time_check))
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    /// Descriptions of the blocking findings.
    pub fn errors(&self) -> Vec<&str> {
        self.issues
            .iter()
            .filter(|i| i.blocking)
            .map(|i| i.description.as_str())
            .collect()
    }
}

/// True when `key` is a well-formed public nkey (checksum included) of type `kind`.
pub fn is_public_key(key: &str, kind: KeyPairType) -> bool {
    nkeys::from_public_key(key).is_ok_and(|(prefix, _)| KeyPairType::from(prefix) == kind)
}

/// Shorthand for the most common check: an account identity or signing key.
pub fn is_account_key(key: &str) -> bool {
    is_public_key(key, KeyPairType::Account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nkeys::KeyPair;

    #[test]
    fn key_types_are_told_apart() {
        let acc = KeyPair::new_from_raw(KeyPairType::Account, [1; 32]).unwrap();
        let user = KeyPair::new_from_raw(KeyPairType::User, [1; 32]).unwrap();
        assert!(is_account_key(&acc.public_key()));
        assert!(!is_account_key(&user.public_key()));
        assert!(is_public_key(&user.public_key(), KeyPairType::User));
        let mut broken = acc.public_key();
        broken.replace_range(5..6, if &broken[5..6] == "A" { "B" } else { "A" });
        assert!(!is_account_key(&broken));
        assert!(!is_account_key("*"));
    }

    #[test]
    fn blocking_respects_time_checks() {
        let mut vr = ValidationResults::default();
        vr.add_time_check("claim is expired");
        vr.add_warning("w");
        assert!(!vr.is_blocking(false));
        assert!(vr.is_blocking(true));
        vr.add_error("e");
        assert_eq!(vr.errors(), vec!["e"]);
    }
}
