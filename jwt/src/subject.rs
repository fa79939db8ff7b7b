//! NATS subject syntax checks and wildcard containment.
//!
//! Two containment notions live here on purpose: [`contains`] answers the precise question "does
//! every subject matching `inner` also match `outer`" (what a controller needs to check an import
//! against an export), while [`go_is_contained_in`] reproduces Go's `Subject.IsContainedIn`, whose
//! looser token rule decides which validation messages Go emits.

use super::json::go_quote;
use super::validation::ValidationResults;

/// Appends Go's `Subject.Validate` findings, then the server's own subject rules that Go's JWT
/// library leaves out (no whitespace at all, `>` only as the last token).
pub fn validate_subject(subject: &str, vr: &mut ValidationResults) {
    let q = go_quote(subject);
    if subject.is_empty() {
        vr.add_error("subject cannot be empty");
        return;
    }
    if subject.contains(' ') {
        vr.add_error(format!("subject {q} cannot have spaces"));
    } else if subject.chars().any(char::is_whitespace) {
        vr.add_error(format!("subject {q} cannot contain whitespace"));
    }
    if subject.starts_with('.') || subject.ends_with('.') {
        vr.add_error(format!("subject {q} cannot start or end with a `.`"));
    }
    if subject.contains("..") {
        vr.add_error(format!("subject {q} cannot contain consecutive `.`"));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens[..tokens.len() - 1].contains(&">") {
        vr.add_error(format!("subject {q} can only use `>` as the last token"));
    }
}

/// Go's `Subject.HasWildCards`: a whole-token `*` or a trailing `>`.
pub fn has_wildcards(subject: &str) -> bool {
    subject.ends_with(".>")
        || subject.contains(".*.")
        || subject.ends_with(".*")
        || subject.starts_with("*.")
        || subject == "*"
        || subject == ">"
}

/// True when every subject matched by `inner` is also matched by `outer` (both may contain `*`
/// and `>` as whole tokens; anything else is literal).
pub fn contains(outer: &str, inner: &str) -> bool {
    let outer: Vec<&str> = outer.split('.').collect();
    let inner: Vec<&str> = inner.split('.').collect();
    for (i, o) in outer.iter().enumerate() {
        let Some(t) = inner.get(i) else {
            return false;
        };
        match *o {
            ">" => return true,
            "*" if *t != ">" => {}
            lit if lit == *t && *t != "*" && *t != ">" => {}
            _ => return false,
        }
    }
    inner.len() == outer.len()
}

/// Alias of [`contains`] with the arguments in subset order: `a ⊆ b`.
pub fn is_subset(a: &str, b: &str) -> bool {
    contains(b, a)
}

/// True when nats-server's subscription index finds `pattern` for `subject`: the question it
/// asks when it checks a publish or a subscription against permission lists. Wildcards of
/// `subject` are ordinary tokens there, matched only by a `*` or `>` of `pattern` and never by a
/// literal: so `a.*` admits a subscription to `a.>`, while `a.b` does not admit one to `a.*`.
pub fn matches(pattern: &str, subject: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let subject: Vec<&str> = subject.split('.').collect();
    for (i, p) in pattern.iter().enumerate() {
        match *p {
            ">" => return subject.len() > i,
            "*" if i < subject.len() => {}
            literal if subject.get(i) == Some(&literal) => {}
            _ => return false,
        }
    }
    pattern.len() == subject.len()
}

/// True when some literal subject matches both `a` and `b` (nats-server's `SubjectsCollide`):
/// whether a wildcard subscription can receive messages a deny entry names.
pub fn collide(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.split('.').collect();
    let b: Vec<&str> = b.split('.').collect();
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(&">"), Some(_)) | (Some(_), Some(&">")) => return true,
            (Some(x), Some(y)) if x == y || *x == "*" || *y == "*" => {}
            _ => return false,
        }
    }
    true
}

