//! Byte-compatibility with Go's nats-io/jwt v2.8.x, against tokens the Go program in
//! `tests/golden/` produced (see its README to regenerate).

use nauth_jwt::{self as jwt, AnyClaims, creds};
use nkeys::KeyPair;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    case: String,
    signer: String,
    token: String,
    #[serde(default)]
    creds: Option<String>,
    #[serde(default)]
    issues: Vec<String>,
    /// The claims as built, before Go's `Encode` reordered them.
    #[serde(default)]
    input: Option<serde_json::Value>,
}

fn fixtures() -> Vec<Fixture> {
    let text = include_str!("golden/fixtures.json");
    let all: Vec<Fixture> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect();
    assert!(all.len() >= 10, "fixtures missing: {}", all.len());
    all
}

fn decode(f: &Fixture) -> AnyClaims {
    jwt::decode(&f.token)
        .unwrap_or_else(|e| panic!("{}: decode failed: {e}", f.case))
        .claims
}

#[test]
fn reencoding_go_tokens_is_byte_identical() {
    for f in fixtures() {
        let mut claims = decode(&f);
        let signer = KeyPair::from_seed(&f.signer).unwrap();
        assert_eq!(claims.data().iss, signer.public_key(), "{}", f.case);
        let iat = claims.data().iat;
        let token = claims
            .encode(&signer, iat)
            .unwrap_or_else(|e| panic!("{}: encode failed: {e}", f.case));
        assert_eq!(token, f.token, "{}: re-encoded token differs", f.case);
    }
}

#[test]
fn encoding_go_inputs_reorders_lists_as_go_does() {
    let with_input: Vec<_> = fixtures()
        .into_iter()
        .filter(|f| f.input.is_some())
        .collect();
    assert!(!with_input.is_empty(), "no fixture carries its input");
    for f in with_input {
        let input = f.input.clone().unwrap();
        let mut claims: jwt::Claims<jwt::Account> = serde_json::from_value(input)
            .unwrap_or_else(|e| panic!("{}: input does not parse: {e}", f.case));
        assert!(claims.nats.exports.len() > 12 && claims.nats.imports.len() > 12);
        let signer = KeyPair::from_seed(&f.signer).unwrap();
        let iat = decode(&f).data().iat;
        let token = jwt::encode(&mut claims, &signer, iat).unwrap();
        assert_eq!(token, f.token, "{}: encoding differs from Go's", f.case);
    }
}

#[test]
fn decoded_kinds_match_the_cases() {
    for f in fixtures() {
        let kind = match decode(&f) {
            AnyClaims::Operator(_) => "operator",
            AnyClaims::Account(_) => "account",
            AnyClaims::User(_) => "user",
            AnyClaims::Activation(_) => "activation",
            AnyClaims::Generic(_) => "generic",
        };
        assert!(f.case.contains(kind), "{} decoded as {kind}", f.case);
    }
}

#[test]
fn validation_messages_match_go() {
    for f in fixtures() {
        // Go validated against its clock while encoding, i.e. at the token's iat.
        let claims = decode(&f);
        let vr = claims.validate(claims.data().iat);
        let mut ours: Vec<String> = vr.issues.into_iter().map(|i| i.description).collect();
        ours.sort();
        assert_eq!(ours, f.issues, "{}", f.case);
    }
}

#[test]
fn creds_match_go_format_user_config() {
    let with_creds: Vec<_> = fixtures()
        .into_iter()
        .filter(|f| f.creds.is_some())
        .collect();
    assert!(!with_creds.is_empty());
    for f in with_creds {
        let expected = f.creds.as_deref().unwrap();
        let seed = KeyPair::from_seed(&user_seed(expected))
            .unwrap()
            .seed()
            .unwrap();
        assert_eq!(creds::format_user_creds(&f.token, &seed), expected);
        let (token, kp) = creds::parse_creds(expected).unwrap();
        assert_eq!(token, f.token);
        assert_eq!(kp.public_key(), decode(&f).data().sub);
    }
}

fn user_seed(creds: &str) -> String {
    creds
        .lines()
        .find(|l| l.starts_with("SU"))
        .expect("seed line")
        .to_string()
}
