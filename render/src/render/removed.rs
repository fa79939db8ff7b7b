//! Accounts that left the inputs. The lock keeps each as a tombstone ([`RemovedAccount`]: its
//! ID, issuer and revocations, with those of the users removed with it) until it is forgotten
//! on purpose, so an Account added back with the same key refuses the creds it refused before;
//! and a render that holds the operator key emits, for each, the signed request that deletes
//! it from the resolver, which a controller without seeds can send.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Members, Rosters, ref_key, revocations};
use crate::diagnostic::{Code, Diagnostic};
use crate::lock::{Lock, LockEntry, RemovedAccount, owner};
use crate::requests;

/// The signed `$SYS.REQ.CLAIMS.DELETE` request of a removed Account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedDeletion {
    /// The removed Account's namespace.
    pub namespace: String,
    /// The removed Account's name.
    pub name: String,
    /// The account ID it deletes.
    pub account_id: String,
    /// The operator key that signed it (the issuer of the account's last JWT).
    pub issuer: String,
    /// Its `iat`: the lock's `removedAt`, so the request is byte-stable.
    pub issued_at: i64,
    /// The request JWT.
    pub jwt: String,
}

/// The tombstones of the lock after this render: those the lock holds whose Account is still
/// absent, and one for each Account of the lock that left the inputs now, minus those
/// [`super::Options::forget_removed`] names (each must be one of them, else an error). An
/// Account added back drops its tombstone; [`previous`] hands its revocations on.
pub(super) fn tombstones(
    cx: &Context,
    lock: &Lock,
    rosters: &Rosters,
) -> Result<BTreeMap<String, RemovedAccount>, Vec<Diagnostic>> {
    let present: BTreeSet<String> = cx.inputs.accounts.iter().map(|a| a.key()).collect();
    let mut out: BTreeMap<String, RemovedAccount> = (lock.removed_accounts.iter())
        .filter(|(key, _)| !present.contains(*key))
        .map(|(key, t)| (key.clone(), t.clone()))
        .collect();
    let trusted = trusted_signing_keys(cx);
    for (key, entry) in lock.accounts.iter().filter(|(k, _)| !present.contains(*k)) {
        let members = Members {
            previous: rosters.removed_members(lock, key, &entry.public_key, &trusted),
            current: Default::default(),
        };
        let revoked = revocations::decide(&entry.revocations, &members, true);
        out.insert(key.clone(), RemovedAccount::new(entry, cx.epoch, revoked));
    }
    let known = out.keys().cloned().collect::<Vec<_>>().join(", ");
    let unknown: Vec<Diagnostic> = (cx.options.forget_removed.iter())
        .filter(|key| out.remove(*key).is_none())
        .map(|key| {
            let known = if known.is_empty() { "none" } else { &known };
            Diagnostic::error(format!(
                "--forget-removed {key}: the lock keeps no removed Account {key} (it keeps: \
                 {known})"
            ))
            .with_code(Code::InvalidArgument)
        })
        .collect();
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(unknown)
    }
}

/// The lock record an Account of the inputs continues from: its entry, else (added back) its
/// tombstone when the account ID is the same; with another ID the tombstone does not concern it.
pub(super) fn previous<'l>(lock: &'l Lock, key: &str, id: &str) -> Option<Cow<'l, LockEntry>> {
    match lock.accounts.get(key) {
        Some(entry) => Some(Cow::Borrowed(entry)),
        None => (lock.removed_accounts.get(key))
            .filter(|t| t.public_key == id)
            .map(|t| Cow::Owned(t.as_previous())),
    }
}

/// The AccountSigningKeys (by [`owner`]) an Account of the inputs trusts: the users they
/// signed are that Account's, not a removed one's.
fn trusted_signing_keys(cx: &Context) -> BTreeSet<String> {
    (cx.inputs.accounts.iter())
        .flat_map(|a| {
            let ns = a.namespace().to_string();
            (a.resource.spec.signing_key_refs.iter().flatten()).map(move |r| {
                owner(
                    "AccountSigningKey",
                    &ref_key(r.namespace.as_deref(), &r.name, &ns),
                )
            })
        })
        .collect()
}

/// The deletion requests of `tombstones`, signed by the operator signing key of a NatsCluster
/// of the inputs that issued the account. Without seeds (a preview) there are none; a
/// tombstone whose issuer no cluster's key is gets a warning instead.
pub(super) fn deletions(
    cx: &Context,
    tombstones: &BTreeMap<String, RemovedAccount>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<RenderedDeletion>, Vec<Diagnostic>> {
    if !cx.keys.can_sign() || tombstones.is_empty() {
        return Ok(Vec::new());
    }
    let operator_keys: Vec<_> = (cx.inputs.clusters.iter())
        .filter_map(|c| cx.keys.operator_signing_key(c).ok())
        .collect();
    let mut out = Vec::new();
    for (key, t) in tombstones {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let signer = (operator_keys.iter())
            .filter(|k| k.public_key() == t.issuer)
            .find_map(|k| k.pair());
        let Some(signer) = signer else {
            warnings.push(
                Diagnostic::warning(format!(
                    "removed (kept in the lock as removed): no operator signing key of a \
                     NatsCluster of the inputs is its issuer {}, so no deletion request is \
                     rendered; delete account {} from the resolver another way",
                    t.issuer, t.public_key
                ))
                .in_object(format!("Account {key}"))
                .with_code(Code::MissingKey),
            );
            continue;
        };
        let jwt =
            requests::account_deletion(signer, &[&t.public_key], t.removed_at).map_err(|e| {
                vec![
                    Diagnostic::error(format!("signing its deletion request: {e}"))
                        .in_object(format!("Account {key}")),
                ]
            })?;
        out.push(RenderedDeletion {
            namespace: namespace.to_string(),
            name: name.to_string(),
            account_id: t.public_key.clone(),
            issuer: t.issuer.clone(),
            issued_at: t.removed_at,
            jwt,
        });
    }
    Ok(out)
}
