//! `explain`: may a user publish, subscribe or make a request on a subject, and why.
//!
//! Computed offline from rendered claims, so a pull request can show what a permission change
//! does before any server sees it. The verdict is exactly the permission check nats-server runs
//! on the user's connection; the reasons name the rule that decided it, and, as extra
//! information, where the message crosses into another account (imports and exports) and
//! whether JetStream answers there. Nothing here reads files or keys: the caller passes claims.
//!
//! What "allowed" means per action:
//! - `Publish`: the server accepts a publish of the (literal) subject.
//! - `Subscribe`: the server accepts a subscription to the subject (wildcards allowed), in the
//!   queue group when one is given. Deny entries that only overlap a wildcard subscription do
//!   not refuse it; the server drops those messages on delivery (listed in `notes`).
//! - `Request`: both of what a request needs with the NATS clients' shared reply inbox
//!   (the default of nats.go, async-nats and nats.py): publishing the subject, and subscribing
//!   to `_INBOX.<random>.*`, the reply subscription the client makes once per connection.

mod permissions;
mod routes;
mod text;

use serde::Serialize;

use crate::jwt::{self, subject};
use crate::render::{Preview, Previewed};

use permissions::{Effective, Origin};

/// What the user wants to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Publish to a literal subject.
    Publish,
    /// Subscribe to a subject (wildcards allowed), optionally in a queue group.
    Subscribe {
        /// The queue group, for a queue subscription.
        queue: Option<String>,
    },
    /// Send a request: publish, and receive the reply on the client's inbox.
    Request,
}

/// The single operations the server checks; a request is one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// A publish (`PUB`).
    Publish,
    /// A subscription (`SUB`).
    Subscribe,
}

/// The rule that decided a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Where the entry is, such as `spec.permissions.pub.allow[0]`.
    pub source: String,
    /// The entry itself (`subject` or `subject queue`).
    pub entry: String,
}

/// One permission check as nats-server runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked.
    pub operation: Operation,
    /// On which subject.
    pub subject: String,
    /// The server's answer.
    pub allowed: bool,
    /// The entry that decided, when one did (none when no list applies or no allow entry
    /// matches).
    pub rule: Option<Rule>,
    /// The decision in words.
    pub reason: String,
}

/// A way the message crosses into (or comes from) another account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `service` or `stream`.
    pub kind: String,
    /// The import's `subject`.
    pub import: String,
    /// The import's subject in the importing account.
    pub local_subject: String,
    /// The other account (`namespace/name`, or its public key when it is not in the input).
    pub account: String,
    /// The export the import relies on, when one covers it.
    pub export: Option<String>,
    /// The subject as the other account sees it.
    pub subject: String,
    /// False when nats-server would not set the import up (no covering export, missing
    /// activation token, unknown account).
    pub active: bool,
    /// Users of the other account that may take part (subscribe to what arrives, or publish
    /// what is received); empty when none is in the input or it depends on wildcards.
    pub users: Vec<String>,
    /// The route in words.
    pub reason: String,
}

/// The answer: the verdict, the checks behind it, and what happens around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The verdict: every check passed.
    pub allowed: bool,
    /// The user (`namespace/name`).
    pub user: String,
    /// The user's account (`namespace/name`).
    pub account: String,
    /// `publish`, `subscribe` or `request`.
    pub action: &'static str,
    /// The subject asked about.
    pub subject: String,
    /// The queue group of a queue subscription (`null` otherwise).
    pub queue: Option<String>,
    /// Where the user's permissions come from.
    pub permissions: String,
    /// The server's checks, in the order a client triggers them.
    pub checks: Vec<Check>,
    /// Cross-account paths (only when the server accepts the operation).
    pub routes: Vec<Route>,
    /// Further facts: JetStream, run-time reply permissions, delivery-time deny filters.
    pub notes: Vec<String>,
}

/// Why a question cannot be answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    /// `User ns/x is not in the input`.
    #[error("User {0} is not in the input")]
    UnknownUser(String),
    /// The user's account is not among the rendered accounts.
    #[error("the account of User {user} ({key}) is not in the input")]
    UnknownAccount {
        /// The user.
        user: String,
        /// The account public key the user's JWT names.
        key: String,
    },
    /// The subject breaks NATS subject rules, or a publish names a wildcard.
    #[error("{0}")]
    BadSubject(String),
    /// The question depends on something explain does not model (template functions).
    #[error("{0}")]
    Unsupported(String),
}

