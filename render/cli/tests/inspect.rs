//! `nauth-render inspect` as users run it: what it shows, the chain it checks, and the exact
//! messages for inputs that do not verify.

mod common;

use common::{nauth_render, text};

use std::fs;
use std::path::Path;

use data_encoding::{BASE64, BASE64URL_NOPAD};
use nauth_render::jwt::{self, Account, Claims, Operator, User, creds::format_user_creds};
use nkeys::{KeyPair, KeyPairType};

fn key(kind: KeyPairType, n: u8) -> KeyPair {
    KeyPair::new_from_raw(kind, [n; 32]).unwrap()
}

const IAT: i64 = 1_700_000_000;

/// Operator (identity 1, signing key 2), account 3 signed by the signing key with signing key
/// 4, and user 5 signed by that account signing key.
struct Chain {
    operator: KeyPair,
    operator_jwt: String,
    account: KeyPair,
    account_jwt: String,
    user: KeyPair,
    user_jwt: String,
}

fn operator_jwt(operator: &KeyPair, signing: &KeyPair) -> String {
    let mut claims = Claims::new(
        operator.public_key(),
        Operator {
            signing_keys: vec![signing.public_key()],
            ..Default::default()
        },
    );
    claims.data.name = "acme".into();
    jwt::encode(&mut claims, operator, IAT).unwrap()
}

fn account_jwt(account: &KeyPair, signing: &KeyPair, signer: &KeyPair) -> String {
    let mut body = Account::new();
    body.signing_keys.add(signing.public_key());
    body.revocations.insert("*".into(), IAT - 86_400);
    let mut claims = Claims::new(account.public_key(), body);
    claims.data.name = "app".into();
    jwt::encode(&mut claims, signer, IAT).unwrap()
}

fn user_jwt(user: &KeyPair, account: &KeyPair, signer: &KeyPair) -> String {
    let mut body = User::new();
    body.issuer_account = account.public_key();
    let mut claims = Claims::new(user.public_key(), body);
    claims.data.name = "alice".into();
    claims.data.exp = IAT + 3600;
    jwt::encode(&mut claims, signer, IAT).unwrap()
}

fn chain() -> Chain {
    let operator = key(KeyPairType::Operator, 1);
    let operator_signing = key(KeyPairType::Operator, 2);
    let account = key(KeyPairType::Account, 3);
    let account_signing = key(KeyPairType::Account, 4);
    let user = key(KeyPairType::User, 5);
    Chain {
        operator_jwt: operator_jwt(&operator, &operator_signing),
        account_jwt: account_jwt(&account, &account_signing, &operator_signing),
        user_jwt: user_jwt(&user, &account, &account_signing),
        operator,
        account,
        user,
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// The account's ConfigMap and the user's creds Secret, as `render` writes them.
fn rendered_objects(c: &Chain) -> String {
    let creds = format_user_creds(&c.user_jwt, &c.user.seed().unwrap());
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-nats-account-jwt\n  namespace: team\n\
         data:\n  account.jwt: {}\n  claims.yaml: 'iat: 1'\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: alice-nats-user-creds\n  namespace: team\n\
         data:\n  user.creds: {}\n",
        c.account_jwt,
        BASE64.encode(creds.as_bytes())
    )
}

#[test]
fn a_configmap_and_creds_secret_verify_against_the_operator() {
    let c = chain();
    let dir = tempfile::tempdir().unwrap();
    let op = write(dir.path(), "operator.jwt", &c.operator_jwt);
    let objects = write(dir.path(), "objects.yaml", &rendered_objects(&c));
    let out = nauth_render(&["inspect", "--operator", &op, &objects], "");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "source: \"{objects}: Secret team/alice-nats-user-creds data.user.creds\"\n\
         content: creds\ntype: user\npublic_key: {}\nseed: present (SU…, not shown)\n",
            c.user.public_key()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("iat: 1700000000\n  iat_utc: \"2023-11-14T22:13:20Z\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("exp_utc: \"2023-11-14T23:13:20Z\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("revocations_utc:\n      \"*\": \"2023-11-13T22:13:20Z\""),
        "{stdout}"
    );
    let flat = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "signed by signing key {} of operator {} (--operator)",
            key(KeyPairType::Operator, 2).public_key(),
            c.operator.public_key()
        )),
        "{flat}"
    );
    assert!(
        flat.contains(&format!(
            "signed by signing key {} of account {}",
            key(KeyPairType::Account, 4).public_key(),
            c.account.public_key()
        )),
        "{flat}"
    );
    let seed = c.user.seed().unwrap();
    assert!(!stdout.contains(&seed[2..]) && !stderr.contains(&seed[2..]));
}

