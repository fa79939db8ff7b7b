//! Signing and verifying tokens: `header.payload.signature`, Go v2 `jti`, typed decoding.

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::{KeyPair, KeyPairType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512_256};

use super::account::Account;
use super::activation::Activation;
use super::claims::{ClaimBody, Claims, ClaimsData};
use super::error::JwtError;
use super::generic::{Generic, LIB_VERSION};
use super::json::to_go_json;
use super::operator::Operator;
use super::user::User;
use super::validation::{ValidationResults, is_public_key};

/// Go's `MaxTokenSize`: servers refuse larger tokens.
pub const MAX_TOKEN_SIZE: usize = 1024 * 1024;

/// `typ` of every token.
pub const TOKEN_TYPE: &str = "JWT";
/// `alg` of every v2 token.
pub const ALGORITHM: &str = "ed25519-nkey";

/// The JOSE header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Token type, `JWT`.
    pub typ: String,
    /// Signature algorithm, `ed25519-nkey`.
    pub alg: String,
}

/// Claims of any kind, picked by `nats.type`. Types this module does not model (including the
/// auth-callout request/response claims) decode as [`AnyClaims::Generic`] with their body kept.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one short-lived value per token; boxing buys nothing
pub enum AnyClaims {
    /// `nats.type` = `operator`.
    Operator(Claims<Operator>),
    /// `nats.type` = `account`.
    Account(Claims<Account>),
    /// `nats.type` = `user`.
    User(Claims<User>),
    /// `nats.type` = `activation`.
    Activation(Claims<Activation>),
    /// Anything else, e.g. a resolver delete request.
    Generic(Claims<Generic>),
}

impl AnyClaims {
    /// The registered claims, whatever the kind.
    pub fn data(&self) -> &ClaimsData {
        match self {
            AnyClaims::Operator(c) => &c.data,
            AnyClaims::Account(c) => &c.data,
            AnyClaims::User(c) => &c.data,
            AnyClaims::Activation(c) => &c.data,
            AnyClaims::Generic(c) => &c.data,
        }
    }

    /// [`encode`] for whichever kind this is.
    pub fn encode(&mut self, signer: &KeyPair, iat: i64) -> Result<String, JwtError> {
        match self {
            AnyClaims::Operator(c) => encode(c, signer, iat),
            AnyClaims::Account(c) => encode(c, signer, iat),
            AnyClaims::User(c) => encode(c, signer, iat),
            AnyClaims::Activation(c) => encode(c, signer, iat),
            AnyClaims::Generic(c) => encode(c, signer, iat),
        }
    }

    /// [`Claims::validate`] for whichever kind this is.
    pub fn validate(&self, now: i64) -> ValidationResults {
        match self {
            AnyClaims::Operator(c) => c.validate(now),
            AnyClaims::Account(c) => c.validate(now),
            AnyClaims::User(c) => c.validate(now),
            AnyClaims::Activation(c) => c.validate(now),
            AnyClaims::Generic(c) => c.validate(now),
        }
    }
}

/// A verified token.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The header as found (already checked).
    pub header: Header,
    /// The claims, typed by `nats.type`.
    pub claims: AnyClaims,
}

/// Go v2's `jti`: unpadded standard base32 of SHA-512/256 over the Go JSON of `data` with `jti`
/// cleared. Only the registered claims are hashed, not the body.
pub fn compute_jti(data: &ClaimsData) -> Result<String, JwtError> {
    let input = ClaimsData {
        jti: String::new(),
        ..data.clone()
    };
    let json = to_go_json(&input).map_err(|e| JwtError::Encode(e.to_string()))?;
    Ok(BASE32_NOPAD.encode(&Sha512_256::digest(json)))
}

