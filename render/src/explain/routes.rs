//! Where a message crosses into another account: service imports carry a publish from the
//! importer to the exporter, stream imports carry the exporter's messages to the importer's
//! subscribers.
//!
//! Facts this follows (nats-server `accounts.go`): a service import listens in the importer on
//! its `local_subject` and forwards to the exporter's `subject` (with the deprecated `to`,
//! `subject` is the local side and `to` the exporter's; with neither, both are `subject`); a
//! stream import delivers the exporter's `subject` under its
//! `local_subject` (else the deprecated `to` as a prefix, else unchanged). Wildcards are carried
//! over by position, or by `$n` / `{{wildcard(n)}}` references. An import only works when an
//! export of the other account covers it and, if that export requires a token, the import has
//! one.

use crate::jwt::{self, ExportType, subject};

use super::Route;
use crate::render::{Preview, Previewed};

/// The two ends of an import: the pattern in the importing account and in the exporting one.
struct Ends {
    local: String,
    remote: String,
}

fn ends(import: &jwt::Import) -> Ends {
    let subject = import.subject.clone();
    match import.import_type {
        ExportType::Service if !import.local_subject.is_empty() => Ends {
            local: import.local_subject.clone(),
            remote: subject,
        },
        ExportType::Service if !import.to.is_empty() => Ends {
            local: subject,
            remote: import.to.clone(),
        },
        ExportType::Stream if !import.local_subject.is_empty() => Ends {
            local: import.local_subject.clone(),
            remote: subject,
        },
        ExportType::Stream if !import.to.is_empty() => Ends {
            local: format!("{}.{subject}", import.to.trim_end_matches('.')),
            remote: subject,
        },
        _ => Ends {
            local: subject.clone(),
            remote: subject,
        },
    }
}

/// A wildcard reference: the `n`-th wildcard (`$n`, `{{wildcard(n)}}`), if `token` is one.
fn reference(token: &str) -> Option<usize> {
    let inner = token.strip_prefix('$').or_else(|| {
        token
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .and_then(|t| t.trim().strip_prefix("wildcard("))
            .and_then(|t| t.strip_suffix(')'))
    })?;
    inner.trim().parse().ok()
}

/// `pattern` with references replaced by `*`, for matching.
fn as_pattern(pattern: &str) -> String {
    pattern
        .split('.')
        .map(|t| if reference(t).is_some() { "*" } else { t })
        .collect::<Vec<_>>()
        .join(".")
}

/// Rewrites `subject`, matched by `from`, into the shape of `to`: the `n`-th wildcard token of
/// `from` (counting `*` left to right, or as referenced) fills the `n`-th wildcard of `to`, and
/// `>` carries the remaining tokens. `subject` may itself hold wildcard tokens; they are carried
/// over like any other token.
fn translate(from: &str, to: &str, subject: &str) -> String {
    let tokens: Vec<&str> = subject.split('.').collect();
    let mut values = std::collections::BTreeMap::new();
    let mut rest: &[&str] = &[];
    let mut counter = 0;
    for (i, t) in from.split('.').enumerate() {
        if t == ">" {
            rest = tokens.get(i..).unwrap_or_default();
            break;
        }
        let id = match (t, reference(t)) {
            ("*", _) => {
                counter += 1;
                Some(counter)
            }
            (_, Some(n)) => Some(n),
            _ => None,
        };
        if let (Some(id), Some(value)) = (id, tokens.get(i)) {
            values.insert(id, *value);
        }
    }
    let mut counter = 0;
    let mut out = Vec::new();
    for t in to.split('.') {
        match (t, reference(t)) {
            (">", _) => out.extend_from_slice(rest),
            ("*", _) => {
                counter += 1;
                out.push(values.get(&counter).copied().unwrap_or("*"));
            }
            (_, Some(n)) => out.push(values.get(&n).copied().unwrap_or("*")),
            _ => out.push(t),
        }
    }
    out.join(".")
}

/// The export of `exporter` that an import of `remote` (of `kind`) relies on, or why there is
/// none that nats-server would accept.
fn export_for<'a>(
    exporter: &'a jwt::Account,
    remote: &str,
    kind: ExportType,
    import: &jwt::Import,
) -> Result<&'a jwt::Export, String> {
    let export = exporter
        .exports
        .iter()
        .find(|e| e.export_type == kind && subject::contains(&e.subject, remote))
        .ok_or_else(|| {
            format!("no {kind} export covers {remote:?}, so nats-server ignores the import")
        })?;
    if export.token_req && import.token.is_empty() {
        return Err(format!(
            "export {:?} requires an activation token and the import has none, so nats-server \
             ignores the import",
            export.subject
        ));
    }
    Ok(export)
}

