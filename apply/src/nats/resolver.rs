//! The resolver requests: push, lookup, list and delete account JWTs, each answered by every
//! resolver server of the cluster and gathered until all of them have answered.

use std::collections::{BTreeMap, BTreeSet};

use nauth_jwt::{Account, AnyClaims, Claims, decode};
use nkeys::KeyPair;

use super::connection::{
    CLAIMS_LIST, Connection, Membership, NO_RESOLVER, distinct_senders, parsed, unix_now,
};
use super::error::NatsError;
use super::reply::{ListResponse, Outcome, ServerId, ServerReply};
use super::trust::check_account_id;

const CLAIMS_UPDATE: &str = "$SYS.REQ.CLAIMS.UPDATE";
const CLAIMS_DELETE: &str = "$SYS.REQ.CLAIMS.DELETE";

/// Every resolver accepted a push or delete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// One accepted reply per resolver server, sorted by server name.
    pub replies: Vec<ServerReply>,
}

/// The JWT the resolvers hold for one account.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The newest JWT (highest `iat`) among the servers' answers, as stored.
    pub jwt: String,
    /// Its verified claims.
    pub claims: Claims<Account>,
    /// How many servers hold exactly this JWT.
    pub holders: usize,
    /// How many servers answered; the others hold nothing or an older JWT.
    pub answered: usize,
}

/// What the resolvers answered to a lookup of one account.
#[derive(Clone, Debug, PartialEq)]
pub struct Holdings {
    /// The JWTs of the servers that hold one, as stored, with their claims.
    pub held: Vec<(String, Claims<Account>)>,
    /// How many servers answered (holding the account or not).
    pub answered: usize,
    /// How many resolvers the cluster has.
    pub expected: usize,
    /// Why not every resolver answered, when one stayed silent.
    incomplete: Option<NatsError>,
}

/// How the resolvers' copies of an account compare with the JWT the controller rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Every resolver holds exactly this JWT: nothing to push.
    None,
    /// Some resolvers lack the account or hold an older JWT (lower `iat`, or the same `iat`
    /// with other bytes): push ours.
    Behind {
        /// Resolvers that answered without the account, or did not answer.
        missing: usize,
        /// Resolvers holding another JWT that is not newer than ours.
        older: usize,
    },
    /// A resolver holds a JWT issued after ours: someone else pushes to this account, and
    /// pushing ours would roll it back.
    Newer {
        /// `iat` of the newest JWT found.
        theirs: i64,
        /// `iat` of ours.
        ours: i64,
    },
}

impl Holdings {
    /// Compares every resolver's copy with `ours` (a JWT whose `iat` is `ours_iat`).
    pub fn compare(&self, ours: &str, ours_iat: i64) -> Drift {
        if let Some(newest) = (self.held.iter().map(|(_, c)| c.data.iat)).max()
            && newest > ours_iat
        {
            return Drift::Newer {
                theirs: newest,
                ours: ours_iat,
            };
        }
        let current = self.held.iter().filter(|(jwt, _)| jwt == ours).count();
        let older = self.held.len() - current;
        let missing = self.expected.saturating_sub(self.held.len());
        if older == 0 && missing == 0 {
            Drift::None
        } else {
            Drift::Behind { missing, older }
        }
    }
}

/// The account ids each resolver server stores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Per server, sorted by server name.
    pub servers: BTreeMap<String, (ServerId, BTreeSet<String>)>,
}

impl Listing {
    /// Names of the servers that do not store `account_id`.
    pub fn lacking(&self, account_id: &str) -> Vec<String> {
        let lacks = |(_, ids): &&(ServerId, BTreeSet<String>)| !ids.contains(account_id);
        let servers = self.servers.values().filter(lacks);
        servers.map(|(s, _)| s.to_string()).collect()
    }

    /// Accounts stored on at least one server.
    pub fn union(&self) -> BTreeSet<&str> {
        let ids = self.servers.values().flat_map(|(_, ids)| ids.iter());
        ids.map(String::as_str).collect()
    }
}

impl Connection {
    /// Pushes an account JWT to every resolver (`$SYS.REQ.CLAIMS.UPDATE`) after checking that
    /// every server trusts its issuer. Succeeds only when every resolver answered 200; any error
    /// reply, or a resolver that stays silent, fails the push.
    pub async fn push(&self, account_jwt: &str) -> Result<Accepted, NatsError> {
        let membership = self.membership().await?;
        let claims = membership.trust.verify_account(account_jwt, unix_now())?;
        let operation = format!("push of account {}", claims.data.sub);
        let payload = account_jwt.as_bytes().to_vec();
        self.update(&membership, &operation, CLAIMS_UPDATE, payload)
            .await
    }

