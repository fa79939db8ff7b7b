//! The JWT claim envelope: standard claims plus a typed `nats` body.

use nkeys::KeyPairType;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Debug;

use super::account::Account;
use super::activation::Activation;
use super::generic::{Generic, LIB_VERSION};
use super::json::is_zero;
use super::operator::Operator;
use super::user::User;
use super::validation::ValidationResults;

/// Go's `ClaimsData`: the registered JWT claims, in Go's field order, all `omitempty`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimsData {
    /// Audience.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub aud: String,
    /// Expiry, unix seconds (0 = never).
    #[serde(skip_serializing_if = "is_zero")]
    pub exp: i64,
    /// Go v2 id: base32 of SHA-512/256 over these claims with `jti` empty; set by encoding.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// Issued at, unix seconds; set by encoding from the caller's value.
    #[serde(skip_serializing_if = "is_zero")]
    pub iat: i64,
    /// Issuer public key; set by encoding from the signer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// Display name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Not before, unix seconds (0 = immediately).
    #[serde(skip_serializing_if = "is_zero")]
    pub nbf: i64,
    /// Subject public key (what the claim is about).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sub: String,
}

impl ClaimsData {
    /// Go's `ClaimsData.Validate` time checks against the caller's clock (`now`, unix seconds).
    pub fn validate(&self, now: i64, vr: &mut ValidationResults) {
        if self.exp > 0 && now > self.exp {
            vr.add_time_check("claim is expired");
        }
        if self.nbf > 0 && self.nbf > now {
            vr.add_time_check("claim is not yet valid");
        }
    }
}

/// A JWT's claims: [`ClaimsData`] flattened at top level and the body under `nats`.
///
/// Unknown top-level fields land in `extra` and are written back after `nats`, sorted by key;
/// the bodies keep their own unknown fields the same way (each has an `extra` map, written after
/// its known fields). Go drops unknown fields, so a token carrying some re-encodes differently
/// from what Go would produce, but nothing is lost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: ClaimBody", deserialize = "T: ClaimBody"))]
pub struct Claims<T: ClaimBody> {
    /// Registered claims.
    #[serde(flatten)]
    pub data: ClaimsData,
    /// The NATS-specific body.
    #[serde(default, skip_serializing_if = "ClaimBody::is_omitted")]
    pub nats: T,
    /// Unknown top-level fields.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl<T: ClaimBody> Claims<T> {
    /// Claims about `subject` with the given body; everything else is filled in by encoding.
    pub fn new(subject: impl Into<String>, nats: T) -> Self {
        Claims {
            data: ClaimsData {
                sub: subject.into(),
                ..Default::default()
            },
            nats,
            extra: BTreeMap::new(),
        }
    }

    /// Go's `Claims.Validate`: time checks against `now`, then the body's rules.
    pub fn validate(&self, now: i64) -> ValidationResults {
        let mut vr = ValidationResults::default();
        self.data.validate(now, &mut vr);
        self.nats.validate(&self.data, &mut vr);
        vr
    }
}

/// What encoding and decoding need to know about a claim body.
pub trait ClaimBody: Serialize + DeserializeOwned + Default + Clone + Debug + PartialEq {
    /// Key types Go accepts as issuer (`ExpectedPrefixes`); empty means any.
    const ISSUERS: &'static [KeyPairType];
    /// Key type the subject must have, checked on encode as Go's `EncodeWithSigner` does.
    const SUBJECT: Option<KeyPairType>;

    /// Stamps type and version and applies Go's encode-time ordering.
    fn prepare(&mut self) -> Result<(), String>;

    /// True when the whole `nats` object is left out (only empty generic bodies).
    fn is_omitted(&self) -> bool {
        false
    }

    /// The body's part of Go's `Validate`.
    fn validate(&self, data: &ClaimsData, vr: &mut ValidationResults);
}

impl ClaimBody for Operator {
    const ISSUERS: &'static [KeyPairType] = &[KeyPairType::Operator];
    const SUBJECT: Option<KeyPairType> = Some(KeyPairType::Operator);

    fn prepare(&mut self) -> Result<(), String> {
        self.check_account_server_url()?;
        self.generic.prepare("operator");
        Ok(())
    }

    fn validate(&self, _: &ClaimsData, vr: &mut ValidationResults) {
        Operator::validate(self, vr);
    }
}

impl ClaimBody for Account {
    const ISSUERS: &'static [KeyPairType] = &[KeyPairType::Account, KeyPairType::Operator];
    const SUBJECT: Option<KeyPairType> = Some(KeyPairType::Account);

    fn prepare(&mut self) -> Result<(), String> {
        self.sort();
        self.generic.prepare("account");
        Ok(())
    }

    fn validate(&self, data: &ClaimsData, vr: &mut ValidationResults) {
        Account::validate(self, &data.sub, &data.iss, vr);
    }
}

impl ClaimBody for User {
    const ISSUERS: &'static [KeyPairType] = &[KeyPairType::Account];
    const SUBJECT: Option<KeyPairType> = Some(KeyPairType::User);

    fn prepare(&mut self) -> Result<(), String> {
        self.generic.prepare("user");
        Ok(())
    }

    fn validate(&self, _: &ClaimsData, vr: &mut ValidationResults) {
        User::validate(self, vr);
    }
}

impl ClaimBody for Activation {
    const ISSUERS: &'static [KeyPairType] = &[KeyPairType::Account, KeyPairType::Operator];
    const SUBJECT: Option<KeyPairType> = Some(KeyPairType::Account);

    fn prepare(&mut self) -> Result<(), String> {
        self.generic.prepare("activation");
        Ok(())
    }

    fn validate(&self, _: &ClaimsData, vr: &mut ValidationResults) {
        Activation::validate(self, vr);
    }
}

impl ClaimBody for Generic {
    const ISSUERS: &'static [KeyPairType] = &[];
    const SUBJECT: Option<KeyPairType> = None;

    fn prepare(&mut self) -> Result<(), String> {
        self.0.insert("version".into(), Value::from(LIB_VERSION));
        Ok(())
    }

    fn is_omitted(&self) -> bool {
        self.0.is_empty()
    }

    fn validate(&self, _: &ClaimsData, _: &mut ValidationResults) {}
}
