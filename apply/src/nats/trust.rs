//! The issuer chain, checked before anything is sent.
//!
//! A full resolver stores any well-signed account JWT and answers 200, even when its issuer is
//! not trusted; the account then fails only when a client uses it (nats-facts §4.2). So the
//! controller checks what the server will check when it loads the account: the JWT verifies, is
//! an account JWT whose claims pass Go's validation (time checks included), and its issuer is
//! the identity or a signing key of an operator that server trusts; an operator with
//! `strict_signing_key_usage` accepts only its signing keys. The trusted operators are the
//! ones each server reports in its VARZ, so the check follows the servers' own configuration.

use nauth_jwt::{Account, AnyClaims, Claims, JwtError, Operator, decode, is_account_key};

use super::error::NatsError;
use super::reply::ServerId;

/// The operators each server trusts, as the servers report them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustAnchors {
    servers: Vec<(ServerId, Vec<Claims<Operator>>)>,
}

impl TrustAnchors {
    /// Anchors from each server's operator JWTs (VARZ `trusted_operators_jwt`). An operator JWT
    /// that does not verify is an error: the servers' view of trust would be unknown.
    pub fn from_operator_jwts<'a>(
        servers: impl IntoIterator<Item = (ServerId, &'a [String])>,
    ) -> Result<Self, String> {
        let mut anchors = TrustAnchors::default();
        for (server, jwts) in servers {
            let mut operators = Vec::new();
            for jwt in jwts {
                match decode(jwt).map(|d| d.claims) {
                    Ok(AnyClaims::Operator(op)) => operators.push(op),
                    Ok(_) => {
                        return Err(format!(
                            "{server} reports a trusted operator JWT that is not an operator JWT"
                        ));
                    }
                    Err(e) => {
                        return Err(format!(
                            "{server} reports a trusted operator JWT that does not verify: {e}"
                        ));
                    }
                }
            }
            anchors.servers.push((server, operators));
        }
        Ok(anchors)
    }

    /// Verifies `jwt` as every server will when it loads the account, at time `now` (unix
    /// seconds), and returns its claims.
    pub fn verify_account(&self, jwt: &str, now: i64) -> Result<Claims<Account>, NatsError> {
        let claims = match decode(jwt) {
            Ok(decoded) => match decoded.claims {
                AnyClaims::Account(claims) => claims,
                other => {
                    return Err(NatsError::Invalid(format!(
                        "the JWT about {} is not an account JWT",
                        other.data().sub
                    )));
                }
            },
            Err(JwtError::Signature) => {
                return Err(NatsError::ChainInvalid {
                    subject: "the account JWT".into(),
                    reason: "its signature does not verify".into(),
                });
            }
            Err(e) => return Err(NatsError::Invalid(format!("account JWT: {e}"))),
        };
        let account = &claims.data.sub;
        let issues = claims.validate(now);
        if issues.is_blocking(true) {
            let found: Vec<&str> = issues
                .issues
                .iter()
                .filter(|i| i.blocking || i.time_check)
                .map(|i| i.description.as_str())
                .collect();
            return Err(NatsError::Invalid(format!(
                "account JWT {account}: {}",
                found.join("; ")
            )));
        }
        self.check_issuer(account, &claims.data.iss, IssuerUse::Account)?;
        Ok(claims)
    }

    /// Checks that every server accepts `key` as the self-signed issuer of a resolver delete
    /// request: the identity or a signing key of one of its operators.
    pub fn check_delete_signer(&self, key: &str) -> Result<(), NatsError> {
        self.check_issuer(key, key, IssuerUse::Delete)
    }

    /// `Ok` when every server accepts `issuer` for `usage`; else each server's refusal.
    fn check_issuer(&self, subject: &str, issuer: &str, usage: IssuerUse) -> Result<(), NatsError> {
        let untrusted = |reason: String| NatsError::ChainInvalid {
            subject: subject.to_string(),
            reason,
        };
        if self.servers.is_empty() {
            return Err(untrusted("no server reported its trusted operators".into()));
        }
        let refusals: Vec<String> = self
            .servers
            .iter()
            .filter_map(|(server, operators)| {
                refusal(operators, issuer, usage).map(|why| format!("{server}: {why}"))
            })
            .collect();
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(untrusted(refusals.join("; ")))
        }
    }
}

#[derive(Clone, Copy)]
enum IssuerUse {
    Account,
    Delete,
}

/// Why a server trusting `operators` would refuse `issuer`, or `None` when it accepts it.
fn refusal(operators: &[Claims<Operator>], issuer: &str, usage: IssuerUse) -> Option<String> {
    if operators.is_empty() {
        return Some("trusts no operator JWT".into());
    }
    let accepts = |op: &Claims<Operator>| {
        op.nats.signing_keys.iter().any(|k| k == issuer)
            || (op.data.sub == issuer
                && (matches!(usage, IssuerUse::Delete) || !op.nats.strict_signing_key_usage))
    };
    if operators.iter().any(accepts) {
        return None;
    }
    let strict = operators
        .iter()
        .any(|op| op.data.sub == issuer && op.nats.strict_signing_key_usage);
    Some(if strict {
        format!("issuer {issuer} is an operator identity, but the operator requires a signing key")
    } else {
        let names: Vec<String> = operators
            .iter()
            .map(|op| format!("{} ({})", op.data.sub, op.data.name))
            .collect();
        format!(
            "issuer {issuer} is neither a trusted operator nor one of its signing keys (trusts {})",
            names.join(", ")
        )
    })
}

