//! Account subject mappings with weighted, optionally cluster-specific destinations.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::json::go_quote;
use super::subject::validate_subject;
use super::validation::ValidationResults;

/// Go's `WeightedMapping`: one destination of a mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightedMapping {
    /// Destination subject (always emitted).
    pub subject: String,
    /// Percentage 1–100; 0 means 100 (Go's `GetWeight`).
    #[serde(skip_serializing_if = "is_zero_u8")]
    pub weight: u8,
    /// Only applies in this cluster.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
}

fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}

impl WeightedMapping {
    /// Go's `GetWeight`: an unset weight counts as 100.
    pub fn effective_weight(&self) -> u32 {
        if self.weight == 0 {
            100
        } else {
            u32::from(self.weight)
        }
    }
}

/// Go's `Mapping`: source subject → destinations.
pub type Mapping = BTreeMap<String, Vec<WeightedMapping>>;

/// Go's `Mapping.Validate`: subjects valid, weights at most 100 per destination, per cluster and
/// in total for cluster-less destinations.
pub fn validate_mappings(mappings: &Mapping, vr: &mut ValidationResults) {
    for (from, dests) in mappings {
        validate_subject(from, vr);
        let q = go_quote(from);
        let mut per_cluster: BTreeMap<&str, u32> = BTreeMap::new();
        let mut total = 0;
        for dest in dests {
            validate_subject(&dest.subject, vr);
            let weight = dest.effective_weight();
            if weight > 100 {
                vr.add_error(format!(
                    "Mapping {q} has a weight {weight} that exceeds 100"
                ));
            }
            if dest.cluster.is_empty() {
                total += weight;
                continue;
            }
            let sum = per_cluster.entry(&dest.cluster).or_default();
            *sum += weight;
            if *sum > 100 {
                vr.add_error(format!(
                    "Mapping {q} in cluster {} exceeds 100% among all of it's weighted to mappings",
                    go_quote(&dest.cluster)
                ));
            }
        }
        if total > 100 {
            vr.add_error(format!(
                "Mapping {q} exceeds 100% among all of it's weighted to mappings"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_checked_per_cluster_and_overall() {
        let dest = |subject: &str, weight, cluster: &str| WeightedMapping {
            subject: subject.into(),
            weight,
            cluster: cluster.into(),
        };
        let mappings = Mapping::from([(
            "m".to_string(),
            vec![
                dest("a", 80, ""),
                dest("b", 30, ""),
                dest("c", 70, "c1"),
                dest("d", 40, "c1"),
                dest("e", 200, "c2"),
            ],
        )]);
        let mut vr = ValidationResults::default();
        validate_mappings(&mappings, &mut vr);
        let msgs: Vec<_> = vr.issues.iter().map(|i| i.description.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                r#"Mapping "m" in cluster "c1" exceeds 100% among all of it's weighted to mappings"#,
                r#"Mapping "m" has a weight 200 that exceeds 100"#,
                r#"Mapping "m" in cluster "c2" exceeds 100% among all of it's weighted to mappings"#,
                r#"Mapping "m" exceeds 100% among all of it's weighted to mappings"#,
            ]
        );
    }
}
