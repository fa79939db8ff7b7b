use nkeys::{KeyPair, KeyPairType};

use super::*;
use crate::input::{Contents, Inputs};

fn key(kind: KeyPairType, byte: u8) -> KeyPair {
    KeyPair::new_from_raw(kind, [byte; 32]).unwrap()
}

fn secret(name: &str, labels: &str, data_key: &str, seed: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: team, labels: {{{labels}}}}}\n\
         stringData: {{{data_key}: {seed}}}\n---\n"
    )
}

fn load(text: &str) -> Inputs {
    let mut inputs = Inputs::default();
    let problems = inputs.add_yaml("keys.yaml", text, Contents::Everything);
    assert!(problems.is_empty(), "{problems:?}");
    inputs
}

const ACCOUNT: &str =
    "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: orders, namespace: team}\n";

fn root() -> SeedRoot {
    SeedRoot::new(&[7u8; 40]).unwrap()
}

#[test]
fn account_keys_by_id_label_then_name_label_then_legacy_names() {
    let (r, s) = (key(KeyPairType::Account, 1), key(KeyPairType::Account, 2));
    let (rs, ss) = (r.seed().unwrap(), s.seed().unwrap());
    let managed = "nauth.io/managed: 'true'";
    let layouts = [
        format!(
            "{}{}",
            secret(
                "x1",
                &format!(
                    "account.nauth.io/id: {}, nauth.io/secret-type: account-root, {managed}",
                    r.public_key()
                ),
                "default",
                &rs
            ),
            secret(
                "x2",
                &format!(
                    "account.nauth.io/id: {}, nauth.io/secret-type: account-sign, {managed}",
                    r.public_key()
                ),
                "default",
                &ss
            ),
        ),
        format!(
            "{}{}",
            secret(
                "y1",
                &format!(
                    "account.nauth.io/name: orders, nauth.io/secret-type: account-root, {managed}"
                ),
                "default",
                &rs
            ),
            secret(
                "y2",
                &format!(
                    "account.nauth.io/name: orders, nauth.io/secret-type: account-sign, {managed}"
                ),
                "default",
                &ss
            ),
        ),
        format!(
            "{}{}",
            secret("orders-ac-root", "", "default", &rs),
            secret("orders-ac-sign", "", "default", &ss)
        ),
    ];
    for layout in layouts {
        let inputs = load(&format!("{layout}{ACCOUNT}"));
        let sources = KeySources {
            secrets: &inputs.secrets,
            seed_root: None,
        };
        let keys = sources
            .account(&inputs.accounts[0], Some(&r.public_key()))
            .unwrap();
        assert_eq!(keys.root.public_key(), r.public_key());
        assert_eq!(keys.sign.public_key(), s.public_key());
    }
}

#[test]
fn a_lost_signing_key_secret_is_named_with_the_labels_of_its_replacement() {
    let r = key(KeyPairType::Account, 1);
    let id = r.public_key();
    let labels = format!(
        "account.nauth.io/id: {id}, nauth.io/secret-type: account-root, nauth.io/managed: 'true'"
    );
    let inputs = load(&format!(
        "{}{ACCOUNT}",
        secret("x1", &labels, "default", &r.seed().unwrap())
    ));
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let Err(e) = sources.account(&inputs.accounts[0], Some(&id)) else {
        panic!("keys without a signing key")
    };
    let wanted = format!(
        "no Secret labelled account.nauth.io/id={id} has nauth.io/secret-type=account-sign: \
         restore the lost Secret, or add one holding a new account seed (key `default`), labelled \
         account.nauth.io/id={id}, nauth.io/secret-type=account-sign and nauth.io/managed=true"
    );
    assert!(e.message.starts_with(&wanted), "{}", e.message);
    assert!(!e.message.contains(&r.seed().unwrap()));
}

