//! The permission check nats-server runs on a user's connection, with the rule that decided.
//!
//! Facts this follows (nats-server `auth.go`, `accounts.go`, `client.go`):
//! - a user signed by a scoped signing key gets the key's template instead of its own block;
//! - a user whose JWT has no `pub`, `sub` or `resp` entries gets the account's default
//!   permissions, and with none of those either, no permissions at all: everything is allowed;
//! - an empty allow list means "everything"; a deny entry beats any allow entry;
//! - `resp` without a publish allow list turns publishing off except for replies to requests the
//!   user received (decided at run time, per request);
//! - subscribe entries may carry a queue group (`"subject queue"`): such an entry only speaks
//!   about queue subscriptions in that group; the queue group `_sys_` is reserved.

use crate::jwt::{self, ResponsePermission, subject};

use super::{Check, Operation, Rule};

/// The queue group nats-server keeps for itself.
const SYSTEM_QUEUE: &str = "_sys_";

/// One allow or deny entry and where it came from.
struct Entry<'a> {
    subject: &'a str,
    queue: Option<&'a str>,
    source: String,
}

impl Entry<'_> {
    fn rule(&self) -> Rule {
        let entry = match self.queue {
            Some(q) => format!("{} {q}", self.subject),
            None => self.subject.to_string(),
        };
        Rule {
            source: self.source.clone(),
            entry,
        }
    }

    fn quoted(&self) -> String {
        let rule = self.rule();
        format!("{} {:?}", rule.source, rule.entry)
    }
}

/// Allow and deny entries of one direction. `allow: None` is "no allow list": all allowed.
struct Side<'a> {
    allow: Option<Vec<Entry<'a>>>,
    deny: Vec<Entry<'a>>,
    /// `spec.permissions.pub` and the like, for messages that name the list itself.
    source: String,
}

impl Side<'_> {
    /// The verdict once the allow list admitted the subject through `hit` (`None`: there is no
    /// allow list) and `deny` is the deny entry that matches, if any: a deny always wins.
    fn verdict(&self, hit: Option<&Entry>, deny: Option<&Entry>) -> (bool, Option<Rule>, String) {
        match (deny, hit) {
            (Some(deny), Some(hit)) => (
                false,
                Some(deny.rule()),
                format!(
                    "denied by {}, which wins over {}",
                    deny.quoted(),
                    hit.quoted()
                ),
            ),
            (Some(deny), None) => (
                false,
                Some(deny.rule()),
                format!("denied by {}", deny.quoted()),
            ),
            (None, Some(hit)) => (
                true,
                Some(hit.rule()),
                format!("allowed by {}", hit.quoted()),
            ),
            (None, None) => (
                true,
                None,
                format!(
                    "{}.allow is empty (everything allowed) and no entry of {}.deny matches",
                    self.source, self.source
                ),
            ),
        }
    }
}

/// The permissions nats-server applies to a user's connection, with their origin.
pub(super) struct Effective<'a> {
    /// `None` when the connection has no permissions at all.
    sides: Option<(Option<Side<'a>>, Option<Side<'a>>)>,
    resp: Option<&'a ResponsePermission>,
    /// Why these permissions apply (or why there are none).
    origin: String,
}

/// A block of permissions and where it comes from.
pub(super) struct Origin<'a> {
    /// The block.
    pub permissions: &'a jwt::Permissions,
    /// Prefix of each entry's source, such as `spec.permissions`.
    pub prefix: String,
    /// Why this block applies, when it does.
    pub why: String,
}

