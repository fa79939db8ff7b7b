//! Publish/subscribe permissions of users, scoped-key templates and account defaults.

use serde::{Deserialize, Serialize};

use super::subject::validate_subject;
use super::validation::ValidationResults;

/// Go's `Permission`: subjects allowed and denied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Permission {
    /// Allowed subjects; subscribe entries may carry a queue group after a space.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Denied subjects, same syntax as `allow`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl Permission {
    /// True when neither list has entries.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Go's `Permission.Validate`; queue groups are only legal for subscribe permissions.
    pub fn validate(&self, vr: &mut ValidationResults, permit_queue: bool) {
        for subject in self.allow.iter().chain(&self.deny) {
            let tokens: Vec<&str> = subject.split(' ').collect();
            match tokens.as_slice() {
                [s] => validate_subject(s, vr),
                [s, queue] => {
                    validate_subject(s, vr);
                    validate_subject(queue, vr);
                    if !permit_queue {
                        vr.add_error(format!(
                            "Permission Subject \"{subject}\" is not allowed to contain queue"
                        ));
                    }
                }
                _ => vr.add_error(format!(
                    "Permission Subject \"{subject}\" contains too many spaces"
                )),
            }
        }
    }
}

/// Go's `ResponsePermission`: lets a responder publish to reply subjects it received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponsePermission {
    /// Responses allowed per request; negative means unlimited.
    pub max: i64,
    /// How long the permission lasts, in nanoseconds (Go's `time.Duration`), JSON name `ttl`.
    #[serde(rename = "ttl")]
    pub ttl_ns: i64,
}

/// Go's `Permissions`: publish, subscribe and response rules. `pub` and `sub` are always emitted
/// (Go never omits struct fields), `resp` only when set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Permissions {
    /// Publish permissions (JSON `pub`).
    #[serde(rename = "pub")]
    pub pub_: Permission,
    /// Subscribe permissions.
    pub sub: Permission,
    /// Response permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
}

impl Permissions {
    /// Go's `Permissions.Validate` (subscribe first, then publish, as Go does).
    pub fn validate(&self, vr: &mut ValidationResults) {
        self.sub.validate(vr, true);
        self.pub_.validate(vr, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_go_json;

    #[test]
    fn empty_permissions_still_emit_pub_and_sub() {
        let json = to_go_json(&Permissions::default()).unwrap();
        assert_eq!(json, br#"{"pub":{},"sub":{}}"#);
    }

    #[test]
    fn queue_only_allowed_for_subscribe() {
        let p = Permissions {
            pub_: Permission {
                allow: vec!["a q".into()],
                deny: vec![],
            },
            sub: Permission {
                allow: vec!["a q".into(), "a b c".into()],
                deny: vec![],
            },
            resp: None,
        };
        let mut vr = ValidationResults::default();
        p.validate(&mut vr);
        let msgs: Vec<_> = vr.issues.iter().map(|i| i.description.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                r#"Permission Subject "a b c" contains too many spaces"#,
                r#"Permission Subject "a q" is not allowed to contain queue"#,
            ]
        );
    }
}
