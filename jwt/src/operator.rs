//! Operator claim body: the trust root, its signing keys and system account.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::generic::GenericFields;
use super::json::{go_quote, is_false};
use super::url::parse_url;
use super::validation::{ValidationResults, is_account_key, is_public_key};
use nkeys::KeyPairType;

/// Body of an operator JWT (Go's `Operator`). `Default` equals `NewOperatorClaims`' body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Operator {
    /// Operator keys that may sign accounts on the operator's behalf (kept in given order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    /// Base URL of an nats-account-server compatible service.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_server_url: String,
    /// `nats://`, `tls://`, `ws://` or `wss://` URLs tools use to reach the servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operator_service_urls: Vec<String>,
    /// Public key of the system account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    /// Minimum server version, `major.minor.update`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assert_server_version: String,
    /// Accounts must be signed by a signing key, never the identity key.
    #[serde(skip_serializing_if = "is_false")]
    pub strict_signing_key_usage: bool,
    /// Tags, type, version.
    #[serde(flatten)]
    pub generic: GenericFields,
    /// Unknown fields, kept for round trips and emitted last in key order.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Operator {
    /// Go's `Operator.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if let Err(e) = self.check_account_server_url() {
            vr.add_error(e);
        }
        for url in self.operator_service_urls.iter().filter(|u| !u.is_empty()) {
            if let Err(e) = check_service_url(url) {
                vr.add_error(e);
            }
        }
        for key in &self.signing_keys {
            if !is_public_key(key, KeyPairType::Operator) {
                vr.add_error(format!("{key} is not an operator public key"));
            }
        }
        if !self.system_account.is_empty() && !is_account_key(&self.system_account) {
            vr.add_error(format!(
                "{} is not an account public key",
                self.system_account
            ));
        }
        if let Err(e) = check_server_version(&self.assert_server_version) {
            vr.add_error(format!("assert server version error: {e}"));
        }
    }

    /// Go checks this one on encode too: the URL must parse and carry a scheme.
    pub(crate) fn check_account_server_url(&self) -> Result<(), String> {
        let url = &self.account_server_url;
        if url.is_empty() {
            return Ok(());
        }
        match parse_url(url) {
            Err(e) => Err(format!("error parsing account server url: {e}")),
            Ok(u) if u.scheme.is_empty() => Err(format!(
                "account server url {} requires a protocol",
                go_quote(url)
            )),
            Ok(_) => Ok(()),
        }
    }
}

/// Go's `ValidateOperatorServiceURL`.
fn check_service_url(url: &str) -> Result<(), String> {
    let q = go_quote(url);
    let u = parse_url(url).map_err(|e| format!("error parsing operator service url {q}: {e}"))?;
    if u.has_user {
        return Err(format!(
            "operator service url {q} - credentials are not supported"
        ));
    }
    if !u.path.is_empty() {
        return Err(format!(
            "operator service url {q} - paths are not supported"
        ));
    }
    match u.scheme.as_str() {
        "nats" | "tls" | "ws" | "wss" => Ok(()),
        _ => Err(format!(
            "operator service url {q} - protocol not supported (only 'nats', 'tls', 'ws', 'wss' only)"
        )),
    }
}

/// Go's `ParseServerVersion` error cases.
fn check_server_version(version: &str) -> Result<(), String> {
    if version.is_empty() {
        return Ok(());
    }
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 3 {
        return Err(
            "asserted server version must be of the form <major>.<minor>.<update>".to_string(),
        );
    }
    for part in &parts {
        let n: i64 = part
            .parse()
            .map_err(|_| format!("asserted server version cant parse {part} to int"))?;
        if n < 0 {
            return Err(format!(
                "asserted server version can'b contain negative values: {version}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_version_messages() {
        assert!(check_server_version("2.10.0").is_ok());
        assert_eq!(
            check_server_version("2.x.1").unwrap_err(),
            "asserted server version cant parse x to int"
        );
        assert!(
            check_server_version("1.-1.0")
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn account_server_url_needs_scheme() {
        let op = Operator {
            account_server_url: "host/jwt".into(),
            ..Default::default()
        };
        assert_eq!(
            op.check_account_server_url().unwrap_err(),
            r#"account server url "host/jwt" requires a protocol"#
        );
    }
}
