//! Where keys come from, in a fixed order: input Secrets (NAuth's names and labels, so a NAuth
//! cluster's Secrets work unchanged), then the seed root when one is configured.
//!
//! Render never generates a key. A key that no source has is an error naming the object and
//! every place that was searched, typed [`KeyErrorKind::Missing`] so a controller can tell it
//! from a source holding a bad key. Errors name Secrets and public keys, never seeds.

mod error;
mod public;
mod secrets;
pub mod seed_root;

use k8s_openapi::api::core::v1::Secret;
use nkeys::{KeyPair, KeyPairType};

use crate::api;
use crate::api::ACCOUNT_ID_LABEL;
use crate::input::Object;
use crate::jwt;
use crate::lock::Lock;
pub use error::{KeyError, KeyErrorKind};
pub use seed_root::{Role, SeedRoot};

/// The remedy of a key no source holds, where a seed root can be given.
const NO_SEED_ROOT: &str = "no --seed-root to derive it from";

/// Annotation holding the generation counter of seed-root derivation; raising it rotates the
/// object's key.
pub const KEY_GENERATION_ANNOTATION: &str = "nauth.io/key-generation";

/// How many generations back a rotation looks for the ID the lock recorded (a rotation raises
/// the generation by one; this leaves room for several at once without unbounded work).
const MAX_ROTATION_STEPS: usize = 64;

/// Where a render takes its keys from.
#[derive(Clone, Copy, Debug)]
pub enum Keys<'a> {
    /// Seeds: the render signs.
    Seeds(KeySources<'a>),
    /// Only the public keys a lock recorded: claims can be built and compared, nothing signed.
    Public(&'a Lock),
    /// Each key from the sources when they hold it, else the public key the lock recorded;
    /// nothing signed. Questions about claims (`check`, `explain`) use whatever keys are at hand:
    /// a new User's key from the seed root, an Account without a seed from the lock.
    Preview(KeySources<'a>, &'a Lock),
}

/// How every message about a key the lock does not record begins: such an object is new since
/// the last render, which `check` reports as a stale lock rather than as broken input.
pub const UNRECORDED: &str = "the lock has no public key for";

impl Keys<'_> {
    /// Whether these keys can sign.
    pub fn can_sign(&self) -> bool {
        matches!(self, Keys::Seeds(_))
    }

    /// The sources' key, else, when no source holds it, the lock's (see [`Keys::Preview`]):
    /// when both fail, the lock's reason, which names what a render would record. A key a
    /// source holds but cannot use (a wrong seed root for an account the lock records, a broken
    /// Secret) is the sources' error, as a render reports it, not hidden behind the lock's key.
    fn either<T>(
        seeds: Result<T, KeyError>,
        public: impl FnOnce() -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        match seeds {
            Err(e) if e.kind == KeyErrorKind::Missing => public(),
            found => found,
        }
    }

    /// See [`KeySources::account`].
    pub fn account(
        &self,
        account: &Object<api::Account>,
        expected_id: Option<&str>,
    ) -> Result<AccountKeys, KeyError> {
        match self {
            Keys::Seeds(s) => s.account(account, expected_id),
            Keys::Public(lock) => public::account(lock, account, expected_id),
            Keys::Preview(s, lock) => Self::either(s.account(account, expected_id), || {
                public::account(lock, account, expected_id)
            }),
        }
    }

    /// See [`KeySources::signing_key`].
    pub fn signing_key(&self, ask: &Object<api::AccountSigningKey>) -> Result<Key, KeyError> {
        let seeds = |s: &KeySources| s.signing_key(ask).map(Key::from);
        match self {
            Keys::Seeds(s) => seeds(s),
            Keys::Public(lock) => public::signing_key(lock, ask),
            Keys::Preview(s, lock) => Self::either(seeds(s), || public::signing_key(lock, ask)),
        }
    }

    /// See [`KeySources::operator_signing_key`].
    pub fn operator_signing_key(
        &self,
        cluster: &Object<api::NatsCluster>,
    ) -> Result<Key, KeyError> {
        let seeds = |s: &KeySources| s.operator_signing_key(cluster).map(Key::from);
        match self {
            Keys::Seeds(s) => seeds(s),
            Keys::Public(lock) => public::operator_signing_key(lock, cluster),
            Keys::Preview(s, lock) => {
                Self::either(seeds(s), || public::operator_signing_key(lock, cluster))
            }
        }
    }

    /// See [`KeySources::user`].
    pub fn user(&self, user: &Object<api::User>) -> Result<UserKey, KeyError> {
        let recorded = |lock| {
            public::user(lock, user).map(|key| UserKey {
                key,
                rotated_from: None,
                issued: None,
            })
        };
        match self {
            Keys::Seeds(s) => s.user(user),
            Keys::Public(lock) => recorded(lock),
            Keys::Preview(s, lock) => Self::either(s.user(user), || recorded(lock)),
        }
    }
}

