//! NAuth's deprecated NATS_URL mode (removed from NAuth in v0.7.0), so that installations set up
//! that way can move over unchanged: the controller's `NATS_URL` plus two Secrets found by label
//! in its namespace, `nauth.io/secret-type: operator-sign` (the operator signing seed) and
//! `nauth.io/secret-type: system-account-user-creds` (the system user's creds), each under the
//! data key `default`. They serve the Accounts that name no NatsCluster when no operator cluster
//! (`NATS_CLUSTER_REF`) is set.
//!
//! The two Secrets become a stand-in NatsCluster named [`STAND_IN_NAME`] that references them,
//! so the renderer and the controller treat it like any other cluster and produce the same bytes
//! as a real NatsCluster referencing the same Secrets would.

use k8s_openapi::api::core::v1::Secret;

use super::{Inputs, Object};
use crate::api::{
    NatsCluster, NatsClusterSpec, OPERATOR_SIGN_SECRET_TYPE, SECRET_TYPE_LABEL,
    SYSTEM_CREDS_SECRET_TYPE, SecretKeyRef,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::render::Options;

/// The stand-in NatsCluster's name. Not a valid Kubernetes name, so no real NatsCluster can
/// have it, and messages read "NatsCluster nats/NATS_URL".
pub const STAND_IN_NAME: &str = "NATS_URL";

/// The data key NAuth reads from both Secrets.
const DATA_KEY: &str = "default";

/// What the deprecation warning and the controller's condition say: how to move on.
pub const HOW_TO_MOVE: &str = "NAuth's deprecated NATS_URL mode (NATS_URL and the Secrets \
     labelled nauth.io/secret-type=operator-sign and =system-account-user-creds) serves the \
     Accounts without spec.natsClusterRef; move to a NatsCluster referencing the same Secrets \
     (key `default`), named by NATS_CLUSTER_REF: account IDs and creds stay the same (see \
     docs/migrating-from-nats-url.md)";

/// The controller's `NATS_URL` setting: the URL, and the namespace whose Secrets must then hold
/// exactly one of each kind.
#[derive(Clone, Copy, Debug)]
pub struct Required<'a> {
    /// The controller's namespace.
    pub namespace: &'a str,
    /// `NATS_URL`.
    pub url: &'a str,
}

/// The stand-in NatsCluster the labelled Secrets among `secrets` make. Without `required` (the
/// renderer, which reads no `NATS_URL`), a tree without either Secret has none; with it, only
/// Secrets of its namespace count and both must be there. Either way exactly one Secret of each
/// kind, in one namespace, or errors naming the label, namespace and count (never the data).
pub fn stand_in(
    secrets: &[Object<Secret>],
    required: Option<Required<'_>>,
) -> Result<Option<Object<NatsCluster>>, Vec<Diagnostic>> {
    let labelled = |kind: &str| -> Vec<&Object<Secret>> {
        secrets
            .iter()
            .filter(|s| s.label(SECRET_TYPE_LABEL) == Some(kind))
            .filter(|s| required.is_none_or(|r| s.namespace() == r.namespace))
            .collect()
    };
    let (sign, creds) = (
        labelled(OPERATOR_SIGN_SECRET_TYPE),
        labelled(SYSTEM_CREDS_SECRET_TYPE),
    );
    if sign.is_empty() && creds.is_empty() && required.is_none() {
        return Ok(None);
    }
    let (sign, creds) = match (sign.as_slice(), creds.as_slice()) {
        ([sign], [creds]) if sign.namespace() == creds.namespace() => (*sign, *creds),
        ([sign], [creds]) => {
            return Err(vec![
                sign.error(
                    None,
                    format!(
                        "{} is in namespace {}, {} in namespace {}: NAuth's NATS_URL mode reads \
                         both from the controller's namespace",
                        selector(OPERATOR_SIGN_SECRET_TYPE),
                        sign.namespace(),
                        selector(SYSTEM_CREDS_SECRET_TYPE),
                        creds.namespace()
                    ),
                )
                .with_code(Code::Conflict),
            ]);
        }
        _ => {
            let fallback = required.map(|r| r.namespace);
            let errors = [
                (OPERATOR_SIGN_SECRET_TYPE, &sign, &creds),
                (SYSTEM_CREDS_SECRET_TYPE, &creds, &sign),
            ]
            .into_iter()
            .filter(|(_, found, _)| found.len() != 1)
            .map(|(kind, found, other)| not_one(kind, found, other, fallback))
            .collect();
            return Err(errors);
        }
    };
    let reference = |s: &Object<Secret>| SecretKeyRef {
        name: s.name().to_string(),
        key: Some(DATA_KEY.to_string()),
    };
    let mut cluster = NatsCluster::new(
        STAND_IN_NAME,
        NatsClusterSpec {
            url: required.map(|r| r.url.to_string()),
            url_from: None,
            operator_signing_key_secret_ref: reference(sign),
            system_account_user_creds_secret_ref: reference(creds),
        },
    );
    cluster.metadata.namespace = Some(sign.namespace().to_string());
    Ok(Some(Object {
        file: sign.file.clone(),
        resource: cluster,
    }))
}

