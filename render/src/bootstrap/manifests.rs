//! The Kubernetes objects that hand a trust root to the cluster: the operator signing key and
//! system user creds Secrets, and the NatsCluster that names them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::{NatsCluster, NatsClusterSpec, SecretKeyRef};

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
    let secret = Secret {
        metadata: meta(namespace, name),
        type_: Some("Opaque".to_string()),
        string_data: Some(BTreeMap::from([(
            SECRET_KEY.to_string(),
            value.to_string(),
        )])),
        ..Secret::default()
    };
    serde_saphyr::to_string(&secret).expect("Secrets serialize to YAML")
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
