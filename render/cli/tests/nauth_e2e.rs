//! NAuth's end-to-end suite (`test/e2e` in its repository: 21 kuttl scenarios), each as the
//! states its steps leave in the cluster, rendered by the real binary. Every state must render
//! as NAuth reconciles it: the same objects rendered, a warning where NAuth leaves an object
//! out but stays Ready, an error (exit 1, nothing written) where NAuth marks an object invalid.
//!
//! The fixtures are our own objects of the same shapes (names, rules, references); keys come
//! from a seed root and one bootstrap trust root. Steps that only delete objects or talk to
//! NATS (JetStream streams, deletion guards) are the controller's and are left out.

mod common;

use std::fs;
use std::path::Path;

use common::{command, nauth_render, text};
use nauth_render::bootstrap::{self, NewKeys};
use nkeys::{KeyPair, KeyPairType};

/// What one state must give.
enum Expect {
    /// Exit 0 with these account JWTs and user creds, and one warning per fragment.
    Renders {
        accounts: &'static [&'static str],
        users: &'static [&'static str],
        warnings: &'static [&'static str],
    },
    /// Exit 1, nothing written, each fragment in the errors.
    Fails(&'static [&'static str]),
}

use Expect::{Fails, Renders};

fn renders(accounts: &'static [&'static str], users: &'static [&'static str]) -> Expect {
    Renders {
        accounts,
        users,
        warnings: &[],
    }
}

/// Exit 0 with these account JWTs, no user creds, and one warning per fragment.
fn warns(accounts: &'static [&'static str], warnings: &'static [&'static str]) -> Expect {
    Renders {
        accounts,
        users: &[],
        warnings,
    }
}

/// The cluster every scenario's Accounts name (`nats/local-nats`, as NAuth's e2e setup).
const NATS: (&str, &str) = ("nats", "local-nats");

fn trust_root() -> bootstrap::Identity {
    let key = |kind, n| KeyPair::new_from_raw(kind, [n; 32]).unwrap();
    let keys = NewKeys {
        operator: key(KeyPairType::Operator, 1),
        operator_signing: key(KeyPairType::Operator, 2),
        system_account: key(KeyPairType::Account, 3),
        system_account_signing: key(KeyPairType::Account, 4),
        system_user: key(KeyPairType::User, 5),
    };
    bootstrap::create(&keys, "e2e", 1_700_000_000).unwrap()
}

/// A Secret with `value` under `key`.
fn secret(ns: &str, name: &str, key: &str, value: &str) -> String {
    let value = value.replace('\n', "\\n");
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         stringData: {{{key}: \"{value}\"}}\n"
    )
}

/// A NatsCluster with its operator signing key and system user creds Secrets, under data keys
/// `op_key` and `sys_key`.
fn cluster(ns: &str, name: &str, op_key: &str, sys_key: &str) -> Vec<String> {
    let root = trust_root();
    vec![
        secret(
            ns,
            &format!("{name}-op-sign"),
            op_key,
            &root.operator_signing_key,
        ),
        secret(
            ns,
            &format!("{name}-sys-creds"),
            sys_key,
            &root.system_user_creds,
        ),
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             spec:\n  url: nats://nats.{ns}.svc:4222\n\
             \x20 operatorSigningKeySecretRef: {{name: {name}-op-sign, key: {op_key}}}\n\
             \x20 systemAccountUserCredsSecretRef: {{name: {name}-sys-creds, key: {sys_key}}}\n"
        ),
    ]
}

fn account(ns: &str, name: &str, spec: &str) -> String {
    account_in(ns, name, NATS, spec)
}

fn account_in(ns: &str, name: &str, (cns, cname): (&str, &str), spec: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  natsClusterRef: {{name: {cname}, namespace: {cns}}}\n{spec}"
    )
}

/// An AccountExport created at second `created` of the scenario.
fn export(ns: &str, name: &str, account: &str, created: u32, rules: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\n\
         metadata: {{name: {name}, namespace: {ns}, creationTimestamp: '2026-01-01T00:00:{created:02}Z'}}\n\
         spec:\n  accountName: {account}\n  rules:\n{rules}"
    )
}

/// An AccountImport created at second `created` of the scenario.
fn import(
    ns: &str,
    name: &str,
    account: &str,
    (ens, exporter): (&str, &str),
    created: u32,
    rules: &str,
) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountImport\n\
         metadata: {{name: {name}, namespace: {ns}, creationTimestamp: '2026-01-01T00:00:{created:02}Z'}}\n\
         spec:\n  accountName: {account}\n  exportAccountRef: {{name: {exporter}, namespace: {ens}}}\n  rules:\n{rules}"
    )
}