/// The key sources a render may use.
#[derive(Clone, Copy, Debug)]
pub struct KeySources<'a> {
    /// Secrets from the input and from `--keys`.
    pub secrets: &'a [Object<Secret>],
    /// The seed root from `--seed-root`, if any.
    pub seed_root: Option<&'a SeedRoot>,
}

/// A key as a render holds it: its public key, and its key pair when it comes from a seed.
/// A key the lock recorded has no pair: a preview signs nothing and only names public keys, so
/// it is never decoded into a curve point, which costs about as much as deriving a key.
#[derive(Clone)]
pub struct Key {
    public: String,
    pair: Option<KeyPair>,
}

impl Key {
    /// A public key the lock recorded, checked for the nkey encoding (prefix and checksum).
    fn recorded(public: &str) -> Result<Key, KeyError> {
        nkeys::from_public_key(public).map_err(|_| {
            KeyError::broken(format!("the lock holds {public:?}, not a public key"))
        })?;
        Ok(Key {
            public: public.to_string(),
            pair: None,
        })
    }

    /// The public key: an account ID, a user's subject, an issuer.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The key pair, which can sign: only a key from a seed has one.
    pub fn pair(&self) -> Option<&KeyPair> {
        self.pair.as_ref()
    }
}

impl From<KeyPair> for Key {
    fn from(pair: KeyPair) -> Self {
        Key {
            public: pair.public_key(),
            pair: Some(pair),
        }
    }
}

/// An account's identity key and its implicit signing key.
pub struct AccountKeys {
    /// The root key; its public key is the account ID.
    pub root: Key,
    /// The implicit signing key, which signs users without a `signingKeyRef`.
    pub sign: Key,
    /// The account ID these keys replace, when a raised `nauth.io/key-generation` rotates them.
    pub rotated_from: Option<String>,
}

/// A User's key.
pub struct UserKey {
    /// The key; its public key is the JWT's subject.
    pub key: Key,
    /// The public key of the creds Secret this key replaces, when a raised
    /// `nauth.io/key-generation` rotates it.
    pub rotated_from: Option<String>,
    /// The JWT of the creds Secret the key comes from: what a User without a lock record
    /// (its creds written by NAuth) was last issued, so render can keep it.
    pub issued: Option<String>,
}

