//! The issuer chain NATS servers enforce: operator → account → user. Each check says which
//! link holds, or which one fails and why.

use crate::jwt::{Account, Claims, Operator, User};

/// Whether `operator` (its identity or one of its signing keys) issued an account JWT signed
/// by `issuer`.
pub fn account_link(
    account: &str,
    issuer: &str,
    operator: &Claims<Operator>,
) -> Result<String, String> {
    let op = &operator.data.sub;
    if issuer == op {
        Ok(format!("signed by operator {op}"))
    } else if operator.nats.signing_keys.iter().any(|k| k == issuer) {
        Ok(format!("signed by signing key {issuer} of operator {op}"))
    } else {
        Err(format!(
            "account {account} is signed by {issuer}, which is neither operator {op} nor one of \
             its signing keys"
        ))
    }
}

/// The account a user JWT names: `issuer_account` when set, else its issuer.
pub fn user_account(user: &Claims<User>) -> &str {
    if user.nats.issuer_account.is_empty() {
        &user.data.iss
    } else {
        &user.nats.issuer_account
    }
}

/// Whether `account` issued `user`: by its identity key, or by one of its signing keys with
/// `issuer_account` naming it (the server's rule).
pub fn user_link(user: &Claims<User>, account: &Claims<Account>) -> Result<String, String> {
    let (u, iss, acc) = (&user.data.sub, &user.data.iss, &account.data.sub);
    let issuer_account = &user.nats.issuer_account;
    if !issuer_account.is_empty() && issuer_account != acc {
        return Err(format!(
            "user {u} has issuer_account {issuer_account}, not account {acc}"
        ));
    }
    if iss == acc {
        return Ok(format!("signed by account {acc}"));
    }
    if !account.nats.signing_keys.contains(iss) {
        return Err(format!(
            "user {u} is signed by {iss}, which is neither account {acc} nor one of its signing keys"
        ));
    }
    if issuer_account.is_empty() {
        return Err(format!(
            "user {u} is signed by signing key {iss} of account {acc} but has no issuer_account"
        ));
    }
    Ok(format!("signed by signing key {iss} of account {acc}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{self, AnyClaims};
    use nkeys::{KeyPair, KeyPairType};

    fn key(kind: KeyPairType, n: u8) -> KeyPair {
        KeyPair::new_from_raw(kind, [n; 32]).unwrap()
    }

    fn signed_user(signer: &KeyPair, issuer_account: &str) -> Claims<User> {
        let mut user = User::new();
        user.issuer_account = issuer_account.to_string();
        let mut claims = Claims::new(key(KeyPairType::User, 1).public_key(), user);
        let token = jwt::encode(&mut claims, signer, 1).unwrap();
        let AnyClaims::User(c) = jwt::decode(&token).unwrap().claims else {
            panic!("not a user")
        };
        c
    }

    #[test]
    fn user_links() {
        let acc = key(KeyPairType::Account, 1);
        let sk = key(KeyPairType::Account, 2);
        let mut account = Claims::new(acc.public_key(), Account::new());
        account.nats.signing_keys.add(sk.public_key());

        assert!(user_link(&signed_user(&acc, ""), &account).is_ok());
        let ok = user_link(&signed_user(&sk, &acc.public_key()), &account).unwrap();
        assert!(ok.starts_with("signed by signing key"), "{ok}");
        let err = user_link(&signed_user(&sk, ""), &account).unwrap_err();
        assert!(err.ends_with("but has no issuer_account"), "{err}");
        let other = key(KeyPairType::Account, 3);
        let err = user_link(&signed_user(&other, ""), &account).unwrap_err();
        assert!(err.contains("neither account"), "{err}");
        let err = user_link(&signed_user(&sk, &other.public_key()), &account).unwrap_err();
        assert!(err.contains("has issuer_account"), "{err}");
    }

    #[test]
    fn account_links() {
        let op = key(KeyPairType::Operator, 1);
        let sk = key(KeyPairType::Operator, 2);
        let mut operator = Claims::new(op.public_key(), Operator::default());
        operator.nats.signing_keys.push(sk.public_key());
        assert!(account_link("A", &op.public_key(), &operator).is_ok());
        assert!(account_link("A", &sk.public_key(), &operator).is_ok());
        let stranger = key(KeyPairType::Operator, 3).public_key();
        assert_eq!(
            account_link("A", &stranger, &operator).unwrap_err(),
            format!(
                "account A is signed by {stranger}, which is neither operator {} nor one of its \
                 signing keys",
                op.public_key()
            )
        );
    }
}
