//! The watch events of the controller's own writes. A User that writes its creds Secret, or an
//! Account its JWT ConfigMap, already knows what the event of that write says; reconciling on it
//! only read again what was just written, and from a cache that may not show the rest of that
//! reconcile's writes yet, wrote its status a second time.

use std::collections::HashSet;
use std::sync::Mutex;

use kube::Resource;

/// Writes whose events are still to come, by UID and resourceVersion.
#[derive(Default)]
pub(crate) struct Echoes {
    expected: Mutex<HashSet<(String, String)>>,
}

/// More than this many unanswered writes means events were lost (a watch restarted and listed
/// past them): the set is emptied rather than kept growing.
const MAX_EXPECTED: usize = 100_000;

impl Echoes {
    /// Records `written`, an object as a write returned it: its event is an echo.
    pub(crate) fn expect<K: Resource>(&self, written: &K) {
        let Some(key) = key(written) else { return };
        let mut expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
        if expected.len() >= MAX_EXPECTED {
            expected.clear();
        }
        expected.insert(key);
    }

    /// Whether `o`, from a watch event, is the object as one of our writes left it (each echo
    /// is recognised once).
    pub(crate) fn is_echo<K: Resource>(&self, o: &K) -> bool {
        let Some(key) = key(o) else { return false };
        let mut expected = self.expected.lock().unwrap_or_else(|e| e.into_inner());
        expected.remove(&key)
    }
}

fn key<K: Resource>(o: &K) -> Option<(String, String)> {
    let m = o.meta();
    Some((m.uid.clone()?, m.resource_version.clone()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn secret(uid: &str, rv: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_the_version_written_is_an_echo_and_only_once() {
        let echoes = Echoes::default();
        echoes.expect(&secret("u1", "7"));
        assert!(
            !echoes.is_echo(&secret("u1", "8")),
            "a later change is news"
        );
        assert!(!echoes.is_echo(&secret("u2", "7")), "another object");
        assert!(echoes.is_echo(&secret("u1", "7")));
        assert!(!echoes.is_echo(&secret("u1", "7")), "recognised once");
    }
}
