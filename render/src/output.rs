//! The Kubernetes objects a render produces, with predictable names and stable bytes.
//!
//! Per User a Secret `<user>-nats-user-creds` (key `user.creds`, NAuth's labels); per managed
//! Account a ConfigMap `<account>-nats-account-jwt` holding the JWT and its decoded claims, so a
//! GitOps diff shows what changed even where Secrets are masked; per Account the lock keeps as
//! removed, a ConfigMap `<account>-nats-account-deletion` holding the operator-signed request
//! that deletes it from the resolver. Annotations carry the public facts (public key, issuer,
//! claims hash, iat), never seeds.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api;
use crate::lock::Lock;
use crate::render::{Rendered, RenderedAccount, RenderedDeletion, RenderedUser};

/// Annotation: the JWT subject (account ID or user public key).
pub const PUBLIC_KEY_ANNOTATION: &str = "nauth.io/public-key";
/// Annotation: the public key that signed the JWT.
pub const ISSUER_ANNOTATION: &str = "nauth.io/issuer";
/// Annotation: SHA-256 of the claims without `iat`/`jti` (NAuth's `claimsHash`).
pub const CLAIMS_HASH_ANNOTATION: &str = "nauth.io/claims-hash";
/// Annotation: the JWT's `iat`, unix seconds.
pub const ISSUED_AT_ANNOTATION: &str = "nauth.io/issued-at";

/// One output object.
#[derive(Clone)]
pub struct Manifest {
    /// `ConfigMap` or `Secret`.
    pub kind: &'static str,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The object as a YAML document (no leading `---`).
    pub yaml: String,
}

impl Manifest {
    /// A stable relative path for `--out-dir`: `<namespace>/<kind>-<name>.yaml`.
    pub fn path(&self) -> String {
        path(self.kind, &self.namespace, &self.name)
    }
}

fn path(kind: &str, namespace: &str, name: &str) -> String {
    format!("{namespace}/{}-{name}.yaml", kind.to_ascii_lowercase())
}

/// What an Account's name is followed by in its JWT ConfigMap's (NAuth's name).
const ACCOUNT_CONFIG_MAP_SUFFIX: &str = "-nats-account-jwt";

/// The name of an Account's JWT ConfigMap.
pub fn account_config_map_name(account: &str) -> String {
    format!("{account}{ACCOUNT_CONFIG_MAP_SUFFIX}")
}

/// What a removed Account's name is followed by in its deletion request ConfigMap's.
const ACCOUNT_DELETION_SUFFIX: &str = "-nats-account-deletion";

/// The name of a removed Account's deletion request ConfigMap.
pub fn account_deletion_config_map_name(account: &str) -> String {
    format!("{account}{ACCOUNT_DELETION_SUFFIX}")
}

/// The Account whose JWT ConfigMap or deletion request `config_map` is, when its name is one.
pub fn account_of_config_map(config_map: &str) -> Option<&str> {
    (config_map.strip_suffix(ACCOUNT_CONFIG_MAP_SUFFIX))
        .or_else(|| config_map.strip_suffix(ACCOUNT_DELETION_SUFFIX))
        .filter(|a| !a.is_empty())
}

/// What a User's name is followed by in its creds Secret's (NAuth's name).
const USER_SECRET_SUFFIX: &str = "-nats-user-creds";

/// The name of a User's creds Secret.
pub fn user_secret_name(user: &str) -> String {
    format!("{user}{USER_SECRET_SUFFIX}")
}

/// NAuth's name of an account's root (`<account>-ac-root-<h>`) or implicit signing
/// (`<account>-ac-sign-<h>`) key Secret; `h` is the first 6 hex digits of MD5(account ID).
pub fn account_key_secret_name(account: &str, account_id: &str, root: bool) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(account_id.as_bytes());
    let h: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let infix = if root { "ac-root" } else { "ac-sign" };
    format!("{account}-{infix}-{h}")
}

/// The User whose creds Secret `secret` is, when its name is one.
pub fn user_of_secret(secret: &str) -> Option<&str> {
    (secret.strip_suffix(USER_SECRET_SUFFIX)).filter(|u| !u.is_empty())
}