impl<'a> Effective<'a> {
    /// The permissions nats-server applies given the user's own block (or its scoped key's
    /// template) and the account's default block; `none` says why there are none when both
    /// are empty.
    pub fn resolve(own: Origin<'a>, default: Origin<'a>, none: String) -> Self {
        let present =
            |p: &jwt::Permissions| !p.pub_.is_empty() || !p.sub.is_empty() || p.resp.is_some();
        let origin = if present(own.permissions) {
            own
        } else if present(default.permissions) {
            default
        } else {
            return Effective {
                sides: None,
                resp: None,
                origin: none,
            };
        };
        let p = origin.permissions;
        let side = |perm: &'a jwt::Permission, name: &str, empty_allow_denies: bool| {
            let source = format!("{}.{name}", origin.prefix);
            let entries = |list: &'a [String], kind: &str| -> Vec<Entry<'a>> {
                list.iter()
                    .enumerate()
                    .map(|(i, raw)| {
                        let (subject, queue) = match raw.split_once(' ') {
                            Some((s, q)) => (s, Some(q)),
                            None => (raw.as_str(), None),
                        };
                        Entry {
                            subject,
                            queue,
                            source: format!("{source}.{kind}[{i}]"),
                        }
                    })
                    .collect()
            };
            let allow = (!perm.allow.is_empty() || empty_allow_denies)
                .then(|| entries(&perm.allow, "allow"));
            Side {
                allow,
                deny: entries(&perm.deny, "deny"),
                source,
            }
        };
        // The server turns off the blanket publish allow when `resp` is set (an empty, present
        // allow list), so only replies remain publishable unless `pub.allow` says more.
        let pub_ = (!p.pub_.is_empty() || p.resp.is_some())
            .then(|| side(&p.pub_, "pub", p.resp.is_some()));
        let sub = (!p.sub.is_empty()).then(|| side(&p.sub, "sub", false));
        Effective {
            sides: Some((pub_, sub)),
            resp: p.resp.as_ref(),
            origin: origin.why,
        }
    }

    /// The response permission, when the connection has one.
    pub fn resp(&self) -> Option<&ResponsePermission> {
        self.resp
    }

    /// nats-server's publish check for `subject` (a literal).
    pub fn publish(&self, subject: &str) -> Check {
        let check = |allowed, rule, reason| Check {
            operation: Operation::Publish,
            subject: subject.to_string(),
            allowed,
            rule,
            reason,
        };
        let Some((Some(side), _)) = &self.sides else {
            return check(true, None, self.unrestricted("publish"));
        };
        let hit = match &side.allow {
            None => None,
            Some(allow) => match allow.iter().find(|e| subject::matches(e.subject, subject)) {
                Some(hit) => Some(hit),
                None => {
                    let reason = if allow.is_empty() {
                        format!(
                            "{}.allow is empty but resp is set: nats-server then allows \
                             publishing only to reply subjects of requests the user received",
                            side.source
                        )
                    } else {
                        format!(
                            "no entry of {}.allow matches ({})",
                            side.source,
                            list(allow)
                        )
                    };
                    return check(false, None, reason);
                }
            },
        };
        let deny = side
            .deny
            .iter()
            .find(|e| subject::matches(e.subject, subject));
        let (allowed, rule, reason) = side.verdict(hit, deny);
        check(allowed, rule, reason)
    }

    /// nats-server's subscribe check for `subject` (wildcards allowed) and an optional queue.
    pub fn subscribe(&self, subject: &str, queue: Option<&str>) -> Check {
        let check = |allowed, rule, reason| Check {
            operation: Operation::Subscribe,
            subject: subject.to_string(),
            allowed,
            rule,
            reason,
        };
        if queue == Some(SYSTEM_QUEUE) {
            return check(
                false,
                None,
                format!("the queue group {SYSTEM_QUEUE} is reserved for nats-server"),
            );
        }
        let Some((_, Some(side))) = &self.sides else {
            return check(true, None, self.unrestricted("subscribe"));
        };
        fn matching<'e>(list: &'e [Entry<'e>], subject: &str) -> Vec<&'e Entry<'e>> {
            list.iter()
                .filter(|e| subject::matches(e.subject, subject))
                .collect()
        }
        let mut decided_by = None;
        if let Some(allow) = &side.allow {
            let hits = matching(allow, subject);
            let plain = hits.iter().copied().find(|e| e.queue.is_none());
            let queued: Vec<&Entry> = hits.iter().copied().filter(|e| e.queue.is_some()).collect();
            decided_by = match (queue, queued.is_empty()) {
                // A queue subscription matched by queue entries is decided by them alone.
                (Some(q), false) => {
                    let Some(hit) = queued.iter().copied().find(|e| queue_matches(q, e)) else {
                        let reason = format!(
                            "queue group {q:?} is not one that the matching entries of {}.allow \
                             name ({})",
                            side.source,
                            queued
                                .iter()
                                .map(|e| e.quoted())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        return check(false, None, reason);
                    };
                    Some(hit)
                }
                _ => match plain {
                    Some(hit) => Some(hit),
                    None => {
                        let mut reason = format!(
                            "no entry of {}.allow matches ({})",
                            side.source,
                            list(allow)
                        );
                        if !queued.is_empty() {
                            reason.push_str(
                                "; the entries that match name a queue group, so they only allow \
                                 queue subscriptions in that group",
                            );
                        }
                        return check(false, None, reason);
                    }
                },
            };
        }
        let denies = matching(&side.deny, subject);
        let deny = denies.iter().find(|e| match (e.queue, queue) {
            (None, _) => true,
            (Some(_), Some(q)) => queue_matches(q, e),
            (Some(_), None) => false,
        });
        let (allowed, rule, reason) = side.verdict(decided_by, deny.copied());
        check(allowed, rule, reason)
    }

    /// Deny entries that a (wildcard or queue) subscription to `subject` overlaps without
    /// matching: nats-server accepts the subscription but drops those messages on delivery.
    pub fn delivery_filters(&self, subject: &str, queue: Option<&str>) -> Vec<String> {
        let Some((_, Some(side))) = &self.sides else {
            return Vec::new();
        };
        side.deny
            .iter()
            .filter(|e| match (e.queue, queue) {
                (None, _) => true,
                (Some(_), Some(q)) => queue_matches(q, e),
                (Some(_), None) => false,
            })
            .filter(|e| {
                !subject::matches(e.subject, subject) && subject::collide(e.subject, subject)
            })
            .map(Entry::quoted)
            .collect()
    }

    fn unrestricted(&self, what: &str) -> String {
        match &self.sides {
            None => format!(
                "no permissions apply ({}), so every {what} is allowed",
                self.origin
            ),
            Some(_) => format!(
                "the permissions ({}) have no {what} rules, so every {what} is allowed",
                self.origin
            ),
        }
    }

    /// Why these permissions apply.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// nats-server's queue check: the same name, or a wildcard queue name that covers it.
fn queue_matches(queue: &str, entry: &Entry) -> bool {
    let name = entry.queue.unwrap_or_default();
    queue == name || (subject::has_wildcards(name) && subject::contains(name, queue))
}

fn list(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|e| format!("{:?}", e.rule().entry))
        .collect::<Vec<_>>()
        .join(", ")
}