/// `label=value` of the Secrets of one kind.
fn selector(kind: &str) -> String {
    format!("the Secret labelled {SECRET_TYPE_LABEL}={kind}")
}

/// The error for a kind with `found.len() != 1` Secrets; `other` (the other kind's) or
/// `fallback` tell the namespace where none was found.
fn not_one(
    kind: &str,
    found: &[&Object<Secret>],
    other: &[&Object<Secret>],
    fallback: Option<&str>,
) -> Diagnostic {
    let mut namespaces: Vec<&str> = match found {
        [] => other
            .iter()
            .map(|s| s.namespace())
            .chain(fallback)
            .collect(),
        _ => found.iter().map(|s| s.namespace()).collect(),
    };
    namespaces.sort_unstable();
    namespaces.dedup();
    let place = match namespaces.as_slice() {
        [one] => format!("namespace {one}"),
        many => format!("namespaces {}", many.join(", ")),
    };
    let needs = format!(
        "NAuth's NATS_URL mode needs exactly one Secret labelled {SECRET_TYPE_LABEL}={OPERATOR_SIGN_SECRET_TYPE} \
         and one labelled {SECRET_TYPE_LABEL}={SYSTEM_CREDS_SECRET_TYPE} (data key `{DATA_KEY}`)"
    );
    let d = match found {
        [] => Diagnostic::error(format!(
            "no Secret labelled {SECRET_TYPE_LABEL}={kind} in {place}: {needs}"
        ))
        .with_code(Code::NotFound),
        _ => {
            let names: Vec<String> = found.iter().map(|s| s.key()).collect();
            Diagnostic::error(format!(
                "{} Secrets labelled {SECRET_TYPE_LABEL}={kind} in {place} ({}): {needs}",
                found.len(),
                names.join(", ")
            ))
            .with_code(Code::Conflict)
        }
    };
    match found.first().or(other.first()) {
        Some(s) => d.in_file(&s.file),
        None => d,
    }
}