/// The subject of the reply subscription a NATS client makes for requests, with the random
/// token written as a `*` token: matched against permission entries as a token, it matches
/// exactly the entries a random token would (wildcards there, never a literal).
const REQUEST_INBOX: &str = "_INBOX.*.*";
/// How reasons show [`REQUEST_INBOX`].
const REQUEST_INBOX_SHOWN: &str = "_INBOX.<random>.*";
/// Subjects of nats-server's Raft groups, closed to clients whatever their permissions.
const RAFT_PREFIX: &str = "$NRG.";

/// Explains whether the user `user` (`namespace/name`) may do `action` on `subject`, given the
/// claims of every account (for imports and exports) and user (to say who could be listening on
/// the other side) — a render's or a keyless preview's.
pub fn explain(
    world: &Preview,
    user: &str,
    action: &Action,
    subject: &str,
) -> Result<Explanation, ExplainError> {
    let u = world
        .users
        .iter()
        .find(|u| u.key() == user)
        .ok_or_else(|| ExplainError::UnknownUser(user.to_string()))?;
    let account = account_of(world, u)?;
    check_subject(subject, action)?;
    let perms = effective(u, account)?;
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    let routes = match action {
        Action::Publish | Action::Request => {
            let mut publish = perms.publish(subject);
            if publish.allowed && subject.starts_with(RAFT_PREFIX) {
                publish.allowed = false;
                publish.rule = None;
                publish.reason = format!(
                    "nats-server refuses client publishes to {RAFT_PREFIX}> (its Raft groups) in \
                     every account but the system account"
                );
            }
            checks.push(publish);
            if action == &Action::Request {
                let mut inbox = perms.subscribe(REQUEST_INBOX, None);
                inbox.subject = REQUEST_INBOX_SHOWN.to_string();
                inbox.reason = inbox.reason.replace(REQUEST_INBOX, REQUEST_INBOX_SHOWN);
                checks.push(inbox);
            }
            if let (Some(resp), false) = (perms.resp(), checks[0].allowed) {
                notes.push(resp_note(resp));
            }
            // Routes and JetStream only matter for a message the server accepts.
            if checks[0].allowed {
                let routes = routes::publish(world, account, subject);
                notes.extend(jetstream_note(world, account, &routes, subject));
                routes
            } else {
                Vec::new()
            }
        }
        Action::Subscribe { queue } => {
            let check = perms.subscribe(subject, queue.as_deref());
            if check.allowed {
                for deny in perms.delivery_filters(subject, queue.as_deref()) {
                    notes.push(format!(
                        "messages matching {deny} are not delivered to this subscription \
                         (nats-server filters them on delivery)"
                    ));
                }
            }
            let allowed = check.allowed;
            checks.push(check);
            if allowed {
                routes::subscribe(world, account, subject)
            } else {
                Vec::new()
            }
        }
    };
    Ok(Explanation {
        allowed: checks.iter().all(|c| c.allowed),
        user: u.key(),
        account: account.key(),
        action: match action {
            Action::Publish => "publish",
            Action::Subscribe { .. } => "subscribe",
            Action::Request => "request",
        },
        subject: subject.to_string(),
        queue: match action {
            Action::Subscribe { queue } => queue.clone(),
            _ => None,
        },
        permissions: perms.origin().to_string(),
        checks,
        routes,
        notes,
    })
}

fn account_of<'w>(
    world: &'w Preview,
    u: &Previewed<jwt::User>,
) -> Result<&'w Previewed<jwt::Account>, ExplainError> {
    let key = if u.claims.nats.issuer_account.is_empty() {
        &u.claims.data.iss
    } else {
        &u.claims.nats.issuer_account
    };
    world
        .accounts
        .iter()
        .find(|a| &a.claims.data.sub == key)
        .ok_or_else(|| ExplainError::UnknownAccount {
            user: u.key(),
            key: key.clone(),
        })
}

