//! The six kinds by name, so input loading can dispatch on `apiVersion`/`kind`.

use std::fmt;

/// API group of every NAuth kind.
pub const GROUP: &str = "nauth.io";
/// The only version NAuth serves.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every NAuth object.
pub const API_VERSION: &str = "nauth.io/v1alpha1";

/// One of the six `nauth.io/v1alpha1` kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// [`super::Account`]
    Account,
    /// [`super::AccountExport`]
    AccountExport,
    /// [`super::AccountImport`]
    AccountImport,
    /// [`super::AccountSigningKey`]
    AccountSigningKey,
    /// [`super::NatsCluster`]
    NatsCluster,
    /// [`super::User`]
    User,
}

/// All kinds, in the order rendered output lists them.
pub const KINDS: [Kind; 6] = [
    Kind::Account,
    Kind::AccountExport,
    Kind::AccountImport,
    Kind::AccountSigningKey,
    Kind::NatsCluster,
    Kind::User,
];

impl Kind {
    /// The `kind` string of manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Account => "Account",
            Kind::AccountExport => "AccountExport",
            Kind::AccountImport => "AccountImport",
            Kind::AccountSigningKey => "AccountSigningKey",
            Kind::NatsCluster => "NatsCluster",
            Kind::User => "User",
        }
    }

    /// The kind of a manifest, or `None` when it is not a NAuth object.
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        if api_version != API_VERSION {
            return None;
        }
        KINDS.into_iter().find(|k| k.as_str() == kind)
    }

    /// Resource name used in URLs and in the CRD name (`<plural>.nauth.io`).
    pub fn plural(self) -> String {
        format!("{}s", self.as_str().to_ascii_lowercase())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_by_api_version_and_kind() {
        assert_eq!(Kind::from_type(API_VERSION, "User"), Some(Kind::User));
        assert_eq!(Kind::from_type("v1", "Secret"), None);
        assert_eq!(Kind::from_type("nauth.io/v1beta1", "User"), None);
        assert_eq!(Kind::AccountSigningKey.plural(), "accountsigningkeys");
    }
}
