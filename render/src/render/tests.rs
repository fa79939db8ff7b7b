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
    run_full(docs, lock, epoch, &Options::default())
}

fn run_with(docs: &[String], options: &Options) -> Result<Rendered, Vec<Diagnostic>> {
    run_full(docs, &Lock::new(), EPOCH, options)
}

fn run_full(
    docs: &[String],
    lock: &Lock,
    epoch: i64,
    options: &Options,
) -> Result<Rendered, Vec<Diagnostic>> {
    let inputs = load(docs);
    let root = seed_root();
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    render(&inputs, keys, lock, epoch, options)
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

/// `alice`'s creds as a creds Secret of the inputs, as NAuth leaves it (no lock record).
fn creds_secret(creds: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: alice-nats-user-creds, namespace: team, \
         labels: {{nauth.io/secret-type: user-creds, nauth.io/managed: 'true'}}}}\n\
         stringData: {{user.creds: {}}}\n---\n",
        serde_json::to_string(creds).unwrap()
    )
}

#[test]
fn creds_the_lock_does_not_know_are_kept_when_their_claims_are_the_same() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let alice = |r: &Rendered| {
        r.users
            .iter()
            .find(|u| u.name == "alice")
            .unwrap()
            .creds
            .clone()
    };
    let mut adopted = tree();
    adopted.push(creds_secret(&alice(&first)));
    let later = run(&adopted, &Lock::new(), EPOCH + 500).unwrap();
    assert!(alice(&later) == alice(&first), "same claims: same bytes");
    assert_eq!(later.lock.users["team/alice"].issued_at, EPOCH);

    // Other claims: a new JWT, issued after the one the Secret holds.
    adopted[3] = user("alice", "a", "  permissions: {pub: {allow: ['svc.x']}}\n");
    let changed = run(&adopted, &Lock::new(), EPOCH - 500).unwrap();
    assert!(alice(&changed) != alice(&first));
    assert_eq!(changed.lock.users["team/alice"].issued_at, EPOCH + 1);
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
fn an_import_no_export_matches_is_a_warning_as_nats_keeps_it_inactive() {
    let mut docs = tree();
    docs[2] = account(
        "b",
        "  imports: [{accountRef: {name: a, namespace: team}, subject: 'other.x', type: service}]\n",
    );
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(r.accounts[1].claims.nats.imports.len(), 1, "still rendered");
    assert_eq!(
        r.warnings[0].to_string(),
        "warning: f2.yaml: Account team/b: spec.imports[0]: Account team/a exports no service \
         matching subject \"other.x\"; NATS keeps the import inactive until it does"
    );
    docs[2] = account(
        "b",
        "  imports: [{accountRef: {name: a, namespace: team}, subject: 'svc.x', type: stream}]\n",
    );
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(r.warnings.len(), 1, "type must match too");
    let strict = run_with(
        &docs,
        &Options {
            strict: true,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        strict[0].to_string(),
        "f2.yaml: Account team/b: spec.imports[0]: Account team/a exports no stream matching \
         subject \"svc.x\"; NATS keeps the import inactive until it does (a warning, an error \
         with --strict)"
    );
}

fn account_export(name: &str, created: &str, subject: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\n\
         metadata: {{name: {name}, namespace: team, creationTimestamp: '{created}'}}\n\
         spec: {{accountName: a, rules: [{{subject: '{subject}', type: stream}}]}}\n"
    )
}

