//! `inspect`: what a JWT, creds file, Secret or ConfigMap really holds, and whether NATS would
//! trust it. Pure: the caller reads the files and the clock.
//!
//! Every token's signature is verified; with a trusted operator (and account) the issuer chain
//! is checked link by link, as the server does on connect, and a creds file's seed must belong
//! to its JWT. Seeds are never shown: only `present (SU…, not shown)` and their public key.

mod chain;
mod source;
mod time;

use data_encoding::BASE64URL_NOPAD;
use nkeys::{KeyPair, KeyPairType};
use serde::Serialize;
use serde_json::Value;

use crate::jwt::{self, Account, AnyClaims, Claims, Operator};
pub use chain::{account_link, user_account, user_link};
pub use source::{Content, Found, read};
pub use time::{annotate, rfc3339};

/// The operator and account the user vouches for (`--operator`, `--account`), already checked
/// against each other.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    operator: Option<Claims<Operator>>,
    account: Option<Claims<Account>>,
}

impl Trust {
    /// Takes the one operator JWT in `operator` and the one account JWT in `account`; the
    /// account must be issued by that operator when both are given.
    pub fn new(operator: Option<Vec<Found>>, account: Option<Vec<Found>>) -> Result<Self, String> {
        let operator = operator
            .map(|f| {
                only(f, "an operator", |c| match c {
                    AnyClaims::Operator(o) => Some(o),
                    _ => None,
                })
            })
            .transpose()?;
        let account = account
            .map(|f| {
                only(f, "an account", |c| match c {
                    AnyClaims::Account(a) => Some(a),
                    _ => None,
                })
            })
            .transpose()?;
        if let (Some(op), Some(acc)) = (&operator, &account) {
            account_link(&acc.data.sub, &acc.data.iss, op)?;
        }
        Ok(Trust { operator, account })
    }
}

/// The single verified token of the wanted kind in `found`.
fn only<T>(
    found: Vec<Found>,
    what: &str,
    pick: impl Fn(AnyClaims) -> Option<T>,
) -> Result<T, String> {
    let mut picked = Vec::new();
    for f in found {
        let token = match f.content {
            Content::Jwt(t) | Content::Creds { jwt: t, .. } => t,
            _ => continue,
        };
        let claims = jwt::decode(&token)
            .map_err(|e| format!("{}: {e}", f.source))?
            .claims;
        picked.extend(pick(claims));
    }
    match picked.len() {
        1 => Ok(picked.pop().expect("one")),
        n => Err(format!("expected {what} JWT, found {n}")),
    }
}

/// What `inspect` reports about one thing it found.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Where it was found.
    pub source: String,
    /// `jwt`, `creds` or `seed`.
    pub content: &'static str,
    /// Claim type (`operator`, `account`, `user`, `activation`, `generic`) or key type.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The JWT subject, or the seed's public key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    /// `present (SU…, not shown)` for creds files and seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Which link of the issuer chain holds, or why it was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// What is wrong (any of these makes the command fail).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What deserves attention (expired, not yet valid, Go validation warnings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The signed claims as found, with `*_utc` times next to unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
}

impl Item {
    fn new(source: &str, content: &'static str) -> Self {
        Item {
            source: source.to_string(),
            content,
            kind: String::new(),
            public_key: String::new(),
            seed: None,
            chain: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            claims: None,
        }
    }
}

/// `nats.type` of decoded claims.
pub fn claim_type(claims: &AnyClaims) -> &'static str {
    match claims {
        AnyClaims::Operator(_) => "operator",
        AnyClaims::Account(_) => "account",
        AnyClaims::User(_) => "user",
        AnyClaims::Activation(_) => "activation",
        AnyClaims::Generic(_) => "generic",
    }
}

/// `present (SU…, not shown)`: says a seed is there and of which kind, and nothing more.
pub fn seed_present(key: &KeyPair) -> String {
    format!("present (S{}…, not shown)", key_letter(key.key_pair_type()))
}

fn key_letter(kind: KeyPairType) -> char {
    match kind {
        KeyPairType::Operator => 'O',
        KeyPairType::Account => 'A',
        KeyPairType::User => 'U',
        KeyPairType::Server => 'N',
        KeyPairType::Cluster => 'C',
        KeyPairType::Curve => 'X',
        _ => '?',
    }
}

fn key_kind(kind: KeyPairType) -> &'static str {
    match kind {
        KeyPairType::Operator => "operator key",
        KeyPairType::Account => "account key",
        KeyPairType::User => "user key",
        KeyPairType::Curve => "curve key",
        _ => "key",
    }
}

/// Inspects everything found, checking chains against `trust` and, failing that, against the
/// operators and accounts found alongside. `now` (unix seconds) drives the expiry warnings.
pub fn inspect(found: &[Found], trust: &Trust, now: i64) -> Vec<Item> {
    let decoded: Vec<Option<AnyClaims>> = found
        .iter()
        .map(|f| match &f.content {
            Content::Jwt(t) | Content::Creds { jwt: t, .. } => {
                jwt::decode(t).ok().map(|d| d.claims)
            }
            _ => None,
        })
        .collect();
    let operators: Vec<&Claims<Operator>> = trust
        .operator
        .iter()
        .chain(decoded.iter().flatten().filter_map(|c| match c {
            AnyClaims::Operator(o) if trust.operator.is_none() => Some(o),
            _ => None,
        }))
        .collect();
    let accounts: Vec<&Claims<Account>> = trust
        .account
        .iter()
        .chain(decoded.iter().flatten().filter_map(|c| match c {
            AnyClaims::Account(a) if trust.account.is_none() => Some(a),
            _ => None,
        }))
        .collect();
    let context = Context {
        trust,
        operators,
        accounts,
    };
    found
        .iter()
        .map(|f| context.item(f, now))
        .map(|mut item| {
            item.problems = item
                .problems
                .iter()
                .map(|p| crate::diagnostic::redact(p))
                .collect();
            item
        })
        .collect()
}