/// Adds the stand-in NatsCluster to `inputs` and makes it the operator cluster of `options`
/// when the inputs hold the labelled Secrets, some Account names no NatsCluster, and no
/// operator cluster is set: Accounts naming their own cluster keep it. Returns the deprecation
/// warning (an error with `strict`), or the errors of [`stand_in`].
pub fn use_stand_in(
    inputs: &mut Inputs,
    options: &mut Options,
) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let served = inputs
        .accounts
        .iter()
        .any(|a| a.resource.spec.nats_cluster_ref.is_none());
    if options.default_cluster.is_some() || !served {
        return Ok(Vec::new());
    }
    let Some(cluster) = stand_in(&inputs.secrets, None)? else {
        return Ok(Vec::new());
    };
    let warning = cluster
        .warning(None, HOW_TO_MOVE)
        .with_code(Code::Deprecated);
    options.default_cluster = Some((cluster.namespace().to_string(), STAND_IN_NAME.to_string()));
    options.cluster_optional = true;
    inputs.clusters.push(cluster);
    let warnings = vec![warning];
    Ok(if options.strict {
        crate::render::strict(warnings)
    } else {
        warnings
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(ns: &str, name: &str, kind: &str) -> Object<Secret> {
        let mut s = Secret::default();
        s.metadata.namespace = Some(ns.into());
        s.metadata.name = Some(name.into());
        s.metadata.labels = Some([(SECRET_TYPE_LABEL.to_string(), kind.to_string())].into());
        Object {
            file: format!("{name}.yaml"),
            resource: s,
        }
    }

    fn messages(r: Result<Option<Object<NatsCluster>>, Vec<Diagnostic>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn one_of_each_makes_a_cluster_referencing_them() {
        let secrets = [
            secret("nats", "sign", OPERATOR_SIGN_SECRET_TYPE),
            secret("nats", "sys", SYSTEM_CREDS_SECRET_TYPE),
            secret("nats", "other", "account-root"),
        ];
        let c = stand_in(&secrets, None).unwrap().unwrap();
        assert_eq!(c.key(), "nats/NATS_URL");
        assert_eq!(c.file, "sign.yaml");
        let spec = &c.resource.spec;
        assert_eq!(spec.operator_signing_key_secret_ref.name, "sign");
        assert_eq!(spec.system_account_user_creds_secret_ref.name, "sys");
        assert_eq!(
            spec.system_account_user_creds_secret_ref.key_or_default(),
            "default"
        );
        assert_eq!(spec.url, None);
        let required = Required {
            namespace: "nats",
            url: "nats://n:4222",
        };
        let c = stand_in(&secrets, Some(required)).unwrap().unwrap();
        assert_eq!(c.resource.spec.url.as_deref(), Some("nats://n:4222"));
    }

    #[test]
    fn none_is_nothing_unless_required() {
        assert!(stand_in(&[], None).unwrap().is_none());
        let required = Required {
            namespace: "ops",
            url: "nats://n:4222",
        };
        // Secrets of another namespace do not count for the controller.
        let elsewhere = [
            secret("nats", "sign", OPERATOR_SIGN_SECRET_TYPE),
            secret("nats", "sys", SYSTEM_CREDS_SECRET_TYPE),
        ];
        let m = messages(stand_in(&elsewhere, Some(required)));
        assert_eq!(m.len(), 2);
        assert!(m[0].starts_with(
            "no Secret labelled nauth.io/secret-type=operator-sign in namespace ops:"
        ));
        assert!(m[1].starts_with(
            "no Secret labelled nauth.io/secret-type=system-account-user-creds in namespace ops:"
        ));
    }

    #[test]
    fn several_or_missing_or_split_are_errors_naming_label_and_namespace() {
        let m = messages(stand_in(
            &[
                secret("nats", "a", OPERATOR_SIGN_SECRET_TYPE),
                secret("nats", "b", OPERATOR_SIGN_SECRET_TYPE),
                secret("nats", "sys", SYSTEM_CREDS_SECRET_TYPE),
            ],
            None,
        ));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with(
            "2 Secrets labelled nauth.io/secret-type=operator-sign in namespace nats (nats/a, nats/b):"
        ));
        let m = messages(stand_in(
            &[secret("nats", "a", OPERATOR_SIGN_SECRET_TYPE)],
            None,
        ));
        assert!(m[0].starts_with(
            "no Secret labelled nauth.io/secret-type=system-account-user-creds in namespace nats:"
        ));
        let m = messages(stand_in(
            &[
                secret("a", "sign", OPERATOR_SIGN_SECRET_TYPE),
                secret("b", "sys", SYSTEM_CREDS_SECRET_TYPE),
            ],
            None,
        ));
        assert!(
            m[0].contains("in namespace a, the Secret labelled"),
            "{m:?}"
        );
    }

    #[test]
    fn serves_accounts_without_a_cluster_only_when_no_operator_cluster_is_set() {
        let mut inputs = Inputs {
            secrets: vec![
                secret("nats", "sign", OPERATOR_SIGN_SECRET_TYPE),
                secret("nats", "sys", SYSTEM_CREDS_SECRET_TYPE),
            ],
            ..Default::default()
        };
        let mut account = crate::api::Account::new("a", Default::default());
        account.metadata.namespace = Some("team".into());
        inputs.accounts.push(Object {
            file: "a.yaml".into(),
            resource: account,
        });
        let mut given = Options {
            default_cluster: Some(("nats".into(), "real".into())),
            ..Default::default()
        };
        assert!(
            use_stand_in(&mut inputs.clone(), &mut given)
                .unwrap()
                .is_empty()
        );
        assert_eq!(given.default_cluster.as_ref().unwrap().1, "real");
        let mut options = Options::default();
        let mut served = inputs.clone();
        let w = use_stand_in(&mut served, &mut options).unwrap();
        assert_eq!(w[0].code, Code::Deprecated);
        assert_eq!(w[0].object.as_deref(), Some("NatsCluster nats/NATS_URL"));
        assert_eq!(
            options.default_cluster,
            Some(("nats".into(), "NATS_URL".into()))
        );
        assert!(options.cluster_optional);
        assert_eq!(served.clusters.len(), 1);
        // Every Account names its own cluster: the Secrets are only Secrets.
        inputs.accounts[0].resource.spec.nats_cluster_ref = Some(Default::default());
        let mut options = Options::default();
        assert!(use_stand_in(&mut inputs, &mut options).unwrap().is_empty());
        assert!(inputs.clusters.is_empty() && options.default_cluster.is_none());
    }
}
