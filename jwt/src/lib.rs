//! NATS JWT v2, byte-compatible with Go's `github.com/nats-io/jwt/v2` (v2.8.x).
//!
//! Encoding is a pure function of (claims, signing key, `iat`): no clock and no randomness live
//! here, so the controller decides when `iat` moves (see the determinism notes in the design).
//! Payloads are written with Go's field order, `omitempty` rules and HTML-safe escaping
//! ([`to_go_json`]); `jti` is Go v2's hash of the registered claims ([`compute_jti`]).
//!
//! Defaults: every body's `Default` is Go's zero value (what decoding starts from);
//! [`Account::new`] and [`User::new`] match Go's `NewAccountClaims` / `NewUserClaims`.
//!
//! Unknown fields: decoding keeps unknown top-level and body fields in `extra` maps, and
//! encoding writes them after the known fields in key order. Go would drop them.
//!
//! Validation mirrors Go's `Validate(vr)`, with Go's message texts; time checks take the
//! caller's `now`.

mod account;
mod activation;
mod authorization;
mod claims;
mod codec;
pub mod creds;
mod error;
mod export;
mod generic;
mod go_sort;
mod import;
mod info;
mod json;
mod kind;
mod limits;
mod mapping;
mod operator;
mod permissions;
mod signing_keys;
pub mod subject;
mod url;
mod user;
mod validation;

pub use account::{Account, MsgTrace, REVOKE_ALL, RevocationList, is_revoked, revoke};
pub use activation::Activation;
pub use authorization::{ANY_ACCOUNT, ExternalAuthorization};
pub use claims::{ClaimBody, Claims, ClaimsData};
pub use codec::{
    ALGORITHM, AnyClaims, Decoded, Header, MAX_TOKEN_SIZE, TOKEN_TYPE, compute_jti, decode, encode,
};
pub use error::JwtError;
pub use export::{Export, ExportType, Exports, ResponseType, ServiceLatency, validate_exports};
pub use generic::{Generic, GenericFields, LIB_VERSION, normalize_tags};
pub use import::{Import, Imports, validate_imports};
pub use info::Info;
pub use json::to_go_json;
pub use kind::key_kind;
pub use limits::{AccountLimits, JetStreamLimits, NO_LIMIT, NatsLimits, OperatorLimits};
pub use mapping::{Mapping, WeightedMapping, validate_mappings};
pub use operator::Operator;
pub use permissions::{Permission, Permissions, ResponsePermission};
pub use signing_keys::{ScopeKind, SigningKeys, UserScope};
pub use user::{TimeRange, User, UserLimits, UserPermissionLimits, validate_scoped_user};
pub use validation::{ValidationIssue, ValidationResults, is_account_key, is_public_key};
