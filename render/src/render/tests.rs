//! Behaviour of the whole render on small trees built in memory.

use nkeys::{KeyPair, KeyPairType};

use super::*;
use crate::input::Contents;
use crate::keys::SeedRoot;

const EPOCH: i64 = 1_800_000_000;

fn operator() -> KeyPair {
    KeyPair::new_from_raw(KeyPairType::Operator, [1; 32]).unwrap()
}

fn cluster() -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: op, namespace: nats}}\nstringData: {{default: {}}}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {{name: nats, namespace: nats}}\n\
         spec: {{url: 'nats://x', operatorSigningKeySecretRef: {{name: op}}, systemAccountUserCredsSecretRef: {{name: sys}}}}\n---\n",
        operator().seed().unwrap()
    )
}

fn account(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: {name}, namespace: team}}\n\
         spec:\n  natsClusterRef: {{name: nats, namespace: nats}}\n{spec}---\n"
    )
}

fn user(name: &str, account: &str, spec: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {name}, namespace: team}}\n\
         spec:\n  accountName: {account}\n{spec}---\n"
    )
}

fn run(docs: &[String], lock: &Lock, epoch: i64) -> Result<Rendered, Vec<Diagnostic>> {
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        let problems = inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    }
    let root = SeedRoot::new(&[3; 32]).unwrap();
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    render(&inputs, keys, lock, epoch, &Options::default())
}

fn tree() -> Vec<String> {
    vec![
        cluster(),
        account(
            "a",
            "  exports: [{name: svc, subject: 'svc.>', type: service}]\n",
        ),
        account(
            "b",
            "  imports: [{accountRef: {name: a, namespace: team}, subject: 'svc.x', type: service}]\n",
        ),
        user("alice", "a", "  permissions: {pub: {allow: ['svc.>']}}\n"),
        user("bob", "b", ""),
    ]
}

fn bytes(r: &Rendered) -> String {
    crate::output::stream(&crate::output::manifests(r))
}

#[test]
fn output_does_not_depend_on_input_order() {
    let forward = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let mut reversed = tree();
    reversed.reverse();
    let backward = run(&reversed, &Lock::new(), EPOCH).unwrap();
    assert_eq!(bytes(&forward), bytes(&backward));
    let names: Vec<_> = forward.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
}

#[test]
fn unchanged_claims_keep_their_bytes_at_any_later_epoch() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let later = run(&tree(), &first.lock, EPOCH + 86_400 * 365).unwrap();
    assert_eq!(bytes(&first), bytes(&later));
    assert_eq!(first.lock, later.lock);
}

#[test]
fn output_and_errors_do_not_depend_on_the_number_of_threads() {
    let mut docs = tree();
    for k in 0..64 {
        let permissions = format!("  permissions: {{pub: {{allow: ['svc.{k}.>']}}}}\n");
        docs.push(user(&format!("u{k:02}"), ["a", "b"][k % 2], &permissions));
    }
    let on = |threads: usize, docs: &[String]| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| run(docs, &Lock::new(), EPOCH))
    };
    let one = on(1, &docs).unwrap();
    let four = on(4, &docs).unwrap();
    assert_eq!(one.users.len(), 66);
    assert_eq!(bytes(&one), bytes(&four));
    assert_eq!(one.lock, four.lock);

    docs.push(user("orphan", "nowhere", ""));
    docs.push(user(
        "bad",
        "a",
        "  bearerToken: true\n  signingKeyRef: {name: missing}\n",
    ));
    assert_eq!(on(1, &docs).unwrap_err(), on(4, &docs).unwrap_err());
}

#[test]
fn changed_claims_get_a_strictly_later_iat_even_with_an_older_epoch() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let mut changed = tree();
    changed[1] = account(
        "a",
        "  natsLimits: {subs: 10}\n  exports: [{name: svc, subject: 'svc.>', type: service}]\n",
    );
    let second = run(&changed, &first.lock, EPOCH - 1000).unwrap();
    let iat = |r: &Rendered, key: &str| r.lock.accounts[key].issued_at;
    assert_eq!(iat(&second, "team/a"), EPOCH + 1);
    assert_eq!(
        iat(&second, "team/b"),
        EPOCH,
        "untouched accounts keep their iat"
    );
    assert_ne!(
        second.accounts[0].claims.data.jti,
        first.accounts[0].claims.data.jti
    );
}