#[test]
fn seed_root_is_the_fallback_and_generation_rotates() {
    let inputs = load(&format!(
        "{ACCOUNT}---\n{}",
        ACCOUNT.replace("orders,", "billing,").replace(
            "namespace: team}",
            "namespace: team, annotations: {nauth.io/key-generation: '1'}}"
        )
    ));
    let root = root();
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    let orders = sources.account(&inputs.accounts[0], None).unwrap();
    assert_eq!(
        orders.root.public_key(),
        root.derive(Role::AccountRoot, "team", "orders", 0)
            .public_key()
    );
    assert_eq!(
        orders.sign.public_key(),
        root.derive(Role::AccountSign, "team", "orders", 0)
            .public_key()
    );
    let billing = sources.account(&inputs.accounts[1], None).unwrap();
    assert_eq!(
        billing.root.public_key(),
        root.derive(Role::AccountRoot, "team", "billing", 1)
            .public_key()
    );
}

#[test]
fn missing_and_mismatched_keys_are_explained_without_seeds() {
    let inputs = load(ACCOUNT);
    let none = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let err = none.account(&inputs.accounts[0], None).err().unwrap();
    assert_eq!(err.kind, KeyErrorKind::Missing);
    assert_eq!(
        err.to_string(),
        "no keys for this account: no Secret labelled account.nauth.io/name=orders and no \
         Secrets named orders-ac-root/orders-ac-sign; no --seed-root to derive it from"
    );
    // The CLI's remedy is apart, so that a caller without a seed root (the controller) can
    // leave it out.
    assert!(!err.message.contains("--seed-root"), "{}", err.message);
    let root = root();
    let derived = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    let other = key(KeyPairType::Account, 9).public_key();
    let err = derived
        .account(&inputs.accounts[0], Some(&other))
        .err()
        .unwrap();
    assert_eq!(err.kind, KeyErrorKind::Broken);
    let err = err.message;
    assert!(
        err.contains("refusing to change an account's identity"),
        "{err}"
    );

    let user_seed = key(KeyPairType::User, 3).seed().unwrap();
    let inputs = load(&format!(
        "{}{}{ACCOUNT}",
        secret("orders-ac-root", "", "default", &user_seed),
        secret("orders-ac-sign", "", "default", &user_seed)
    ));
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let err = sources.account(&inputs.accounts[0], None).err().unwrap();
    assert_eq!(err.kind, KeyErrorKind::Broken);
    let err = err.message;
    assert_eq!(
        err,
        "Secret team/orders-ac-root key default holds a user seed, expected an account seed"
    );
    assert!(!err.contains(&user_seed));
}

#[test]
fn operator_signing_key_comes_from_the_cluster_secret_and_key() {
    let op = key(KeyPairType::Operator, 4);
    let inputs = load(&format!(
        "{}apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {{name: nats, namespace: team}}\n\
         spec: {{url: 'nats://x', operatorSigningKeySecretRef: {{name: op, key: seed}}, \
         systemAccountUserCredsSecretRef: {{name: sys}}}}\n",
        secret("op", "", "seed", &op.seed().unwrap())
    ));
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let found = sources.operator_signing_key(&inputs.clusters[0]).unwrap();
    assert_eq!(found.public_key(), op.public_key());
}

#[test]
fn user_key_from_existing_creds_then_seed_root() {
    let user = key(KeyPairType::User, 5);
    let creds = jwt::creds::format_user_creds("e30.e30.sig", &user.seed().unwrap());
    let doc = "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: alice, namespace: team}\nspec: {accountName: orders}\n";
    let secret_doc = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: alice-nats-user-creds, namespace: team}}\nstringData:\n  user.creds: |\n{}---\n",
        creds
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    let inputs = load(&format!("{secret_doc}{doc}"));
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    assert_eq!(
        sources.user(&inputs.users[0]).unwrap().key.public_key(),
        user.public_key()
    );

    let inputs = load(doc);
    let root = root();
    let sources = KeySources {
        secrets: &inputs.secrets,
        seed_root: Some(&root),
    };
    assert_eq!(
        sources.user(&inputs.users[0]).unwrap().key.public_key(),
        root.derive(Role::User, "team", "alice", 0).public_key()
    );
}

/// The creds Secret of User team/alice holding `key`, then the User with `annotations`.
fn user_with_creds(key: &KeyPair, annotations: &str) -> Inputs {
    let creds = jwt::creds::format_user_creds("e30.e30.sig", &key.seed().unwrap());
    let indented: String = creds.lines().map(|l| format!("    {l}\n")).collect();
    load(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: alice-nats-user-creds, namespace: team}}\n\
         stringData:\n  user.creds: |\n{indented}---\n\
         apiVersion: nauth.io/v1alpha1\nkind: User\n\
         metadata: {{name: alice, namespace: team, annotations: {{{annotations}}}}}\n\
         spec: {{accountName: orders}}\n"
    ))
}