#[test]
fn overlapping_account_exports_are_adopted_first_writer_wins_by_creation_time_then_name() {
    let mut docs = tree();
    // `late` sorts first by name but was created last; `b-twin` ties with `a-twin` in time.
    docs.push(account_export("late", "2026-01-03T00:00:00Z", "x.>"));
    docs.push(account_export("b-twin", "2026-01-02T00:00:00Z", "x.*"));
    docs.push(account_export("a-twin", "2026-01-02T00:00:00Z", "x.y"));
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    let a = &r.accounts[0];
    let subjects: Vec<_> = a
        .claims
        .nats
        .exports
        .iter()
        .map(|e| e.subject.as_str())
        .collect();
    assert_eq!(subjects, ["svc.>", "x.y"]);
    let adoptions: Vec<_> = (a.adoptions.exports.iter())
        .map(|o| (o.source.as_str(), &o.adoption))
        .collect();
    let conflict = |subject: &str| claims::Adoption::Conflict {
        winner: Some("a-twin".into()),
        message: format!("stream export subject \"{subject}\" already exports \"x.y\""),
    };
    assert_eq!(
        adoptions,
        [
            ("a-twin", &claims::Adoption::Adopted),
            ("b-twin", &conflict("x.*")),
            ("late", &conflict("x.>")),
        ]
    );
    assert_eq!(
        r.warnings[1].to_string(),
        "warning: f6.yaml: AccountExport team/b-twin: spec.rules: not adopted by Account team/a \
         (Conflict with AccountExport a-twin, adopted first): stream export subject \"x.*\" \
         already exports \"x.y\""
    );
}

#[test]
fn an_account_export_overlapping_inline_exports_loses_to_them() {
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
         (Conflict with the Account's inline rules, adopted first): service export subject \
         \"svc.>\" already exports \"svc.>\""
    );
}

#[test]
fn rules_invalid_on_their_own_are_an_error_not_a_conflict() {
    let mut docs = tree();
    docs.push(account_export("dot", "2026-01-01T00:00:00Z", "."));
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .to_string()
            .starts_with("f5.yaml: AccountExport team/dot: spec.rules: invalid: "),
        "{}",
        errors[0]
    );
}

#[test]
fn objects_that_bind_to_nothing_are_named_in_a_warning() {
    let mut docs = tree();
    docs.push(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\nmetadata: {name: lost, namespace: team}\n\
         spec: {accountName: ghost, rules: [{subject: 'g.>', type: stream}]}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: AccountImport\nmetadata: {name: orphan, namespace: team}\n\
         spec: {accountName: b, exportAccountRef: {name: ghost, namespace: elsewhere}, rules: [{subject: 'g.>', type: stream}]}\n"
            .to_string(),
    );
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    let text: Vec<String> = r.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "warning: f5.yaml: AccountExport team/lost: spec.accountName: Account team/ghost is not \
             in the input; nothing is rendered for it",
            "warning: f5.yaml: AccountImport team/orphan: spec.exportAccountRef: Account \
             elsewhere/ghost is not in the input; the import is not adopted",
        ]
    );
}

#[test]
fn an_observed_account_is_named_in_a_warning_and_not_rendered() {
    let mut docs = tree();
    let id = KeyPair::new_from_raw(KeyPairType::Account, [9; 32]).unwrap();
    docs.push(format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: seen-ac-root, namespace: team}}\nstringData: {{default: {}}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: seen-ac-sign, namespace: team}}\nstringData: {{default: {}}}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata:\n  name: seen\n  namespace: team\n\
         \x20 labels: {{account.nauth.io/id: {}, nauth.io/management-policy: observe}}\n\
         spec: {{natsClusterRef: {{name: nats, namespace: nats}}}}\n",
        id.seed().unwrap(),
        id.seed().unwrap(),
        id.public_key()
    ));
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(r.accounts.len(), 2);
    assert_eq!(
        r.warnings[0].to_string(),
        "warning: f5.yaml: Account team/seen: metadata.labels: observe mode \
         (nauth.io/management-policy=observe): its JWT is read from NATS, not rendered"
    ); // NAuth resolves an observed Account's cluster too: a required operator cluster binds it.
    let required = Options {
        default_cluster: Some(("nats".into(), "other".into())),
        ..Options::default()
    };
    let errors = run_with(&docs, &required).unwrap_err();
    assert!(
        errors.iter().any(|e| e.to_string().starts_with(
            "f5.yaml: Account team/seen: spec.natsClusterRef: account cluster reference nats/nats"
        )),
        "{errors:?}"
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
    assert_eq!(errors[0].code, Code::BearerNotAllowed);

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
    assert_eq!(errors[0].code, Code::Revoked);
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

#[test]
fn a_preview_with_keys_signs_nothing_and_builds_the_claims_a_render_signs() {
    let docs = tree_with_scoped_key();
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
    }
    let root = SeedRoot::new(&[3; 32]).unwrap();
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    let signed = render(&inputs, keys, &Lock::new(), EPOCH, &Options::default()).unwrap();
    // With an empty lock every key must come from the sources: a new User is previewed too.
    let cx = Context {
        inputs: &inputs,
        keys: Keys::Preview(keys, &Lock::new()),
        epoch: EPOCH,
        options: &Options::default(),
    };
    let previewed = super::run(&cx, &Lock::new()).unwrap();
    assert!(
        previewed.accounts.iter().all(|a| a.jwt.is_empty()),
        "no JWT signed"
    );
    assert!(
        previewed.users.iter().all(|u| u.creds.is_empty()),
        "no creds"
    );
    assert_eq!(
        previewed.lock, signed.lock,
        "the same lock, without a signature"
    );
}