#[test]
fn imports_must_match_an_export_of_the_target_account() {
    let mut docs = tree();
    docs[2] = account(
        "b",
        "  imports: [{accountRef: {name: a, namespace: team}, subject: 'other.x', type: service}]\n",
    );
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "f2.yaml: Account team/b: spec.imports[0]: Account team/a exports no service matching subject \"other.x\""
    );
    docs[2] = account(
        "b",
        "  imports: [{accountRef: {name: a, namespace: team}, subject: 'svc.x', type: stream}]\n",
    );
    assert!(
        run(&docs, &Lock::new(), EPOCH).is_err(),
        "type must match too"
    );
}

#[test]
fn conflicting_account_exports_are_left_out_with_a_warning() {
    let mut docs = tree();
    docs.push(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\nmetadata: {name: dup, namespace: team}\n\
         spec: {accountName: a, rules: [{subject: 'svc.>', type: service, name: again}]}\n"
            .to_string(),
    );
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(r.accounts[0].claims.nats.exports.len(), 1);
    assert_eq!(
        r.warnings[0].to_string(),
        "warning: f5.yaml: AccountExport team/dup: spec.rules: not adopted by Account team/a \
         (Conflict): service export subject \"svc.>\" already exports \"svc.>\""
    );
}

#[test]
fn every_error_is_reported_at_once_and_names_its_object() {
    let docs = vec![
        cluster(),
        account(
            "a",
            "  jetStreamEnabled: true\n  jetStreamLimits: {memStorage: 0, diskStorage: 0}\n",
        ),
        user("ghost", "nowhere", ""),
    ];
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "f1.yaml: Account team/a: spec.jetStreamEnabled: ambiguous JetStream config; requested to be \
             enabled, but no allowed MemoryStorage or DiskStorage supplied",
            "f2.yaml: User team/ghost: spec.accountName: Account team/nowhere is not in the input (or has no keys)",
        ]
    );
}

#[test]
fn scoped_signing_keys_sign_users_without_permissions() {
    let ask = "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {name: apps, namespace: team}\n\
               spec:\n  scope:\n    role: app\n    template: {permissions: {pub: {allow: ['app.>']}}}\n---\n";
    let mut docs = vec![
        cluster(),
        ask.to_string(),
        account("a", "  signingKeyRefs: [{name: apps}]\n"),
        user("svc", "a", "  signingKeyRef: {name: apps}\n"),
    ];
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    let scoped_key = r.users[0].claims.data.iss.clone();
    let scope = r.accounts[0].claims.nats.signing_keys.0[&scoped_key]
        .as_ref()
        .unwrap();
    assert_eq!(scope.role, "app");
    assert_eq!(
        r.users[0].claims.nats.permission_limits,
        jwt::UserPermissionLimits::default()
    );

    docs[3] = user(
        "svc",
        "a",
        "  signingKeyRef: {name: apps}\n  permissions: {pub: {allow: ['x']}}\n",
    );
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("spec.permissions"));
}

#[test]
fn bearer_users_are_refused_where_the_account_disallows_bearer_tokens() {
    let strict = account("a", "  accountLimits: {disallowBearer: true}\n");
    let docs = [
        cluster(),
        strict.clone(),
        user("u", "a", "  bearerToken: true\n"),
    ];
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].object.as_deref(), Some("User team/u"));
    assert_eq!(errors[0].field.as_deref(), Some("spec.bearerToken"));
    assert!(errors[0].message.contains("disallowBearer"), "{errors:?}");

    let ask = "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {name: apps, namespace: team}\n\
               spec: {scope: {role: app, template: {bearerToken: true}}}\n---\n";
    let scoped = account(
        "a",
        "  accountLimits: {disallowBearer: true}\n  signingKeyRefs: [{name: apps}]\n",
    );
    let errors = run(&[cluster(), ask.into(), scoped], &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(errors[0].object.as_deref(), Some("Account team/a"));
    assert!(errors[0].message.contains("bearer"), "{errors:?}");

    let plain = [cluster(), strict, user("u", "a", "  bearerToken: false\n")];
    assert!(run(&plain, &Lock::new(), EPOCH).is_ok());
}

