//! NAuth's rules for finding key Secrets.

use k8s_openapi::api::core::v1::Secret;

use crate::api;
use crate::api::SECRET_TYPE_LABEL as SECRET_TYPE;
use crate::input::Object;

const MANAGED: (&str, &str) = ("nauth.io/managed", "true");

/// The Secret `namespace/name`.
pub(super) fn named<'s>(
    secrets: &'s [Object<Secret>],
    namespace: &str,
    name: &str,
) -> Option<&'s Object<Secret>> {
    secrets
        .iter()
        .find(|s| s.namespace() == namespace && s.name() == name)
}

/// Whether `owner` is the controller of `secret`, as NAuth decides whether a managed
/// AccountSigningKey owns its Secret: the controller ownerReference names it, by UID when the
/// owner has one (read from a cluster), else by kind and name (a manifest written before
/// the object had a UID).
pub(super) fn controlled_by<T: kube::Resource<DynamicType = ()>>(
    secret: &Object<Secret>,
    owner: &Object<T>,
) -> bool {
    let references = secret.resource.metadata.owner_references.iter().flatten();
    let controller = references.into_iter().find(|r| r.controller == Some(true));
    controller.is_some_and(|r| match owner.resource.meta().uid.as_deref() {
        Some(uid) => r.uid == uid,
        None => r.kind == T::kind(&()) && r.name == owner.name(),
    })
}

/// A data value, from `stringData` or (base64-decoded) `data`.
pub(super) fn value(secret: &Object<Secret>, key: &str) -> Option<String> {
    let s = &secret.resource;
    if let Some(v) = s.string_data.as_ref().and_then(|d| d.get(key)) {
        return Some(v.clone());
    }
    let bytes = s.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The label selectors NAuth tries for an account, for messages.
pub(super) fn account_selectors(account: &Object<api::Account>, id: Option<&str>) -> String {
    let by_name = format!("account.nauth.io/name={}", account.name());
    match id {
        Some(id) => format!("account.nauth.io/id={id} or {by_name}"),
        None => by_name,
    }
}

/// An account's root seed Secret and implicit signing seed Secret.
pub(super) type RootAndSign<'s> = (&'s Object<Secret>, &'s Object<Secret>);

/// The root and signing seed Secrets of an account, or `None` when NAuth's lookup finds none.
pub(super) fn account_secrets<'s>(
    secrets: &'s [Object<Secret>],
    account: &Object<api::Account>,
    id: Option<&str>,
) -> Result<Option<RootAndSign<'s>>, String> {
    let ns = account.namespace();
    let selectors = id
        .map(|id| ("account.nauth.io/id", id.to_string()))
        .into_iter()
        .chain([("account.nauth.io/name", account.name().to_string())]);
    for (label, wanted) in selectors {
        let matching: Vec<_> = secrets
            .iter()
            .filter(|s| {
                s.namespace() == ns
                    && s.label(label) == Some(&wanted)
                    && s.label(MANAGED.0) == Some(MANAGED.1)
            })
            .collect();
        if matching.is_empty() {
            continue;
        }
        let of_type = |t: &str| {
            let found: Vec<_> = matching
                .iter()
                .filter(|s| s.label(SECRET_TYPE) == Some(t))
                .collect();
            match found.as_slice() {
                [one] => Ok(**one),
                [] if t == "account-sign" => Err(format!(
                    "no Secret labelled {label}={wanted} has {SECRET_TYPE}={t}: restore the lost \
                     Secret, or add one holding a new account seed (key `default`), labelled \
                     {label}={wanted}, {SECRET_TYPE}={t} and {}={} (the account keeps its ID; \
                     its users' creds are issued anew)",
                    MANAGED.0, MANAGED.1
                )),
                [] => Err(format!(
                    "no Secret labelled {label}={wanted} has {SECRET_TYPE}={t}"
                )),
                _ => Err(format!(
                    "more than one Secret labelled {label}={wanted} has {SECRET_TYPE}={t}"
                )),
            }
        };
        return Ok(Some((of_type("account-root")?, of_type("account-sign")?)));
    }
    let legacy = |suffix: &str| named(secrets, ns, &format!("{}-{suffix}", account.name()));
    match (legacy("ac-root"), legacy("ac-sign")) {
        (Some(root), Some(sign)) => Ok(Some((root, sign))),
        (None, None) => Ok(None),
        (root, _) => Err(format!(
            "found {name}-{} but not {name}-{}; legacy account Secrets come in pairs",
            if root.is_some() { "ac-root" } else { "ac-sign" },
            if root.is_some() { "ac-sign" } else { "ac-root" },
            name = account.name()
        )),
    }
}