/// The AccountExport of NAuth's export scenarios: `my-account-export` of `my-account`.
fn my_export(ns: &str, rules: &str) -> String {
    export(ns, "my-account-export", "my-account", 1, rules)
}

/// The AccountImport of NAuth's import scenarios: `my-account-import` of `import-account`, from
/// `export-account` of `export_ns`.
fn my_import(ns: &str, export_ns: &str, rules: &str) -> String {
    import(
        ns,
        "my-account-import",
        "import-account",
        (export_ns, "export-account"),
        1,
        rules,
    )
}

fn signing_key(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{{spec}}}\n"
    )
}

fn user(ns: &str, name: &str, account: &str, spec: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  accountName: {account}\n{spec}"
    )
}

fn stream_rule(name: &str, subject: &str) -> String {
    format!("  - {{name: {name}, subject: '{subject}', type: stream}}\n")
}

fn service_rule(name: &str, subject: &str) -> String {
    format!("  - {{name: {name}, subject: '{subject}', type: service}}\n")
}

/// One scenario: its states in step order, each the objects present and what it must give.
struct Scenario {
    name: &'static str,
    steps: Vec<(Vec<String>, Expect)>,
}

/// Renders every step of `scenario` in one directory, the lock carried from step to step as a
/// committed lock would be, and checks each against its expectation.
fn run(scenario: Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seed-root");
    fs::write(&root, "e2e scenarios share this seed root of 32+ bytes").unwrap();
    let lock = dir.path().join("nauth.lock");
    let tree = dir.path().join("tree");
    for (step, (docs, expect)) in scenario.steps.into_iter().enumerate() {
        let at = format!("{} step {}", scenario.name, step + 1);
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(&tree).unwrap();
        let mut all = cluster(NATS.0, NATS.1, "default", "default");
        all.extend(docs);
        fs::write(tree.join("objects.yaml"), all.join("---\n")).unwrap();
        let lock_before = fs::read(&lock).ok();
        let out = render(&tree, &root, &lock);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        match expect {
            Renders {
                accounts,
                users,
                warnings,
            } => {
                assert!(out.status.success(), "{at}: {stderr}");
                let names = |suffix: &str| -> Vec<String> {
                    let mut v: Vec<_> = stdout
                        .lines()
                        .filter_map(|l| l.trim().strip_prefix("name: "))
                        .filter_map(|n| n.strip_suffix(suffix))
                        .map(str::to_string)
                        .collect();
                    v.sort();
                    v
                };
                assert_eq!(names("-nats-account-jwt"), sorted(accounts), "{at}");
                assert_eq!(names("-nats-user-creds"), sorted(users), "{at}");
                let lines: Vec<_> = stderr
                    .lines()
                    .filter(|l| l.starts_with("warning:"))
                    .collect();
                assert_eq!(lines.len(), warnings.len(), "{at}: {stderr}");
                for w in warnings {
                    assert!(
                        lines.iter().any(|l| l.contains(w)),
                        "{at}: no {w:?} in {stderr}"
                    );
                }
            }
            Fails(errors) => {
                assert_eq!(out.status.code(), Some(1), "{at}: {stderr}");
                assert_eq!(stdout, "", "{at}");
                assert_eq!(fs::read(&lock).ok(), lock_before, "{at}: lock untouched");
                for e in errors {
                    assert!(stderr.contains(e), "{at}: no {e:?} in {stderr}");
                }
            }
        }
    }
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<_> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn render(tree: &Path, root: &Path, lock: &Path) -> std::process::Output {
    let (tree, root, lock) = (tree.display(), root.display(), lock.display());
    let args = format!("render {tree} --seed-root {root} --lock {lock} --issued-at 1800000000");
    nauth_render(&args.split(' ').collect::<Vec<_>>(), "")
}

/// Warning of an import that no export of its exporter matches: NATS keeps it inactive.
const INACTIVE: &str = "exports no stream matching subject";

#[test]
fn basic_test() {
    let ns = "basic-test";
    run(Scenario {
        name: "basic-test",
        steps: vec![(
            vec![
                account(
                    ns,
                    "example-account",
                    "  displayName: My Example Account\n\
                     \x20 accountLimits: {conn: 100, exports: 10, imports: 10, leaf: 0, wildcards: true}\n\
                     \x20 jetStreamLimits: {consumer: 5, diskMaxStreamBytes: 209715200, diskStorage: 1073741824, \
                     maxAckPending: 5, maxBytesRequired: true, memMaxStreamBytes: 209715200, memStorage: 1073741824, streams: 5}\n\
                     \x20 natsLimits: {data: 1024, payload: 500, subs: 100}\n\
                     \x20 exports: [{name: export-test, subject: 'foo.>', type: stream}]\n",
                ),
                user(
                    ns,
                    "example-user",
                    "example-account",
                    "  displayName: My Example User\n\
                     \x20 natsLimits: {data: 1000000, payload: 1000000, subs: 1000000}\n\
                     \x20 permissions:\n\
                     \x20   pub: {allow: ['foo.>', 'bar.>'], deny: [baz]}\n\
                     \x20   resp: {max: 100, ttl: 1000000000}\n\
                     \x20   sub: {allow: ['foo.>', 'baz.>'], deny: [bar]}\n",
                ),
            ],
            renders(&["example-account"], &["example-user"]),
        )],
    });
}

#[test]
fn account_update() {
    let ns = "account-update";
    let state = |name: &str, n: u32| {
        vec![account(
            ns,
            "example-account",
            &format!(
                "  displayName: {name}\n  natsLimits: {{data: {}, payload: {}, subs: {}}}\n",
                1024 * n,
                500 * n,
                100 * n
            ),
        )]
    };
    run(Scenario {
        name: "account-update",
        steps: vec![
            (
                state("Original Example Account", 1),
                renders(&["example-account"], &[]),
            ),
            (
                state("Updated Example Account", 2),
                renders(&["example-account"], &[]),
            ),
        ],
    });
}

#[test]
fn account_deletion_and_account_deletion_jetstream() {
    // Both create the same Account; deleting it (and the stream guard) is the controller's.
    for name in ["account-deletion", "account-deletion-jetstream"] {
        run(Scenario {
            name,
            steps: vec![(
                vec![account(
                    name,
                    "example-account",
                    "  accountLimits: {conn: 100}\n",
                )],
                renders(&["example-account"], &[]),
            )],
        });
    }
}

/// NAuth's export update scenarios, named `ns` as their namespace: `my-account` alone, then
/// with its export of `first`, which renders, then of `second`, which must give `then`.
fn export_updated(ns: &'static str, first: &str, second: &str, then: Expect) {
    let acc = account(ns, "my-account", "");
    run(Scenario {
        name: ns,
        steps: vec![
            (vec![acc.clone()], renders(&["my-account"], &[])),
            (
                vec![acc.clone(), my_export(ns, first)],
                renders(&["my-account"], &[]),
            ),
            (vec![acc, my_export(ns, second)], then),
        ],
    });
}

#[test]
fn account_export() {
    let ns = "account-export";
    export_updated(
        ns,
        &stream_rule("test-rule", "export-account.>"),
        &stream_rule("updated-rule", "export-account-updated.>"),
        renders(&["my-account"], &[]),
    );
}

#[test]
fn account_export_conflict() {
    let ns = "account-export-conflict";
    let acc = account(ns, "my-account", "");
    let a = export(
        ns,
        "my-account-export-a",
        "my-account",
        1,
        &stream_rule("conflicting-a", "conflict.>"),
    );
    let b = export(
        ns,
        "my-account-export-b",
        "my-account",
        2,
        &stream_rule("conflicting-b", "conflict.*"),
    );
    run(Scenario {
        name: "account-export-conflict",
        steps: vec![
            (vec![acc.clone()], renders(&["my-account"], &[])),
            (vec![acc.clone(), a.clone()], renders(&["my-account"], &[])),
            (
                vec![acc, a, b],
                warns(
                    &["my-account"],
                    &[
                        "AccountExport account-export-conflict/my-account-export-b: spec.rules: not adopted by \
                         Account account-export-conflict/my-account (Conflict with AccountExport my-account-export-a",
                    ],
                ),
            ),
        ],
    });
}

#[test]
fn account_export_invalid_update() {
    let ns = "account-export-invalid-update";
    export_updated(
        ns,
        &stream_rule("initial-rule", "export-invalid-update.>"),
        &stream_rule("invalid-rule", "."),
        Fails(&[
            "AccountExport account-export-invalid-update/my-account-export: spec.rules: invalid",
        ]),
    );
}

#[test]
fn account_export_missing_account() {
    let ns = "account-export-missing-account";
    let exp = my_export(
        ns,
        &stream_rule("recovery-rule", "export-missing-account.>"),
    );
    run(Scenario {
        name: "account-export-missing-account",
        steps: vec![
            (
                vec![exp.clone()],
                warns(
                    &[],
                    &[
                        "AccountExport account-export-missing-account/my-account-export: spec.accountName: \
                         Account account-export-missing-account/my-account is not in the input",
                    ],
                ),
            ),
            (
                vec![exp, account(ns, "my-account", "")],
                renders(&["my-account"], &[]),
            ),
        ],
    });
}

/// What NAuth's import scenarios render: both Accounts.
const BOTH: &[&str] = &["export-account", "import-account"];

/// Two Accounts of `ns`, `import-account` and an `export-account` with no exports (NAuth's
/// import scenarios export nothing: the import stays inactive in NATS).
fn two_accounts(ns: &str) -> Vec<String> {
    vec![
        account(ns, "import-account", ""),
        account(ns, "export-account", ""),
    ]
}

/// NAuth's import scenarios, named `ns` as their namespace: `accounts` alone, then with
/// `import`, which stays inactive with `warnings`, then the `later` steps.
fn imported(
    ns: &'static str,
    accounts: Vec<String>,
    import: String,
    warnings: &'static [&'static str],
    later: Vec<(Vec<String>, Expect)>,
) {
    let mut with_import = accounts.clone();
    with_import.push(import);
    let mut steps = vec![
        (accounts, renders(BOTH, &[])),
        (with_import, warns(BOTH, warnings)),
    ];
    steps.extend(later);
    run(Scenario { name: ns, steps });
}

