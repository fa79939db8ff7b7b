//! Every Kubernetes write of the controller: server-side apply with one field manager
//! ([`MANAGER`]), status through the status subresource. Writing only the fields we own keeps
//! other writers' fields (a user's labels, kubectl's annotations) untouched.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
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

/// Server-side applies `status` on `name`'s status subresource.
pub async fn status<K>(api: &Api<K>, name: &str, status: impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut status = serde_json::to_value(status).map_err(|e| Error::errored(e.to_string()))?;
    // Absent, not null: an applied null is a type error in the schema.
    if let Some(fields) = status.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(name, &params(), &Patch::Apply(body))
        .await?;
    Ok(())
}

/// Server-side applies the labels we own on `name`.
pub async fn labels<K>(
    api: &Api<K>,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": { "name": name, "labels": labels },
    });
    api.patch(name, &params(), &Patch::Apply(body)).await?;
    Ok(())
}

/// Server-side applies a whole object (a ConfigMap, a Secret) we own.
pub async fn object<K>(api: &Api<K>, object: &K) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let mut body = serde_json::to_value(object).map_err(|e| Error::errored(e.to_string()))?;
    body["apiVersion"] = json!(K::api_version(&()));
    body["kind"] = json!(K::kind(&()));
    api.patch(&object.name_any(), &params(), &Patch::Apply(body))
        .await?;
    Ok(())
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
    object(api, secret).await
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