#[test]
fn a_preview_with_keys_takes_the_lock_for_keys_no_source_holds() {
    let docs = tree_with_scoped_key();
    let rendered = run(&docs, &Lock::new(), EPOCH).unwrap();
    // The operator signing key Secret is at hand, account and user seeds are not.
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
    }
    assert_eq!(inputs.secrets.len(), 1);
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let preview =
        preview_with_keys(&inputs, keys, &rendered.lock, EPOCH, &Options::default()).unwrap();
    assert_eq!(preview.lock, rendered.lock);
    assert_eq!(preview.users.len(), 3);
}

#[test]
fn a_raised_key_generation_rotates_the_account_it_annotates_and_says_so() {
    let docs = tree();
    let first = run(&docs, &Lock::new(), EPOCH).unwrap();
    let old_id = first.lock.accounts["team/a"].public_key.clone();
    let with_generation = |g: &str| {
        let mut docs = docs.clone();
        docs[1] = docs[1].replace(
            "metadata: {name: a, namespace: team}",
            &format!("metadata: {{name: a, namespace: team, annotations: {{nauth.io/key-generation: '{g}'}}}}"),
        );
        docs
    };
    let second = run(&with_generation("1"), &first.lock, EPOCH + 10).unwrap();
    let new_id = second.lock.accounts["team/a"].public_key.clone();
    assert_ne!(new_id, old_id);
    let warnings: Vec<String> = second.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: f1.yaml: Account team/a: metadata.annotations[nauth.io/key-generation]: \
             rotates the account key: account ID {old_id} becomes {new_id}; its users and the \
             imports of it are re-issued, and NATS keeps the old account until it is deleted \
             from the resolver"
        )]
    );
    let alice = second.users.iter().find(|u| u.name == "alice").unwrap();
    assert_eq!(alice.claims.nats.issuer_account, new_id);
    let importer = second.accounts.iter().find(|a| a.name == "b").unwrap();
    assert_eq!(importer.claims.nats.imports[0].account, new_id);
    // Once the lock holds the new ID, the next render is stable and says nothing.
    let third = run(&with_generation("1"), &second.lock, EPOCH + 20).unwrap();
    assert_eq!((third.lock, third.warnings), (second.lock.clone(), vec![]));

    // A lock ID that no earlier generation of this seed root gives is still refused.
    let mut foreign = first.lock.clone();
    let other = KeyPair::new_from_raw(KeyPairType::Account, [9; 32]).unwrap();
    foreign.accounts.get_mut("team/a").unwrap().public_key = other.public_key();
    let errors = run(&with_generation("2"), &foreign, EPOCH).unwrap_err();
    assert!(
        errors[0].to_string().contains(&format!(
            "but the lock records account ID {}; refusing to change an account's identity",
            other.public_key()
        )),
        "{errors:?}"
    );
}