impl<'a> KeySources<'a> {
    /// The keys of an Account, by NAuth's lookup order (Secrets labelled with the account ID,
    /// Secrets labelled with the account name, the legacy names `<account>-ac-root` and
    /// `<account>-ac-sign`), then the seed root. `expected_id` (from the `account.nauth.io/id`
    /// label or the lock) must match the root key found, except for a deliberate rotation: a
    /// seed-root key whose raised `nauth.io/key-generation` replaces the ID the lock recorded,
    /// which an earlier generation of the same root must give (so a wrong root still fails).
    pub fn account(
        &self,
        account: &Object<api::Account>,
        expected_id: Option<&str>,
    ) -> Result<AccountKeys, KeyError> {
        let found = secrets::account_secrets(self.secrets, account, expected_id);
        let keys = match found.map_err(KeyError::broken)? {
            Some((root, sign)) => AccountKeys {
                root: seed(root, "default", KeyPairType::Account)?.into(),
                sign: seed(sign, "default", KeyPairType::Account)?.into(),
                rotated_from: None,
            },
            None => {
                let root = self.seed_root.ok_or_else(|| {
                    KeyError::missing(format!(
                        "no keys for this account: no Secret labelled {} and no Secrets named \
                         {name}-ac-root/{name}-ac-sign",
                        secrets::account_selectors(account, expected_id),
                        name = account.name()
                    ))
                    .with_hint(NO_SEED_ROOT)
                })?;
                let generation = generation(account)?;
                let derive = |role, generation| {
                    root.derive(role, account.namespace(), account.name(), generation)
                };
                let root_key = derive(Role::AccountRoot, generation);
                let locked = expected_id.filter(|_| account.label(ACCOUNT_ID_LABEL).is_none());
                let rotated_from = locked
                    .filter(|id| root_key.public_key() != *id)
                    .filter(|id| {
                        (0..generation)
                            .rev()
                            .take(MAX_ROTATION_STEPS)
                            .any(|g| derive(Role::AccountRoot, g).public_key() == *id)
                    })
                    .map(str::to_string);
                AccountKeys {
                    root: root_key.into(),
                    sign: derive(Role::AccountSign, generation).into(),
                    rotated_from,
                }
            }
        };
        let found = keys.root.public_key();
        match expected_id {
            Some(id) if found != id && keys.rotated_from.is_none() => {
                Err(match account.label(ACCOUNT_ID_LABEL) {
                    Some(_) => KeyError::broken(format!(
                        "the account key found has public key {found}, but its \
                         {ACCOUNT_ID_LABEL} label says {id}; refusing to change an account's \
                         identity: correct the label, or the account's Secrets"
                    ))
                    .with_hint("or --seed-root"),
                    None => KeyError::broken(format!(
                        "the account key found has public key {found}, but the lock records \
                         account ID {id}; refusing to change an account's identity: check the \
                         account's Secrets"
                    ))
                    .with_hint(format!(
                        "check --seed-root (to give an account a new key on purpose, raise its \
                         {KEY_GENERATION_ANNOTATION} annotation and keep the seed root)"
                    )),
                })
            }
            _ => Ok(keys),
        }
    }

    /// The key of an AccountSigningKey: its Secret (`spec.secretName`, or `<name>-ac-sign` when
    /// managed), then the seed root.
    pub fn signing_key(&self, ask: &Object<api::AccountSigningKey>) -> Result<KeyPair, KeyError> {
        let observed = ask.label("nauth.io/management-policy") == Some("observe");
        let name = match (&ask.resource.spec.secret_name, observed) {
            (Some(name), _) => name.clone(),
            (None, true) => {
                return Err(KeyError::broken(
                    "spec.secretName is required in observe mode",
                ));
            }
            (None, false) => format!("{}-ac-sign", ask.name()),
        };
        if let Some(secret) = secrets::named(self.secrets, ask.namespace(), &name) {
            if !observed && !secrets::controlled_by(secret, ask) {
                return Err(KeyError::conflict(format!(
                    "Conflict: Secret {} exists but is not owned by this AccountSigningKey (no \
                     controller ownerReference to it); to use an existing Secret, use observe \
                     mode (label nauth.io/management-policy=observe)",
                    secret.key()
                )));
            }
            return seed(secret, "default", KeyPairType::Account);
        }
        match self.seed_root {
            Some(root) if !observed => Ok(root.derive(
                Role::SigningKey,
                ask.namespace(),
                ask.name(),
                generation(ask)?,
            )),
            _ => {
                let e = KeyError::missing(format!(
                    "no key for this signing key: no Secret {}/{name}",
                    ask.namespace(),
                ));
                Err(if observed {
                    e
                } else {
                    e.with_hint(NO_SEED_ROOT)
                })
            }
        }
    }

    /// The operator signing key a NatsCluster names.
    pub fn operator_signing_key(
        &self,
        cluster: &Object<api::NatsCluster>,
    ) -> Result<KeyPair, KeyError> {
        let r = &cluster.resource.spec.operator_signing_key_secret_ref;
        let key = r.key_or_default();
        let secret = secrets::named(self.secrets, cluster.namespace(), &r.name).ok_or_else(|| {
            KeyError::missing(format!(
                "operator signing key Secret {}/{} (spec.operatorSigningKeySecretRef) is not in the input",
                cluster.namespace(),
                r.name
            ))
        })?;
        seed(secret, key, KeyPairType::Operator)
    }