#[test]
fn account_import() {
    let ns = "account-import";
    imported(
        ns,
        two_accounts(ns),
        my_import(ns, ns, &stream_rule("initial-rule", "shared.>")),
        &[INACTIVE],
        vec![],
    );
}

#[test]
fn account_import_conflict() {
    let ns = "account-import-conflict";
    let a = import(
        ns,
        "my-account-import-a",
        "import-account",
        (ns, "export-account"),
        1,
        &service_rule("conflicting-a", "svc.request"),
    );
    let b = import(
        ns,
        "my-account-import-b",
        "import-account",
        (ns, "export-account"),
        2,
        &service_rule("conflicting-b", "svc.request"),
    );
    let mut first = two_accounts(ns);
    first.push(a);
    let mut both = first.clone();
    both.push(b);
    run(Scenario {
        name: "account-import-conflict",
        steps: vec![
            (
                first,
                warns(
                    BOTH,
                    &["exports no service matching subject \"svc.request\""],
                ),
            ),
            (
                both,
                warns(
                    BOTH,
                    &[
                        "AccountImport account-import-conflict/my-account-import-a: spec.rules[0]: Account \
                         account-import-conflict/export-account exports no service",
                        "AccountImport account-import-conflict/my-account-import-b: spec.rules: not adopted by \
                         Account account-import-conflict/import-account (Conflict with AccountImport my-account-import-a",
                    ],
                ),
            ),
        ],
    });
}