    /// Removes accounts from every resolver (`$SYS.REQ.CLAIMS.DELETE`, needs `allow_delete` in
    /// the servers' resolver config) with a request self-signed by an operator key every server
    /// trusts: its identity or one of its signing keys.
    pub async fn delete(
        &self,
        account_ids: &[&str],
        operator_key: &KeyPair,
    ) -> Result<Accepted, NatsError> {
        for id in account_ids {
            check_account_id(id)?;
        }
        let membership = self.membership().await?;
        let signer = operator_key.public_key();
        membership.trust.check_delete_signer(&signer)?;
        let token = nauth_render::requests::account_deletion(operator_key, account_ids, unix_now())
            .map_err(|e| NatsError::Invalid(format!("signing the delete request: {e}")))?;
        let operation = format!("delete of account(s) {}", account_ids.join(", "));
        self.update(&membership, &operation, CLAIMS_DELETE, token.into_bytes())
            .await
    }

    /// Sends a delete request signed elsewhere (nauth-render's, for a controller without the
    /// operator key) after checking what the servers will: it verifies, is self-signed by an
    /// operator key every server trusts, and lists `account_id`.
    pub async fn send_deletion(
        &self,
        request: &str,
        account_id: &str,
    ) -> Result<Accepted, NatsError> {
        check_account_id(account_id)?;
        let claims = match decode(request).map(|d| d.claims) {
            Ok(AnyClaims::Generic(claims)) => claims,
            Ok(_) => return Err(NatsError::Invalid("not a delete request".into())),
            Err(e) => return Err(NatsError::Invalid(format!("delete request: {e}"))),
        };
        let listed = (claims.nats.0.get("accounts").and_then(|l| l.as_array()))
            .is_some_and(|l| l.iter().any(|a| a.as_str() == Some(account_id)));
        if claims.data.sub != claims.data.iss || !listed {
            return Err(NatsError::Invalid(format!(
                "the delete request is not self-signed or does not list account {account_id}"
            )));
        }
        let membership = self.membership().await?;
        membership.trust.check_delete_signer(&claims.data.iss)?;
        let operation = format!("delete of account {account_id}");
        self.update(
            &membership,
            &operation,
            CLAIMS_DELETE,
            request.as_bytes().to_vec(),
        )
        .await
    }

    /// Reads the JWT the resolvers hold for `account_id`
    /// (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP`; no seed needed). `None` when every resolver
    /// answered that it has none.
    pub async fn lookup(&self, account_id: &str) -> Result<Option<Found>, NatsError> {
        let holdings = self.holdings(account_id).await?;
        let newest = holdings
            .held
            .iter()
            .max_by_key(|(_, c)| c.data.iat)
            .cloned();
        match newest {
            Some((jwt, claims)) => Ok(Some(Found {
                holders: holdings.held.iter().filter(|(j, _)| *j == jwt).count(),
                answered: holdings.answered,
                jwt,
                claims,
            })),
            // Absence is only known once every resolver has said so.
            None if holdings.answered >= holdings.expected => Ok(None),
            None => Err(holdings
                .incomplete
                .expect("set when not every resolver answered")),
        }
    }

    /// What each resolver holds for `account_id` (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP`): the
    /// base of [`Connection::lookup`] and of the drift check ([`Holdings::compare`]).
    pub async fn holdings(&self, account_id: &str) -> Result<Holdings, NatsError> {
        check_account_id(account_id)?;
        let membership = self.membership().await?;
        let expected = membership.resolvers.len();
        let subject = format!("$SYS.REQ.ACCOUNT.{account_id}.CLAIMS.LOOKUP");
        // Lookup replies are the bare JWT (empty when the server lacks it), without the
        // sender: count them.
        let gathered = self
            .gather(&subject, Vec::new(), NO_RESOLVER, |r| r.len() >= expected)
            .await?;
        let operation = format!("lookup of account {account_id}");
        let mut held = Vec::new();
        for message in gathered.messages.iter().filter(|m| !m.payload.is_empty()) {
            let jwt = String::from_utf8_lossy(&message.payload).into_owned();
            let malformed = |reason: String| NatsError::Malformed {
                operation: operation.clone(),
                server: "a server".into(),
                reason,
            };
            let claims = match decode(&jwt).map(|d| d.claims) {
                Ok(AnyClaims::Account(c)) if c.data.sub == account_id => c,
                Ok(_) => return Err(malformed("not this account's JWT".into())),
                Err(e) => return Err(malformed(e.to_string())),
            };
            held.push((jwt, claims));
        }
        let incomplete =
            (!gathered.complete).then(|| self.timeout(&operation, &gathered, expected, Vec::new()));
        Ok(Holdings {
            held,
            answered: gathered.messages.len(),
            expected,
            incomplete,
        })
    }

