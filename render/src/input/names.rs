//! Object names checked as the API server checks them, together with the names render and NAuth
//! derive from them: an object whose name renders here but whose creds Secret the cluster would
//! refuse must fail before anything is written, not at apply time.

use crate::api::{Kind, is_dns_label, is_dns_subdomain};

/// Longest object name (a DNS-1123 subdomain), and so the longest derived Secret or ConfigMap name.
const MAX_NAME: usize = 253;
/// Longest DNS-1123 label (a namespace), and longest label value.
const MAX_LABEL: usize = 63;

/// Names derived from an object's name, each with what it names: they must be valid object names
/// too.
fn derived(kind: Kind, name: &str) -> Vec<(String, &'static str)> {
    match kind {
        Kind::User => vec![(crate::output::user_secret_name(name), "creds Secret")],
        Kind::Account => vec![(
            crate::output::account_config_map_name(name),
            "account JWT ConfigMap",
        )],
        _ => Vec::new(),
    }
}

/// `(field, rule)` of every way `namespace` and `name` of an object of `kind` break the API
/// server's naming rules; empty when they are valid.
pub fn problems(kind: Kind, namespace: &str, name: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    if !is_label(namespace) {
        found.push((
            "metadata.namespace",
            format!(
                "namespace {namespace:?} is not a DNS-1123 label (lowercase letters, digits and \
                 '-', starting and ending with a letter or digit, at most {MAX_LABEL} characters)"
            ),
        ));
    }
    if !is_dns_subdomain(name) {
        found.push((
            "metadata.name",
            format!(
                "name {name:?} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and \
                 '.', starting and ending with a letter or digit, at most {MAX_NAME} characters)"
            ),
        ));
        return found;
    }
    for (derived, what) in derived(kind, name) {
        if derived.len() > MAX_NAME {
            found.push((
                "metadata.name",
                format!(
                    "the {what} name {derived:?} would be {} characters, more than the {MAX_NAME} \
                     the API server accepts",
                    derived.len()
                ),
            ));
        }
    }
    // NAuth labels an Account's key Secrets `account.nauth.io/name=<name>`, and key Secrets
    // are looked up by that label: a label value holds at most 63 characters.
    if kind == Kind::Account && name.len() > MAX_LABEL {
        found.push((
            "metadata.name",
            format!(
                "an Account name is used as the label value account.nauth.io/name, which holds \
                 at most {MAX_LABEL} characters; this one has {}",
                name.len()
            ),
        ));
    }
    found
}

/// A DNS-1123 label of at most 63 characters, as namespaces must be.
fn is_label(s: &str) -> bool {
    s.len() <= MAX_LABEL && is_dns_label(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains_follow_dns_1123() {
        for ok in ["a", "a-b", "0", "a1-2b"] {
            assert!(is_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("a.b-c.d"));
        assert!(is_dns_subdomain(&"a".repeat(253)));
        for bad in ["a..b", ".a", "a.", "Shop", "a b", &"a".repeat(254)] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn derived_names_and_label_values_have_their_own_limits() {
        assert!(problems(Kind::User, "shop", &"u".repeat(237)).is_empty());
        let long_user = problems(Kind::User, "shop", &"u".repeat(238));
        assert_eq!(long_user.len(), 1);
        assert!(
            long_user[0].1.contains("creds Secret name") && long_user[0].1.contains("254 char"),
            "{long_user:?}"
        );
        assert!(problems(Kind::Account, "shop", &"a".repeat(63)).is_empty());
        let long_account = problems(Kind::Account, "shop", &"a".repeat(64));
        assert_eq!(long_account.len(), 1);
        assert!(long_account[0].1.contains("account.nauth.io/name"));
        assert!(problems(Kind::AccountExport, "shop", &"e".repeat(253)).is_empty());
    }

    #[test]
    fn namespace_and_name_are_both_reported() {
        let found = problems(Kind::User, "Shop_1", "Invoicer");
        let fields: Vec<_> = found.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["metadata.namespace", "metadata.name"]);
    }
}
