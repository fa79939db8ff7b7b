//! The Kubernetes objects that hand a trust root to the cluster: the operator signing key and
//! system user creds Secrets, and the NatsCluster that names them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::{
    ACCOUNT_ID_LABEL, Account, AccountSpec, NatsCluster, NatsClusterSpec, SECRET_TYPE_LABEL,
    SecretKeyRef, User, UserSpec,
};
use crate::output::user_secret_name;

/// Secret with the operator signing seed, key [`SECRET_KEY`].
pub const OPERATOR_SIGNING_KEY_SECRET: &str = "operator-signing-key";
/// Secret with the system user's creds, key [`SECRET_KEY`].
pub const SYSTEM_USER_CREDS_SECRET: &str = "system-account-user-creds";
/// The data key NAuth reads when a reference names none.
pub const SECRET_KEY: &str = "default";

fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        ..ObjectMeta::default()
    }
}

/// A Secret holding `value` under [`SECRET_KEY`] in `stringData` (readable before encryption,
/// for example with sops).
pub fn secret(namespace: &str, name: &str, value: &str) -> String {
    let secret = secret_object(namespace, name, SECRET_KEY, value);
    serde_saphyr::to_string(&secret).expect("Secrets serialize to YAML")
}

fn secret_object(namespace: &str, name: &str, key: &str, value: &str) -> Secret {
    Secret {
        metadata: meta(namespace, name),
        type_: Some("Opaque".to_string()),
        string_data: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
        ..Secret::default()
    }
}

/// An account key Secret as NAuth writes it: its name, labels and the seed under `default`.
pub fn account_key_secret(
    namespace: &str,
    account: &str,
    account_id: &str,
    root: bool,
    seed: &str,
) -> String {
    let kind = if root { "account-root" } else { "account-sign" };
    let mut secret = secret_object(
        namespace,
        &crate::output::account_key_secret_name(account, account_id, root),
        SECRET_KEY,
        seed,
    );
    secret.metadata.labels = Some(labels(&[
        (ACCOUNT_ID_LABEL, account_id),
        ("account.nauth.io/name", account),
        (SECRET_TYPE_LABEL, kind),
        ("nauth.io/managed", "true"),
    ]));
    serde_saphyr::to_string(&secret).expect("Secrets serialize to YAML")
}

/// A User's creds Secret as NAuth writes it (`<user>-nats-user-creds`, key `user.creds`).
pub fn user_creds_secret(namespace: &str, user: &str, creds: &str) -> String {
    let mut secret = secret_object(namespace, &user_secret_name(user), "user.creds", creds);
    secret.metadata.labels = Some(labels(&[
        (SECRET_TYPE_LABEL, "user-creds"),
        ("nauth.io/managed", "true"),
    ]));
    serde_saphyr::to_string(&secret).expect("Secrets serialize to YAML")
}

/// The Account `namespace/name`, labelled with its ID so render keeps it.
pub fn account(namespace: &str, name: &str, account_id: &str, spec: AccountSpec) -> String {
    let mut account = Account::new(name, spec);
    account.metadata.namespace = Some(namespace.to_string());
    account.metadata.labels = Some(labels(&[(ACCOUNT_ID_LABEL, account_id)]));
    serde_saphyr::to_string(&account).expect("Accounts serialize to YAML")
}

/// The User `namespace/name`.
pub fn user(namespace: &str, name: &str, spec: UserSpec) -> String {
    let mut user = User::new(name, spec);
    user.metadata.namespace = Some(namespace.to_string());
    serde_saphyr::to_string(&user).expect("Users serialize to YAML")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The NatsCluster `namespace/name` at `url`, referring to the two Secrets above.
pub fn nats_cluster(namespace: &str, name: &str, url: &str) -> String {
    let key_ref = |name: &str| SecretKeyRef {
        name: name.to_string(),
        key: Some(SECRET_KEY.to_string()),
    };
    let mut cluster = NatsCluster::new(
        name,
        NatsClusterSpec {
            url: Some(url.to_string()),
            url_from: None,
            operator_signing_key_secret_ref: key_ref(OPERATOR_SIGNING_KEY_SECRET),
            system_account_user_creds_secret_ref: key_ref(SYSTEM_USER_CREDS_SECRET),
        },
    );
    cluster.metadata.namespace = Some(namespace.to_string());
    serde_saphyr::to_string(&cluster).expect("NatsClusters serialize to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Contents, Inputs};

    #[test]
    fn the_render_input_reader_accepts_them() {
        let text = format!(
            "{}---\n{}",
            secret("nats", OPERATOR_SIGNING_KEY_SECRET, "SOXYZ"),
            nats_cluster("nats", "nats", "nats://nats.nats.svc:4222")
        );
        let mut inputs = Inputs::default();
        let problems = inputs.add_yaml("b.yaml", &text, Contents::Everything);
        assert!(problems.is_empty(), "{problems:?}");
        let cluster = &inputs.clusters[0];
        assert_eq!(cluster.key(), "nats/nats");
        let spec = &cluster.resource.spec;
        assert_eq!(spec.url.as_deref(), Some("nats://nats.nats.svc:4222"));
        assert_eq!(
            spec.operator_signing_key_secret_ref.name,
            OPERATOR_SIGNING_KEY_SECRET
        );
        assert_eq!(inputs.secrets[0].key(), "nats/operator-signing-key");
        assert!(!text.contains("status"), "{text}");
    }
}