#[test]
fn account_import_cross_namespace() {
    let ns = "account-import-cross-namespace";
    let export_ns = "account-import-cross-namespace-export";
    imported(
        ns,
        vec![
            account(ns, "import-account", ""),
            account(export_ns, "export-account", ""),
        ],
        my_import(
            ns,
            export_ns,
            &stream_rule("cross-namespace-rule", "shared.cross.>"),
        ),
        &[INACTIVE],
        vec![],
    );
}

#[test]
fn account_import_invalid_update() {
    let ns = "account-import-invalid-update";
    let mut invalid = two_accounts(ns);
    invalid.push(my_import(
        ns,
        ns,
        &format!(
            "{}{}",
            service_rule("invalid-rule-a", "duplicate-service.*"),
            service_rule("invalid-rule-b", "duplicate-service.*")
        ),
    ));
    imported(
        ns,
        two_accounts(ns),
        my_import(ns, ns, &stream_rule("initial-rule", "shared.>")),
        &[INACTIVE],
        vec![(
            invalid,
            Fails(&[
                "AccountImport account-import-invalid-update/my-account-import: spec.rules: invalid",
            ]),
        )],
    );
}

#[test]
fn account_import_missing_account() {
    let ns = "account-import-missing-account";
    let exporter = account(ns, "export-account", "");
    let imp = my_import(ns, ns, &stream_rule("recovery-rule", "delayed-account.>"));
    run(Scenario {
        name: "account-import-missing-account",
        steps: vec![
            (vec![exporter.clone()], renders(&["export-account"], &[])),
            (
                vec![exporter.clone(), imp.clone()],
                warns(
                    &["export-account"],
                    &[
                        "AccountImport account-import-missing-account/my-account-import: spec.accountName: \
                         Account account-import-missing-account/import-account is not in the input",
                    ],
                ),
            ),
            (
                vec![exporter, imp, account(ns, "import-account", "")],
                warns(BOTH, &[INACTIVE]),
            ),
        ],
    });
}