/// `Ok` when `id` is an account public key, for requests that name accounts. The error does
/// not quote `id`: a misplaced seed must not reach a log.
pub(crate) fn check_account_id(id: &str) -> Result<(), NatsError> {
    if is_account_key(id) {
        Ok(())
    } else {
        Err(NatsError::Invalid(
            "an account id is not an account public key (A…)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nauth_jwt::{User, encode};
    use nkeys::{KeyPair, KeyPairType};

    const NOW: i64 = 1_800_000_000;

    fn key(kind: KeyPairType, n: u8) -> KeyPair {
        KeyPair::new_from_raw(kind, [n; 32]).unwrap()
    }

    fn operator(identity: &KeyPair, signing: &KeyPair, strict: bool) -> String {
        let mut op = Claims::new(identity.public_key(), Operator::default());
        op.data.name = "op".into();
        op.nats.signing_keys = vec![signing.public_key()];
        op.nats.strict_signing_key_usage = strict;
        encode(&mut op, identity, NOW - 10).unwrap()
    }

    fn anchors(jwts: &[(&str, String)]) -> TrustAnchors {
        let owned: Vec<(ServerId, Vec<String>)> = jwts
            .iter()
            .map(|(name, jwt)| {
                let id = ServerId {
                    name: name.to_string(),
                    id: format!("N{name}"),
                    ..Default::default()
                };
                (id, vec![jwt.clone()])
            })
            .collect();
        TrustAnchors::from_operator_jwts(owned.iter().map(|(s, j)| (s.clone(), j.as_slice())))
            .unwrap()
    }

    fn account_jwt(signer: &KeyPair, exp: i64) -> (String, String) {
        let account = key(KeyPairType::Account, 40);
        let mut claims = Claims::new(account.public_key(), Account::new());
        claims.data.exp = exp;
        (
            account.public_key(),
            encode(&mut claims, signer, NOW - 5).unwrap(),
        )
    }

    #[test]
    fn an_account_signed_by_the_operator_or_its_signing_key_is_trusted() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let trust = anchors(&[("a", operator(&identity, &signing, false))]);
        for signer in [&identity, &signing] {
            let (account, jwt) = account_jwt(signer, 0);
            assert_eq!(trust.verify_account(&jwt, NOW).unwrap().data.sub, account);
        }
    }

    #[test]
    fn an_untrusted_issuer_is_refused_and_named() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let other = key(KeyPairType::Operator, 3);
        let trust = anchors(&[("a", operator(&identity, &signing, false))]);
        let (account, jwt) = account_jwt(&other, 0);
        let err = trust.verify_account(&jwt, NOW).unwrap_err();
        assert_eq!(
            err,
            NatsError::ChainInvalid {
                subject: account,
                reason: format!(
                    "a: issuer {} is neither a trusted operator nor one of its signing keys \
                     (trusts {} (op))",
                    other.public_key(),
                    identity.public_key()
                ),
            }
        );
    }

    #[test]
    fn every_server_must_trust_the_issuer() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let (other, other_signing) = (key(KeyPairType::Operator, 3), key(KeyPairType::Operator, 4));
        let trust = anchors(&[
            ("a", operator(&identity, &signing, false)),
            ("b", operator(&other, &other_signing, false)),
        ]);
        let (_, jwt) = account_jwt(&signing, 0);
        let err = trust.verify_account(&jwt, NOW).unwrap_err().to_string();
        assert!(err.contains("b: issuer"), "{err}");
        assert!(!err.contains("a: issuer"), "{err}");
    }

    #[test]
    fn strict_signing_key_usage_refuses_the_operator_identity() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let trust = anchors(&[("a", operator(&identity, &signing, true))]);
        let (_, jwt) = account_jwt(&identity, 0);
        let err = trust.verify_account(&jwt, NOW).unwrap_err().to_string();
        assert!(err.contains("requires a signing key"), "{err}");
        assert!(
            trust
                .verify_account(&account_jwt(&signing, 0).1, NOW)
                .is_ok()
        );
        assert!(trust.check_delete_signer(&identity.public_key()).is_ok());
    }

    #[test]
    fn an_expired_account_jwt_is_invalid() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let trust = anchors(&[("a", operator(&identity, &signing, false))]);
        let (account, jwt) = account_jwt(&signing, NOW - 1);
        assert_eq!(
            trust.verify_account(&jwt, NOW).unwrap_err(),
            NatsError::Invalid(format!("account JWT {account}: claim is expired"))
        );
    }

    #[test]
    fn a_tampered_or_foreign_jwt_is_refused() {
        let (identity, signing) = (key(KeyPairType::Operator, 1), key(KeyPairType::Operator, 2));
        let trust = anchors(&[("a", operator(&identity, &signing, false))]);
        let (_, jwt) = account_jwt(&signing, 0);
        let (head, sig) = jwt.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let forged = format!("{head}.{flipped}{}", &sig[1..]);
        assert!(matches!(
            trust.verify_account(&forged, NOW),
            Err(NatsError::ChainInvalid { .. })
        ));
        let account = key(KeyPairType::Account, 40);
        let user = key(KeyPairType::User, 41);
        let mut claims = Claims::new(user.public_key(), User::new());
        let user_jwt = encode(&mut claims, &account, NOW).unwrap();
        assert!(matches!(
            trust.verify_account(&user_jwt, NOW),
            Err(NatsError::Invalid(_))
        ));
    }

    #[test]
    fn no_reported_operator_means_no_trust() {
        let (_, jwt) = account_jwt(&key(KeyPairType::Operator, 2), 0);
        let err = TrustAnchors::default()
            .verify_account(&jwt, NOW)
            .unwrap_err();
        assert!(err.to_string().contains("no server reported"), "{err}");
    }

    #[test]
    fn account_ids_are_checked() {
        assert!(check_account_id(&key(KeyPairType::Account, 5).public_key()).is_ok());
        assert!(check_account_id(&key(KeyPairType::User, 5).public_key()).is_err());
    }
}
