//! Every Kubernetes write of the controller: server-side apply with one field manager
//! ([`MANAGER`]), status through the status subresource. Writing only the fields we own keeps
//! other writers' fields (a user's labels, kubectl's annotations) untouched.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::controller::{Error, MANAGER};

/// Label that NAuth requires on every Secret it creates or overwrites.
pub const MANAGED_LABEL: &str = "nauth.io/managed";

fn params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

/// Server-side applies `status` on `o`'s status subresource, unless `o` (as last read) already
/// holds each of its fields as given: a write that changes nothing still costs the API server a
/// merge and wakes every watcher.
pub async fn status<K>(api: &Api<K>, o: &K, status: impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let mut status = serde_json::to_value(status).map_err(|e| Error::errored(e.to_string()))?;
    // Absent, not null: an applied null is a type error in the schema.
    if let Some(fields) = status.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    let live = serde_json::to_value(o).ok();
    if holds_fields(live.as_ref().and_then(|l| l.get("status")), &status) {
        return Ok(());
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(&o.name_any(), &params(), &Patch::Apply(body))
        .await?;
    tracing::debug!(kind = %K::kind(&()), name = %o.name_any(), "status written");
    Ok(())
}

/// Whether `live` holds every top-level field of `fields` with the same value.
pub(crate) fn holds_fields(live: Option<&serde_json::Value>, fields: &serde_json::Value) -> bool {
    let (Some(live), Some(fields)) = (live, fields.as_object()) else {
        return false;
    };
    fields.iter().all(|(k, v)| live.get(k) == Some(v))
}

/// Server-side applies the labels we own on `o`, and with them `finalizer` when given, unless
/// it already carries them all. Returns the object as written, `None` when nothing was.
///
/// Once applied here, the finalizer must be in every later apply of the same labels: a field
/// our field manager stops giving is removed. So it is left out only of an object being
/// deleted that no longer has it (none may be added then).
pub async fn labels<K>(
    api: &Api<K>,
    o: &K,
    labels: &BTreeMap<String, String>,
    finalizer: Option<&str>,
) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(metadata) = labels_metadata(o.meta(), labels, finalizer) else {
        return Ok(None);
    };
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": metadata,
    });
    Ok(Some(
        api.patch(&o.name_any(), &params(), &Patch::Apply(body))
            .await?,
    ))
}

/// The metadata [`labels`] applies to an object with metadata `live`; `None` when it holds it.
fn labels_metadata(
    live: &ObjectMeta,
    labels: &BTreeMap<String, String>,
    finalizer: Option<&str>,
) -> Option<serde_json::Value> {
    let has = |f: &str| live.finalizers.iter().flatten().any(|x| x == f);
    let deleting = live.deletion_timestamp.is_some();
    let finalizer = finalizer.filter(|f| !deleting || has(f));
    let held = |(k, v): (&String, &String)| live.labels.as_ref().and_then(|l| l.get(k)) == Some(v);
    if labels.iter().all(held) && finalizer.is_none_or(has) {
        return None;
    }
    let mut metadata = json!({ "name": live.name, "labels": labels });
    if let Some(f) = finalizer {
        metadata["finalizers"] = json!([f]);
    }
    Some(metadata)
}

/// Server-side applies a whole object (a ConfigMap, a Secret) we own; returns it as written.
pub async fn object<K>(api: &Api<K>, object: &K) -> Result<K, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let mut body = serde_json::to_value(object).map_err(|e| Error::errored(e.to_string()))?;
    body["apiVersion"] = json!(K::api_version(&()));
    body["kind"] = json!(K::kind(&()));
    Ok(api
        .patch(&object.name_any(), &params(), &Patch::Apply(body))
        .await?)
}

/// [`object`], unless `live` (the object as last read) already holds it: the same content
/// (every field beside `metadata`) and our labels, annotations and owner references. Returns
/// the object as written, `None` when nothing was.
pub async fn object_unless_held<K>(
    api: &Api<K>,
    live: Option<&K>,
    object: &K,
) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    if live.is_some_and(|live| holds(live, object)) {
        return Ok(None);
    }
    self::object(api, object).await.map(Some)
}