/// Signs `claims` like Go's `Claims.Encode`, but with the caller's `iat` instead of the clock:
/// sets `iss` to the signer, `iat`, the Go `jti`, the body's type and version and Go's list
/// ordering, and returns `header.payload.signature`. Same input, same token, byte for byte.
pub fn encode<T: ClaimBody>(
    claims: &mut Claims<T>,
    signer: &KeyPair,
    iat: i64,
) -> Result<String, JwtError> {
    let sub = &claims.data.sub;
    if sub.is_empty() {
        return Err(JwtError::Encode("subject is not set".into()));
    }
    if let Some(kind) = T::SUBJECT
        && !is_public_key(sub, kind.clone())
    {
        return Err(JwtError::Key(format!(
            "expected subject to be {} public key",
            key_kind(&kind)
        )));
    }
    claims.nats.prepare().map_err(JwtError::Encode)?;
    let issuer = signer.public_key();
    check_issuer::<T>(&issuer)?;
    claims.data.iss = issuer;
    claims.data.iat = iat;
    claims.data.jti = compute_jti(&claims.data)?;

    let header = Header {
        typ: TOKEN_TYPE.into(),
        alg: ALGORITHM.into(),
    };
    let header = BASE64URL_NOPAD.encode(&to_go_json(&header).expect("header serialises"));
    let payload = to_go_json(claims).map_err(|e| JwtError::Encode(e.to_string()))?;
    let signing_input = format!("{header}.{}", BASE64URL_NOPAD.encode(&payload));
    let signature = signer
        .sign(signing_input.as_bytes())
        .map_err(|_| JwtError::Encode("signer has no private key".into()))?;
    let token = format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&signature));
    if token.len() > MAX_TOKEN_SIZE {
        return Err(JwtError::TokenTooLarge(token.len()));
    }
    Ok(token)
}

fn key_kind(kind: &KeyPairType) -> &'static str {
    match kind {
        KeyPairType::Operator => "an operator",
        KeyPairType::Account => "an account",
        KeyPairType::User => "a user",
        _ => "a known",
    }
}

fn check_issuer<T: ClaimBody>(issuer: &str) -> Result<(), JwtError> {
    if T::ISSUERS.is_empty() || T::ISSUERS.iter().any(|k| is_public_key(issuer, k.clone())) {
        return Ok(());
    }
    let allowed: Vec<_> = T::ISSUERS.iter().map(key_kind).collect();
    Err(JwtError::Key(format!(
        "issuer {issuer} is not {} key",
        allowed.join(" or ")
    )))
}

/// Verifies and parses a token like Go's `jwt.Decode`: size limit, header, signature over
/// `header.payload` by `iss`, issuer key type. Only v2 claims are accepted.
pub fn decode(token: &str) -> Result<Decoded, JwtError> {
    if token.len() > MAX_TOKEN_SIZE {
        return Err(JwtError::TokenTooLarge(token.len()));
    }
    let chunks: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, sig_b64] = chunks.as_slice() else {
        return Err(JwtError::Malformed("expected 3 chunks".into()));
    };
    let header: Header = serde_json::from_slice(&base64(header_b64, "header")?)
        .map_err(|e| JwtError::Header(e.to_string()))?;
    if header.typ.to_uppercase() != TOKEN_TYPE {
        return Err(JwtError::Header(format!(
            "not supported type {:?}",
            header.typ
        )));
    }
    if header.alg.to_lowercase() != ALGORITHM {
        return Err(JwtError::Header(format!(
            "unexpected {:?} algorithm",
            header.alg
        )));
    }
    let payload = base64(payload_b64, "payload")?;
    let claims = parse_claims(&payload)?;
    let signature = base64(sig_b64, "signature")?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let verified = KeyPair::from_public_key(&claims.data().iss)
        .and_then(|kp| kp.verify(signing_input.as_bytes(), &signature));
    if verified.is_err() {
        return Err(JwtError::Signature);
    }
    let issuer = claims.data().iss.clone();
    match &claims {
        AnyClaims::Operator(_) => check_issuer::<Operator>(&issuer)?,
        AnyClaims::Account(_) => check_issuer::<Account>(&issuer)?,
        AnyClaims::User(_) => check_issuer::<User>(&issuer)?,
        AnyClaims::Activation(_) => check_issuer::<Activation>(&issuer)?,
        AnyClaims::Generic(_) => {}
    }
    Ok(Decoded { header, claims })
}

