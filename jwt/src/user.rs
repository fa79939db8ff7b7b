//! User claim body, the permission/limit block it shares with scoped signing-key templates, and
//! user-only validation (source CIDRs, connect time windows, time zone).

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::generic::GenericFields;
use super::json::{go_quote, is_false};
use super::limits::NatsLimits;
use super::permissions::Permissions;
use super::validation::{ValidationResults, is_account_key};

/// Go's `TimeRange`: a daily connect window, `HH:MM:SS` each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    /// Window start.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// Window end.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub end: String,
}

impl TimeRange {
    /// Go's `TimeRange.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if self.start.is_empty() {
            vr.add_error("time ranges start must contain a start");
        } else if !is_clock_time(&self.start) {
            vr.add_error(format!(
                "start in time range is invalid {}",
                go_quote(&self.start)
            ));
        }
        if self.end.is_empty() {
            vr.add_error("time ranges end must contain an end");
        } else if !is_clock_time(&self.end) {
            vr.add_error(format!(
                "end in time range is invalid {}",
                go_quote(&self.end)
            ));
        }
    }
}

/// Accepts what Go's `time.Parse("15:04:05", s)` accepts: a 1–2 digit hour below 24, two-digit
/// minutes and seconds below 60, optionally a fractional second.
fn is_clock_time(s: &str) -> bool {
    let digits = |t: &str, max: u32, widths: &[usize]| {
        widths.contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_digit())
            && t.parse::<u32>().is_ok_and(|v| v < max)
    };
    let parts: Vec<&str> = s.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return false;
    };
    let (sec, frac) = match sec.split_once(['.', ',']) {
        Some((sec, frac)) => (sec, Some(frac)),
        None => (*sec, None),
    };
    digits(h, 24, &[1, 2])
        && digits(m, 60, &[2])
        && digits(sec, 60, &[2])
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `UserLimits`: where and when a user may connect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserLimits {
    /// Allowed source networks in CIDR notation. Decoding also accepts Go's legacy comma
    /// separated string form.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "deserialize_cidr_list"
    )]
    pub src: Vec<String>,
    /// Allowed daily connect windows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    /// IANA time zone the windows are in (JSON `times_location`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub times_location: String,
}

fn deserialize_cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => Vec::new(),
        Some(Raw::List(list)) => list,
        Some(Raw::Joined(joined)) => {
            let mut g = GenericFields::default();
            g.add_tags(joined.split(','));
            g.tags
        }
    })
}

impl UserLimits {
    /// Go's `Limits.Validate` for the user part. Time zones are checked by name shape only
    /// (no tz database here): Go's "invalid location name" cases and characters outside IANA
    /// names are rejected, any other non-empty name is accepted.
    pub fn validate(&self, vr: &mut ValidationResults) {
        for cidr in &self.src {
            if !is_cidr(cidr) {
                vr.add_error(format!(
                    "invalid cidr {} in user src limits",
                    go_quote(cidr)
                ));
            }
        }
        for range in &self.times {
            range.validate(vr);
        }
        let loc = &self.times_location;
        if loc.contains("..") || loc.starts_with(['/', '\\']) {
            vr.add_error("could not parse iana time zone by name: time: invalid location name");
        } else if !loc
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'))
        {
            vr.add_error(format!(
                "could not parse iana time zone by name: unknown time zone {loc}"
            ));
        }
    }
}

/// Go's `net.ParseCIDR` acceptance: an IPv4 or IPv6 address, `/`, a decimal prefix length that
/// fits the address family.
fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// Go's `UserPermissionLimits`: the block a user carries and a scoped signing key's template
/// supplies instead. Deserialisation claims exactly these JSON keys, so an enclosing body's
/// catch-all for unknown fields never sees them twice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserPermissionLimits {
    /// `pub`, `sub`, `resp`.
    #[serde(flatten)]
    pub permissions: Permissions,
    /// `src`, `times`, `times_location`.
    #[serde(flatten)]
    pub limits: UserLimits,
    /// `subs`, `data`, `payload`.
    #[serde(flatten)]
    pub nats_limits: NatsLimits,
    /// Skip nonce signing on connect (the JWT alone authenticates).
    #[serde(skip_serializing_if = "is_false")]
    pub bearer_token: bool,
    /// Only connections through a trusted proxy (Go v2.8).
    #[serde(skip_serializing_if = "is_false")]
    pub proxy_required: bool,
    /// `STANDARD`, `WEBSOCKET`, `LEAFNODE`, `LEAFNODE_WS`, `MQTT`, `MQTT_WS`, `IN_PROCESS`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_connection_types: Vec<String>,
}

const PERMISSION_LIMIT_FIELDS: &[&str] = &[
    "pub",
    "sub",
    "resp",
    "src",
    "times",
    "times_location",
    "subs",
    "data",
    "payload",
    "bearer_token",
    "proxy_required",
    "allowed_connection_types",
];

impl<'de> Deserialize<'de> for UserPermissionLimits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Map<String, Value>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("user permissions and limits")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = Map::new();
                while let Some((k, v)) = access.next_entry::<String, Value>()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        let map = d.deserialize_struct("UserPermissionLimits", PERMISSION_LIMIT_FIELDS, Fields)?;
        permission_limits_from_map(map).map_err(de::Error::custom)
    }
}

