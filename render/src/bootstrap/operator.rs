//! A new trust root: operator with a signing key, system account with a signing key, and a
//! system user issued by that signing key. Keys and `iat` come from the caller.

use nkeys::KeyPair;

use super::{Identity, OfflineSeed};
use crate::jwt::{self, Account, Claims, JwtError, Operator, User};

/// Name of the system account in its JWT, as nsc names it.
pub const SYSTEM_ACCOUNT_NAME: &str = "SYS";
/// Name of the system user in its JWT, as nsc names it.
pub const SYSTEM_USER_NAME: &str = "sys";

/// The five keys of a new trust root.
pub struct NewKeys {
    /// Operator identity (`O…`); belongs offline.
    pub operator: KeyPair,
    /// Operator signing key: signs accounts, given to the cluster.
    pub operator_signing: KeyPair,
    /// System account identity (`A…`).
    pub system_account: KeyPair,
    /// System account signing key: signs the system user.
    pub system_account_signing: KeyPair,
    /// System user (`U…`).
    pub system_user: KeyPair,
}

impl NewKeys {
    /// Five fresh random keys. The only place keys are made for a bootstrap; a render never
    /// makes keys.
    pub fn random() -> Self {
        NewKeys {
            operator: KeyPair::new_operator(),
            operator_signing: KeyPair::new_operator(),
            system_account: KeyPair::new_account(),
            system_account_signing: KeyPair::new_account(),
            system_user: KeyPair::new_user(),
        }
    }
}

/// Signs the operator, system account and system user JWTs, all with `iat`.
///
/// The system account is signed by the operator signing key and the system user by the system
/// account's signing key (so it carries `issuer_account`): the identity keys sign only the
/// operator JWT and can stay offline afterwards.
pub fn create(keys: &NewKeys, operator_name: &str, iat: i64) -> Result<Identity, JwtError> {
    let system_account = keys.system_account.public_key();
    let mut operator = Claims::new(
        keys.operator.public_key(),
        Operator {
            signing_keys: vec![keys.operator_signing.public_key()],
            system_account: system_account.clone(),
            ..Default::default()
        },
    );
    operator.data.name = operator_name.to_string();
    let operator_jwt = jwt::encode(&mut operator, &keys.operator, iat)?;

    let mut account = Claims::new(system_account.clone(), Account::new());
    account.data.name = SYSTEM_ACCOUNT_NAME.to_string();
    account
        .nats
        .signing_keys
        .add(keys.system_account_signing.public_key());
    let system_account_jwt = jwt::encode(&mut account, &keys.operator_signing, iat)?;

    let mut user = User::new();
    user.issuer_account = system_account;
    let mut user = Claims::new(keys.system_user.public_key(), user);
    user.data.name = SYSTEM_USER_NAME.to_string();
    let user_jwt = jwt::encode(&mut user, &keys.system_account_signing, iat)?;

    let seed = |k: &KeyPair| {
        k.seed()
            .map_err(|_| JwtError::Key("key has no seed".into()))
    };
    Ok(Identity {
        operator_jwt,
        operator,
        operator_signing_key: seed(&keys.operator_signing)?,
        system_account_jwt,
        system_user_creds: jwt::creds::format_user_creds(&user_jwt, &seed(&keys.system_user)?),
        offline_seeds: vec![
            OfflineSeed::new("operator", &keys.operator, seed(&keys.operator)?),
            OfflineSeed::new(
                "system-account",
                &keys.system_account,
                seed(&keys.system_account)?,
            ),
            OfflineSeed::new(
                "system-account-signing-key",
                &keys.system_account_signing,
                seed(&keys.system_account_signing)?,
            ),
        ],
        accounts: Vec::new(),
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{account_link, user_link};
    use crate::jwt::AnyClaims;
    use nkeys::KeyPairType;

    pub(crate) fn keys() -> NewKeys {
        let k = |t, n| KeyPair::new_from_raw(t, [n; 32]).unwrap();
        NewKeys {
            operator: k(KeyPairType::Operator, 1),
            operator_signing: k(KeyPairType::Operator, 2),
            system_account: k(KeyPairType::Account, 3),
            system_account_signing: k(KeyPairType::Account, 4),
            system_user: k(KeyPairType::User, 5),
        }
    }

    #[test]
    fn the_chain_holds_and_identity_keys_sign_only_the_operator() {
        let keys = keys();
        let id = create(&keys, "acme", 1_700_000_000).unwrap();
        assert_eq!(id.operator.data.name, "acme");
        assert_eq!(id.operator.data.iss, keys.operator.public_key());
        let AnyClaims::Account(account) = jwt::decode(&id.system_account_jwt).unwrap().claims
        else {
            panic!("not an account")
        };
        assert_eq!(account.data.iss, keys.operator_signing.public_key());
        assert!(account_link(&account.data.sub, &account.data.iss, &id.operator).is_ok());
        let (user_jwt, user_key) = jwt::creds::parse_creds(&id.system_user_creds).unwrap();
        let AnyClaims::User(user) = jwt::decode(&user_jwt).unwrap().claims else {
            panic!("not a user")
        };
        assert_eq!(user.nats.issuer_account, keys.system_account.public_key());
        assert_eq!(user_key.public_key(), user.data.sub);
        assert!(user_link(&user, &account).unwrap().contains("signing key"));
        assert_eq!(id.operator.nats.system_account, account.data.sub);
        assert!(account.validate(1_700_000_000).issues.is_empty());
    }

    #[test]
    fn same_keys_and_iat_give_the_same_tokens() {
        let a = create(&keys(), "acme", 5).unwrap();
        let b = create(&keys(), "acme", 5).unwrap();
        assert_eq!(a.operator_jwt, b.operator_jwt);
        assert_eq!(a.system_account_jwt, b.system_account_jwt);
        assert_eq!(a.system_user_creds, b.system_user_creds);
    }
}