    /// A User's key: from its existing creds Secret (`<user>-nats-user-creds`), then the seed
    /// root. An explicit `nauth.io/key-generation` (1 or more) asks for the seed root's key at
    /// that generation, so raising it rotates a key the Secret holds; without the annotation
    /// the Secret wins (a NAuth cluster's users keep their keys).
    pub fn user(&self, user: &Object<api::User>) -> Result<UserKey, KeyError> {
        let name = format!("{}-nats-user-creds", user.name());
        let generation = generation(user)?;
        let derived =
            |root: &SeedRoot| root.derive(Role::User, user.namespace(), user.name(), generation);
        let Some(secret) = secrets::named(self.secrets, user.namespace(), &name) else {
            let root = self.seed_root.ok_or_else(|| {
                KeyError::missing(format!(
                    "no key for this user: no Secret {}/{name}",
                    user.namespace()
                ))
                .with_hint(NO_SEED_ROOT)
            })?;
            return Ok(UserKey {
                key: derived(root).into(),
                rotated_from: None,
                issued: None,
            });
        };
        let creds = secrets::value(secret, "user.creds").ok_or_else(|| {
            KeyError::broken(format!(
                "Secret {}/{name} has no key user.creds",
                user.namespace()
            ))
        })?;
        let (issued, held) = jwt::creds::parse_creds(&creds)
            .map_err(|e| KeyError::broken(format!("Secret {}/{name}: {e}", user.namespace())))?;
        if generation == 0 {
            return Ok(UserKey {
                key: held.into(),
                rotated_from: None,
                issued: Some(issued),
            });
        }
        let root = self.seed_root.ok_or_else(|| {
            KeyError::broken(format!(
                "annotation {KEY_GENERATION_ANNOTATION} is {generation}, which asks for the seed \
                 root's key of that generation, but there is no seed root; the Secret \
                 {}/{name} cannot say which generation its key is: remove the annotation to \
                 keep the Secret's key",
                user.namespace()
            ))
            .with_hint("or pass --seed-root")
        })?;
        let key = Key::from(derived(root));
        let rotated_from = Some(held.public_key()).filter(|old| old != key.public_key());
        Ok(UserKey {
            key,
            rotated_from,
            issued: None,
        })
    }
}

/// The system account of `cluster`: the issuer account of the user JWT in its
/// `systemAccountUserCredsSecretRef` Secret, or `None` when that Secret is not among
/// `secrets`. NAuth refuses to render that account. Errors name the Secret, never its value.
pub fn system_account(
    secrets: &[Object<Secret>],
    cluster: &Object<api::NatsCluster>,
) -> Result<Option<String>, KeyError> {
    let r = &cluster.resource.spec.system_account_user_creds_secret_ref;
    let key = r.key_or_default();
    let Some(secret) = secrets::named(secrets, cluster.namespace(), &r.name) else {
        return Ok(None);
    };
    let at = format!("Secret {} key {key}", secret.key());
    let creds =
        secrets::value(secret, key).ok_or_else(|| KeyError::broken(format!("{at} is missing")))?;
    let user = jwt::creds::parse_creds(&creds)
        .ok()
        .and_then(|(token, _)| jwt::decode(&token).ok())
        .and_then(|decoded| match decoded.claims {
            jwt::AnyClaims::User(user) => Some(user),
            _ => None,
        })
        .ok_or_else(|| KeyError::broken(format!("{at} does not hold user creds")))?;
    let account = match user.nats.issuer_account.as_str() {
        "" => user.data.iss,
        account => account.to_string(),
    };
    Ok(Some(account))
}

fn generation<T: kube::Resource<DynamicType = ()>>(o: &Object<T>) -> Result<u64, KeyError> {
    o.annotation(KEY_GENERATION_ANNOTATION).map_or(Ok(0), |g| {
        g.parse().map_err(|_| {
            KeyError::broken(format!(
                "annotation {KEY_GENERATION_ANNOTATION} must be a non-negative integer, got {g:?}"
            ))
        })
    })
}

/// The seed in `key` of `secret`, which must be of type `kind`. The message names the Secret
/// and key, never the value.
fn seed(secret: &Object<Secret>, key: &str, kind: KeyPairType) -> Result<KeyPair, KeyError> {
    let at = format!("Secret {} key {key}", secret.key());
    let value =
        secrets::value(secret, key).ok_or_else(|| KeyError::broken(format!("{at} is missing")))?;
    let kp = KeyPair::from_seed(value.trim())
        .map_err(|_| KeyError::broken(format!("{at} does not hold an nkey seed")))?;
    if kp.key_pair_type() != kind {
        return Err(KeyError::broken(format!(
            "{at} holds {} seed, expected {} seed",
            jwt::key_kind(kp.key_pair_type()),
            jwt::key_kind(kind)
        )));
    }
    Ok(kp)
}

#[cfg(test)]
mod tests;
