//! `bootstrap`: the trust root a cluster starts from (operator, system account, system user)
//! and the files that hand it over: the nats-server configuration, Kubernetes Secrets and a
//! NatsCluster, and the seeds that belong offline. It replaces NAuth's nsc-and-7z scripts.
//!
//! Pure: new keys, the clock and the nsc store's files come from the caller.

mod manifests;
pub mod nsc;
mod nsc_specs;
mod operator;
mod server_config;

use nkeys::KeyPair;

use crate::api::{AccountSpec, UserSpec};
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
    /// Accounts imported from an nsc store, with their users.
    pub accounts: Vec<ImportedAccount>,
    /// What an import left out, and why (no secrets).
    pub skipped: Vec<String>,
}

/// An nsc account as an Account with NAuth's key Secrets, keeping its ID and keys.
pub struct ImportedAccount {
    /// The nsc account name, also the Account's name.
    pub name: String,
    /// The account ID.
    pub id: String,
    /// The Account's spec.
    pub spec: AccountSpec,
    /// Seed of the account's root key. Secret.
    pub root_seed: String,
    /// Seed of its signing key, the implicit signing key of the Account. Secret.
    pub signing_seed: String,
    /// Its users.
    pub users: Vec<ImportedUser>,
}

/// An nsc user as a User with a creds Secret holding its own seed, so it keeps its key.
pub struct ImportedUser {
    /// The nsc user name, also the User's name.
    pub name: String,
    /// The User's spec.
    pub spec: UserSpec,
    /// The nsc JWT and the user's seed as a creds file. Secret.
    pub creds: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("operator", &self.operator.data.sub)
            .field("system_account", &self.operator.nats.system_account)
            .field("offline_seeds", &self.offline_seeds)
            .field(
                "accounts",
                &self.accounts.iter().map(|a| &a.id).collect::<Vec<_>>(),
            )
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
    if !identity.accounts.is_empty() {
        out.extend(imported_files(&identity.accounts, ns));
    }
    Ok(out)
}

/// `accounts.yaml` (Accounts and Users), `account-keys.yaml` and `user-creds.yaml` (seeds).
fn imported_files(accounts: &[ImportedAccount], ns: &str) -> [OutputFile; 3] {
    let join = |docs: Vec<String>| docs.join("---\n");
    let mut objects = Vec::new();
    let mut keys = Vec::new();
    let mut creds = Vec::new();
    for a in accounts {
        objects.push(manifests::account(ns, &a.name, &a.id, a.spec.clone()));
        for (root, seed) in [(true, &a.root_seed), (false, &a.signing_seed)] {
            keys.push(manifests::account_key_secret(
                ns, &a.name, &a.id, root, seed,
            ));
        }
        for u in &a.users {
            objects.push(manifests::user(ns, &u.name, u.spec.clone()));
            creds.push(manifests::user_creds_secret(ns, &u.name, &u.creds));
        }
    }
    let file = |path: &str, docs, secret| OutputFile {
        path: path.to_string(),
        contents: join(docs),
        secret,
    };
    [
        file("accounts.yaml", objects, false),
        file("account-keys.yaml", keys, true),
        file("user-creds.yaml", creds, true),
    ]
}