fn describe_import(import: &jwt::Import, ends: &Ends) -> String {
    let mut s = format!("{} import {:?}", import.import_type, import.subject);
    if ends.local != import.subject {
        s.push_str(&format!(" (local subject {:?})", ends.local));
    }
    s
}

/// The exporting account of `import` and the export it relies on, or the other account's name
/// (its key when it is not in the input) and why the import does not work.
fn resolve<'w>(
    world: &'w Preview,
    import: &jwt::Import,
    ends: &Ends,
) -> Result<(&'w Previewed<jwt::Account>, &'w jwt::Export), (String, String)> {
    let exporter = world
        .accounts
        .iter()
        .find(|a| a.claims.data.sub == import.account)
        .ok_or_else(|| {
            let key = import.account.clone();
            (key.clone(), format!("Account {key} is not in the input"))
        })?;
    export_for(
        &exporter.claims.nats,
        &ends.remote,
        import.import_type,
        import,
    )
    .map(|e| (exporter, e))
    .map_err(|problem| (exporter.key(), problem))
}

/// Where a publish of `subject` (a literal) by a user of `account` goes beyond the account.
pub(super) fn publish(
    world: &Preview,
    account: &Previewed<jwt::Account>,
    subject: &str,
) -> Vec<Route> {
    let mut routes = Vec::new();
    // Service imports of the publisher's account that listen on the subject.
    for import in &account.claims.nats.imports {
        let ends = ends(import);
        if import.import_type != ExportType::Service
            || !subject::matches(&as_pattern(&ends.local), subject)
        {
            continue;
        }
        let delivered = translate(&ends.local, &ends.remote, subject);
        let described = describe_import(import, &ends);
        let found = match resolve(world, import, &ends) {
            Ok((exporter, export)) => {
                let users = listeners(world, exporter, |p| p.subscribe(&delivered, None).allowed);
                let reason = format!(
                    "{described} from Account {} (export {:?}, service): delivered to {} as \
                     {delivered}; {}",
                    exporter.key(),
                    export.subject,
                    exporter.key(),
                    who("may subscribe there", &users)
                );
                Found::Active(exporter.key(), export, users, reason)
            }
            Err((other, problem)) => {
                let reason = format!("{described} from Account {other}: {problem}");
                Found::Inactive(other, reason)
            }
        };
        routes.push(Route::new(import, &ends, delivered, found));
    }
    // Stream imports of other accounts that take this account's subject.
    for other in &world.accounts {
        for import in &other.claims.nats.imports {
            let ends = ends(import);
            if import.import_type != ExportType::Stream
                || import.account != account.claims.data.sub
                || !subject::matches(&as_pattern(&ends.remote), subject)
            {
                continue;
            }
            let delivered = translate(&ends.remote, &ends.local, subject);
            let lead = format!(
                "Account {} takes it with {}",
                other.key(),
                describe_import(import, &ends)
            );
            let found = match resolve(world, import, &ends) {
                Ok((_, export)) => {
                    let users = listeners(world, other, |p| p.subscribe(&delivered, None).allowed);
                    let reason = format!(
                        "{lead} (export {:?}, stream): delivered there as {delivered}; {}",
                        export.subject,
                        who("may subscribe there", &users)
                    );
                    Found::Active(other.key(), export, users, reason)
                }
                Err((_, problem)) => Found::Inactive(other.key(), format!("{lead}: {problem}")),
            };
            routes.push(Route::new(import, &ends, delivered, found));
        }
    }
    routes
}