fn base64(segment: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    BASE64URL_NOPAD
        .decode(segment.as_bytes())
        .map_err(|e| JwtError::Malformed(format!("{what} is not base64url: {e}")))
}

/// Go's `identifier`: enough of the payload to pick the claim type.
#[derive(Deserialize)]
struct Identifier {
    #[serde(default, rename = "type")]
    v1_type: String,
    #[serde(default)]
    nats: IdentifierBody,
}

#[derive(Default, Deserialize)]
struct IdentifierBody {
    #[serde(default, rename = "type")]
    claim_type: String,
    #[serde(default)]
    version: i64,
}

fn parse_claims(payload: &[u8]) -> Result<AnyClaims, JwtError> {
    let id: Identifier = parse(payload)?;
    if !id.v1_type.is_empty() {
        return Err(JwtError::Unsupported("JWT version 1 claims".into()));
    }
    let version = id.nats.version;
    if version > LIB_VERSION {
        return Err(JwtError::Unsupported(
            "JWT was generated by a newer version".into(),
        ));
    }
    let typed = matches!(
        id.nats.claim_type.as_str(),
        "operator" | "account" | "user" | "activation"
    );
    if typed && version != LIB_VERSION {
        return Err(JwtError::Unsupported(format!(
            "library supports version {LIB_VERSION} or less - received {version}"
        )));
    }
    Ok(match id.nats.claim_type.as_str() {
        "operator" => AnyClaims::Operator(parse(payload)?),
        "account" => {
            let mut account: Claims<Account> = parse(payload)?;
            // Go's loader drops untiered JetStream limits when tiers are present.
            if !account.nats.limits.tiered_limits.is_empty() {
                account.nats.limits.jetstream = Default::default();
            }
            AnyClaims::Account(account)
        }
        "user" => AnyClaims::User(parse(payload)?),
        "activation" => AnyClaims::Activation(parse(payload)?),
        kind @ ("cluster" | "server") => {
            return Err(JwtError::Unsupported(format!(
                "{kind} claims are not supported"
            )));
        }
        _ => AnyClaims::Generic(parse(payload)?),
    })
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, JwtError> {
    serde_json::from_slice(payload).map_err(|e| JwtError::Malformed(format!("claims: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic::Generic;

    fn operator() -> KeyPair {
        KeyPair::new_from_raw(KeyPairType::Operator, [7; 32]).unwrap()
    }

    fn delete_request() -> (KeyPair, String) {
        let op = operator();
        let mut claims = Claims::new(op.public_key(), Generic::delete_accounts(["A1"]));
        let token = encode(&mut claims, &op, 1_700_000_000).unwrap();
        (op, token)
    }

    #[test]
    fn jti_hashes_only_registered_claims() {
        let data = ClaimsData {
            iat: 1,
            iss: "I".into(),
            sub: "S".into(),
            name: "a<b".into(),
            jti: "ignored".into(),
            ..Default::default()
        };
        let expected = BASE32_NOPAD.encode(&Sha512_256::digest(
            br#"{"iat":1,"iss":"I","name":"a\u003cb","sub":"S"}"#,
        ));
        assert_eq!(compute_jti(&data).unwrap(), expected);
        assert_eq!(expected.len(), 52);
    }

    #[test]
    fn encoding_is_deterministic_and_decodes_back() {
        let (op, token) = delete_request();
        assert_eq!(token, delete_request().1);
        let decoded = decode(&token).unwrap();
        let AnyClaims::Generic(claims) = &decoded.claims else {
            panic!("expected generic claims, got {decoded:?}");
        };
        assert_eq!(claims.data.iss, op.public_key());
        assert_eq!(claims.data.iat, 1_700_000_000);
        assert_eq!(claims.nats.0["version"], 2);
        assert_eq!(claims.nats.0["accounts"][0], "A1");
    }

    #[test]
    fn unknown_fields_round_trip_after_known_ones() {
        let acc = KeyPair::new_from_raw(KeyPairType::Account, [9; 32]).unwrap();
        let user = KeyPair::new_from_raw(KeyPairType::User, [9; 32]).unwrap();
        let mut claims = Claims::new(user.public_key(), User::new());
        claims
            .extra
            .insert("a_top".into(), serde_json::json!({"k": [1]}));
        claims
            .nats
            .extra
            .insert("future".into(), serde_json::json!("x<y"));
        let token = encode(&mut claims, &acc, 5).unwrap();
        let payload = BASE64URL_NOPAD
            .decode(token.split('.').nth(1).unwrap().as_bytes())
            .unwrap();
        let payload = String::from_utf8(payload).unwrap();
        assert!(
            payload
                .ends_with(r#""type":"user","version":2,"future":"x\u003cy"},"a_top":{"k":[1]}}"#),
            "{payload}"
        );
        let AnyClaims::User(mut back) = decode(&token).unwrap().claims else {
            panic!("not a user");
        };
        assert_eq!(back, claims);
        assert_eq!(encode(&mut back, &acc, 5).unwrap(), token);
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let (_, token) = delete_request();
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let mut sig = BASE64URL_NOPAD.decode(sig.as_bytes()).unwrap();
        sig[0] ^= 1;
        let forged = format!("{rest}.{}", BASE64URL_NOPAD.encode(&sig));
        assert_eq!(decode(&forged), Err(JwtError::Signature));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let (_, token) = delete_request();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap())
            .unwrap()
            .replace("A1", "A2");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            BASE64URL_NOPAD.encode(payload.as_bytes()),
            parts[2]
        );
        assert_eq!(decode(&forged), Err(JwtError::Signature));
    }

    #[test]
    fn wrong_header_is_rejected() {
        let (_, token) = delete_request();
        let rest = token.split_once('.').unwrap().1;
        for header in [
            r#"{"typ":"JWT","alg":"HS256"}"#,
            r#"{"typ":"JWS","alg":"ed25519-nkey"}"#,
        ] {
            let forged = format!("{}.{rest}", BASE64URL_NOPAD.encode(header.as_bytes()));
            assert!(
                matches!(decode(&forged), Err(JwtError::Header(_))),
                "{header}"
            );
        }
        assert!(matches!(decode("a.b"), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn oversized_tokens_are_refused_both_ways() {
        let huge = "a".repeat(MAX_TOKEN_SIZE + 1);
        assert_eq!(
            decode(&huge),
            Err(JwtError::TokenTooLarge(MAX_TOKEN_SIZE + 1))
        );
        let op = operator();
        let mut claims = Claims::new(op.public_key(), Generic::delete_accounts([huge]));
        assert!(matches!(
            encode(&mut claims, &op, 1),
            Err(JwtError::TokenTooLarge(_))
        ));
    }

    #[test]
    fn signer_and_subject_types_are_enforced() {
        let op = operator();
        let user = KeyPair::new_from_raw(KeyPairType::User, [1; 32]).unwrap();
        let mut claims = Claims::new(user.public_key(), User::new());
        assert!(matches!(encode(&mut claims, &op, 1), Err(JwtError::Key(_))));
        let mut claims = Claims::new(op.public_key(), User::new());
        assert!(matches!(encode(&mut claims, &op, 1), Err(JwtError::Key(_))));
        let mut claims = Claims::new("", Generic::default());
        assert!(matches!(
            encode(&mut claims, &op, 1),
            Err(JwtError::Encode(_))
        ));
    }

    #[test]
    fn public_only_signer_fails_without_leaking() {
        let op = KeyPair::from_public_key(&operator().public_key()).unwrap();
        let mut claims = Claims::new(op.public_key(), Generic::default());
        let err = encode(&mut claims, &op, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot encode claims: signer has no private key"
        );
    }
}
