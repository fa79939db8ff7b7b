//! The one error type of the JWT module.

/// Why a JWT could not be encoded, decoded or a creds file parsed.
///
/// Messages name the rule that failed and never include key seeds: tokens and claims carry only
/// public keys, and creds parsing reports problems with the seed block without quoting it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// The token is not three base64url segments of JSON.
    #[error("malformed JWT: {0}")]
    Malformed(String),
    /// The JOSE header is not `{"typ":"JWT","alg":"ed25519-nkey"}`.
    #[error("invalid JWT header: {0}")]
    Header(String),
    /// The signature does not verify against the `iss` key.
    #[error("claim failed V2 signature verification")]
    Signature,
    /// The issuer or subject key has the wrong type for the claim.
    #[error("{0}")]
    Key(String),
    /// Go rejects tokens above 1 MB (`jwt.MaxTokenSize`).
    #[error("token size {0} exceeds maximum of 1048576 bytes: token too large")]
    TokenTooLarge(usize),
    /// The claim version or type is one this module does not handle.
    #[error("unsupported claim: {0}")]
    Unsupported(String),
    /// The claims cannot be encoded, e.g. no subject or an out-of-range latency sampling rate.
    #[error("cannot encode claims: {0}")]
    Encode(String),
    /// A creds file is not in the `nsc` layout or holds no valid user seed.
    #[error("invalid creds: {0}")]
    Creds(String),
}