/// Whether `live` holds `object`: see [`object_unless_held`].
fn holds<K: Resource + Serialize>(live: &K, object: &K) -> bool {
    let (Ok(l), Ok(o)) = (serde_json::to_value(live), serde_json::to_value(object)) else {
        return false;
    };
    let (Some(l), Some(o)) = (l.as_object(), o.as_object()) else {
        return false;
    };
    let content = o
        .iter()
        .filter(|(k, _)| *k != "metadata")
        .all(|(k, v)| l.get(k) == Some(v));
    let subset = |ours: Option<&BTreeMap<String, String>>, theirs: &BTreeMap<String, String>| {
        ours.into_iter()
            .flatten()
            .all(|(k, v)| theirs.get(k) == Some(v))
    };
    let (lm, om) = (live.meta(), object.meta());
    content
        && subset(om.labels.as_ref(), live.labels())
        && subset(om.annotations.as_ref(), live.annotations())
        && (om.owner_references.is_none() || om.owner_references == lm.owner_references)
}

/// Writes `secret` unless a Secret of that name exists without `nauth.io/managed: "true"`:
/// NAuth never overwrites a Secret it does not manage, and neither do we.
pub async fn managed_secret(api: &Api<Secret>, secret: &Secret) -> Result<(), Error> {
    let name = secret.name_any();
    if let Some(existing) = api.get_opt(&name).await?
        && existing.labels().get(MANAGED_LABEL).map(String::as_str) != Some("true")
    {
        return Err(Error::errored(format!(
            "existing secret {}/{name} not managed by nauth (no label {MANAGED_LABEL}: \"true\"); \
             refusing to overwrite it",
            existing.namespace().unwrap_or_default()
        )));
    }
    object(api, secret).await.map(drop)
}

/// Deletes the objects of `api` matching `selector`.
pub async fn delete_labelled<K>(api: &Api<K>, selector: &str) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    for o in api.list(&ListParams::default().labels(selector)).await? {
        delete(api, &o.name_any()).await?;
    }
    Ok(())
}

/// Deletes `name`; gone already is fine.
pub async fn delete<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn labels_come_with_the_finalizer_unless_the_object_goes_without_it() {
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        const F: &str = "x.nauth.io/finalizer";
        let f = Some(F);
        let new = ObjectMeta {
            name: Some("u".into()),
            ..Default::default()
        };
        let wanted = json!({"name": "u", "labels": {"k": "v"}, "finalizers": [f]});
        assert_eq!(labels_metadata(&new, &labels, f), Some(wanted.clone()));
        assert_eq!(
            labels_metadata(&new, &labels, None),
            Some(json!({"name": "u", "labels": {"k": "v"}}))
        );
        let held = ObjectMeta {
            labels: Some(labels.clone()),
            finalizers: Some(vec![F.into()]),
            ..new.clone()
        };
        assert_eq!(labels_metadata(&held, &labels, f), None);
        // Labels held, the finalizer removed by hand: it comes back.
        let bare = ObjectMeta {
            finalizers: None,
            ..held.clone()
        };
        assert_eq!(labels_metadata(&bare, &labels, f), Some(wanted.clone()));
        // Being deleted: kept in the apply while it is there (or the apply would drop it),
        // never added.
        let deleting = |m: &ObjectMeta| ObjectMeta {
            deletion_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            labels: None,
            ..m.clone()
        };
        assert_eq!(labels_metadata(&deleting(&held), &labels, f), Some(wanted));
        assert_eq!(
            labels_metadata(&deleting(&bare), &labels, f),
            Some(json!({"name": "u", "labels": {"k": "v"}}))
        );
    }

    #[test]
    fn a_status_is_held_when_every_field_is_already_there() {
        let live = json!({
            "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}],
            "reconcileTimestamp": "2026-11-30T00:00:00Z",
        });
        let same = json!({
            "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}],
        });
        assert!(holds_fields(Some(&live), &same));
        assert!(!holds_fields(
            Some(&live),
            &json!({"observedGeneration": 3})
        ));
        let more = json!({"observedGeneration": 2, "claimsHash": "ab"});
        assert!(!holds_fields(Some(&live), &more));
        assert!(!holds_fields(None, &same));
    }

    fn config_map(data: &str, labels: &[(&str, &str)]) -> ConfigMap {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("a-nats-account-jwt".into()),
                labels: Some(map(labels)),
                ..Default::default()
            },
            data: Some(map(&[("account.jwt", data)])),
            ..Default::default()
        }
    }

    #[test]
    fn an_object_is_held_when_its_content_and_our_metadata_are_live() {
        let ours = config_map("jwt", &[("nauth.io/managed", "true")]);
        let live = config_map("jwt", &[("nauth.io/managed", "true"), ("team", "a")]);
        assert!(holds(&live, &ours), "labels of others do not matter");
        assert!(!holds(
            &config_map("older", &[("nauth.io/managed", "true")]),
            &ours
        ));
        assert!(
            !holds(&config_map("jwt", &[]), &ours),
            "our label is missing"
        );
    }
}
