//! Leader election (NAuth's `--leader-elect`): of the replicas started with it, only the holder
//! of a `coordination.k8s.io/v1` Lease runs the controllers. The Lease has NAuth's name and
//! controller-runtime's timings: held for [`DURATION`] after each renewal, renewed and retried
//! every [`RETRY`]. Every write carries the `resourceVersion` it was decided from, so of two
//! replicas racing for the Lease the API server lets one win (409 Conflict for the other). The
//! holder releases the Lease when it stops, so a standby takes over within [`RETRY`]; after a
//! crash, within [`DURATION`].

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

/// NAuth's leader election ID, the Lease's name.
pub const LEASE_NAME: &str = "949483fb.nauth.io";
/// How long a Lease stays held after its last renewal (controller-runtime: 15 s).
const DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews and a standby retries (controller-runtime: 2 s).
const RETRY: Duration = Duration::from_secs(2);
/// How long the holder keeps leading while renewals fail (controller-runtime: 10 s): less
/// than [`DURATION`], so it stops before a standby may take over.
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

/// What a replica may do with the Lease as it finds it.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Nobody holds it, or its holder let it expire: take it.
    Take,
    /// We hold it: renew it.
    Renew,
    /// Another replica holds it.
    Wait { holder: String },
}

/// The rule of leader election: a Lease with no holder, or whose holder did not renew it
/// within its duration, may be taken; one we hold is renewed; else we wait.
fn decide(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Step {
    let holder = spec
        .and_then(|s| s.holder_identity.clone())
        .filter(|h| !h.is_empty());
    let Some(holder) = holder else {
        return Step::Take;
    };
    if holder == me {
        return Step::Renew;
    }
    let spec = spec.expect("a holder comes from a spec");
    let seconds = spec.lease_duration_seconds.unwrap_or(0);
    let expired = match &spec.renew_time {
        Some(MicroTime(renewed)) => *renewed + SignedDuration::from_secs(i64::from(seconds)) < now,
        None => true,
    };
    if expired {
        Step::Take
    } else {
        Step::Wait { holder }
    }
}

/// This replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    namespace: String,
    identity: String,
}

