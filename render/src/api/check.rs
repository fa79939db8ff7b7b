//! Checks shared by the `validate()` functions, one per kind of OpenAPI constraint.

use super::FieldError;

/// Kubernetes' DNS-label pattern, as NAuth's CRDs state it for names of referenced objects.
pub(crate) const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// [`DNS_LABEL_PATTERN`] or empty, for namespaces where empty means "the referrer's".
pub(crate) const OPTIONAL_DNS_LABEL_PATTERN: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$";

/// Whether `s` matches [`DNS_LABEL_PATTERN`].
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge_ok(first) && edge_ok(last) && bytes.iter().all(|b| edge_ok(b) || *b == b'-')
        }
        _ => false,
    }
}

/// Whether `s` is a DNS-1123 subdomain, as Kubernetes requires of most object names: at most 253
/// characters, DNS labels joined by dots.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `maxLength` on a string, counted in characters as the API server does.
pub(crate) fn max_length(errors: &mut Vec<FieldError>, path: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(FieldError::new(
            path,
            format!("must be at most {max} characters"),
        ));
    }
}

/// A required string: present in the schema, but an absent `spec` leaves it empty.
pub(crate) fn required(errors: &mut Vec<FieldError>, path: &str, value: &str) {
    if value.is_empty() {
        errors.push(FieldError::new(path, "required"));
    }
}

/// `minItems` on a list.
pub(crate) fn min_items<T>(errors: &mut Vec<FieldError>, path: &str, items: &[T], min: usize) {
    if items.len() < min {
        errors.push(FieldError::new(
            path,
            format!("must have at least {min} item(s)"),
        ));
    }
}

/// `maxItems` on a list.
pub(crate) fn max_items<T>(errors: &mut Vec<FieldError>, path: &str, items: &[T], max: usize) {
    if items.len() > max {
        errors.push(FieldError::new(
            path,
            format!("must have at most {max} items"),
        ));
    }
}

/// `minimum`/`maximum` on an integer.
pub(crate) fn range(errors: &mut Vec<FieldError>, path: &str, value: i64, min: i64, max: i64) {
    if !(min..=max).contains(&value) {
        errors.push(FieldError::new(
            path,
            format!("must be between {min} and {max}"),
        ));
    }
}

/// The DNS-label `pattern` together with its `maxLength` of 253.
pub(crate) fn dns_label(errors: &mut Vec<FieldError>, path: &str, value: &str) {
    max_length(errors, path, value, 253);
    if !is_dns_label(value) {
        errors.push(FieldError::new(
            path,
            format!("must match {DNS_LABEL_PATTERN}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "a1", "my-key", "0-x-9"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b"] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn dns_subdomains() {
        for ok in ["a", "a.b", "nats-1.example"] {
            assert!(is_dns_subdomain(ok), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "A.b", &"a".repeat(254)] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn limits_report_the_path() {
        let mut errors = Vec::new();
        min_items::<u8>(&mut errors, "spec.rules", &[], 1);
        range(&mut errors, "spec.x", 101, 0, 100);
        max_length(&mut errors, "spec.y", &"a".repeat(254), 253);
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.rules", "spec.x", "spec.y"]);
    }
}
