//! Signed tokens nauth-apply sends to NATS besides account JWTs. They are not rendered into
//! any file, but what they claim is still decided here, next to every other claim.

use nkeys::KeyPair;

use crate::jwt::{self, Claims, Generic, JwtError, User};

/// How long a stream probe user's JWT is valid (NAuth: 30 s).
pub const STREAM_PROBE_LIFETIME_SECS: i64 = 30;

/// The `$SYS.REQ.CLAIMS.DELETE` request for `account_ids`: a generic JWT self-signed by an
/// operator key (the operator's identity or one of its signing keys) the servers trust.
pub fn account_deletion(
    operator_key: &KeyPair,
    account_ids: &[&str],
    now: i64,
) -> Result<String, JwtError> {
    let body = Generic::delete_accounts(account_ids.iter().copied());
    let mut request = Claims::new(operator_key.public_key(), body);
    jwt::encode(&mut request, operator_key, now)
}

/// The JWT of a short-lived user of an account that may only call the JetStream API and read
/// its inboxes: the system user cannot see another account's streams, so this user lists them
/// for NAuth's deletion guard. Signed with the account's root key, valid for
/// [`STREAM_PROBE_LIFETIME_SECS`] from `now`.
pub fn stream_probe_user(
    account_root: &KeyPair,
    probe_public_key: &str,
    now: i64,
) -> Result<String, JwtError> {
    let mut body = User::new();
    let permissions = &mut body.permission_limits.permissions;
    permissions.pub_.allow = vec!["$JS.API.>".into()];
    permissions.sub.allow = vec!["_INBOX.>".into()];
    let mut claims = Claims::new(probe_public_key.to_string(), body);
    claims.data.exp = now + STREAM_PROBE_LIFETIME_SECS;
    jwt::encode(&mut claims, account_root, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{AnyClaims, decode};

    #[test]
    fn a_deletion_request_is_self_signed_and_lists_the_accounts() {
        let operator = KeyPair::new_operator();
        let (a, b) = (KeyPair::new_account(), KeyPair::new_account());
        let token =
            account_deletion(&operator, &[&a.public_key(), &b.public_key()], 1_000).expect("signs");
        let decoded = decode(&token).expect("decodes");
        let AnyClaims::Generic(claims) = decoded.claims else {
            panic!("a deletion request is a generic JWT");
        };
        assert_eq!(claims.data.iss, operator.public_key());
        assert_eq!(claims.data.sub, operator.public_key());
        assert_eq!(claims.data.iat, 1_000);
        let listed = serde_json::to_value(&claims.nats).expect("serializes");
        assert_eq!(
            listed["accounts"],
            serde_json::json!([a.public_key(), b.public_key()])
        );
    }

    #[test]
    fn a_stream_probe_may_only_use_the_jetstream_api_and_expires_soon() {
        let account = KeyPair::new_account();
        let probe = KeyPair::new_user();
        let token = stream_probe_user(&account, &probe.public_key(), 1_000).expect("signs");
        let AnyClaims::User(claims) = decode(&token).expect("decodes").claims else {
            panic!("a stream probe is a user JWT");
        };
        assert_eq!(claims.data.iss, account.public_key());
        assert_eq!(claims.data.sub, probe.public_key());
        assert_eq!(claims.data.exp, 1_000 + STREAM_PROBE_LIFETIME_SECS);
        let permissions = &claims.nats.permission_limits.permissions;
        assert_eq!(permissions.pub_.allow, ["$JS.API.>"]);
        assert_eq!(permissions.sub.allow, ["_INBOX.>"]);
    }
}