/// Rejects subjects nats-server would refuse outright, and wildcards in a publish.
fn check_subject(s: &str, action: &Action) -> Result<(), ExplainError> {
    let mut vr = jwt::ValidationResults::default();
    subject::validate_subject(s, &mut vr);
    if let Some(issue) = vr.issues.first() {
        return Err(ExplainError::BadSubject(issue.description.clone()));
    }
    let wildcard = s.split('.').any(|t| t == "*" || t == ">");
    if wildcard && !matches!(action, Action::Subscribe { .. }) {
        return Err(ExplainError::BadSubject(format!(
            "cannot {} to {s:?}: only subscriptions may use wildcards",
            if action == &Action::Request {
                "send a request"
            } else {
                "publish"
            }
        )));
    }
    if let Action::Subscribe { queue: Some(q) } = action
        && (q.is_empty() || q.chars().any(char::is_whitespace))
    {
        return Err(ExplainError::BadSubject(format!(
            "queue group {q:?} must be one word without whitespace"
        )));
    }
    Ok(())
}

/// The permissions nats-server gives the user's connection: a scoped signing key's template,
/// else the user's own, else the account's defaults, else none.
fn effective<'a>(
    u: &'a Previewed<jwt::User>,
    account: &'a Previewed<jwt::Account>,
) -> Result<Effective<'a>, ExplainError> {
    let body = &account.claims.nats;
    let scope = body
        .signing_keys
        .0
        .get(&u.claims.data.iss)
        .and_then(Option::as_ref);
    let own = match scope {
        Some(scope) => {
            let p = &scope.template.permissions;
            let templated = [&p.pub_, &p.sub]
                .iter()
                .flat_map(|s| s.allow.iter().chain(&s.deny))
                .any(|s| s.contains("{{"));
            if templated {
                return Err(ExplainError::Unsupported(format!(
                    "User {} is signed by scoped signing key {} whose template uses template \
                     functions ({{{{...}}}}), which explain does not expand",
                    u.key(),
                    scope.key
                )));
            }
            Origin {
                permissions: p,
                prefix: format!("template of scoped signing key {:?}", scope.role),
                why: format!(
                    "the template of scoped signing key {} (role {:?}), which replaces the \
                     user's own permissions",
                    scope.key, scope.role
                ),
            }
        }
        None => Origin {
            permissions: &u.claims.nats.permission_limits.permissions,
            prefix: "spec.permissions".to_string(),
            why: "the user's own spec.permissions".to_string(),
        },
    };
    let default = Origin {
        permissions: &body.default_permissions,
        prefix: format!("Account {} spec.defaultPermissions", account.key()),
        why: format!(
            "the user has none of its own, so Account {} spec.defaultPermissions apply",
            account.key()
        ),
    };
    let none = format!(
        "neither the user nor Account {} (spec.defaultPermissions) has any",
        account.key()
    );
    Ok(Effective::resolve(own, default, none))
}

fn resp_note(resp: &jwt::ResponsePermission) -> String {
    let max = match resp.max {
        1 => "at most 1 reply per request".to_string(),
        n if n > 0 => format!("at most {n} replies per request"),
        0 => "at most 1 reply per request, the server's default".to_string(),
        _ => "any number of replies".to_string(),
    };
    let ttl = match resp.ttl_ns {
        n if n > 0 => format!("within {} ms", n / 1_000_000),
        0 => "within 2 minutes, the server's default".to_string(),
        _ => "with no time limit".to_string(),
    };
    format!(
        "spec.permissions.resp also lets the user publish to the reply subject of each request \
         it receives ({max}, {ttl}); that is decided at run time, per request, not here"
    )
}

/// For a subject of the JetStream API: whether JetStream answers in the account the request
/// reaches (through a service import, or the user's own account).
fn jetstream_note(
    world: &Preview,
    account: &Previewed<jwt::Account>,
    routes: &[Route],
    s: &str,
) -> Option<String> {
    if !s.starts_with("$JS.API.") {
        return None;
    }
    let target = routes
        .iter()
        .find(|r| r.kind == "service" && r.active)
        .and_then(|r| world.accounts.iter().find(|a| a.key() == r.account))
        .unwrap_or(account);
    Some(if target.claims.nats.limits.is_jetstream_enabled() {
        format!("JetStream is enabled for Account {}", target.key())
    } else {
        format!(
            "JetStream is not enabled for Account {} (no JetStream limits in its JWT): the \
             server answers JetStream API requests with an error",
            target.key()
        )
    })
}

#[cfg(test)]
mod tests;
