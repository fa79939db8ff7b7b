//! Watches of the nauth.io kinds that one malformed object cannot stop.
//!
//! A typed watch fails its whole list when a single object does not decode, and so stops every
//! object of the kind. Our types read what the CRDs accept (an absent `spec` too), but a cluster
//! may run other CRDs, e.g. NAuth's, whose schema lets through what ours refuse. These watches
//! read objects untyped and decode each on its own: one that does not decode is left out with a
//! warning naming it and the rule, and the others go on.
//!
//! Each kind is watched once: its controller's store is filled by that watch, and the other
//! controllers it triggers are handed its changes through taps (see [`tapped`]) once that store
//! holds them, so a reconcile they trigger can read the store and find what triggered it.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::Controller;
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::Config;
use super::echoes::Echoes;

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
    // Nothing reads managedFields; kept, they would be the larger part of each cached object.
    // A lost API server is retried after a growing pause (up to 30 s), not in a busy loop.
    (watcher(api, watcher::Config::default()).default_backoff())
        .modify(|o| o.metadata.managed_fields = None)
        .filter_map(|event| std::future::ready(decoded(event)))
}

/// The controller of `K`: its own objects' events fill its store and trigger reconciles, but
/// for changes to their status only ([`significant`]) and the echoes of our label writes; `N`
/// taps hand every change on to the controllers that read `K` (see [`tapped`]).
pub(super) fn controller<K: Kind, const N: usize>(
    client: &Client,
    config: &Config,
    echoes: &Arc<Echoes>,
) -> (Controller<K>, [Tap<K>; N], Listed) {
    let (reader, writer) = reflector::store();
    let (objects, taps, listed) = tapped(reflector::reflector(writer, events::<K>(client, config)));
    let echoes = echoes.clone();
    let objects = objects
        .applied_objects()
        .predicate_filter(significant::<K>, Default::default())
        .filter(move |o| std::future::ready(!o.as_ref().is_ok_and(|o| echoes.is_echo(o))));
    let controller = Controller::for_stream(objects, reader);
    (
        controller.with_config(super::controller_config()),
        taps,
        listed,
    )
}

/// Whether a watch has listed its objects into its store. kube's own `wait_until_ready` wakes
/// only the last of several tasks waiting on the same store, so a reconcile that waited beside
/// another waiter could wait for ever.
#[derive(Clone)]
pub(crate) struct Listed(tokio::sync::watch::Receiver<bool>);

impl Listed {
    /// Resolves once the store holds the watch's first full list; fails when the watch is gone
    /// (the controller stops).
    pub(crate) async fn wait(&self) -> Result<(), super::Error> {
        let mut listed = self.0.clone();
        (listed.wait_for(|l| *l).await)
            .map(drop)
            .map_err(|_| super::Error::errored("the controller is stopping"))
    }
}

/// What of an object asks its own controller to reconcile it again: all but its status, which
/// that controller writes itself; a status write that triggered it again cost every object one
/// more reconcile (and its reads) for nothing.
fn significant<K: Resource>(o: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let m = o.meta();
    let mut hasher = std::hash::DefaultHasher::new();
    m.generation.hash(&mut hasher);
    (m.deletion_timestamp.as_ref().map(|t| t.0.as_nanosecond())).hash(&mut hasher);
    (&m.finalizers, &m.labels, &m.annotations).hash(&mut hasher);
    Some(hasher.finish())
}

/// The objects of one kind that changed or were deleted, each passed on after the store of the
/// stream it was tapped from holds the change.
pub(super) type Tap<K> = Pin<Box<dyn Stream<Item = Arc<K>> + Send>>;

/// `reflected` (a reflector's output, which updates its store before it passes an event on),
/// `N` taps that each get every object it applies or deletes once the store holds that, and
/// when the store first holds a full list. The objects of a (re-)list are handed on when it
/// completes, when the store takes them all at once. The taps are fed while `reflected` is
/// polled, by the controller that owns it.
pub(super) fn tapped<K, S, const N: usize>(
    reflected: S,
) -> (
    impl Stream<Item = S::Item> + Send + 'static,
    [Tap<K>; N],
    Listed,
)
where
    K: Clone + Send + Sync + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};
    let mut senders: Vec<UnboundedSender<Arc<K>>> = Vec::with_capacity(N);
    let taps = std::array::from_fn(|_| {
        let (tx, mut rx) = unbounded_channel();
        senders.push(tx);
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))) as Tap<K>
    });
    let mut listing = Vec::new();
    let (done, listed) = tokio::sync::watch::channel(false);
    let send = move |o: Arc<K>| (senders.iter()).for_each(|tx| drop(tx.send(o.clone())));
    let reflected = reflected.inspect(move |event| match event {
        Ok(Init) => listing.clear(),
        Ok(Apply(o) | Delete(o)) => send(Arc::new(o.clone())),
        Ok(InitApply(o)) => listing.push(Arc::new(o.clone())),
        Ok(InitDone) => {
            done.send_replace(true);
            listing.drain(..).for_each(&send);
        }
        _ => {}
    });
    (reflected, taps, Listed(listed))
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

    fn account(name: &str) -> Account {
        decode(object(json!({
            "apiVersion": "nauth.io/v1alpha1", "kind": "Account",
            "metadata": {"name": name, "namespace": "n"},
        })))
        .unwrap()
    }

    #[tokio::test]
    async fn a_tap_hands_an_object_on_once_the_store_holds_it() {
        use futures_util::FutureExt;
        use kube::runtime::reflector::ObjectRef;
        use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};
        let events = [
            Init,
            InitApply(account("a")),
            InitDone,
            Apply(account("b")),
            Delete(account("a")),
        ];
        let (reader, writer) = reflector::store::<Account>();
        let events = futures_util::stream::iter(events.map(Ok));
        let (reflected, [mut tap], listed) = tapped(reflector::reflector(writer, events));
        let mut reflected = Box::pin(reflected);
        let in_store = |a: &Account| reader.get(&ObjectRef::from(a)).is_some();
        reflected.next().await;
        reflected.next().await;
        assert!(
            tap.next().now_or_never().is_none(),
            "listed, not in the store yet"
        );
        assert!(listed.wait().now_or_never().is_none());
        reflected.next().await;
        listed.wait().await.unwrap();
        let a = tap.next().await.unwrap();
        assert!(a.name_any() == "a" && in_store(&a));
        reflected.next().await;
        let b = tap.next().await.unwrap();
        assert!(b.name_any() == "b" && in_store(&b));
        reflected.next().await;
        let gone = tap.next().await.unwrap();
        assert!(gone.name_any() == "a" && !in_store(&gone));
    }

    #[test]
    fn only_what_is_not_status_asks_for_a_reconcile() {
        let mut a = account("a");
        let before = significant(&a);
        a.status = Some(Default::default());
        a.meta_mut().resource_version = Some("2".into());
        assert_eq!(significant(&a), before, "status and resourceVersion");
        a.labels_mut().insert("team".into(), "x".into());
        assert_ne!(significant(&a), before, "a label");
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
