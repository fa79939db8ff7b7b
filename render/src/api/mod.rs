//! The `nauth.io/v1alpha1` custom resources, compatible with NAuth.