/// Creds of a system user of `account`, in the Secret `nats/sys` the test cluster names.
fn system_user_secret(account: &KeyPair) -> String {
    let user = KeyPair::new_from_raw(KeyPairType::User, [5; 32]).unwrap();
    let body = jwt::User {
        issuer_account: account.public_key(),
        ..jwt::User::default()
    };
    let mut claims = jwt::Claims::new(user.public_key(), body);
    let token = jwt::encode(&mut claims, account, EPOCH).unwrap();
    let creds = jwt::creds::format_user_creds(&token, &user.seed().unwrap());
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: sys, namespace: nats}}\nstringData: {{default: \"{}\"}}\n",
        creds.replace('\n', "\\n")
    )
}

#[test]
fn the_system_account_is_never_rendered() {
    let sys = KeyPair::new_from_raw(KeyPairType::Account, [6; 32]).unwrap();
    let mut docs = tree();
    docs.push(system_user_secret(&sys));
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(
        r.accounts.len(),
        2,
        "another system account changes nothing"
    );

    let seed = sys.seed().unwrap();
    docs.push(format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: a-ac-root, namespace: team}}\nstringData: {{default: {seed}}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: a-ac-sign, namespace: team}}\nstringData: {{default: {seed}}}\n"
    ));
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        format!(
            "f1.yaml: Account team/a: account {} is the system account of NatsCluster nats/nats \
             (the account of its system user creds): reconciling system account is not supported",
            sys.public_key()
        )
    );
    assert_eq!(errors[0].code, Code::SystemAccount);
}

#[test]
fn unreadable_system_user_creds_are_a_warning_naming_the_cluster() {
    let mut docs = tree();
    docs.push(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: sys, namespace: nats}\nstringData: {default: garbage}\n"
            .to_string(),
    );
    let r = run(&docs, &Lock::new(), EPOCH).unwrap();
    assert_eq!(
        r.warnings[0].to_string(),
        "warning: f0.yaml: NatsCluster nats/nats: spec.systemAccountUserCredsSecretRef: Secret \
         nats/sys key default does not hold user creds; its system account is unknown, so \
         nothing stops rendering it"
    );
    assert_eq!(r.warnings[0].code, Code::InvalidKey);
}

fn other_cluster() -> String {
    "apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {name: other, namespace: nats}\n\
     spec: {url: 'nats://y', operatorSigningKeySecretRef: {name: op}, systemAccountUserCredsSecretRef: {name: sys}}\n"
        .to_string()
}

#[test]
fn the_operator_cluster_is_strict_unless_optional_as_nauths_nats_cluster_ref() {
    let mut docs = tree();
    docs.push(other_cluster());
    docs[2] = docs[2].replace(
        "{name: nats, namespace: nats}",
        "{name: other, namespace: nats}",
    );
    let required = Options {
        default_cluster: Some(("nats".into(), "nats".into())),
        ..Options::default()
    };
    let errors = run_with(&docs, &required).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "f2.yaml: Account team/b: spec.natsClusterRef: account cluster reference nats/other does \
         not match required operator cluster nats/nats (--nats-cluster; --nats-cluster-optional \
         allows other clusters)"
    );
    assert_eq!(errors[0].code, Code::ClusterMismatch);
    let from_env = Options {
        default_cluster_from_env: true,
        ..required.clone()
    };
    let errors = run_with(&docs, &from_env).unwrap_err();
    assert!(
        errors[0].message.contains("(NATS_CLUSTER_REF; "),
        "{}",
        errors[0]
    );
    let optional = Options {
        cluster_optional: true,
        ..required.clone()
    };
    assert_eq!(run_with(&docs, &optional).unwrap().accounts.len(), 2);
    assert_eq!(
        run_with(&docs, &Options::default()).unwrap().accounts.len(),
        2,
        "without an operator cluster every Account names its own"
    );
    // An Account without a reference takes the operator's cluster, optional or not.
    docs[2] = docs[2].replace("  natsClusterRef: {name: other, namespace: nats}\n", "");
    for options in [&required, &optional] {
        assert_eq!(run_with(&docs, options).unwrap().accounts.len(), 2);
    }
}

