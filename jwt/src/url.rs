//! The small part of Go's `net/url.Parse` that claim validation looks at: scheme, user info,
//! host and path of an absolute URL.

use super::json::go_quote;

/// The pieces of a URL that validation inspects.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub scheme: String,
    pub has_user: bool,
    pub host: String,
    pub path: String,
}

/// Splits `raw` like Go's `url.Parse`, returning Go-style `parse "raw": reason` errors for the
/// cases Go rejects that matter here (control characters, a colon in a scheme-less first segment,
/// an unclosed IPv6 literal).
pub(crate) fn parse_url(raw: &str) -> Result<ParsedUrl, String> {
    let fail = |why: &str| Err(format!("parse {}: {why}", go_quote(raw)));
    if raw.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return fail("net/url: invalid control character in URL");
    }
    let rest = raw.split('#').next().unwrap_or_default();
    let rest = rest.split('?').next().unwrap_or_default();
    let (scheme, rest) = match rest.split_once(':') {
        Some((s, r)) if is_scheme(s) => (s.to_lowercase(), r),
        Some(("", _)) => return fail("missing protocol scheme"),
        Some((s, _)) if !s.contains('/') => {
            return fail("first path segment in URL cannot contain colon");
        }
        _ => (String::new(), rest),
    };
    let mut url = ParsedUrl {
        scheme,
        ..ParsedUrl::default()
    };
    let Some(after) = rest.strip_prefix("//") else {
        url.path = rest.to_string();
        return Ok(url);
    };
    let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
    url.path = path.to_string();
    let host = match authority.rsplit_once('@') {
        Some((_, h)) => {
            url.has_user = true;
            h
        }
        None => authority,
    };
    url.host = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, _)) => h.to_string(),
            None => return fail("missing ']' in host"),
        }
    } else {
        host.split(':').next().unwrap_or_default().to_string()
    };
    Ok(url)
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_parts_validation_needs() {
        let u = parse_url("nats://u:p@127.0.0.1:4222/path?x#y").unwrap();
        assert_eq!(
            u,
            ParsedUrl {
                scheme: "nats".into(),
                has_user: true,
                host: "127.0.0.1".into(),
                path: "/path".into()
            }
        );
        let u = parse_url("wss://[::1]:443").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.path, "");
        let u = parse_url("nohost").unwrap();
        assert!(u.scheme.is_empty() && u.host.is_empty());
        assert!(parse_url("1a:b").is_err());
        assert!(parse_url("http://[::1").is_err());
    }
}
