//! `bootstrap`: the trust root a cluster starts from (operator, system account, system user)
//! and the files that hand it over: the nats-server configuration, Kubernetes Secrets and a
//! NatsCluster, and the seeds that belong offline. It replaces NAuth's nsc-and-7z scripts.
//!
//! Pure: new keys, the clock and the nsc store's files come from the caller.

mod manifests;
pub mod nsc;
mod operator;
mod server_config;

use nkeys::KeyPair;

use crate::jwt::{Claims, Operator};
pub use manifests::{
    OPERATOR_SIGNING_KEY_SECRET, SECRET_KEY, SYSTEM_USER_CREDS_SECRET, nats_cluster, secret,
};
pub use operator::{NewKeys, SYSTEM_ACCOUNT_NAME, SYSTEM_USER_NAME, create};
pub use server_config::ServerConfig;

/// A trust root, new or imported: what the cluster needs and what stays offline.
pub struct Identity {
    /// The operator JWT.
    pub operator_jwt: String,
    /// Its claims.
    pub operator: Claims<Operator>,
    /// Seed of the operator signing key the cluster signs accounts with. Secret.
    pub operator_signing_key: String,
    /// The system account JWT.
    pub system_account_jwt: String,
    /// Creds of a system user, for pushing JWTs to the resolver. Secret.
    pub system_user_creds: String,
    /// Seeds the cluster does not need: operator identity, system account keys. Secret.
    pub offline_seeds: Vec<OfflineSeed>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("operator", &self.operator.data.sub)
            .field("system_account", &self.operator.nats.system_account)
            .field("offline_seeds", &self.offline_seeds)
            .finish_non_exhaustive()
    }
}

/// A seed to keep offline, with the role and public key that name its file.
pub struct OfflineSeed {
    /// `operator`, `system-account`, `system-account-signing-key`.
    pub role: &'static str,
    /// Its public key.
    pub public_key: String,
    /// The seed. Secret.
    pub seed: String,
}

impl OfflineSeed {
    fn new(role: &'static str, key: &KeyPair, seed: String) -> Self {
        OfflineSeed {
            role,
            public_key: key.public_key(),
            seed,
        }
    }

    /// `<role>-<public key>.nk`, unique even when a store holds several keys of a role.
    pub fn file_name(&self) -> String {
        format!("{}-{}.nk", self.role, self.public_key)
    }
}

impl std::fmt::Debug for OfflineSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.role, self.public_key)
    }
}

/// Where the cluster lives and how its servers store JWTs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Namespace of the Secrets and the NatsCluster.
    pub namespace: String,
    /// Name of the NatsCluster.
    pub cluster_name: String,
    /// NATS URL the NatsCluster points at.
    pub url: String,
    /// The resolver's JWT directory in `nats-server.conf`.
    pub resolver_dir: String,
}

/// One file of the bootstrap output.
pub struct OutputFile {
    /// Path relative to the output directory.
    pub path: String,
    /// Contents.
    pub contents: String,
    /// Holds a seed: written with mode 0600.
    pub secret: bool,
}

/// Text of `keys/README`.
const KEYS_README: &str = "These seeds are the operator identity and the system account keys. \
The cluster does not need them: move them offline (an encrypted backup, a hardware token) and \
delete them here. They are needed again only to re-sign the operator JWT or the system account \
(signing-key rotation).\n";

/// Every file to write for `identity`, in a fixed order.
pub fn files(identity: &Identity, settings: &Settings) -> Result<Vec<OutputFile>, String> {
    let system_account = &identity.operator.nats.system_account;
    let config = ServerConfig {
        operator_jwt: &identity.operator_jwt,
        system_account,
        system_account_jwt: &identity.system_account_jwt,
        resolver_dir: &settings.resolver_dir,
    }
    .render()?;
    let ns = &settings.namespace;
    let file = |path: &str, contents: String, secret: bool| OutputFile {
        path: path.to_string(),
        contents,
        secret,
    };
    let mut out = vec![
        file(
            "operator.jwt",
            format!("{}\n", identity.operator_jwt),
            false,
        ),
        file(
            "system-account.jwt",
            format!("{}\n", identity.system_account_jwt),
            false,
        ),
        file("nats-server.conf", config, false),
        file(
            "nats-cluster.yaml",
            nats_cluster(ns, &settings.cluster_name, &settings.url),
            false,
        ),
        file(
            "operator-signing-key.yaml",
            secret(
                ns,
                OPERATOR_SIGNING_KEY_SECRET,
                &identity.operator_signing_key,
            ),
            true,
        ),
        file(
            "system-account-user-creds.yaml",
            secret(ns, SYSTEM_USER_CREDS_SECRET, &identity.system_user_creds),
            true,
        ),
        file("keys/README", KEYS_README.to_string(), false),
    ];
    out.extend(identity.offline_seeds.iter().map(|s| OutputFile {
        path: format!("keys/{}", s.file_name()),
        contents: format!("{}\n", s.seed),
        secret: true,
    }));
    Ok(out)
}