#[test]
fn json_output_keeps_numbers_and_adds_utc_times() {
    let c = chain();
    let out = nauth_render(&["inspect", "-o", "json", "-"], &c.user_jwt);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = &items[0];
    assert_eq!(item["source"], "-");
    assert_eq!(item["type"], "user");
    assert_eq!(item["claims"]["exp"], IAT + 3600);
    assert_eq!(item["claims"]["exp_utc"], "2023-11-14T23:13:20Z");
    assert_eq!(
        item["chain"],
        format!(
            "signature by {} verified; issuer not checked (no JWT of account {}: pass --account FILE)",
            key(KeyPairType::Account, 4).public_key(),
            c.account.public_key()
        )
    );
}

#[test]
fn an_account_signed_by_another_operator_is_refused_naming_the_link() {
    let c = chain();
    let stranger = key(KeyPairType::Operator, 9);
    let forged = account_jwt(&c.account, &key(KeyPairType::Account, 4), &stranger);
    let dir = tempfile::tempdir().unwrap();
    let op = write(dir.path(), "operator.jwt", &c.operator_jwt);
    let acc = write(dir.path(), "account.jwt", &forged);
    let out = nauth_render(&["inspect", "--operator", &op, &acc], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {acc}: account {} is signed by {}, which is neither operator {} nor one of \
             its signing keys\n",
            c.account.public_key(),
            stranger.public_key(),
            c.operator.public_key()
        )
    );
}

#[test]
fn a_user_of_another_account_is_refused_with_account() {
    let c = chain();
    let other = key(KeyPairType::Account, 7);
    let other_jwt = account_jwt(&other, &key(KeyPairType::Account, 8), &c.operator);
    let dir = tempfile::tempdir().unwrap();
    let acc = write(dir.path(), "other.jwt", &other_jwt);
    let user = write(dir.path(), "user.jwt", &c.user_jwt);
    let out = nauth_render(&["inspect", "--account", &acc, &user], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {user}: user {} belongs to account {}, not to the given account {} (--account)\n",
            c.user.public_key(),
            c.account.public_key(),
            other.public_key()
        )
    );
}

#[test]
fn a_creds_file_with_someone_elses_seed_is_refused() {
    let c = chain();
    let intruder = key(KeyPairType::User, 6);
    let creds = format_user_creds(&c.user_jwt, &intruder.seed().unwrap());
    let out = nauth_render(&["inspect", "-"], &creds);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: -: the creds file's seed does not belong to the JWT subject {}\n",
            c.user.public_key()
        )
    );
    let seed = intruder.seed().unwrap();
    assert!(!text(&out.stdout).contains(&seed[2..]));
}

#[test]
fn a_tampered_token_fails_signature_verification() {
    let c = chain();
    let parts: Vec<&str> = c.account_jwt.split('.').collect();
    let payload = String::from_utf8(BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
    let payload = payload.replace("\"name\":\"app\"", "\"name\":\"evil\"");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        BASE64URL_NOPAD.encode(payload.as_bytes()),
        parts[2]
    );
    let out = nauth_render(&["inspect", "-"], &tampered);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: -: claim failed V2 signature verification\n"
    );
}

#[test]
fn broken_input_says_what_was_expected() {
    let out = nauth_render(&["inspect", "-"], "hello world\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: -: no JWT, creds file or seed found (looked for a bare JWT, a creds file, a seed, \
         and Secret or ConfigMap values)\n"
    );
    let out = nauth_render(&["inspect", "-"], "a.b.c");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: -: malformed JWT: header is not base64url"),
        "{}",
        text(&out.stderr)
    );
    let out = nauth_render(&["inspect", "/nonexistent/token.jwt"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: /nonexistent/token.jwt: "));
}

#[test]
fn seeds_are_reported_by_kind_and_public_key_only() {
    let op = key(KeyPairType::Operator, 2);
    let seed = op.seed().unwrap();
    let secret = format!(
        "kind: Secret\nmetadata: {{name: operator-signing-key, namespace: nats}}\nstringData:\n  default: {seed}\n"
    );
    let out = nauth_render(&["inspect", "-"], &secret);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "---\nsource: \"-: Secret nats/operator-signing-key stringData.default\"\n\
             content: seed\ntype: operator key\npublic_key: {}\nseed: present (SO…, not shown)\n",
            op.public_key()
        )
    );
    let mut broken = seed.clone();
    broken.replace_range(30..31, if &seed[30..31] == "A" { "B" } else { "A" });
    let out = nauth_render(&["inspect", "-"], &broken);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: -: an nkey seed that does not decode\n"
    );
    assert!(!text(&out.stdout).contains(&broken[2..]));
}
