//! Which watch events matter to a controller. Every status write of an Account is a watch event;
//! passed on as it is, it would wake every User, export and import of the Account (and, through
//! their writes, the Account again), so one changed User would cost its whole namespace.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::{Resource, ResourceExt};
use nauth_render::api::{ACCOUNT_ID_LABEL, Account, NatsCluster};
use serde_json::json;

/// What a watch's mapper last saw of each object: the part of it the watching controller
/// reads. Objects are told apart by UID, so one re-created under the same name is new.
#[derive(Default)]
pub(super) struct Seen {
    last: Mutex<HashMap<String, String>>,
}

impl Seen {
    /// True when `part` of `o` differs from what was last seen of it, or `o` is new.
    pub(super) fn changed<K: Resource>(&self, o: &K, part: String) -> bool {
        let key = o.uid().unwrap_or_else(|| o.name_any());
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.insert(key, part.clone()).as_ref() != Some(&part)
    }
}

/// What Users read of their Account: its ID, the signing keys its JWT trusts, whether it is
/// being deleted.
pub(super) fn read_by_users(a: &Account) -> String {
    let claims = a.status.as_ref().and_then(|s| s.claims.as_ref());
    json!([
        a.labels().get(ACCOUNT_ID_LABEL),
        claims.and_then(|c| c.signing_keys.as_ref()),
        a.meta().deletion_timestamp.is_some(),
    ])
    .to_string()
}

/// What Users being deleted wait for: the Account's claims (their revocation among them), by
/// their hash.
pub(super) fn claims_of(a: &Account) -> String {
    (a.status.as_ref().and_then(|s| s.claims_hash.clone())).unwrap_or_default()
}

/// What AccountExports and AccountImports read of an Account: its ID, its claims (the exports
/// an import binds to) and its adoptions (their `AdoptedByAccount`).
pub(super) fn read_by_bindings(a: &Account) -> String {
    let status = a.status.as_ref();
    json!([
        a.labels().get(ACCOUNT_ID_LABEL),
        status.and_then(|s| s.claims.as_ref()),
        status.and_then(|s| s.adoptions.as_ref()),
        a.meta().deletion_timestamp.is_some(),
    ])
    .to_string()
}

/// What Accounts read of their NatsCluster (its status is its own business): its spec.
pub(super) fn read_by_accounts(c: &NatsCluster) -> String {
    json!([c.meta().generation, c.meta().deletion_timestamp.is_some()]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: serde_json::Value) -> Account {
        serde_json::from_value(json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "Account",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u1",
                         "labels": {"account.nauth.io/id": "AID"}},
            "spec": {}, "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_status_write_that_users_do_not_read_does_not_wake_them() {
        let seen = Seen::default();
        let first = account(json!({"reconcileTimestamp": "2026-11-30T00:00:00Z"}));
        assert!(seen.changed(&first, read_by_users(&first)), "new");
        let later = account(json!({"reconcileTimestamp": "2026-11-30T00:01:00Z",
                                   "claimsHash": "ab"}));
        assert!(!seen.changed(&later, read_by_users(&later)));
        let keys = account(json!({"claims": {"signingKeys": [{"key": "AKEY"}]}}));
        assert!(seen.changed(&keys, read_by_users(&keys)));
        // Bindings read the claims as a whole.
        let bindings = Seen::default();
        assert!(bindings.changed(&later, read_by_bindings(&later)));
        assert!(!bindings.changed(&later, read_by_bindings(&later)));
        assert!(bindings.changed(&keys, read_by_bindings(&keys)));
    }
}
