//! A semantic diff of two previews: per Account and User, which facts of its effective NATS
//! authorization (limits, exports, imports, signing keys, permissions, expiry) were added,
//! removed or changed. Built from public claims only, so it needs no seed and shows none.

mod facts;
mod format;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::jwt;
use crate::lock::{Lock, LockEntry};
use crate::render::Preview;
pub use facts::{Fact, Facts};
pub use format::{Style, json, markdown, text};

/// One side of a comparison.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// The claims a render would sign.
    pub preview: &'a Preview,
    /// The lock the preview was built from (it names the signing keys).
    pub lock: &'a Lock,
}

/// What happened to an object between the two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Only in the new side.
    Added,
    /// Only in the old side.
    Removed,
    /// In both, with different facts.
    Changed,
}

/// One fact that differs: `old` is absent (JSON `null`) for an addition, `new` for a removal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Where in the claims, with rules named by identity: `exports[service "orders.>"]`.
    pub path: String,
    /// The value before.
    pub old: Option<Fact>,
    /// The value after.
    pub new: Option<Fact>,
}

/// The changes of one Account or User.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectDiff {
    /// `Account` or `User`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub object: String,
    /// Added, removed or changed.
    pub status: Status,
    /// The facts that differ, sorted by path.
    pub changes: Vec<Change>,
}

/// Human names for public keys: the account, user or key owner they belong to. Only the few
/// keys of changed objects are ever named, so names are built when asked for.
#[derive(Default)]
pub struct Names<'a>(BTreeMap<&'a str, Owner<'a>>);