impl Elector {
    /// The election of the Lease in `namespace`, as `identity` (unique per replica).
    pub fn new(client: Client, namespace: &str, identity: String) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            identity,
        }
    }

    /// Returns once this replica holds the Lease, trying every [`RETRY`].
    pub async fn acquire(&self) {
        let mut waiting_for = None;
        loop {
            match self.attempt().await {
                Ok(None) => {
                    tracing::info!(lease = %self.lease(), identity = %self.identity, "became the leader");
                    return;
                }
                Ok(Some(holder)) => {
                    if waiting_for.as_ref() != Some(&holder) {
                        tracing::info!(lease = %self.lease(), holder = %holder, "waiting for the leader Lease: another replica holds it");
                        waiting_for = Some(holder);
                    }
                }
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    tracing::debug!(lease = %self.lease(), "another replica wrote the leader Lease first")
                }
                Err(e) => {
                    tracing::warn!(lease = %self.lease(), error = %e, "taking the leader Lease")
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Renews the Lease every [`RETRY`]; returns when leadership is lost: another replica
    /// holds the Lease, or no renewal succeeded for [`RENEW_DEADLINE`].
    pub async fn keep(&self) {
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RETRY).await;
            match self.attempt().await {
                Ok(None) => renewed = tokio::time::Instant::now(),
                Ok(Some(holder)) => {
                    tracing::error!(lease = %self.lease(), holder = %holder, "another replica took the leader Lease");
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = %self.lease(), error = %e, "renewing the leader Lease");
                    if renewed.elapsed() >= RENEW_DEADLINE {
                        tracing::error!(lease = %self.lease(), "the leader Lease was not renewed for {RENEW_DEADLINE:?}");
                        return;
                    }
                }
            }
        }
    }

    /// Gives the Lease up (no holder), so a standby takes over at its next try. Failing is
    /// logged: the Lease then expires after [`DURATION`].
    pub async fn release(&self) {
        let result = async {
            let mut lease = self.api.get(LEASE_NAME).await?;
            let spec = lease.spec.get_or_insert_with(Default::default);
            if spec.holder_identity.as_deref() != Some(&self.identity) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.acquire_time = None;
            spec.renew_time = None;
            self.api
                .replace(LEASE_NAME, &PostParams::default(), &lease)
                .await
                .map(drop)
        }
        .await;
        match result {
            Ok(()) => tracing::info!(lease = %self.lease(), "released the leader Lease"),
            Err(e) => {
                tracing::warn!(lease = %self.lease(), error = %e, "releasing the leader Lease")
            }
        }
    }

    /// One round: reads the Lease and takes or renews it when [`decide`] allows. `Ok(None)`:
    /// we hold it now; `Ok(Some(holder))`: another replica does.
    async fn attempt(&self) -> Result<Option<String>, kube::Error> {
        let now = Timestamp::now();
        let found = self.api.get_opt(LEASE_NAME).await?;
        let step = decide(
            found.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            now,
        );
        let held = |spec: &LeaseSpec| LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(DURATION.as_secs() as i32),
            renew_time: Some(MicroTime(now)),
            ..spec.clone()
        };
        let written = match (step, found) {
            (Step::Wait { holder }, _) => return Ok(Some(holder)),
            (_, None) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(LEASE_NAME.into()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        acquire_time: Some(MicroTime(now)),
                        lease_transitions: Some(0),
                        ..held(&LeaseSpec::default())
                    }),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            (step, Some(mut lease)) => {
                // The resourceVersion read stays in `lease`: a concurrent write makes ours fail.
                let spec = lease.spec.unwrap_or_default();
                lease.spec = Some(if step == Step::Take {
                    LeaseSpec {
                        acquire_time: Some(MicroTime(now)),
                        lease_transitions: Some(spec.lease_transitions.unwrap_or(0) + 1),
                        ..held(&spec)
                    }
                } else {
                    held(&spec)
                });
                self.api
                    .replace(LEASE_NAME, &PostParams::default(), &lease)
                    .await
            }
        };
        // A 409: another replica wrote first; the next round sees what it wrote.
        written.map(|_| None)
    }

    fn lease(&self) -> String {
        format!("{}/{LEASE_NAME}", self.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn held_by(holder: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(at(renewed))),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_or_released_lease_is_taken() {
        assert_eq!(decide(None, "me", at(0)), Step::Take);
        assert_eq!(decide(Some(&LeaseSpec::default()), "me", at(0)), Step::Take);
        let released = LeaseSpec {
            holder_identity: Some(String::new()),
            ..held_by("", 0)
        };
        assert_eq!(decide(Some(&released), "me", at(1)), Step::Take);
    }

    #[test]
    fn our_own_lease_is_renewed() {
        assert_eq!(decide(Some(&held_by("me", 0)), "me", at(5)), Step::Renew);
        // Even past its expiry: nobody else took it.
        assert_eq!(decide(Some(&held_by("me", 0)), "me", at(60)), Step::Renew);
    }

    #[test]
    fn another_holder_is_waited_for_until_its_lease_expires() {
        let theirs = held_by("other", 0);
        let wait = Step::Wait {
            holder: "other".into(),
        };
        assert_eq!(decide(Some(&theirs), "me", at(1)), wait);
        assert_eq!(decide(Some(&theirs), "me", at(15)), wait);
        assert_eq!(decide(Some(&theirs), "me", at(16)), Step::Take);
        let never_renewed = LeaseSpec {
            renew_time: None,
            ..theirs
        };
        assert_eq!(decide(Some(&never_renewed), "me", at(1)), Step::Take);
    }
}