fn managed_signing_key_with_secret(owner_references: &str) -> Vec<String> {
    let key = KeyPair::new_from_raw(KeyPairType::Account, [4; 32]).unwrap();
    let mut docs = tree();
    docs[1] = account("a", "  signingKeyRefs: [{name: apps}]\n");
    docs.push(format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {{name: apps, namespace: team}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: apps-ac-sign\n  namespace: team\n{owner_references}\
         stringData: {{default: {}}}\n",
        key.seed().unwrap()
    ));
    docs
}

#[test]
fn a_managed_signing_key_secret_it_does_not_own_is_a_conflict() {
    let errors = run(&managed_signing_key_with_secret(""), &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "f5.yaml: AccountSigningKey team/apps: Conflict: Secret team/apps-ac-sign exists but is \
         not owned by this AccountSigningKey (no controller ownerReference to it); to use an \
         existing Secret, use observe mode (label nauth.io/management-policy=observe)"
    );
    let owned = "  ownerReferences: [{apiVersion: nauth.io/v1alpha1, kind: AccountSigningKey, \
                 name: apps, uid: u-1, controller: true}]\n";
    let r = run(&managed_signing_key_with_secret(owned), &Lock::new(), EPOCH).unwrap();
    let key = KeyPair::new_from_raw(KeyPairType::Account, [4; 32]).unwrap();
    assert!(
        r.accounts[0]
            .claims
            .nats
            .signing_keys
            .0
            .contains_key(&key.public_key())
    );
    let not_controller = owned.replace("controller: true", "controller: false");
    assert!(
        run(
            &managed_signing_key_with_secret(&not_controller),
            &Lock::new(),
            EPOCH
        )
        .is_err()
    );
}

/// Inputs of `docs`, which must hold no error.
fn load(docs: &[String]) -> Inputs {
    let mut inputs = Inputs::default();
    for (i, doc) in docs.iter().enumerate() {
        let problems = inputs.add_yaml(&format!("f{i}.yaml"), doc, Contents::Everything);
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    }
    inputs
}

fn seed_root() -> SeedRoot {
    SeedRoot::new(&[3; 32]).unwrap()
}

/// Runs `f` as a controller renders one object at a time: with the context of `inputs` (the
/// test seed root, default options, `epoch`) and the identities resolved with `lock`.
fn one_at_a_time<R>(
    inputs: &Inputs,
    lock: &Lock,
    epoch: i64,
    f: impl FnOnce(&Context, &Identities) -> R,
) -> R {
    let root = seed_root();
    let options = Options::default();
    let cx = Context {
        inputs,
        keys: Keys::Seeds(KeySources {
            secrets: &inputs.secrets,
            seed_root: Some(&root),
        }),
        epoch,
        options: &options,
    };
    let identities = Identities::resolve(&cx, lock);
    f(&cx, &identities)
}

#[test]
fn one_account_or_user_rendered_alone_gives_the_bytes_of_the_whole_tree() {
    let whole = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let lock = &whole.lock;
    // What a controller reconciling Account team/b holds: b, the account it imports from, the
    // cluster and its key; and for User team/bob, its account. With the lock's records a later
    // epoch changes nothing.
    let t = tree();
    let inputs = load(&[t[0].clone(), t[1].clone(), t[2].clone(), t[4].clone()]);
    one_at_a_time(&inputs, lock, EPOCH + 99, |cx, identities| {
        let b = inputs.accounts.iter().find(|a| a.name() == "b").unwrap();
        let alone = super::account(
            cx,
            identities,
            b,
            lock.accounts.get("team/b"),
            &Default::default(),
        );
        assert!(alone.diagnostics.is_empty(), "{:?}", alone.diagnostics);
        // The signing keys it used are those the whole tree's lock records.
        for (owner, key) in &alone.signing_keys {
            assert_eq!(lock.signing_keys.get(owner), Some(key), "{owner}");
        }
        let alone = alone.output.unwrap();
        let in_tree = whole.accounts.iter().find(|a| a.name == "b").unwrap();
        assert_eq!(alone.jwt, in_tree.jwt);
        assert_eq!(alone.adoptions, in_tree.adoptions);

        let bob = super::user(cx, identities, &inputs.users[0], lock.users.get("team/bob"));
        let bob_in_tree = whole.users.iter().find(|u| u.name == "bob").unwrap();
        assert_eq!(bob.output.unwrap().creds, bob_in_tree.creds);
    });
}