struct Context<'a> {
    trust: &'a Trust,
    operators: Vec<&'a Claims<Operator>>,
    accounts: Vec<&'a Claims<Account>>,
}

impl Context<'_> {
    fn item(&self, f: &Found, now: i64) -> Item {
        match &f.content {
            Content::Unreadable(why) => {
                let mut item = Item::new(&f.source, "unreadable");
                item.problems.push(why.clone());
                item
            }
            Content::Seed(key) => {
                let mut item = Item::new(&f.source, "seed");
                item.kind = key_kind(key.key_pair_type()).to_string();
                item.public_key = key.public_key();
                item.seed = Some(seed_present(key));
                item
            }
            Content::Jwt(token) => self.token(Item::new(&f.source, "jwt"), token, now),
            Content::Creds { jwt, key } => {
                let mut item = self.token(Item::new(&f.source, "creds"), jwt, now);
                item.seed = Some(seed_present(key));
                if item.kind != "user" && !item.kind.is_empty() {
                    item.problems.push(format!(
                        "the creds file holds {} JWT, not a user JWT",
                        item.kind
                    ));
                } else if !item.public_key.is_empty() && key.public_key() != item.public_key {
                    item.problems.push(format!(
                        "the creds file's seed does not belong to the JWT subject {}",
                        item.public_key
                    ));
                }
                item
            }
        }
    }

    fn token(&self, mut item: Item, token: &str, now: i64) -> Item {
        let decoded = match jwt::decode(token) {
            Ok(d) => d,
            Err(e) => {
                item.problems.push(e.to_string());
                return item;
            }
        };
        item.claims = payload(token).map(|v| annotate(&v));
        let claims = decoded.claims;
        let data = claims.data();
        item.public_key = data.sub.clone();
        let results = claims.validate(now);
        for issue in &results.issues {
            if issue.blocking && !issue.time_check {
                item.problems
                    .push(format!("invalid claims: {}", issue.description));
            } else {
                item.warnings.push(issue.description.clone());
            }
        }
        item.kind = claim_type(&claims).to_string();
        let link = match &claims {
            AnyClaims::Operator(op) => self.operator_link(op),
            AnyClaims::Account(acc) => self.account_link(acc),
            AnyClaims::User(user) => self.user_link(user),
            AnyClaims::Activation(_) | AnyClaims::Generic(_) => Ok(format!(
                "signature by {} verified; chain not checked",
                data.iss
            )),
        };
        match link {
            Ok(chain) => item.chain = Some(chain),
            Err(problem) => item.problems.push(problem),
        }
        item
    }

    fn operator_link(&self, op: &Claims<Operator>) -> Result<String, String> {
        if let Some(trusted) = &self.trust.operator
            && trusted.data.sub != op.data.sub
        {
            return Err(format!(
                "operator {} is not the trusted operator {} (--operator)",
                op.data.sub, trusted.data.sub
            ));
        }
        let (iss, sub) = (&op.data.iss, &op.data.sub);
        if iss == sub {
            Ok("self-signed by the operator".into())
        } else if op.nats.signing_keys.contains(iss) {
            Ok(format!("signed by its signing key {iss}"))
        } else {
            Err(format!(
                "operator {sub} is signed by {iss}, which is neither the operator nor one of its \
                 signing keys"
            ))
        }
    }

    fn account_link(&self, acc: &Claims<Account>) -> Result<String, String> {
        let (sub, iss) = (&acc.data.sub, &acc.data.iss);
        if let Some(op) = &self.trust.operator {
            return account_link(sub, iss, op).map(|s| format!("{s} (--operator)"));
        }
        if self.operators.is_empty() {
            return Ok(format!(
                "signature by {iss} verified; issuer not checked (no operator JWT: pass --operator FILE)"
            ));
        }
        self.operators
            .iter()
            .find_map(|op| account_link(sub, iss, op).ok())
            .ok_or_else(|| {
                let ops: Vec<&str> = self.operators.iter().map(|o| o.data.sub.as_str()).collect();
                format!(
                    "account {sub} is signed by {iss}, which is neither operator {} nor one of \
                     its signing keys",
                    ops.join(" / ")
                )
            })
    }

    fn user_link(&self, user: &Claims<jwt::User>) -> Result<String, String> {
        let wanted = user_account(user);
        if let Some(acc) = &self.trust.account {
            if acc.data.sub != wanted {
                return Err(format!(
                    "user {} belongs to account {wanted}, not to the given account {} (--account)",
                    user.data.sub, acc.data.sub
                ));
            }
            return user_link(user, acc).map(|s| format!("{s} (--account)"));
        }
        match self.accounts.iter().find(|a| a.data.sub == wanted) {
            Some(acc) => user_link(user, acc),
            None => Ok(format!(
                "signature by {} verified; issuer not checked (no JWT of account {wanted}: pass \
                 --account FILE)",
                user.data.iss
            )),
        }
    }
}

/// The payload exactly as signed (the typed claims would drop Go's defaults and reorder).
fn payload(token: &str) -> Option<Value> {
    let segment = token.split('.').nth(1)?;
    let bytes = BASE64URL_NOPAD.decode(segment.as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}
