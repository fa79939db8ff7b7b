//! NATS JWT v2, byte-compatible with nats-io/jwt.