#[test]
fn a_user_expired_before_the_render_is_a_warning() {
    let docs = |at: &str| {
        [
            cluster(),
            account("a", ""),
            user("u", "a", &format!("  expiresAt: '{at}'\n")),
        ]
    };
    let r = run(&docs("2020-01-01T00:00:00Z"), &Lock::new(), EPOCH).unwrap();
    let expired: Vec<_> = (r.warnings.iter())
        .filter(|w| w.field.as_deref() == Some("spec.expiresAt"))
        .collect();
    assert_eq!(expired.len(), 1, "{:?}", r.warnings);
    assert_eq!(expired[0].object.as_deref(), Some("User team/u"));
    let r = run(&docs("2099-01-01T00:00:00Z"), &Lock::new(), EPOCH).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn a_revoke_all_forces_later_user_iats_and_a_revoked_key_is_refused() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let mut docs = tree();
    docs[1] = account(
        "a",
        &format!(
            "  exports: [{{name: svc, subject: 'svc.>', type: service}}]\n  revocations: {{'*': {}}}\n",
            EPOCH + 50
        ),
    );
    let second = run(&docs, &first.lock, EPOCH).unwrap();
    assert_eq!(second.lock.users["team/alice"].issued_at, EPOCH + 51);

    let alice = first.users[0].claims.data.sub.clone();
    docs[1] = account(
        "a",
        &format!(
            "  exports: [{{name: svc, subject: 'svc.>', type: service}}]\n  revocations: {{{alice}: {EPOCH}}}\n"
        ),
    );
    let errors = run(&docs, &first.lock, EPOCH).unwrap_err();
    assert!(
        errors[0].message.contains("is revoked by Account team/a"),
        "{}",
        errors[0]
    );
}

#[test]
fn user_secrets_and_account_config_maps_carry_nauth_labels_and_no_seed_outside_creds() {
    let r = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let manifests = crate::output::manifests(&r);
    let names: Vec<String> = manifests.iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(
        names,
        [
            "ConfigMap team/a-nats-account-jwt",
            "ConfigMap team/b-nats-account-jwt",
            "Secret team/alice-nats-user-creds",
            "Secret team/bob-nats-user-creds",
        ]
    );
    let secret: serde_json::Value = serde_saphyr::from_str(&manifests[2].yaml).unwrap();
    let labels = &secret["metadata"]["labels"];
    assert_eq!(labels["nauth.io/secret-type"], "user-creds");
    assert_eq!(labels["nauth.io/managed"], "true");
    assert_eq!(
        labels["user.nauth.io/account-id"],
        r.accounts[0].claims.data.sub.as_str()
    );
    for m in &manifests[..2] {
        assert!(
            !contains_seed(&m.yaml),
            "no seeds in ConfigMaps: {}",
            m.yaml
        );
    }
    let creds: serde_json::Value = secret["data"]["user.creds"].clone();
    assert!(creds.is_string(), "the creds are in the Secret's data");
}

/// Whether `text` holds an nkey seed: a 58-character base32 word starting `SA`, `SO` or `SU`.
fn contains_seed(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        w.len() == 58 && (w.starts_with("SA") || w.starts_with("SO") || w.starts_with("SU"))
    })
}

#[test]
fn claims_hash_is_lowercase_hex_sha256_of_the_claims_without_iat_and_jti() {
    let r = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let user = &r.users[0];
    let mut normalized = user.claims.clone();
    normalized.data.iat = 0;
    normalized.data.jti = String::new();
    let digest = Sha256::digest(jwt::to_go_json(&normalized).unwrap());
    let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(claims_hash(&user.claims).unwrap(), expected);
    assert_eq!(
        user.claims_hash, expected,
        "the lock records the hash of the signed claims"
    );
}

#[test]
fn reordering_rules_in_a_manifest_changes_no_byte() {
    let service = "  - {name: lookup, subject: 'svc.>', type: service}\n";
    let stream = "  - {name: events, subject: 'events.>', type: stream}\n";
    let mut docs = tree();
    docs[1] = account("a", &format!("  exports:\n{service}{stream}"));
    let first = run(&docs, &Lock::new(), EPOCH).unwrap();
    docs[1] = account("a", &format!("  exports:\n{stream}{service}"));
    let second = run(&docs, &first.lock, EPOCH + 100).unwrap();
    assert_eq!(bytes(&first), bytes(&second));
}