/// Go's `Subject.IsContainedIn`, kept verbatim in behaviour because Go's export-overlap and
/// import-overlap messages depend on it (it treats `*` in `other` as matching any token of
/// `subject`, including `>`).
pub(crate) fn go_is_contained_in(subject: &str, other: &str) -> bool {
    let other: Vec<&str> = other.split('.').collect();
    let mine: Vec<&str> = subject.split('.').collect();
    let other_ends_fwc = other.last() == Some(&">");
    if mine.len() > other.len() && !other_ends_fwc {
        return false;
    }
    if mine.len() < other.len() {
        return false;
    }
    for (i, tok) in other.iter().enumerate() {
        if i == other.len() - 1 && *tok == ">" {
            return true;
        }
        if *tok != mine[i] && *tok != "*" {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(s: &str) -> Vec<String> {
        let mut vr = ValidationResults::default();
        validate_subject(s, &mut vr);
        vr.issues.into_iter().map(|i| i.description).collect()
    }

    #[test]
    fn go_messages_for_bad_subjects() {
        assert_eq!(issues(""), vec!["subject cannot be empty"]);
        assert_eq!(issues("a b"), vec![r#"subject "a b" cannot have spaces"#]);
        assert_eq!(
            issues(".a"),
            vec!["subject \".a\" cannot start or end with a `.`"]
        );
        assert_eq!(
            issues("a..b"),
            vec!["subject \"a..b\" cannot contain consecutive `.`"]
        );
        assert_eq!(
            issues("a\tb"),
            vec![r#"subject "a\tb" cannot contain whitespace"#]
        );
        assert_eq!(
            issues("a.>.b"),
            vec!["subject \"a.>.b\" can only use `>` as the last token"]
        );
        assert!(issues("a.*.b.>").is_empty());
        assert!(issues("a*.b>").is_empty(), "partial wildcards are literals");
    }

    #[test]
    fn containment_is_precise() {
        assert!(contains("app.>", "app.a.b"));
        assert!(contains("app.>", "app.*"));
        assert!(contains("app.>", "app.>"));
        assert!(!contains("app.>", "app"));
        assert!(contains("app.*", "app.x"));
        assert!(contains("app.*", "app.*"));
        assert!(!contains("app.*", "app.>"));
        assert!(!contains("app.x", "app.*"));
        assert!(!contains("app.*", "app.x.y"));
        assert!(contains(">", "a"));
        assert!(contains("a.b", "a.b"));
        assert!(!contains("a.b", "a.b.c"));
        assert!(is_subset("a.b", "a.*"));
        assert!(!is_subset("a.*", "a.b"));
    }

    #[test]
    fn matching_reads_wildcards_of_the_subject_as_tokens() {
        assert!(matches("a.*", "a.b"));
        assert!(matches("a.*", "a.*"));
        assert!(
            matches("a.*", "a.>"),
            "the server's quirk: `*` matches a `>` token"
        );
        assert!(!matches("a.b", "a.*"));
        assert!(matches("a.>", "a.b.c"));
        assert!(matches("a.>", "a.*"));
        assert!(!matches("a.>", "a"));
        assert!(matches(">", "a"));
        assert!(!matches("a.*", "a.b.c"));
        assert!(!matches("a.b.c", "a.b"));
        assert!(matches("a.b", "a.b"));
    }

    #[test]
    fn collision_means_a_common_literal_subject() {
        assert!(collide("a.*", "a.b"));
        assert!(collide("a.>", "*.b.c"));
        assert!(collide("a.*", "a.>"));
        assert!(!collide("a.*", "a.b.c"));
        assert!(!collide("a.>", "a"));
        assert!(!collide("a.x", "a.y"));
        assert!(collide("a.b", "a.b"));
    }

    #[test]
    fn go_containment_quirks() {
        assert!(go_is_contained_in("foo.>", "foo.*"));
        assert!(go_is_contained_in("svc.a", "svc.>"));
        assert!(!go_is_contained_in("svc", "svc.>"));
        assert!(!go_is_contained_in("a.b", "a.c"));
    }

    #[test]
    fn wildcard_detection_matches_go() {
        assert!(has_wildcards("a.*"));
        assert!(has_wildcards("*.a"));
        assert!(has_wildcards("a.*.b"));
        assert!(has_wildcards(">"));
        assert!(!has_wildcards("a*"));
        assert!(!has_wildcards("a.b"));
    }
}
