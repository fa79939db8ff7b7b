//! Kinds of nkeys as messages name them.

use nkeys::KeyPairType;

/// A kind of nkey as messages say it, with its article: "an account", "an operator". Lets an
/// error name the kind of seed it found and the one it expected without quoting the seed.
pub fn key_kind(kind: KeyPairType) -> &'static str {
    match kind {
        KeyPairType::Server => "a server",
        KeyPairType::Cluster => "a cluster",
        KeyPairType::Operator => "an operator",
        KeyPairType::Account => "an account",
        KeyPairType::User => "a user",
        KeyPairType::Module => "a module",
        KeyPairType::Curve => "a curve (xkey)",
        KeyPairType::Service => "a service",
    }
}