#[test]
fn account_import_missing_export_account() {
    let ns = "account-import-missing-export-account";
    let importer = account(ns, "import-account", "");
    let imp = my_import(
        ns,
        ns,
        &stream_rule("delayed-export-rule", "export-delayed.>"),
    );
    run(Scenario {
        name: "account-import-missing-export-account",
        steps: vec![
            (vec![importer.clone()], renders(&["import-account"], &[])),
            (
                vec![importer.clone(), imp.clone()],
                warns(
                    &["import-account"],
                    &[
                        "AccountImport account-import-missing-export-account/my-account-import: spec.exportAccountRef: \
                         Account account-import-missing-export-account/export-account is not in the input",
                    ],
                ),
            ),
            (
                vec![importer, imp, account(ns, "export-account", "")],
                warns(BOTH, &[INACTIVE]),
            ),
        ],
    });
}

#[test]
fn account_import_observe() {
    let ns = "account-import-observe";
    let root = KeyPair::new_from_raw(KeyPairType::Account, [7; 32]).unwrap();
    let sign = KeyPair::new_from_raw(KeyPairType::Account, [8; 32]).unwrap();
    let id = root.public_key();
    let labelled = |name: &str, kind: &str, seed: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n\
             \x20   account.nauth.io/id: {id}\n    nauth.io/managed: 'true'\n    nauth.io/secret-type: {kind}\n\
             stringData: {{default: {seed}}}\n"
        )
    };
    let observed = format!(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata:\n  name: example-account\n  namespace: {ns}\n\
         \x20 labels: {{account.nauth.io/id: {id}, nauth.io/management-policy: observe}}\n\
         spec:\n  natsClusterRef: {{name: {}, namespace: {}}}\n",
        NATS.1, NATS.0
    );
    run(Scenario {
        name: "account-import-observe",
        steps: vec![(
            vec![
                labelled(
                    "example-account-ac-root",
                    "account-root",
                    &root.seed().unwrap(),
                ),
                labelled(
                    "example-account-ac-sign",
                    "account-sign",
                    &sign.seed().unwrap(),
                ),
                observed,
            ],
            warns(
                &[],
                &[
                    "Account account-import-observe/example-account: metadata.labels: observe mode \
                     (nauth.io/management-policy=observe): its JWT is read from NATS, not rendered",
                ],
            ),
        )],
    });
}

#[test]
fn account_import_service_local_subject() {
    let ns = "account-import-service-local-subject";
    imported(
        ns,
        two_accounts(ns),
        my_import(
            ns,
            ns,
            "  - {name: service-rule, subject: svc.request, localSubject: local.svc.request, type: service}\n",
        ),
        &["exports no service matching subject \"svc.request\""],
        vec![],
    );
}

/// An Account trusting the AccountSigningKeys `refs`, and a User signed by `user_key`.
fn signing_key_account(ns: &str, name: &str, refs: &[&str]) -> String {
    let refs: Vec<_> = refs.iter().map(|r| format!("{{name: {r}}}")).collect();
    account(
        ns,
        name,
        &format!("  signingKeyRefs: [{}]\n", refs.join(", ")),
    )
}

fn signed_user(ns: &str, name: &str, account: &str, key: &str) -> String {
    user(
        ns,
        name,
        account,
        &format!("  signingKeyRef: {{name: {key}}}\n"),
    )
}