#[test]
fn an_error_of_one_user_does_not_stop_another_users_result() {
    let mut docs = tree();
    docs.push(user("bad", "a", "  signingKeyRef: {name: missing}\n"));
    let inputs = load(&docs);
    one_at_a_time(&inputs, &Lock::new(), EPOCH, |cx, identities| {
        let of = |name: &str| inputs.users.iter().find(|u| u.name() == name).unwrap();
        let bad = super::user(cx, identities, of("bad"), None);
        assert!(bad.output.is_none() && bad.has_errors());
        let [error] = bad.diagnostics.as_slice() else {
            panic!("{:?}", bad.diagnostics)
        };
        assert_eq!(error.code, Code::NotFound);
        let reference = error.reference.as_ref().unwrap();
        assert_eq!(
            (reference.kind.as_str(), reference.name.as_str()),
            ("User", "bad")
        );
        let alice = super::user(cx, identities, of("alice"), None);
        assert!(alice.diagnostics.is_empty(), "{:?}", alice.diagnostics);
        let whole = run(&tree(), &Lock::new(), EPOCH).unwrap();
        assert_eq!(alice.output.unwrap().creds, whole.users[0].creds);
        // The whole tree fails with the same error, once.
        assert_eq!(
            run(&docs, &Lock::new(), EPOCH).unwrap_err(),
            vec![error.clone()]
        );
    });
}

#[test]
fn an_object_fails_with_the_errors_of_an_account_it_depends_on_and_no_other() {
    // Account team/a in observe mode without its ID label has no identity: b imports from it,
    // alice is its User; bob (of b) depends on b's identity only.
    let mut docs = tree();
    docs[1] = docs[1].replace(
        "metadata: {name: a, namespace: team}",
        "metadata: {name: a, namespace: team, labels: {nauth.io/management-policy: observe}}",
    );
    let inputs = load(&docs);
    one_at_a_time(&inputs, &Lock::new(), EPOCH, |cx, identities| {
        let whole = run(&docs, &Lock::new(), EPOCH).unwrap_err();
        assert_eq!(whole.len(), 1, "{whole:?}");
        assert_eq!(whole[0].code, Code::InvalidSpec);
        let b = inputs.accounts.iter().find(|a| a.name() == "b").unwrap();
        let b = super::account(cx, identities, b, None, &Default::default());
        assert!(b.output.is_none());
        assert_eq!(b.diagnostics, whole, "b imports from a");
        let of = |name: &str| inputs.users.iter().find(|u| u.name() == name).unwrap();
        assert_eq!(
            super::user(cx, identities, of("alice"), None).diagnostics,
            whole
        );
        let bob = super::user(cx, identities, of("bob"), None);
        assert!(
            bob.output.is_some() && bob.diagnostics.is_empty(),
            "{bob:?}"
        );
    });
}

/// The automatic revocations of Account `team/<name>` in `r`.
fn revocations_of(r: &Rendered, name: &str) -> BTreeMap<String, i64> {
    let a = r.accounts.iter().find(|a| a.name == name).unwrap();
    assert_eq!(
        a.revocations,
        r.lock.accounts[&format!("team/{name}")].revocations
    );
    a.claims.nats.revocations.clone()
}