/// `tree()` with a scoped signing key, so every kind of recorded public key is exercised.
fn tree_with_scoped_key() -> Vec<String> {
    let mut docs = tree();
    docs.push(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {name: apps, namespace: team}\n\
         spec: {scope: {role: app}}\n---\n"
            .into(),
    );
    docs[1] = account(
        "a",
        "  signingKeyRefs: [{name: apps}]\n  exports: [{name: svc, subject: 'svc.>', type: service}]\n",
    );
    docs.push(user("carol", "a", "  signingKeyRef: {name: apps}\n"));
    docs
}

fn inputs_without_secrets(docs: &[String]) -> Inputs {
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
    }
    inputs.secrets.clear();
    inputs
}

#[test]
fn the_lock_records_every_public_signing_key_it_resolved() {
    let r = run(&tree_with_scoped_key(), &Lock::new(), EPOCH).unwrap();
    let owners: Vec<_> = r.lock.signing_keys.keys().map(String::as_str).collect();
    assert_eq!(
        owners,
        [
            "Account team/a",
            "Account team/b",
            "AccountSigningKey team/apps",
            "NatsCluster nats/nats"
        ]
    );
    assert_eq!(
        r.lock.signing_keys["NatsCluster nats/nats"],
        operator().public_key()
    );
    assert_eq!(
        r.lock.signing_keys["AccountSigningKey team/apps"],
        r.users[2].claims.data.iss
    );
}

#[test]
fn a_preview_builds_the_same_claims_from_the_lock_without_any_seed() {
    let docs = tree_with_scoped_key();
    let rendered = run(&docs, &Lock::new(), EPOCH).unwrap();
    let inputs = inputs_without_secrets(&docs);
    let preview = preview(&inputs, &rendered.lock, EPOCH, &Options::default()).unwrap();
    let previewed: Vec<_> = (preview.accounts.iter())
        .map(|a| claims_hash(&a.claims).unwrap())
        .collect();
    let signed: Vec<_> = rendered.accounts.iter().map(|a| &a.claims_hash).collect();
    assert_eq!(previewed.iter().collect::<Vec<_>>(), signed);
    for (p, r) in preview.users.iter().zip(&rendered.users) {
        assert_eq!(claims_hash(&p.claims).unwrap(), r.claims_hash);
        assert_eq!(p.claims.data.iat, r.claims.data.iat, "unchanged keeps iat");
    }
    assert_eq!(preview.users.len(), 3);
}

#[test]
fn a_preview_names_what_the_lock_does_not_record() {
    let docs = tree();
    let mut lock = run(&docs, &Lock::new(), EPOCH).unwrap().lock;
    lock.users.remove("team/bob");
    lock.signing_keys.remove("Account team/a");
    let errors = preview(
        &inputs_without_secrets(&docs),
        &lock,
        EPOCH,
        &Options::default(),
    )
    .unwrap_err()
    .iter()
    .map(ToString::to_string)
    .collect::<Vec<_>>();
    assert_eq!(
        errors,
        [
            "f1.yaml: Account team/a: the lock has no public key for this account's signing key; \
             run `nauth-render render` with the keys to record it",
            "f2.yaml: Account team/b: spec.imports[0].accountRef: Account team/a is not in the \
             input (or has no keys)",
            "f3.yaml: User team/alice: spec.accountName: Account team/a is not in the input (or \
             has no keys)",
            "f4.yaml: User team/bob: the lock has no public key for this user; run `nauth-render \
             render` with the keys to record it",
        ]
    );
}

#[test]
fn a_preview_refuses_an_id_label_the_lock_disagrees_with() {
    let mut docs = tree();
    let lock = run(&docs, &Lock::new(), EPOCH).unwrap().lock;
    let other = KeyPair::new_from_raw(KeyPairType::Account, [9; 32]).unwrap();
    docs[1] = docs[1].replace(
        "metadata: {name: a, namespace: team}",
        &format!(
            "metadata: {{name: a, namespace: team, labels: {{account.nauth.io/id: {}}}}}",
            other.public_key()
        ),
    );
    let errors = preview(
        &inputs_without_secrets(&docs),
        &lock,
        EPOCH,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        format!(
            "f1.yaml: Account team/a: the lock records account ID {}, but the account ID is {}; \
             refusing to change an account's identity",
            lock.accounts["team/a"].public_key,
            other.public_key()
        )
    );
}