/// The [`Manifest::path`] of every object a render that recorded `lock` produced: what
/// `--out-dir` may have written before, and so the only files it may remove as stale.
pub fn lock_paths(lock: &Lock) -> Vec<String> {
    fn objects<T>(
        entries: &BTreeMap<String, T>,
        kind: &str,
        name: fn(&str) -> String,
    ) -> Vec<String> {
        entries
            .keys()
            .filter_map(|key: &String| key.split_once('/'))
            .map(|(ns, n)| path(kind, ns, &name(n)))
            .collect()
    }
    let mut paths = objects(&lock.accounts, "ConfigMap", account_config_map_name);
    paths.extend(objects(&lock.users, "Secret", user_secret_name));
    paths.extend(objects(
        &lock.removed_accounts,
        "ConfigMap",
        account_deletion_config_map_name,
    ));
    paths
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// All output objects, sorted by kind, namespace and name.
pub fn manifests(rendered: &Rendered) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = rendered
        .accounts
        .iter()
        .map(account_config_map)
        .chain(rendered.users.iter().map(user_secret))
        .chain(rendered.deletions.iter().map(account_deletion_config_map))
        .collect();
    out.sort_by(|a, b| (a.kind, &a.namespace, &a.name).cmp(&(b.kind, &b.namespace, &b.name)));
    out
}

/// The objects as one multi-document YAML stream.
pub fn stream(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| format!("---\n{}", m.yaml))
        .collect()
}

fn string_map(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn meta(
    namespace: &str,
    name: String,
    labels: Option<BTreeMap<String, String>>,
    public_key: &str,
    issuer: &str,
    hash: &str,
    iat: i64,
) -> ObjectMeta {
    let iat = iat.to_string();
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_string()),
        labels,
        annotations: string_map(&[
            (CLAIMS_HASH_ANNOTATION, hash),
            (ISSUED_AT_ANNOTATION, &iat),
            (ISSUER_ANNOTATION, issuer),
            (PUBLIC_KEY_ANNOTATION, public_key),
        ]),
        ..ObjectMeta::default()
    }
}

/// Annotation of an Account's JWT ConfigMap: its automatic revocations (user public key →
/// time) as JSON, part of its lock record; absent when there are none.
pub const REVOCATIONS_ANNOTATION: &str = "nauth.io/revocations";
/// Annotation of an Account's JWT ConfigMap: the users it was rendered with (User
/// `namespace/name` → public key and `iat`) as JSON, so a later render sees which are gone or
/// re-issued where no lock file holds them; absent when there are none.
pub const USERS_ANNOTATION: &str = "nauth.io/users";

fn account_config_map(a: &RenderedAccount) -> Manifest {
    let cm = account_config_map_object(a);
    Manifest {
        kind: "ConfigMap",
        namespace: a.namespace.clone(),
        name: account_config_map_name(&a.name),
        yaml: serde_saphyr::to_string(&cm).expect("ConfigMaps serialize to YAML"),
    }
}

/// The ConfigMap `<account>-nats-account-jwt` of a rendered Account, typed, as the controller
/// writes it (the CLI writes the same object as YAML).
pub fn account_config_map_object(a: &RenderedAccount) -> ConfigMap {
    let data = &a.claims.data;
    let claims = serde_saphyr::to_string(&a.claims).expect("claims serialize to YAML");
    let mut metadata = meta(
        &a.namespace,
        account_config_map_name(&a.name),
        string_map(&[
            (api::ACCOUNT_ID_LABEL, &data.sub),
            ("account.nauth.io/signed-by", &data.iss),
            ("app.kubernetes.io/managed-by", "nauth-render"),
        ]),
        &data.sub,
        &data.iss,
        &a.claims_hash,
        data.iat,
    );
    let annotations = metadata.annotations.get_or_insert_default();
    let json = "maps of strings and numbers serialize to JSON";
    if !a.revocations.is_empty() {
        let revocations = serde_json::to_string(&a.revocations).expect(json);
        annotations.insert(REVOCATIONS_ANNOTATION.into(), revocations);
    }
    if !a.members.is_empty() {
        let members = serde_json::to_string(&a.members).expect(json);
        annotations.insert(USERS_ANNOTATION.into(), members);
    }
    ConfigMap {
        metadata,
        data: Some(BTreeMap::from([
            ("account.jwt".to_string(), a.jwt.clone()),
            ("claims.yaml".to_string(), claims),
        ])),
        ..ConfigMap::default()
    }
}

/// Label of a deletion request ConfigMap, `account-deletion`: it tells the request from the JWT
/// ConfigMaps a controller reads next to it, which carry the same `account.nauth.io/id` label.
pub const CONFIG_TYPE_LABEL: &str = "nauth.io/config-type";
/// Key of the deletion request JWT in its ConfigMap.
pub const DELETION_KEY: &str = "deletion.jwt";

fn account_deletion_config_map(d: &RenderedDeletion) -> Manifest {
    let cm = account_deletion_config_map_object(d);
    Manifest {
        kind: "ConfigMap",
        namespace: d.namespace.clone(),
        name: account_deletion_config_map_name(&d.name),
        yaml: serde_saphyr::to_string(&cm).expect("ConfigMaps serialize to YAML"),
    }
}