    /// The account ids each resolver stores (`$SYS.REQ.CLAIMS.LIST`).
    pub async fn list(&self) -> Result<Listing, NatsError> {
        let membership = self.membership().await?;
        let gathered = self
            .gather(CLAIMS_LIST, Vec::new(), NO_RESOLVER, |r| {
                membership.all_resolvers_in(&distinct_senders(r))
            })
            .await?;
        let operation = "listing of accounts";
        let replies = parsed::<ListResponse>(&gathered, operation)?;
        self.note_strangers(&membership, replies.iter().map(|r| &r.server));
        if !gathered.complete {
            let missing = membership.missing(&distinct_senders(&gathered.messages));
            return Err(self.timeout(operation, &gathered, membership.resolvers.len(), missing));
        }
        let servers = replies
            .into_iter()
            .map(|r| {
                (
                    r.server.to_string(),
                    (r.server, r.data.into_iter().collect()),
                )
            })
            .collect();
        Ok(Listing { servers })
    }

    /// Sends an update-style request and requires a 200 from every resolver.
    async fn update(
        &self,
        membership: &Membership,
        operation: &str,
        subject: &str,
        payload: Vec<u8>,
    ) -> Result<Accepted, NatsError> {
        let gathered = self
            .gather(subject, payload, NO_RESOLVER, |r| {
                membership.all_resolvers_in(&distinct_senders(r))
            })
            .await?;
        let mut replies = Vec::new();
        for message in &gathered.messages {
            let reply =
                ServerReply::parse(&message.payload).map_err(|reason| NatsError::Malformed {
                    operation: operation.to_string(),
                    server: "a server".into(),
                    reason,
                })?;
            replies.push(reply);
        }
        replies.sort_by(|a, b| (&a.server.name, &a.server.id).cmp(&(&b.server.name, &b.server.id)));
        self.note_strangers(membership, replies.iter().map(|r| &r.server));
        let silent = if gathered.complete {
            Vec::new()
        } else {
            membership.missing(&distinct_senders(&gathered.messages))
        };
        if subject == CLAIMS_UPDATE {
            count_pushes(&replies, &silent);
        }
        if replies
            .iter()
            .any(|r| matches!(r.outcome, Outcome::Rejected { .. }))
        {
            return Err(NatsError::Rejected {
                operation: operation.to_string(),
                replies,
            });
        }
        if !gathered.complete {
            return Err(self.timeout(operation, &gathered, membership.resolvers.len(), silent));
        }
        Ok(Accepted { replies })
    }

    /// A reply from a server discovery did not see means the cluster changed: rediscover next
    /// time, so the following requests wait for the right servers.
    fn note_strangers<'a>(
        &self,
        membership: &Membership,
        servers: impl IntoIterator<Item = &'a ServerId>,
    ) {
        if servers.into_iter().any(|s| membership.is_stranger(&s.id)) {
            self.invalidate_membership();
        }
    }
}

/// Counts each server's answer to a push, and each resolver that stayed silent.
fn count_pushes(replies: &[ServerReply], silent: &[String]) {
    for r in replies {
        let result = match r.outcome {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Rejected { .. } => "rejected",
        };
        crate::metrics::pushed(&r.server.to_string(), result);
    }
    for server in silent {
        crate::metrics::pushed(server, "silent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nauth_jwt::encode;
    use nkeys::KeyPairType;

    fn jwt(iat: i64, name: &str) -> (String, Claims<Account>) {
        let operator = KeyPair::new_from_raw(KeyPairType::Operator, [1; 32]).unwrap();
        let account = KeyPair::new_from_raw(KeyPairType::Account, [2; 32]).unwrap();
        let mut claims = Claims::new(account.public_key(), Account::new());
        claims.data.name = name.into();
        let jwt = encode(&mut claims, &operator, iat).unwrap();
        (jwt, claims)
    }

    fn holdings(held: &[&(String, Claims<Account>)], expected: usize) -> Holdings {
        Holdings {
            held: held.iter().map(|h| (*h).clone()).collect(),
            answered: expected,
            expected,
            incomplete: None,
        }
    }

    #[test]
    fn every_resolver_holding_ours_is_no_drift() {
        let ours = jwt(100, "a");
        let drift = holdings(&[&ours, &ours], 2).compare(&ours.0, 100);
        assert_eq!(drift, Drift::None);
    }

    #[test]
    fn a_wiped_or_outdated_resolver_is_behind() {
        let ours = jwt(100, "a");
        let (older, same_iat) = (jwt(90, "a"), jwt(100, "b"));
        assert_eq!(
            holdings(&[&ours], 2).compare(&ours.0, 100),
            Drift::Behind {
                missing: 1,
                older: 0
            }
        );
        assert_eq!(
            holdings(&[&older, &same_iat, &ours], 3).compare(&ours.0, 100),
            Drift::Behind {
                missing: 0,
                older: 2
            }
        );
        assert_eq!(
            holdings(&[], 1).compare(&ours.0, 100),
            Drift::Behind {
                missing: 1,
                older: 0
            }
        );
    }

    #[test]
    fn a_newer_jwt_anywhere_is_not_overwritten() {
        let (ours, newer) = (jwt(100, "a"), jwt(120, "b"));
        assert_eq!(
            holdings(&[&ours, &newer], 3).compare(&ours.0, 100),
            Drift::Newer {
                theirs: 120,
                ours: 100
            }
        );
    }
}
