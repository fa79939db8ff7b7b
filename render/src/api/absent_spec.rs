//! A missing or `null` `spec` reads as the default spec.
//!
//! NAuth's CRDs (and ours, generated to match) accept an object without `spec`, and Go reads it
//! as the zero value. A derived `Deserialize` would instead fail on it, and with it every list
//! the object is in: one such Account would stop the controller from seeing any Account. Each
//! spec type derives its serde code under `#[serde(remote = "Self")]`, and this macro puts the
//! trait impls on top: present specs decode as derived, an absent one is `Default`, and the
//! checks of the type then report what it lacks (e.g. a User's `spec.accountName`).

/// Implements `Serialize` and the absent-tolerant `Deserialize` for a spec type whose derives
/// carry `#[serde(remote = "Self")]`.
macro_rules! absent_spec_is_default {
    ($spec:ty) => {
        impl<'de> serde::Deserialize<'de> for $spec {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Present($spec);
                impl<'de> serde::Deserialize<'de> for Present {
                    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                        <$spec>::deserialize(d).map(Present)
                    }
                }
                let present = <Option<Present> as serde::Deserialize>::deserialize(d)?;
                Ok(present.map(|p| p.0).unwrap_or_default())
            }
        }

        impl serde::Serialize for $spec {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$spec>::serialize(self, s)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::super::{Account, AccountSpec, User, UserSpec};
    use serde_json::json;

    fn object(kind: &str, spec: Option<serde_json::Value>) -> serde_json::Value {
        let mut o = json!({"apiVersion": "nauth.io/v1alpha1", "kind": kind,
                           "metadata": {"name": "x", "namespace": "n"}});
        if let Some(spec) = spec {
            o["spec"] = spec;
        }
        o
    }

    #[test]
    fn a_missing_or_null_spec_is_the_default_spec() {
        for spec in [None, Some(serde_json::Value::Null)] {
            let a: Account = serde_json::from_value(object("Account", spec.clone())).unwrap();
            assert_eq!(a.spec, AccountSpec::default());
            let u: User = serde_json::from_value(object("User", spec)).unwrap();
            assert_eq!(u.spec, UserSpec::default());
        }
        let yaml = "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: x}\nspec:\n";
        let a: Account = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(a.spec, AccountSpec::default());
    }

    #[test]
    fn a_present_spec_decodes_and_serializes_as_derived() {
        let spec = json!({"accountName": "a", "displayName": "d"});
        let u: User = serde_json::from_value(object("User", Some(spec.clone()))).unwrap();
        assert_eq!(u.spec.account_name, "a");
        assert_eq!(serde_json::to_value(&u).unwrap()["spec"], spec);
        let typo = object("User", Some(json!({"accountName": 7})));
        assert!(serde_json::from_value::<User>(typo).is_err());
    }
}
