//! Unix times as RFC 3339 UTC, placed next to the numbers in decoded claims, so a reviewer sees
//! when a JWT was issued, expires or revoked whom without converting by hand.

use serde_json::{Map, Value};

/// Claim fields that hold unix seconds.
const TIME_FIELDS: [&str; 3] = ["iat", "exp", "nbf"];
/// Maps whose values are unix seconds (public key → revocation time).
const TIME_MAPS: [&str; 1] = ["revocations"];

/// `secs` as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A copy of `value` where every time field `f` gets a sibling `f_utc` and every time map
/// `m` a sibling map `m_utc`, at any depth (export revocations included).
pub fn annotate(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(annotate).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                out.insert(key.clone(), annotate(v));
                let utc = format!("{key}_utc");
                if TIME_FIELDS.contains(&key.as_str())
                    && let Some(secs) = v.as_i64()
                {
                    out.insert(utc, Value::from(rfc3339(secs)));
                } else if TIME_MAPS.contains(&key.as_str())
                    && let Value::Object(times) = v
                {
                    let converted = times
                        .iter()
                        .filter_map(|(k, t)| Some((k.clone(), Value::from(rfc3339(t.as_i64()?)))))
                        .collect();
                    out.insert(utc, Value::Object(converted));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn annotates_fields_and_revocation_maps_at_any_depth() {
        let claims = json!({
            "iat": 1_700_000_000,
            "sub": "A",
            "nats": {"revocations": {"UX": 86_400}, "exports": [{"revocations": {"*": 0}}]}
        });
        let out = annotate(&claims);
        assert_eq!(out["iat"], 1_700_000_000);
        assert_eq!(out["iat_utc"], "2023-11-14T22:13:20Z");
        assert_eq!(out["nats"]["revocations_utc"]["UX"], "1970-01-02T00:00:00Z");
        assert_eq!(
            out["nats"]["exports"][0]["revocations_utc"]["*"],
            "1970-01-01T00:00:00Z"
        );
        assert!(out.get("sub_utc").is_none());
    }
}