#[test]
fn a_reissued_user_is_revoked_just_below_its_new_iat_and_the_revocation_persists() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let alice = first.lock.users["team/alice"].clone();
    let mut docs = tree();
    docs[3] = user(
        "alice",
        "a",
        "  permissions: {pub: {allow: ['svc.>', 'x']}}\n",
    );
    let second = run(&docs, &first.lock, EPOCH + 50).unwrap();
    let new_alice = &second.lock.users["team/alice"];
    assert_eq!(new_alice.public_key, alice.public_key);
    assert_eq!(new_alice.issued_at, EPOCH + 50);
    let revoked = BTreeMap::from([(alice.public_key.clone(), EPOCH + 49)]);
    assert_eq!(revocations_of(&second, "a"), revoked);
    assert!(revocations_of(&second, "b").is_empty());
    // The written lock keeps them: the same inputs later give the same bytes.
    let again = run(&docs, &second.lock, EPOCH + 999).unwrap();
    assert_eq!(bytes(&again), bytes(&second));
    assert_eq!(again.lock, second.lock);
}

#[test]
fn the_lock_record_recovered_from_an_account_jwt_keeps_its_automatic_revocations_only() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let alice = first.lock.users["team/alice"].public_key.clone();
    let mut docs = tree();
    docs[1] = account(
        "a",
        "  exports: [{name: svc, subject: 'svc.>', type: service}]\n  revocations: {UMANUAL: 7}\n",
    );
    docs[3] = user("alice", "a", "  permissions: {pub: {allow: ['x']}}\n");
    let second = run(&docs, &first.lock, EPOCH + 50).unwrap();
    let a = second.accounts.iter().find(|a| a.name == "a").unwrap();
    assert_eq!(a.claims.nats.revocations["UMANUAL"], 7);
    let inputs = load(&docs);
    let object = inputs.accounts.iter().find(|o| o.name() == "a").unwrap();
    let recovered = recovered_account_entry(&a.claims, &object.resource).unwrap();
    assert_eq!(recovered, second.lock.accounts["team/a"]);
    assert_eq!(recovered.revocations, BTreeMap::from([(alice, EPOCH + 49)]));
    // Rendering again from the recovered record gives the same bytes.
    let mut lock = second.lock.clone();
    lock.accounts.insert("team/a".into(), recovered);
    assert_eq!(
        bytes(&run(&docs, &lock, EPOCH + 999).unwrap()),
        bytes(&second)
    );
}

#[test]
fn an_account_whose_config_map_kubernetes_would_refuse_is_an_error_naming_the_limit() {
    // 8,000 revoked keys: a JWT under NATS's 1 MiB, but with its claims as YAML beside it, over
    // the ConfigMap's.
    let revoked: Vec<String> = (0..8_000u32)
        .map(|i| {
            let mut raw = [0u8; 32];
            raw[..4].copy_from_slice(&i.to_le_bytes());
            let key = KeyPair::new_from_raw(KeyPairType::User, raw).unwrap();
            format!("{}: 1", key.public_key())
        })
        .collect();
    let docs = vec![
        cluster(),
        account("a", &format!("  revocations: {{{}}}\n", revoked.join(", "))),
    ];
    let errors = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    let text = errors
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("Account team/a")
            && text.contains("its JWT ConfigMap a-nats-account-jwt would hold")
            && text.contains("over Kubernetes' limit of 1048576 (1 MiB)"),
        "{text}"
    );
}

#[test]
fn another_operator_signing_key_than_the_lock_records_is_a_warning_naming_both() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    let mut lock = first.lock.clone();
    let owner = lock::owner("NatsCluster", "nats/nats");
    let recorded = lock.signing_keys.insert(owner, "OOTHER".into());
    assert_eq!(recorded.as_deref(), Some(operator().public_key().as_str()));
    let again = run(&tree(), &lock, EPOCH).unwrap();
    let text: Vec<String> = again.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter().any(|w| w.contains("NatsCluster nats/nats")
            && w.contains(&format!("is {}, not OOTHER", operator().public_key()))),
        "{text:?}"
    );
}

