//! JSON exactly as Go's `encoding/json` writes it, plus the `omitempty` predicates the claim types
//! share.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io;

/// Serialises `value` the way Go's `json.Marshal` would: compact, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped. Token payloads and the `jti` hash input must be these exact bytes.
///
/// Field order and `omitempty` are the types' business; this only fixes the string escaping.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Compact formatter that adds Go's HTML-safe escapes to serde_json's (which already match Go for
/// quotes, backslashes and control characters).
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Quotes like Go's `%q` verb, so validation messages read exactly as Go prints them.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !c.is_ascii() && (c.is_control() || c.is_whitespace()) => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn is_zero(v: &i64) -> bool {
    *v == 0
}

pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let s = "a<b>&c\u{2028}\u{2029}\"\\\n\u{1}é";
        let out = String::from_utf8(to_go_json(s).unwrap()).unwrap();
        assert_eq!(out, r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\u0001é""#);
    }

    #[test]
    fn quotes_like_go_percent_q() {
        assert_eq!(go_quote("a \"b\"\t\u{a0}ü"), r#""a \"b\"\t\u00a0ü""#);
    }
}
