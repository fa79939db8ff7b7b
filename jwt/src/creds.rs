//! User creds files in the `nsc` / Go `FormatUserConfig` layout.

use nkeys::{KeyPair, KeyPairType};

use super::error::JwtError;

/// Formats a creds file exactly like Go's `jwt.FormatUserConfig` for a user JWT and seed: the
/// JWT block (BEGIN with five dashes, END with six), the warning banner, the seed block, and a
/// trailing newline that client parsers require.
pub fn format_user_creds(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        seed.trim()
    )
}

/// Reads the JWT and user key pair back from a creds file: the first two blocks framed by
/// dash lines, as Go's `ParseDecoratedJWT` / `ParseDecoratedUserNKey` find them. Errors never
/// quote the seed.
pub fn parse_creds(creds: &str) -> Result<(String, KeyPair), JwtError> {
    let blocks = framed_blocks(creds);
    let [jwt, seed, ..] = blocks.as_slice() else {
        return Err(JwtError::Creds(format!(
            "expected a JWT block and a seed block, found {} block(s)",
            blocks.len()
        )));
    };
    let kp = KeyPair::from_seed(seed).map_err(|_| {
        JwtError::Creds("second block does not hold a valid nkey seed, expected a user seed".into())
    })?;
    if kp.key_pair_type() != KeyPairType::User {
        return Err(JwtError::Creds(format!(
            "second block holds {} seed, expected a user seed",
            crate::key_kind(kp.key_pair_type())
        )));
    }
    Ok((jwt.to_string(), kp))
}

/// Contents of every `---…---` / value / `---…---` line triple, the value being one token of
/// `[A-Za-z0-9_.=-]`.
fn framed_blocks(text: &str) -> Vec<&str> {
    let is_frame = |l: &str| {
        let l = l.trim();
        l.len() >= 6 && l.starts_with("---") && l.ends_with("---")
    };
    let is_value = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '='))
    };
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    lines
        .windows(3)
        .filter(|w| is_frame(w[0]) && is_value(w[1]) && is_frame(w[2]))
        .map(|w| w[1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> KeyPair {
        KeyPair::new_from_raw(KeyPairType::User, [3; 32]).unwrap()
    }

    #[test]
    fn round_trip() {
        let kp = user();
        let seed = kp.seed().unwrap();
        let creds = format_user_creds("aaa.bbb.ccc", &seed);
        assert!(creds.starts_with(
            "-----BEGIN NATS USER JWT-----\naaa.bbb.ccc\n------END NATS USER JWT------\n"
        ));
        assert!(creds.ends_with("------END USER NKEY SEED------\n\n*************************************************************\n"));
        let (jwt, back) = parse_creds(&creds).unwrap();
        assert_eq!(jwt, "aaa.bbb.ccc");
        assert_eq!(back.public_key(), kp.public_key());
    }

    #[test]
    fn errors_do_not_leak_the_seed() {
        let seed = user().seed().unwrap();
        let mut broken = seed.clone();
        broken.replace_range(10..11, if &seed[10..11] == "A" { "B" } else { "A" });
        let err = parse_creds(&format_user_creds("a.b.c", &broken)).unwrap_err();
        assert!(!err.to_string().contains(&broken[2..]), "{err}");
        let account_seed = KeyPair::new_from_raw(KeyPairType::Account, [3; 32])
            .unwrap()
            .seed()
            .unwrap();
        let err = parse_creds(&format_user_creds("a.b.c", &account_seed)).unwrap_err();
        assert!(!err.to_string().contains(&account_seed[2..]), "{err}");
        assert_eq!(
            err.to_string(),
            JwtError::Creds("second block holds an account seed, expected a user seed".into())
                .to_string()
        );
        assert!(parse_creds("nothing here").is_err());
    }
}
