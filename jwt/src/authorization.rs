//! Auth callout configuration of an account (Go's `ExternalAuthorization`).

use serde::{Deserialize, Serialize};

use super::json::go_quote;
use super::validation::{ValidationResults, is_account_key, is_public_key};
use nkeys::KeyPairType;

/// Go's `AnyAccount` marker for `allowed_accounts`.
pub const ANY_ACCOUNT: &str = "*";

/// Go's `ExternalAuthorization`; always emitted (as `{}` when unused).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalAuthorization {
    /// Users that bypass the callout (the callout service itself); non-empty enables it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_users: Vec<String>,
    /// Accounts the callout may place users in, or just `*`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_accounts: Vec<String>,
    /// Curve key requests are encrypted for.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

impl ExternalAuthorization {
    /// Go's `IsEnabled`.
    pub fn is_enabled(&self) -> bool {
        !self.auth_users.is_empty()
    }

    /// Go's `ExternalAuthorization.Validate`.
    pub fn validate(&self, vr: &mut ValidationResults) {
        if !self.allowed_accounts.is_empty() && self.auth_users.is_empty() {
            vr.add_error("External authorization cannot have accounts without users specified");
        }
        for user in &self.auth_users {
            if !is_public_key(user, KeyPairType::User) {
                vr.add_error(format!(
                    "AuthUser {} is not a valid user public key",
                    go_quote(user)
                ));
            }
        }
        for account in &self.allowed_accounts {
            if account == ANY_ACCOUNT {
                if self.allowed_accounts.len() > 1 {
                    vr.add_error(format!(
                        "AllowedAccounts can only be a list of accounts or {}",
                        go_quote(ANY_ACCOUNT)
                    ));
                }
            } else if !is_account_key(account) {
                vr.add_error(format!(
                    "Account {} is not a valid account public key",
                    go_quote(account)
                ));
            }
        }
        if !self.xkey.is_empty() && !is_public_key(&self.xkey, KeyPairType::Curve) {
            vr.add_error(format!(
                "XKey {} is not a valid public xkey",
                go_quote(&self.xkey)
            ));
        }
    }
}