fn permission_limits_from_map(map: Map<String, Value>) -> serde_json::Result<UserPermissionLimits> {
    fn take<T: de::DeserializeOwned + Default>(
        map: &Map<String, Value>,
        key: &str,
    ) -> serde_json::Result<T> {
        map.get(key)
            .map_or(Ok(T::default()), |v| serde_json::from_value(v.clone()))
    }
    let whole = Value::Object(map);
    let map = whole.as_object().expect("built as an object");
    Ok(UserPermissionLimits {
        permissions: serde_json::from_value(whole.clone())?,
        limits: serde_json::from_value(whole.clone())?,
        nats_limits: serde_json::from_value(whole.clone())?,
        bearer_token: take(map, "bearer_token")?,
        proxy_required: take(map, "proxy_required")?,
        allowed_connection_types: take(map, "allowed_connection_types")?,
    })
}

impl UserPermissionLimits {
    /// Go's `User.Validate` for this block (permissions, then limits).
    pub fn validate(&self, vr: &mut ValidationResults) {
        self.permissions.validate(vr);
        self.limits.validate(vr);
    }
}

/// Body of a user JWT (Go's `User`).
///
/// `Default` is Go's zero value, which is also what a user signed by a scoped key must carry;
/// [`User::new`] matches `NewUserClaims` (subs, data and payload unlimited).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Permissions and limits.
    #[serde(flatten)]
    pub permission_limits: UserPermissionLimits,
    /// The account a signing key issued this user for; required when `iss` is not the account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    /// Tags, type, version.
    #[serde(flatten)]
    pub generic: GenericFields,
    /// Fields this module does not know, kept for round trips and emitted last in key order.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl User {
    /// Like Go's `NewUserClaims` body: subs, data and payload unlimited, everything else empty.
    pub fn new() -> Self {
        let mut user = User::default();
        user.permission_limits.nats_limits = NatsLimits::UNLIMITED;
        user
    }

    /// Go's `UserClaims.Validate` body part.
    pub fn validate(&self, vr: &mut ValidationResults) {
        self.permission_limits.validate(vr);
        if !self.issuer_account.is_empty() && !is_account_key(&self.issuer_account) {
            vr.add_error("account_id is not an account public key");
        }
    }
}

/// Go's `UserScope.ValidateScopedSigner` rule: a user signed by a scoped key must leave every
/// permission and limit empty, because the server applies the key's template instead.
pub fn validate_scoped_user(user: &User, vr: &mut ValidationResults) {
    if user.permission_limits != UserPermissionLimits::default() {
        vr.add_error("scoped users require no permissions or limits set");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_go_json;

    fn messages(vr: &ValidationResults) -> Vec<&str> {
        vr.issues.iter().map(|i| i.description.as_str()).collect()
    }

    #[test]
    fn new_user_matches_go_defaults() {
        let json = String::from_utf8(to_go_json(&User::new()).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1}"#
        );
    }

    #[test]
    fn unknown_fields_survive_without_duplicates() {
        let json = r#"{"pub":{"allow":["a"]},"sub":{},"subs":5,"bearer_token":true,"zz_new":1,"issuer_account":"A","aa_new":[true],"type":"user","version":2}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(
            user.extra.keys().collect::<Vec<_>>(),
            vec!["aa_new", "zz_new"]
        );
        assert!(user.permission_limits.bearer_token);
        assert_eq!(user.permission_limits.nats_limits.subs, 5);
        let out = String::from_utf8(to_go_json(&user).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"pub":{"allow":["a"]},"sub":{},"subs":5,"bearer_token":true,"issuer_account":"A","type":"user","version":2,"aa_new":[true],"zz_new":1}"#
        );
    }

    #[test]
    fn src_accepts_go_comma_form() {
        let user: User = serde_json::from_str(r#"{"src":"10.0.0.0/8, 192.168.0.0/16"}"#).unwrap();
        assert_eq!(
            user.permission_limits.limits.src,
            vec!["10.0.0.0/8", "192.168.0.0/16"]
        );
    }

    #[test]
    fn limit_messages_match_go() {
        let limits = UserLimits {
            src: vec![
                "10.0.0.0/8".into(),
                "10.0.0.0/33".into(),
                "::1/129".into(),
                "x".into(),
            ],
            times: vec![
                TimeRange {
                    start: "9:00:00".into(),
                    end: "17:00:00.5".into(),
                },
                TimeRange {
                    start: "24:00:00".into(),
                    end: "".into(),
                },
            ],
            times_location: "Europe/Berlin".into(),
        };
        let mut vr = ValidationResults::default();
        limits.validate(&mut vr);
        assert_eq!(
            messages(&vr),
            vec![
                r#"invalid cidr "10.0.0.0/33" in user src limits"#,
                r#"invalid cidr "::1/129" in user src limits"#,
                r#"invalid cidr "x" in user src limits"#,
                r#"start in time range is invalid "24:00:00""#,
                "time ranges end must contain an end",
            ]
        );
        let mut vr = ValidationResults::default();
        UserLimits {
            times_location: "Bad Zone".into(),
            ..Default::default()
        }
        .validate(&mut vr);
        assert_eq!(
            messages(&vr),
            vec!["could not parse iana time zone by name: unknown time zone Bad Zone"]
        );
    }

    #[test]
    fn scoped_users_must_be_empty() {
        let mut vr = ValidationResults::default();
        validate_scoped_user(&User::default(), &mut vr);
        assert!(vr.is_empty());
        validate_scoped_user(&User::new(), &mut vr);
        assert_eq!(
            messages(&vr),
            vec!["scoped users require no permissions or limits set"]
        );
    }
}
