//! Watches of the nauth.io kinds that one malformed object cannot stop.
//!
//! A typed watch fails its whole list when a single object does not decode, and so stops every
//! object of the kind. Our types read what the CRDs accept (an absent `spec` too), but a cluster
//! may run other CRDs, e.g. NAuth's, whose schema lets through what ours refuse. These watches
//! read objects untyped and decode each on its own: one that does not decode is left out with a
//! warning naming it and the rule, and the others go on.

use std::fmt::Debug;

use futures_util::{Stream, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::Controller;
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::Config;

/// The bounds of a nauth.io kind the controllers watch.
pub(super) trait Kind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + DeserializeOwned
    + Clone
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Kind for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + DeserializeOwned
        + Clone
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// Every `K` that changes or is deleted, to trigger the objects that read it.
pub(super) fn touched<K: Kind>(
    client: &Client,
    config: &Config,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    events(client, config).touched_objects()
}

/// The watch events of every `K` in the configured namespace(s) that decodes.
fn events<K: Kind>(
    client: &Client,
    config: &Config,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static {
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match &config.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    watcher(api, watcher::Config::default()).filter_map(|event| std::future::ready(decoded(event)))
}

/// The controller of `K`: its own objects' events fill its store and trigger reconciles.
pub(super) fn controller<K: Kind>(client: &Client, config: &Config) -> Controller<K> {
    let (reader, writer) = reflector::store();
    let objects = reflector::reflector(writer, events::<K>(client, config)).applied_objects();
    Controller::for_stream(objects, reader)
}

fn decoded<K: Kind>(
    event: Result<watcher::Event<DynamicObject>, watcher::Error>,
) -> Option<Result<watcher::Event<K>, watcher::Error>> {
    use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};
    Some(Ok(match event {
        Err(e) => return Some(Err(e)),
        Ok(Apply(o)) => Apply(decode(o)?),
        Ok(InitApply(o)) => InitApply(decode(o)?),
        Ok(Delete(o)) => Delete(decode(o)?),
        Ok(Init) => Init,
        Ok(InitDone) => InitDone,
    }))
}

/// `object` as a `K`; `None`, with a warning, when it does not decode.
fn decode<K: Kind>(object: DynamicObject) -> Option<K> {
    let (ns, name) = (object.namespace().unwrap_or_default(), object.name_any());
    match object.try_parse::<K>() {
        Ok(k) => Some(k),
        Err(e) => {
            let kind = K::kind(&());
            tracing::warn!(
                "{kind} {ns}/{name} is left out until fixed: {}, against the {kind} schema",
                rule(&e.to_string()),
            );
            None
        }
    }
}

/// The rule a decode error names, without the value it quotes: a field can hold a key.
fn rule(error: &str) -> &str {
    match error.starts_with("missing field") {
        true => error.split(" at line").next().unwrap_or(error),
        false => "a field has a value of another type or form",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nauth_render::api::{Account, User};
    use serde_json::json;

    fn object(yaml: serde_json::Value) -> DynamicObject {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn an_account_without_spec_is_kept() {
        let a = object(json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "Account",
            "metadata": {"name": "a", "namespace": "n"},
        }));
        let account: Account = decode(a).expect("decodes");
        assert_eq!(account.name_any(), "a");
    }

    #[test]
    fn an_object_that_does_not_decode_is_left_out_and_its_values_are_not_quoted() {
        let seedy = object(json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "User",
            "metadata": {"name": "u", "namespace": "n"},
            "spec": {"accountName": {"seed": "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4"}},
        }));
        assert!(decode::<User>(seedy.clone()).is_none());
        let error = seedy.try_parse::<User>().unwrap_err().to_string();
        assert_eq!(rule(&error), "a field has a value of another type or form");
        assert_eq!(
            rule("missing field `accountName` at line 1 column 2"),
            "missing field `accountName`"
        );
    }
}