#[test]
fn account_signing_key() {
    let ns = "account-signing-key";
    let ask = signing_key(ns, "external-auth", "secretName: external-auth-secret");
    let acc = signing_key_account(ns, "signing-key-account", &["external-auth"]);
    run(Scenario {
        name: "account-signing-key",
        steps: vec![
            (vec![ask.clone()], renders(&[], &[])),
            (
                vec![ask.clone(), acc.clone()],
                renders(&["signing-key-account"], &[]),
            ),
            (
                vec![
                    ask,
                    acc,
                    signed_user(
                        ns,
                        "signing-key-user",
                        "signing-key-account",
                        "external-auth",
                    ),
                ],
                renders(&["signing-key-account"], &["signing-key-user"]),
            ),
        ],
    });
}

#[test]
fn account_signing_key_rotation() {
    let ns = "account-signing-key-rotation";
    let (v1, v2) = ("external-auth-v1", "external-auth-v2");
    let keys =
        |names: &[&str]| -> Vec<String> { names.iter().map(|n| signing_key(ns, n, "")).collect() };
    let acc = |refs: &[&str]| signing_key_account(ns, "rotation-account", refs);
    let usr = |key: &str| signed_user(ns, "rotation-user", "rotation-account", key);
    let mut steps = vec![
        (keys(&[v1]), renders(&[], &[])),
        (
            [keys(&[v1]), vec![acc(&[v1])]].concat(),
            renders(&["rotation-account"], &[]),
        ),
    ];
    // The keys present, those the Account trusts and the User's: each step renders both.
    for (present, trusted, signer) in [
        (&[v1][..], &[v1][..], v1),
        (&[v1, v2], &[v1], v1),
        (&[v1, v2], &[v1, v2], v1),
        (&[v1, v2], &[v1, v2], v2),
        (&[v1, v2], &[v2], v2),
    ] {
        steps.push((
            [keys(present), vec![acc(trusted), usr(signer)]].concat(),
            renders(&["rotation-account"], &["rotation-user"]),
        ));
    }
    run(Scenario {
        name: "account-signing-key-rotation",
        steps,
    });
}

#[test]
fn account_signing_key_revocation() {
    let ns = "account-signing-key-revocation";
    let ask = signing_key(ns, "external-auth", "secretName: external-auth-secret");
    let usr = signed_user(ns, "revocation-user", "revocation-account", "external-auth");
    run(Scenario {
        name: "account-signing-key-revocation",
        steps: vec![
            (vec![ask.clone()], renders(&[], &[])),
            (
                vec![
                    ask.clone(),
                    signing_key_account(ns, "revocation-account", &["external-auth"]),
                ],
                renders(&["revocation-account"], &[]),
            ),
            (
                vec![
                    ask.clone(),
                    signing_key_account(ns, "revocation-account", &["external-auth"]),
                    usr.clone(),
                ],
                renders(&["revocation-account"], &["revocation-user"]),
            ),
            // NAuth: the User goes NotReady once its key is no longer trusted.
            (
                vec![ask, signing_key_account(ns, "revocation-account", &[]), usr],
                Fails(&[
                    "User account-signing-key-revocation/revocation-user: spec.signingKeyRef: AccountSigningKey \
                     account-signing-key-revocation/external-auth is not listed in spec.signingKeyRefs",
                ]),
            ),
        ],
    });
}

#[test]
fn cluster_ref_test() {
    // The URL ConfigMap of NAuth's scenario is the controller's concern; the Secret keys are not
    // `default`, as there.
    let ns = "cluster-ref-test";
    let mut docs = cluster(ns, "test-cluster", "seed", "user.creds");
    docs.push(account_in(
        ns,
        "cluster-ref-account",
        (ns, "test-cluster"),
        "  displayName: Cluster Ref Test Account\n\
         \x20 accountLimits: {conn: 50, exports: 5, imports: 5}\n\
         \x20 jetStreamLimits: {streams: 3, consumer: 10, diskStorage: 536870912, memStorage: 536870912}\n\
         \x20 natsLimits: {subs: 50, data: 512, payload: 256}\n",
    ));
    docs.push(user(
        ns,
        "cluster-ref-user",
        "cluster-ref-account",
        "  displayName: Cluster Ref Test User\n\
         \x20 permissions:\n\
         \x20   pub: {allow: ['events.>', 'requests.>'], deny: ['events.internal.>']}\n\
         \x20   sub: {allow: ['events.>', 'responses.>']}\n\
         \x20 natsLimits: {subs: 10, payload: 128}\n",
    ));
    run(Scenario {
        name: "cluster-ref-test",
        steps: vec![(
            docs,
            renders(&["cluster-ref-account"], &["cluster-ref-user"]),
        )],
    });
}

