//! The only randomness of the product: new nkeys, made when an object has none yet, stored in
//! NAuth's Secrets (names and labels) before render is asked to sign with them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use nauth_jwt::creds::format_user_creds;
use nkeys::KeyPair;

use crate::writes::MANAGED_LABEL;

/// Label naming the Account a key Secret belongs to.
pub const ACCOUNT_NAME_LABEL: &str = "account.nauth.io/name";
pub use nauth_render::api::SECRET_TYPE_LABEL;

/// A new account key pair (root or signing).
pub fn new_account_key() -> KeyPair {
    KeyPair::new_account()
}

/// A new user key pair.
pub fn new_user_key() -> KeyPair {
    KeyPair::new_user()
}

/// NAuth's Secret holding an account seed: `<account>-ac-root-<h>` (`account-root`) or
/// `<account>-ac-sign-<h>` (`account-sign`), labelled with the account's ID and name.
pub fn account_secret(
    namespace: &str,
    account: &str,
    account_id: &str,
    root: bool,
    key: &KeyPair,
) -> Secret {
    let kind = if root { "account-root" } else { "account-sign" };
    let labels = BTreeMap::from([
        (
            nauth_render::api::ACCOUNT_ID_LABEL.to_string(),
            account_id.to_string(),
        ),
        (ACCOUNT_NAME_LABEL.to_string(), account.to_string()),
        (SECRET_TYPE_LABEL.to_string(), kind.to_string()),
        (MANAGED_LABEL.to_string(), "true".to_string()),
    ]);
    let name = nauth_render::output::account_key_secret_name(account, account_id, root);
    seed_secret(namespace, name, labels, key)
}

/// A managed AccountSigningKey's Secret: the seed under `default`, `nauth.io/managed: "true"`
/// (the caller adds the controller ownerReference).
pub fn signing_key_secret(namespace: &str, name: &str, key: &KeyPair) -> Secret {
    let labels = BTreeMap::from([(MANAGED_LABEL.to_string(), "true".to_string())]);
    seed_secret(namespace, name.to_string(), labels, key)
}

/// A Secret `namespace/name` with `labels` holding `key`'s seed under `default`, as NAuth
/// stores every key it generates.
fn seed_secret(
    namespace: &str,
    name: String,
    labels: BTreeMap<String, String>,
    key: &KeyPair,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([(
            "default".to_string(),
            key.seed().expect("a generated key has a seed"),
        )])),
        ..Secret::default()
    }
}

/// The key source render reads a User's key from (its creds Secret `<user>-nats-user-creds`),
/// holding a freshly generated key and no JWT yet: render signs the User's first JWT with it,
/// and the controller then writes the real creds Secret. Never written to the cluster.
pub fn pending_user_creds(namespace: &str, user: &str, key: &KeyPair) -> Secret {
    let seed = key.seed().expect("a generated key has a seed");
    Secret {
        metadata: ObjectMeta {
            name: Some(nauth_render::output::user_secret_name(user)),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([(
            "user.creds".to_string(),
            format_user_creds("pending", &seed),
        )])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nauth_render::input::Object;
    use nauth_render::keys::KeySources;

    #[test]
    fn account_secrets_have_nauths_names_and_labels() {
        // NAuth: hex.EncodeToString(md5.Sum([]byte(id)))[:6]; MD5("") is d41d8c….
        let key = new_account_key();
        let s = account_secret("ns", "a", "", false, &key);
        assert_eq!(s.metadata.name.as_deref(), Some("a-ac-sign-d41d8c"));
        let labels = s.metadata.labels.unwrap();
        assert_eq!(labels["nauth.io/secret-type"], "account-sign");
        assert_eq!(labels["nauth.io/managed"], "true");
        assert_eq!(labels["account.nauth.io/name"], "a");
    }

    #[test]
    fn render_takes_a_pending_user_key_as_the_users_key() {
        let key = new_user_key();
        let secret = Object {
            file: "cluster".into(),
            resource: pending_user_creds("ns", "u", &key),
        };
        let user: nauth_render::api::User = serde_json::from_value(serde_json::json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "User",
            "metadata": {"name": "u", "namespace": "ns"},
            "spec": {"accountName": "a"}
        }))
        .unwrap();
        let user = Object {
            file: "cluster".into(),
            resource: user,
        };
        let secrets = [secret];
        let sources = KeySources {
            secrets: &secrets,
            seed_root: None,
        };
        let found = sources.user(&user).ok().unwrap();
        assert_eq!(found.key.public_key(), key.public_key());
    }
}