#[test]
fn an_account_annotated_not_to_revoke_on_reissue_still_revokes_a_deleted_user() {
    let opt_out = |spec: &str| {
        account("a", spec).replace(
            "name: a, namespace: team}",
            "name: a, namespace: team, annotations: {nauth.io/revoke-on-reissue: 'false'}}",
        )
    };
    let mut docs = tree();
    docs[1] = opt_out("  exports: [{name: svc, subject: 'svc.>', type: service}]\n");
    let first = run(&docs, &Lock::new(), EPOCH).unwrap();
    docs[3] = user("alice", "a", "");
    let reissued = run(&docs, &first.lock, EPOCH + 50).unwrap();
    assert!(revocations_of(&reissued, "a").is_empty());
    docs.remove(3);
    let deleted = run(&docs, &reissued.lock, EPOCH + 60).unwrap();
    let alice = &reissued.lock.users["team/alice"];
    assert_eq!(
        revocations_of(&deleted, "a"),
        BTreeMap::from([(alice.public_key.clone(), EPOCH + 50)])
    );
    docs[1] = account("a", "").replace(
        "team}",
        "team, annotations: {nauth.io/revoke-on-reissue: 'no'}}",
    );
    let err = run(&docs, &Lock::new(), EPOCH).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!(err[0].code, Code::InvalidSpec);
    assert!(
        err[0].to_string().contains(
            "metadata.annotations[nauth.io/revoke-on-reissue]: must be \"true\" or \"false\""
        ),
        "{}",
        err[0]
    );
}

#[test]
fn a_user_recreated_with_a_revoked_key_is_issued_after_the_revocation() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let mut docs = tree();
    docs.remove(3);
    let deleted = run(&docs, &first.lock, EPOCH + 10).unwrap();
    let key = &first.lock.users["team/alice"].public_key;
    assert_eq!(revocations_of(&deleted, "a")[key], EPOCH);
    // Back with the same seed-root key, at an epoch pinned before the revocation.
    let back = run(&tree(), &deleted.lock, EPOCH - 100).unwrap();
    assert_eq!(&back.lock.users["team/alice"].public_key, key);
    assert_eq!(back.lock.users["team/alice"].issued_at, EPOCH + 1);
    assert_eq!(revocations_of(&back, "a")[key], EPOCH);
}

#[test]
fn an_account_rendered_alone_revokes_from_the_members_it_is_given() {
    let first = run(&tree(), &Lock::new(), EPOCH).unwrap();
    let bob = &first.lock.users["team/bob"];
    let record = |iat| UserRecord {
        public_key: bob.public_key.clone(),
        issued_at: iat,
    };
    let members = Members {
        previous: BTreeMap::from([("team/bob".to_string(), record(bob.issued_at))]),
        current: BTreeMap::from([("team/bob".to_string(), record(EPOCH + 7))]),
    };
    let inputs = load(&tree());
    one_at_a_time(&inputs, &first.lock, EPOCH + 9, |cx, identities| {
        let b = inputs.accounts.iter().find(|a| a.name() == "b").unwrap();
        let alone = super::account(
            cx,
            identities,
            b,
            first.lock.accounts.get("team/b"),
            &members,
        );
        let alone = alone.output.unwrap();
        let revoked = BTreeMap::from([(bob.public_key.clone(), EPOCH + 6)]);
        assert_eq!(alone.revocations, revoked);
        assert_eq!(alone.claims.nats.revocations, revoked);
        assert_eq!(alone.members, members.current);
        let cm = crate::output::account_config_map_object(&alone);
        let notes = cm.metadata.annotations.unwrap();
        let users: Roster = serde_json::from_str(&notes[crate::output::USERS_ANNOTATION]).unwrap();
        assert_eq!(users, members.current);
        let listed: BTreeMap<String, i64> =
            serde_json::from_str(&notes[crate::output::REVOCATIONS_ANNOTATION]).unwrap();
        assert_eq!(listed, revoked);
    });
}