#[test]
fn natscluster_deletion_bound_account() {
    // Deleting the cluster is blocked by the controller; the render sees the bound Account.
    let ns = "natscluster-deletion-bound-account";
    let mut docs = cluster(ns, "deletion-test-cluster", "seed", "user.creds");
    docs.push(account_in(
        ns,
        "bound-account",
        (ns, "deletion-test-cluster"),
        "  displayName: Bound Account\n  accountLimits: {conn: 10}\n",
    ));
    run(Scenario {
        name: "natscluster-deletion-bound-account",
        steps: vec![(docs, renders(&["bound-account"], &[]))],
    });
}

/// Runs `render` on `docs` (plus the `nats/local-nats` cluster) with `args` and `env`.
fn render_with(docs: &[String], args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seed-root");
    fs::write(&root, "e2e scenarios share this seed root of 32+ bytes").unwrap();
    let mut all = cluster(NATS.0, NATS.1, "default", "default");
    all.extend(docs.iter().cloned());
    let tree = dir.path().join("objects.yaml");
    fs::write(&tree, all.join("---\n")).unwrap();
    let lock = dir.path().join("nauth.lock");
    let out = command()
        .args(["render", &tree.display().to_string(), "--seed-root"])
        .arg(&root)
        .arg("--lock")
        .arg(&lock)
        .args(["--issued-at", "1800000000"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    if !out.status.success() {
        assert!(!lock.exists(), "nothing written on failure");
    }
    out
}

#[test]
fn strict_turns_every_warning_into_an_error_for_ci() {
    let ns = "strict";
    let mut docs = two_accounts(ns);
    docs.push(import(
        ns,
        "i",
        "import-account",
        (ns, "export-account"),
        1,
        &stream_rule("r", "shared.>"),
    ));
    let lenient = render_with(&docs, &[], &[]);
    assert!(lenient.status.success(), "{}", text(&lenient.stderr));
    assert!(text(&lenient.stderr).contains(INACTIVE));
    let strict = render_with(&docs, &["--strict"], &[]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    assert_eq!(strict.stdout, b"");
    let stderr = text(&strict.stderr);
    assert!(
        stderr.contains("(a warning, an error with --strict)"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[test]
fn nats_cluster_ref_is_strict_unless_nats_cluster_ref_optional() {
    let ns = "cluster-ref";
    let mut docs = cluster(ns, "other", "default", "default");
    docs.push(account_in(ns, "elsewhere", (ns, "other"), ""));
    docs.push(user(ns, "u", "elsewhere", ""));
    let operator = ("NATS_CLUSTER_REF", "nats/local-nats");
    let required = render_with(&docs, &[], &[operator]);
    assert_eq!(required.status.code(), Some(1));
    assert!(
        text(&required.stderr).contains(
            "Account cluster-ref/elsewhere: spec.natsClusterRef: account cluster reference \
             cluster-ref/other does not match required operator cluster nats/local-nats"
        ),
        "{}",
        text(&required.stderr)
    );
    for optional in ["true", "1", "T"] {
        let out = render_with(
            &docs,
            &[],
            &[operator, ("NATS_CLUSTER_REF_OPTIONAL", optional)],
        );
        assert!(out.status.success(), "{optional}: {}", text(&out.stderr));
    }
    let flag = render_with(&docs, &["--nats-cluster-optional"], &[operator]);
    assert!(flag.status.success(), "{}", text(&flag.stderr));
    let off = render_with(
        &docs,
        &[],
        &[operator, ("NATS_CLUSTER_REF_OPTIONAL", "false")],
    );
    assert_eq!(off.status.code(), Some(1));
    let bad = render_with(
        &docs,
        &[],
        &[operator, ("NATS_CLUSTER_REF_OPTIONAL", "yes")],
    );
    let junk = render_with(&docs, &[], &[("NATS_CLUSTER_REF", "junk")]);
    assert_eq!(junk.status.code(), Some(1), "{}", text(&junk.stderr));
    // Go's ParseBool refuses it too; a bad value is invalid input (1), as for NATS_CLUSTER_REF.
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains(
            "--nats-cluster-optional (env NATS_CLUSTER_REF_OPTIONAL) expected true or false, \
             got \"yes\""
        ),
        "{}",
        text(&bad.stderr)
    );
}
