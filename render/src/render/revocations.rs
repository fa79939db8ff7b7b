//! Automatic revocations: which user JWTs an account JWT must refuse, decided from what the
//! Account knew of its users at its previous render and what it has now.
//!
//! NATS refuses a user JWT when the account's `revocations[user key]` is at or after the JWT's
//! `iat`. A user JWT never expires by itself, so every revocation decided here is kept for good.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::jwt;

/// What an Account knows of one of its users: the key of its JWT and when that was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRecord {
    /// The user's public key (the JWT subject).
    pub public_key: String,
    /// The JWT's `iat`.
    pub issued_at: i64,
}

/// An Account's users by User `namespace/name`.
pub type Roster = BTreeMap<String, UserRecord>;

/// The users an Account knew at its previous render and those it has now: what its automatic
/// revocations are decided from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    /// Users at the previous render (the CLI: the lock's users the Account's keys signed; the
    /// controller: what its JWT ConfigMap recorded, with the Users being deleted).
    pub previous: Roster,
    /// Users now (those rendered with it, or whose creds a controller issued), without those
    /// being deleted.
    pub current: Roster,
}

/// The automatic revocations after this render: those of `persisted` (kept for good), plus
/// - a user that is gone: its key, at its last `iat`;
/// - a user whose key changed (rotation, replaced creds): the old key, at its last `iat`;
/// - a user re-issued with the same key, when `on_reissue`: the key, just below the new `iat`,
///   so the earlier JWTs are refused and the new one is not.
///
/// Each time comes from the records alone, never from the render's epoch, so the decision is
/// the same whenever it is made.
pub fn decide(
    persisted: &jwt::RevocationList,
    members: &Members,
    on_reissue: bool,
) -> jwt::RevocationList {
    let mut out = persisted.clone();
    for (user, before) in &members.previous {
        match members.current.get(user) {
            Some(now) if now.public_key != before.public_key => {
                jwt::revoke(&mut out, before.public_key.clone(), before.issued_at)
            }
            Some(now) if now.issued_at > before.issued_at && on_reissue => {
                jwt::revoke(&mut out, now.public_key.clone(), now.issued_at - 1)
            }
            Some(_) => {}
            None => jwt::revoke(&mut out, before.public_key.clone(), before.issued_at),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, iat: i64) -> UserRecord {
        UserRecord {
            public_key: key.to_string(),
            issued_at: iat,
        }
    }

    fn roster(users: &[(&str, &str, i64)]) -> Roster {
        (users.iter())
            .map(|(name, key, iat)| (name.to_string(), record(key, *iat)))
            .collect()
    }

    fn list(entries: &[(&str, i64)]) -> jwt::RevocationList {
        entries.iter().map(|(k, t)| (k.to_string(), *t)).collect()
    }

    fn members(previous: &[(&str, &str, i64)], current: &[(&str, &str, i64)]) -> Members {
        Members {
            previous: roster(previous),
            current: roster(current),
        }
    }

    #[test]
    fn a_user_that_is_gone_is_revoked_at_its_last_iat() {
        let m = members(
            &[("ns/a", "UA", 100), ("ns/b", "UB", 200)],
            &[("ns/b", "UB", 200)],
        );
        assert_eq!(decide(&list(&[]), &m, true), list(&[("UA", 100)]));
        assert_eq!(decide(&list(&[]), &m, false), list(&[("UA", 100)]));
    }

    #[test]
    fn a_changed_key_revokes_the_old_one_at_its_last_iat() {
        let m = members(&[("ns/a", "UA", 100)], &[("ns/a", "UNEW", 300)]);
        assert_eq!(decide(&list(&[]), &m, true), list(&[("UA", 100)]));
        assert_eq!(decide(&list(&[]), &m, false), list(&[("UA", 100)]));
    }

    #[test]
    fn a_reissue_revokes_the_earlier_jwts_just_below_the_new_iat_unless_opted_out() {
        let m = members(&[("ns/a", "UA", 100)], &[("ns/a", "UA", 300)]);
        assert_eq!(decide(&list(&[]), &m, true), list(&[("UA", 299)]));
        assert_eq!(decide(&list(&[]), &m, false), list(&[]));
    }

    #[test]
    fn unchanged_and_new_users_revoke_nothing() {
        let m = members(
            &[("ns/a", "UA", 100)],
            &[("ns/a", "UA", 100), ("ns/n", "UN", 5)],
        );
        assert_eq!(decide(&list(&[]), &m, true), list(&[]));
    }

    #[test]
    fn earlier_revocations_are_kept_and_the_later_time_wins() {
        let persisted = list(&[("UOLD", 7), ("UA", 500)]);
        let m = members(&[("ns/a", "UA", 100)], &[]);
        assert_eq!(
            decide(&persisted, &m, true),
            list(&[("UOLD", 7), ("UA", 500)])
        );
        let m = members(&[("ns/a", "UA", 600)], &[]);
        assert_eq!(
            decide(&persisted, &m, true),
            list(&[("UOLD", 7), ("UA", 600)])
        );
    }
}
