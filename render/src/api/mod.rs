//! The `nauth.io/v1alpha1` custom resources, compatible with NAuth.
//!
//! Every type here parses what NAuth's CRDs accept and serializes back to the same JSON, so the
//! renderer and the controller can take over objects written for NAuth unchanged. The CRDs we ship
//! are generated from these types ([`crds`]); fields beyond NAuth model the rest of the NATS JWT v2
//! claims and are marked as nauth-rs extensions in their doc comments. They are all optional, so a
//! NAuth object stays valid.
//!
//! Schema defaults (for example `-1` for unset limits) are attached to the schema only, with
//! `#[schemars(extend("default" = ..))]`: the API server injects them into stored objects, while an
//! object read from a file keeps `None` for absent fields and round-trips unchanged.

#[macro_use]
mod absent_spec;
mod account;
mod account_export;
mod account_import;
mod account_signing_key;
mod check;
mod crds;
mod errors;
mod exports;
mod imports;
mod kind;
mod limits;
mod nats_cluster;
mod permissions;
mod refs;
mod schema;
mod status;
mod user;

/// Label that switches an Account or AccountSigningKey to NAuth's read-only observe mode.
pub const MANAGEMENT_POLICY_LABEL: &str = "nauth.io/management-policy";
/// Label carrying an Account's ID.
pub const ACCOUNT_ID_LABEL: &str = "account.nauth.io/id";
/// Label of a User and its creds Secret: the ID of the account that issued its JWT.
pub const USER_ACCOUNT_ID_LABEL: &str = "user.nauth.io/account-id";
/// Annotation of an Account: `"false"` keeps the earlier JWTs of a re-issued user valid (its
/// clients need not reload their creds at once); by default they are revoked. A deleted user's
/// key, and a replaced key, are revoked either way.
pub const REVOKE_ON_REISSUE_ANNOTATION: &str = "nauth.io/revoke-on-reissue";
/// Label saying what a key Secret holds (`account-root`, `user-creds`, ...).
pub const SECRET_TYPE_LABEL: &str = "nauth.io/secret-type";
/// [`SECRET_TYPE_LABEL`] value of the operator signing seed in NAuth's deprecated NATS_URL mode.
pub const OPERATOR_SIGN_SECRET_TYPE: &str = "operator-sign";
/// [`SECRET_TYPE_LABEL`] value of the system user's creds in NAuth's deprecated NATS_URL mode.
pub const SYSTEM_CREDS_SECRET_TYPE: &str = "system-account-user-creds";

pub use account::{
    Account, AccountAdoption, AccountAdoptions, AccountClaims, AccountSpec, AccountStatus,
    AdoptionState, AdoptionStatus, Authorization, MessageTrace, SigningKeyClaim, WeightedMapping,
};
pub use account_export::{
    AccountExport, AccountExportDesiredClaim, AccountExportRule, AccountExportSpec,
    AccountExportStatus,
};
pub use account_import::{
    AccountImport, AccountImportDesiredClaim, AccountImportRule, AccountImportRuleDerived,
    AccountImportSpec, AccountImportStatus,
};
pub use account_signing_key::{
    AccountSigningKey, AccountSigningKeySpec, AccountSigningKeyStatus, SigningKeyScope,
};
pub use check::{is_dns_label, is_dns_subdomain};
pub use crds::{crds, crds_yaml};
pub use errors::FieldError;
pub use exports::{Export, ExportOptions, ExportType, ResponseType, ServiceLatency};
pub use imports::{Import, ImportOptions};
pub use kind::{API_VERSION, GROUP, KINDS, Kind, VERSION};
pub use limits::{AccountLimits, JetStreamLimits, NatsLimits, TimeRange, UserLimits};
pub use nats_cluster::{NatsCluster, NatsClusterSpec, NatsClusterStatus, UrlFrom, UrlSourceKind};
pub use permissions::{
    ConnectionType, Permission, Permissions, ResponsePermission, UserPermissionLimits,
};
pub use refs::{AccountRef, AccountSigningKeyRef, NatsClusterRef, SecretKeyRef, SigningKeyKind};
pub use status::ReconcileStatus;
pub use user::{User, UserClaims, UserSpec, UserStatus};