#[test]
fn a_raised_key_generation_rotates_a_user_key_its_creds_secret_holds() {
    let root = root();
    let old = root.derive(Role::User, "team", "alice", 0);
    let new = root.derive(Role::User, "team", "alice", 1);
    let sources = |inputs: &Inputs, seed_root| {
        KeySources {
            secrets: &inputs.secrets,
            seed_root,
        }
        .user(&inputs.users[0])
    };
    let raised = user_with_creds(&old, "nauth.io/key-generation: '1'");
    let rotated = sources(&raised, Some(&root)).unwrap();
    assert_eq!(rotated.key.public_key(), new.public_key());
    assert_eq!(rotated.rotated_from, Some(old.public_key()));

    let done = user_with_creds(&new, "nauth.io/key-generation: '1'");
    let kept = sources(&done, Some(&root)).unwrap();
    assert_eq!(kept.key.public_key(), new.public_key());
    assert_eq!(kept.rotated_from, None);

    let error = sources(&raised, None).err().unwrap();
    let (message, shown) = (&error.message, error.to_string());
    assert!(
        message.contains("nauth.io/key-generation is 1") && !message.contains("--seed-root"),
        "{message}"
    );
    assert!(shown.ends_with("; or pass --seed-root"), "{shown}");

    // Without the annotation the Secret wins: a NAuth cluster's users keep their keys.
    let migrated = user_with_creds(&key(KeyPairType::User, 5), "");
    let kept = sources(&migrated, Some(&root)).unwrap();
    assert_eq!(
        kept.key.public_key(),
        key(KeyPairType::User, 5).public_key()
    );
    assert_eq!(kept.rotated_from, None);
}

#[test]
fn a_key_no_source_holds_is_missing_and_a_bad_one_is_broken_or_someone_elses() {
    let user = "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: alice, namespace: team}\nspec: {accountName: orders}\n";
    let ask = "apiVersion: nauth.io/v1alpha1\nkind: AccountSigningKey\nmetadata: {name: sk, namespace: team}\nspec: {}\n";
    let none = |inputs: &Inputs| -> KeyErrorKind {
        let sources = KeySources {
            secrets: &inputs.secrets,
            seed_root: None,
        };
        let user = sources.user(&inputs.users[0]).err().unwrap();
        let ask = sources.signing_key(&inputs.signing_keys[0]).err().unwrap();
        assert_eq!(user.kind, ask.kind, "{user} / {ask}");
        user.kind
    };
    // Nothing at all: a controller may generate both keys.
    let empty = load(&format!("{user}---\n{ask}"));
    assert_eq!(none(&empty), KeyErrorKind::Missing);
    assert!(
        KeySources {
            secrets: &empty.secrets,
            seed_root: None
        }
        .user(&empty.users[0])
        .err()
        .unwrap()
        .is_missing()
    );
    // Secrets of the right names holding nothing usable: stop, generate nothing.
    let seed = key(KeyPairType::Account, 1).seed().unwrap();
    let broken = load(&format!(
        "{}{}{user}---\n{ask}",
        secret("alice-nats-user-creds", "", "other", "x"),
        secret("sk-ac-sign", "", "default", &seed),
    ));
    let sources = KeySources {
        secrets: &broken.secrets,
        seed_root: None,
    };
    let user_error = sources.user(&broken.users[0]).err().unwrap();
    assert_eq!(user_error.kind, KeyErrorKind::Broken, "{user_error}");
    assert_eq!(user_error.code(), crate::diagnostic::Code::InvalidKey);
    // The signing key's Secret exists but has no ownerReference to it: NAuth's Conflict.
    let ask_error = sources.signing_key(&broken.signing_keys[0]).err().unwrap();
    assert_eq!(ask_error.kind, KeyErrorKind::Conflict, "{ask_error}");
    assert_eq!(ask_error.code(), crate::diagnostic::Code::Conflict);
}