/// What a public key belongs to.
enum Owner<'a> {
    /// An Account or User: its kind, namespace and name.
    Object(&'static str, &'a str, &'a str),
    /// A signing key, by its owner in the lock (`Kind namespace/name`).
    SigningKey(&'a str),
}

impl<'a> Names<'a> {
    fn learn(&mut self, side: Side<'a>) {
        let p = side.preview;
        for a in &p.accounts {
            let owner = Owner::Object("Account", &a.namespace, &a.name);
            self.0.insert(&a.claims.data.sub, owner);
        }
        for u in &p.users {
            let owner = Owner::Object("User", &u.namespace, &u.name);
            self.0.insert(&u.claims.data.sub, owner);
        }
        for (owner, key) in &side.lock.signing_keys {
            self.0.insert(key, Owner::SigningKey(owner));
        }
    }

    /// `key` with its owner when known: `Account shop/billing (AA5E73QD…)`.
    pub fn label(&self, key: &str) -> String {
        let name = match self.0.get(key) {
            Some(Owner::Object(kind, namespace, name)) => format!("{kind} {namespace}/{name}"),
            Some(Owner::SigningKey(owner)) => match owner.split_once(' ') {
                Some(("Account", object)) => format!("signing key of Account {object}"),
                Some(("NatsCluster", object)) => format!("operator key of NatsCluster {object}"),
                _ => owner.to_string(),
            },
            None => return key.to_string(),
        };
        format!("{name} ({}…)", &key[..key.len().min(8)])
    }
}

/// Compares two sides; objects come sorted, Accounts first.
pub fn diff(base: Side, head: Side) -> Vec<ObjectDiff> {
    let mut names = Names::default();
    names.learn(base);
    names.learn(head);
    let mut out = Vec::new();
    // Facts are a function of the claims (and of a user's scope), so objects whose claims hash
    // is the same on both sides are left out before their facts are listed: in a large tree,
    // almost all of them.
    let accounts = |side: Side, other: Side| -> BTreeMap<String, Facts> {
        let (mine, theirs) = (&side.preview.lock.accounts, &other.preview.lock.accounts);
        (side.preview.accounts.iter())
            .map(|a| (a, a.key()))
            .filter(|(_, key)| !same_claims(mine, theirs, key))
            .map(|(a, key)| (key, facts::account(&a.claims, &names)))
            .collect()
    };
    compare(
        "Account",
        accounts(base, head),
        accounts(head, base),
        &mut out,
    );
    let (base_scopes, head_scopes) = (scopes(base.preview), scopes(head.preview));
    let users = |side: Side, other: Side, scopes: &Scopes, others: &Scopes| {
        (side.preview.users.iter())
            .map(|u| (u, u.key(), scopes.get(&u.claims.data.iss).copied()))
            .filter(|(u, key, scope)| {
                let (mine, theirs) = (&side.preview.lock.users, &other.preview.lock.users);
                !same_claims(mine, theirs, key) || *scope != others.get(&u.claims.data.iss).copied()
            })
            .map(|(u, key, scope)| (key, facts::user(&u.claims, scope, &names)))
            .collect::<BTreeMap<String, Facts>>()
    };
    compare(
        "User",
        users(base, head, &base_scopes, &head_scopes),
        users(head, base, &head_scopes, &base_scopes),
        &mut out,
    );
    deleted_accounts(base, head, &names, &mut out);
    out
}

/// Adds `resolver: deleted` to each Account the head's lock newly keeps as removed: the head's
/// render emits the request that deletes it from the resolver.
fn deleted_accounts(base: Side, head: Side, names: &Names, out: &mut Vec<ObjectDiff>) {
    let (before, after) = (
        &base.preview.lock.removed_accounts,
        &head.preview.lock.removed_accounts,
    );
    for (key, removed) in after.iter().filter(|(k, _)| !before.contains_key(*k)) {
        let change = Change {
            path: "resolver".into(),
            old: None,
            new: Some(Fact::Key {
                key: removed.public_key.clone(),
                label: format!("deleted: {}", names.label(&removed.public_key)),
            }),
        };
        let found = (out.iter_mut()).find(|d| d.kind == "Account" && d.object == *key);
        match found {
            Some(diff) => {
                diff.changes.push(change);
                diff.changes.sort_by(|a, b| a.path.cmp(&b.path));
            }
            None => out.push(ObjectDiff {
                kind: "Account",
                object: key.clone(),
                status: Status::Removed,
                changes: vec![change],
            }),
        }
    }
    out.sort_by(|a, b| (a.kind != "Account", &a.object).cmp(&(b.kind != "Account", &b.object)));
}

/// Whether the object `key` has the same claims hash on both sides.
fn same_claims(
    mine: &BTreeMap<String, LockEntry>,
    theirs: &BTreeMap<String, LockEntry>,
    key: &str,
) -> bool {
    matches!((mine.get(key), theirs.get(key)), (Some(a), Some(b)) if a.claims_hash == b.claims_hash)
}

/// Scoped signing keys by public key.
type Scopes<'a> = BTreeMap<String, &'a jwt::UserScope>;

/// Scoped signing keys of every account, by public key.
fn scopes(preview: &Preview) -> Scopes<'_> {
    (preview.accounts.iter())
        .flat_map(|a| &a.claims.nats.signing_keys.0)
        .filter_map(|(key, scope)| Some((key.clone(), scope.as_ref()?)))
        .collect()
}

fn compare(
    kind: &'static str,
    old: BTreeMap<String, Facts>,
    new: BTreeMap<String, Facts>,
    out: &mut Vec<ObjectDiff>,
) {
    let objects: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for object in objects {
        let (before, after) = (old.get(object), new.get(object));
        let status = match (before, after) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Changed,
        };
        let empty = Facts::new();
        let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
        let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let changes: Vec<Change> = paths
            .into_iter()
            .filter(|p| before.get(*p) != after.get(*p))
            .map(|p| Change {
                path: p.clone(),
                old: before.get(p).cloned(),
                new: after.get(p).cloned(),
            })
            .collect();
        if !changes.is_empty() {
            out.push(ObjectDiff {
                kind,
                object: object.clone(),
                status,
                changes,
            });
        }
    }
}

#[cfg(test)]
mod tests;
