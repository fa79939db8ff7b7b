//! Public keys recorded in the lock, standing in for keys when claims are built without a seed
//! (`diff`; `check` and `explain` for keys no source holds). Such keys can say their public key
//! but cannot sign.

use super::{AccountKeys, Key, KeyError};
use crate::api;
use crate::input::Object;
use crate::lock::{Lock, owner};

/// An Account's ID (from the lock, else the ID label of an observed account) and its own signing
/// key.
pub(super) fn account(
    lock: &Lock,
    account: &Object<api::Account>,
    expected_id: Option<&str>,
) -> Result<AccountKeys, KeyError> {
    let locked = lock
        .accounts
        .get(&account.key())
        .map(|e| e.public_key.as_str());
    let id = locked
        .or(expected_id)
        .ok_or_else(|| missing("this account"))?;
    if let Some(expected) = expected_id.filter(|e| *e != id) {
        return Err(KeyError::broken(format!(
            "the lock records account ID {id}, but the account ID is {expected}; refusing to \
             change an account's identity"
        )));
    }
    Ok(AccountKeys {
        root: Key::recorded(id)?,
        sign: recorded(
            lock,
            "Account",
            &account.key(),
            "this account's signing key",
        )?,
        rotated_from: None,
    })
}

/// The recorded key of an AccountSigningKey.
pub(super) fn signing_key(
    lock: &Lock,
    ask: &Object<api::AccountSigningKey>,
) -> Result<Key, KeyError> {
    recorded(lock, "AccountSigningKey", &ask.key(), "this signing key")
}

/// The recorded operator signing key of a NatsCluster.
pub(super) fn operator_signing_key(
    lock: &Lock,
    cluster: &Object<api::NatsCluster>,
) -> Result<Key, KeyError> {
    recorded(
        lock,
        "NatsCluster",
        &cluster.key(),
        "this cluster's operator signing key",
    )
}

/// The recorded key of a User.
pub(super) fn user(lock: &Lock, user: &Object<api::User>) -> Result<Key, KeyError> {
    let entry = lock
        .users
        .get(&user.key())
        .ok_or_else(|| missing("this user"))?;
    Key::recorded(&entry.public_key)
}

fn recorded(lock: &Lock, kind: &str, key: &str, what: &str) -> Result<Key, KeyError> {
    let value = lock
        .signing_keys
        .get(&owner(kind, key))
        .ok_or_else(|| missing(what))?;
    Key::recorded(value)
}

fn missing(what: &str) -> KeyError {
    KeyError::missing(format!(
        "{} {what}; run `nauth-render render` with the keys to record it",
        super::UNRECORDED
    ))
}