/// Where messages for a subscription to `subject` (wildcards allowed) in `account` come from
/// beyond the account.
pub(super) fn subscribe(
    world: &Preview,
    account: &Previewed<jwt::Account>,
    subject: &str,
) -> Vec<Route> {
    let mut routes = Vec::new();
    // Stream imports of the subscriber's account whose local subject overlaps the subscription.
    for import in &account.claims.nats.imports {
        let ends = ends(import);
        let local = as_pattern(&ends.local);
        if import.import_type != ExportType::Stream || !subject::collide(&local, subject) {
            continue;
        }
        let source = if subject::matches(&local, subject) {
            translate(&ends.local, &ends.remote, subject)
        } else {
            ends.remote.clone()
        };
        let described = describe_import(import, &ends);
        let found = match resolve(world, import, &ends) {
            Ok((exporter, export)) => {
                let mut reason = format!(
                    "{described} from Account {} (export {:?}, stream): receives what is \
                     published in {} to {source}",
                    exporter.key(),
                    export.subject,
                    exporter.key(),
                );
                let users = if subject::has_wildcards(&source) {
                    Vec::new()
                } else {
                    let users = listeners(world, exporter, |p| p.publish(&source).allowed);
                    reason = format!("{reason}; {}", who("may publish there", &users));
                    users
                };
                Found::Active(exporter.key(), export, users, reason)
            }
            Err((other, problem)) => Found::Inactive(
                other.clone(),
                format!("{described} from Account {other}: {problem}"),
            ),
        };
        routes.push(Route::new(import, &ends, source, found));
    }
    // Service imports of other accounts whose requests arrive on this account's subject.
    for other in &world.accounts {
        for import in &other.claims.nats.imports {
            let ends = ends(import);
            if import.import_type != ExportType::Service
                || import.account != account.claims.data.sub
                || !subject::collide(&as_pattern(&ends.remote), subject)
            {
                continue;
            }
            let local = ends.local.clone();
            let lead = format!(
                "Account {} calls it with {}",
                other.key(),
                describe_import(import, &ends)
            );
            let found = match resolve(world, import, &ends) {
                Ok((_, export)) => {
                    let users = if subject::has_wildcards(&local) {
                        Vec::new()
                    } else {
                        listeners(world, other, |p| p.publish(&local).allowed)
                    };
                    let reason = format!(
                        "{lead} (export {:?}, service): requests published there to {local} \
                         arrive here",
                        export.subject,
                    );
                    Found::Active(other.key(), export, users, reason)
                }
                Err((_, problem)) => Found::Inactive(other.key(), format!("{lead}: {problem}")),
            };
            routes.push(Route::new(import, &ends, local, found));
        }
    }
    routes
}

/// What an import leads to: the other account, and the export it relies on with the users
/// at the other end, or only why it does not work; each with the reason to show.
enum Found<'w> {
    Active(String, &'w jwt::Export, Vec<String>, String),
    Inactive(String, String),
}

impl Route {
    fn new(import: &jwt::Import, ends: &Ends, subject: String, found: Found) -> Route {
        let (account, export, users, reason) = match found {
            Found::Active(account, export, users, reason) => (account, Some(export), users, reason),
            Found::Inactive(account, reason) => (account, None, Vec::new(), reason),
        };
        Route {
            kind: import.import_type.to_string(),
            import: import.subject.clone(),
            local_subject: ends.local.clone(),
            account,
            active: export.is_some(),
            export: export.map(|e| e.subject.clone()),
            subject,
            users,
            reason,
        }
    }
}

/// Users of `account` for whom `allowed` holds on their effective permissions.
fn listeners(
    world: &Preview,
    account: &Previewed<jwt::Account>,
    allowed: impl Fn(&super::permissions::Effective) -> bool,
) -> Vec<String> {
    world
        .users
        .iter()
        .filter(|u| u.claims.nats.issuer_account == account.claims.data.sub)
        .filter(|u| super::effective(u, account).is_ok_and(|p| allowed(&p)))
        .map(|u| u.key())
        .collect()
}

fn who(role: &str, users: &[String]) -> String {
    if users.is_empty() {
        format!("no user in the input {role}")
    } else {
        format!("{role}: {}", users.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_carry_over_by_position_and_reference() {
        assert_eq!(
            translate("orders.>", "billing.orders.>", "orders.a.b"),
            "billing.orders.a.b"
        );
        assert_eq!(translate("a.*.b.*", "x.*.*", "a.1.b.2"), "x.1.2");
        assert_eq!(translate("a.*.b.*", "x.$2.$1", "a.1.b.2"), "x.2.1");
        assert_eq!(translate("x.$2.$1", "a.*.b.*", "x.2.1"), "a.1.b.2");
        assert_eq!(translate("a.*", "x.{{wildcard(1)}}", "a.q"), "x.q");
        assert_eq!(
            translate("a.>", "b.>", "a.*"),
            "b.*",
            "wildcard tokens carry over"
        );
        assert_eq!(as_pattern("x.$1.{{wildcard(2)}}"), "x.*.*");
    }

    #[test]
    fn import_ends_follow_the_server() {
        let import = |kind, subject: &str, local: &str, to: &str| jwt::Import {
            subject: subject.into(),
            local_subject: local.into(),
            to: to.into(),
            import_type: kind,
            ..Default::default()
        };
        let e = ends(&import(ExportType::Service, "svc.>", "local.>", ""));
        assert_eq!((e.local.as_str(), e.remote.as_str()), ("local.>", "svc.>"));
        let e = ends(&import(ExportType::Service, "local.a", "", "svc.a"));
        assert_eq!((e.local.as_str(), e.remote.as_str()), ("local.a", "svc.a"));
        let e = ends(&import(ExportType::Stream, "ev.>", "", "pre"));
        assert_eq!((e.local.as_str(), e.remote.as_str()), ("pre.ev.>", "ev.>"));
        let e = ends(&import(ExportType::Stream, "ev.>", "", ""));
        assert_eq!((e.local.as_str(), e.remote.as_str()), ("ev.>", "ev.>"));
    }
}
