//! The controller's Prometheus metrics, served on `/metrics` (see [`crate::endpoints`]).
//!
//! Built on `prometheus-client`, the Prometheus organisation's Rust client. Metrics are
//! process-wide, like the process they describe: one registry, recorded from wherever the event
//! happens (a reconcile's outcome, a push's replies, a drift repair). kube-runtime does not
//! expose its scheduler's queue, so there is no queue depth metric.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `kind` (e.g. `Account`) and `result` (`success` or `error`) of a reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindResult {
    kind: String,
    result: &'static str,
}

/// `kind` and `reason` (the condition reason, or where the failure came from) of a failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindReason {
    kind: String,
    reason: String,
}

/// The NATS `server` (its name) and its answer to a push.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerResult {
    server: String,
    result: &'static str,
}

/// An Account, by `namespace` and `name`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    namespace: String,
    account: String,
}

struct Metrics {
    registry: Registry,
    reconciles: Family<KindResult, Counter>,
    errors: Family<KindReason, Counter>,
    pushes: Family<ServerResult, Counter>,
    drift_repairs: Counter,
    revocations: Family<AccountLabels, Gauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let reconciles = Family::<KindResult, Counter>::default();
    let errors = Family::<KindReason, Counter>::default();
    let pushes = Family::<ServerResult, Counter>::default();
    let drift_repairs = Counter::default();
    let revocations = Family::<AccountLabels, Gauge>::default();
    let mut registry = Registry::with_prefix("nauth");
    registry.register(
        "reconciles",
        "Reconciles by kind and result",
        reconciles.clone(),
    );
    registry.register(
        "reconcile_errors",
        "Failed reconciles by kind and reason",
        errors.clone(),
    );
    registry.register(
        "pushes",
        "Answers of NATS servers to account JWT pushes, by server and result",
        pushes.clone(),
    );
    registry.register(
        "drift_repairs",
        "Account JWTs pushed again because a resolver lacked them or held an older one",
        drift_repairs.clone(),
    );
    registry.register(
        "account_revocations",
        "User keys revoked in an Account's JWT, as last pushed",
        revocations.clone(),
    );
    Metrics {
        registry,
        reconciles,
        errors,
        pushes,
        drift_repairs,
        revocations,
    }
});

/// Counts a reconcile of `kind`; a failed one also by `reason`.
pub(crate) fn reconciled(kind: &str, failure: Option<&str>) {
    let result = if failure.is_some() {
        "error"
    } else {
        "success"
    };
    METRICS
        .reconciles
        .get_or_create(&KindResult {
            kind: kind.to_string(),
            result,
        })
        .inc();
    if let Some(reason) = failure {
        METRICS
            .errors
            .get_or_create(&KindReason {
                kind: kind.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// Counts one server's answer to a push: `accepted`, `rejected` or `silent` (no answer in
/// time).
pub(crate) fn pushed(server: &str, result: &'static str) {
    METRICS
        .pushes
        .get_or_create(&ServerResult {
            server: server.to_string(),
            result,
        })
        .inc();
}

/// Counts a drift repair.
pub(crate) fn drift_repaired() {
    METRICS.drift_repairs.inc();
}

/// Records how many user keys Account `namespace/account` revokes now.
pub(crate) fn revocations(namespace: &str, account: &str, revoked: usize) {
    METRICS
        .revocations
        .get_or_create(&AccountLabels {
            namespace: namespace.to_string(),
            account: account.to_string(),
        })
        .set(i64::try_from(revoked).unwrap_or(i64::MAX));
}

/// Forgets a deleted Account's gauge.
pub(crate) fn forget_account(namespace: &str, account: &str) {
    METRICS.revocations.remove(&AccountLabels {
        namespace: namespace.to_string(),
        account: account.to_string(),
    });
}

/// Content type of [`encode`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric in the OpenMetrics text format, which Prometheus scrapes.
pub(crate) fn encode() -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &METRICS.registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_events_show_in_the_text_format() {
        reconciled("TestKind", None);
        reconciled("TestKind", Some("Errored"));
        pushed("test-server", "accepted");
        revocations("test-ns", "test-account", 3);
        let text = encode();
        for line in [
            r#"nauth_reconciles_total{kind="TestKind",result="success"} 1"#,
            r#"nauth_reconciles_total{kind="TestKind",result="error"} 1"#,
            r#"nauth_reconcile_errors_total{kind="TestKind",reason="Errored"} 1"#,
            r#"nauth_pushes_total{server="test-server",result="accepted"} 1"#,
            r#"nauth_account_revocations{namespace="test-ns",account="test-account"} 3"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line} in:\n{text}");
        }
        assert!(
            text.contains("# TYPE nauth_drift_repairs counter"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        forget_account("test-ns", "test-account");
        assert!(!encode().contains("test-account"));
    }
}
