//! NAuth's approval cases (`shared/conformance/nauth-approvals`): our claims must equal NAuth's
//! for the same spec, keys and `iat`, compared on the payload of the JWT we actually encode.

use std::fs;

use data_encoding::BASE64URL_NOPAD;
use nkeys::KeyPair;
use serde_json::Value;

use super::*;
use crate::{api, jwt};

#[path = "../../tests/common/conformance.rs"]
mod conformance;

const IAT: i64 = 1_700_000_000;
const STATIC_JTI: &str = "TEST-JWT-ID-STATIC-FOR-APPROVAL-TESTS";
const OPERATOR_SIGNING_SEED: &str = "SOAF43LTJSU54DLV5VPWKF2ROVF2V6FZZG662Z2CCHDAFKCK5JGLQRP7SA";
const ACCOUNT_ID: &str = "AAJCK7774DXTQZAFJLSQIVU76UHGXFZNJVWMT4F7PNRBCYM75LS75UYE";
const ACCOUNT_SIGNING_KEYS: [&str; 2] = [
    "ACI73NE4LXWVHSYSFXY73WTZVKIKE54PQUMRDYA4EUFYFGEGHKTPCOI4",
    "ADCECGT44IBBMSNGOEZTVK2QUQSVTJW6FABW7JBFFTITDBHMP6TXM4XG",
];
const ACCOUNT_SIGNING_SEED: &str = "SAAPQGHCXP3M5THZ4JIJ2X6DJPXIBDX4DHVEI2ODY37NKI7R7YTIHNSTW4";
const USER_KEY: &str = "UAP35KHDBNR3WKNJ76YJMKEOFWNMPUN4U5LX2A2BCYSSXL3AXKCAEIM7";

struct Case {
    name: String,
    input: Value,
    expected: Value,
}

/// The cases whose names start with `prefix`, or `None` when the conformance data is missing.
fn cases(prefix: &str) -> Option<Vec<Case>> {
    let dir = conformance::dir("nauth-approvals")?;
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".input.yaml").map(str::to_string))
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    let cases = names
        .into_iter()
        .map(|name| {
            let read =
                |suffix: &str| fs::read_to_string(dir.join(format!("{name}{suffix}"))).unwrap();
            Case {
                // An empty input file is an empty spec.
                input: match serde_saphyr::from_str(&read(".input.yaml")).unwrap() {
                    Value::Null => Value::Object(Default::default()),
                    input => input,
                },
                expected: serde_json::from_str(&read(".output.nats.json")).unwrap(),
                name,
            }
        })
        .collect();
    Some(cases)
}

/// The claims of an encoded token, with `jti` replaced as NAuth's approvals do.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(part.as_bytes()).unwrap()).unwrap();
    claims["jti"] = Value::from(STATIC_JTI);
    claims
}

/// Splits an account case into its spec and its import group: imports name the exporter by ID
/// here (`accountID`), where the CRD has `accountRef`.
fn account_case(input: &Value) -> (api::AccountSpec, Vec<jwt::Import>) {
    let mut spec = input.clone();
    let imports = spec.as_object_mut().and_then(|o| o.remove("imports"));
    let imports = imports
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            let mut rule = item.clone();
            let account = rule.as_object_mut().unwrap().remove("accountID").unwrap();
            let rule: api::AccountImportRule = serde_json::from_value(rule).unwrap();
            import_rule(
                account.as_str().unwrap(),
                rule.name.as_deref(),
                &rule.subject,
                Some(rule.import_type),
                &rule.options,
            )
        })
        .collect();
    (serde_json::from_value(spec).unwrap(), imports)
}

fn inline_group<T>(rules: Vec<T>) -> Vec<RuleGroup<T>> {
    vec![RuleGroup {
        source: None,
        rules,
    }]
}

#[test]
fn account_cases_match_nauth() {
    let Some(cases) = cases("account.") else {
        return;
    };
    assert_eq!(cases.len(), 11);
    let operator = KeyPair::from_seed(OPERATOR_SIGNING_SEED).unwrap();
    for case in cases {
        let (spec, imports) = account_case(&case.input);
        let exports = spec.exports.iter().flatten().map(inline_export).collect();
        let input = AccountInput {
            account_id: ACCOUNT_ID,
            issuer: &operator.public_key(),
            display_name: "test-namespace/test-account",
            spec: &spec,
            signing_keys: ACCOUNT_SIGNING_KEYS
                .iter()
                .rev()
                .map(|k| SigningKeyEntry {
                    key: k.to_string(),
                    scope: None,
                })
                .collect(),
            exports: inline_group(exports),
            imports: inline_group(imports),
            revocations: &Default::default(),
        };
        let mut rendered = account_claims(&input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let token = jwt::encode(&mut rendered.claims, &operator, IAT).unwrap();
        assert_eq!(payload(&token), case.expected, "{}", case.name);
    }
}

#[test]
fn user_cases_match_nauth() {
    let Some(cases) = cases("user.") else {
        return;
    };
    assert_eq!(cases.len(), 6);
    let signer = KeyPair::from_seed(ACCOUNT_SIGNING_SEED).unwrap();
    for case in cases {
        // The fixtures hold the fields given to the claims builder; `accountName` is not one.
        let mut spec = case.input;
        spec["accountName"] = Value::from("account");
        let spec: api::UserSpec = serde_json::from_value(spec).unwrap();
        let input = UserInput {
            user_key: USER_KEY,
            account_id: ACCOUNT_ID,
            issuer: &signer.public_key(),
            scoped: false,
            display_name: "test-namespace/test-user",
            spec: &spec,
        };
        let mut claims = match user_claims(&input) {
            Ok(claims) => claims,
            // NAuth's fixture writes times as HH:MM, which NATS refuses when signing for real:
            // the claims must still match, and the refusal must name the bad value.
            Err(e) if case.name == "user.userlimits" => {
                assert_eq!(
                    e.message,
                    r#"start in time range is invalid "08:00"; end in time range is invalid "17:00"; start in time range is invalid "19:00"; end in time range is invalid "21:00""#
                );
                user::build(&input)
            }
            Err(e) => panic!("{}: {e}", case.name),
        };
        let token = jwt::encode(&mut claims, &signer, IAT).unwrap();
        assert_eq!(payload(&token), case.expected, "{}", case.name);
    }
}