/// The ConfigMap `<account>-nats-account-deletion` of a removed Account: the signed
/// `$SYS.REQ.CLAIMS.DELETE` request only (no seed), labelled with the account ID it deletes and
/// annotated with its issuer and `iat`, for a controller without the operator key to send.
pub fn account_deletion_config_map_object(d: &RenderedDeletion) -> ConfigMap {
    let iat = d.issued_at.to_string();
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(account_deletion_config_map_name(&d.name)),
            namespace: Some(d.namespace.clone()),
            labels: string_map(&[
                (api::ACCOUNT_ID_LABEL, &d.account_id),
                ("account.nauth.io/signed-by", &d.issuer),
                ("app.kubernetes.io/managed-by", "nauth-render"),
                (CONFIG_TYPE_LABEL, "account-deletion"),
            ]),
            annotations: string_map(&[
                (ISSUED_AT_ANNOTATION, &iat),
                (ISSUER_ANNOTATION, &d.issuer),
                (PUBLIC_KEY_ANNOTATION, &d.account_id),
            ]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(DELETION_KEY.to_string(), d.jwt.clone())])),
        ..ConfigMap::default()
    }
}

/// Kubernetes' limit on a ConfigMap's data (keys and values).
const CONFIG_MAP_DATA_LIMIT: usize = 1 << 20;
/// Kubernetes' limit on an object's annotations (keys and values).
const ANNOTATIONS_LIMIT: usize = 256 << 10;

/// Why the API server would refuse the JWT ConfigMap of `a` as too large, if it would: a render
/// that cannot be written must fail before anything is pushed or written.
pub fn account_config_map_oversize(a: &RenderedAccount) -> Option<String> {
    let cm = account_config_map_object(a);
    let size = |m: Option<&BTreeMap<String, String>>| -> usize {
        m.iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| k.len() + v.len())
            .sum()
    };
    let name = account_config_map_name(&a.name);
    let data = size(cm.data.as_ref());
    if data > CONFIG_MAP_DATA_LIMIT {
        return Some(format!(
            "its JWT ConfigMap {name} would hold {data} bytes of data, over Kubernetes' limit of \
             {CONFIG_MAP_DATA_LIMIT} (1 MiB): the account's claims are too large (exports, \
             imports, mappings, revocations)"
        ));
    }
    let notes = size(cm.metadata.annotations.as_ref());
    (notes > ANNOTATIONS_LIMIT).then(|| {
        format!(
            "its JWT ConfigMap {name} would carry {notes} bytes of annotations, over Kubernetes' \
             limit of {ANNOTATIONS_LIMIT} (256 KiB): too many users or automatic revocations for \
             one account (their records are kept there)"
        )
    })
}

fn user_secret(u: &RenderedUser) -> Manifest {
    let secret = user_secret_object(u);
    Manifest {
        kind: "Secret",
        namespace: u.namespace.clone(),
        name: user_secret_name(&u.name),
        yaml: serde_saphyr::to_string(&secret).expect("Secrets serialize to YAML"),
    }
}

/// The creds Secret `<user>-nats-user-creds` of a rendered User, typed, as the controller
/// writes it (the CLI writes the same object as YAML).
pub fn user_secret_object(u: &RenderedUser) -> Secret {
    let data = &u.claims.data;
    Secret {
        metadata: meta(
            &u.namespace,
            user_secret_name(&u.name),
            string_map(&[
                ("app.kubernetes.io/managed-by", "nauth-render"),
                ("nauth.io/managed", "true"),
                ("nauth.io/secret-type", "user-creds"),
                (api::USER_ACCOUNT_ID_LABEL, &u.claims.nats.issuer_account),
                ("user.nauth.io/id", &data.sub),
                ("user.nauth.io/signed-by", &data.iss),
            ]),
            &data.sub,
            &data.iss,
            &u.claims_hash,
            data.iat,
        ),
        data: Some(BTreeMap::from([(
            "user.creds".to_string(),
            ByteString(u.creds.clone().into_bytes()),
        )])),
        type_: Some("Opaque".to_string()),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_object_names_give_back_their_owner() {
        assert_eq!(
            account_of_config_map("billing-nats-account-jwt"),
            Some("billing")
        );
        assert_eq!(
            account_of_config_map("billing-nats-account-deletion"),
            Some("billing")
        );
        assert_eq!(account_of_config_map("-nats-account-jwt"), None);
        assert_eq!(account_of_config_map("billing-urls"), None);
        assert_eq!(user_of_secret(&user_secret_name("alice")), Some("alice"));
        assert_eq!(user_of_secret("alice-creds"), None);
    }
}
