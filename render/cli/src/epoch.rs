//! Which unix time JWTs whose claims changed are issued at.

/// The last second of year 9999: a larger "unix time" is almost surely milliseconds, and an
/// `iat` that far ahead would outlive every later render (each must be newer).
const LAST_EPOCH: i64 = 253_402_300_799;

/// The epoch `--issued-at` or `SOURCE_DATE_EPOCH` (empty means unset, as in the
/// reproducible-builds convention) asks for, checked to be unix seconds from 1970 to 9999.
pub(super) fn chosen(issued_at: Option<i64>, env: Option<&str>) -> Result<Option<i64>, String> {
    let (secs, source) = match (issued_at, env.map(str::trim)) {
        (Some(secs), _) => (secs, "--issued-at"),
        (None, None | Some("")) => return Ok(None),
        (None, Some(value)) => (
            value
                .parse()
                .map_err(|_| format!("SOURCE_DATE_EPOCH must be unix seconds, got {value:?}"))?,
            "SOURCE_DATE_EPOCH",
        ),
    };
    if secs < 0 {
        return Err(format!(
            "{source} must not be negative: unix seconds since 1970, got {secs}"
        ));
    }
    if secs > LAST_EPOCH {
        return Err(format!(
            "{source} must be unix seconds between 0 and {LAST_EPOCH} (year 9999), got {secs}; \
             a value in milliseconds is 1,000 times too large"
        ));
    }
    Ok(Some(secs))
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn epochs_are_unix_seconds_from_1970_to_9999_and_an_empty_variable_is_unset() {
        assert_eq!(chosen(None, None), Ok(None));
        assert_eq!(chosen(None, Some("")), Ok(None));
        assert_eq!(chosen(None, Some(" 1795977000 ")), Ok(Some(1_795_977_000)));
        assert_eq!(chosen(Some(7), Some("junk")), Ok(Some(7)));
        for (flag, env, named) in [
            (None, Some("1795977000000"), "SOURCE_DATE_EPOCH"),
            (Some(1_795_977_000_000), None, "--issued-at"),
        ] {
            let message = chosen(flag, env).unwrap_err();
            assert!(
                message.starts_with(named) && message.contains("1,000 times too large"),
                "{message}"
            );
        }
        for (flag, env, named) in [
            (None, Some("-5"), "SOURCE_DATE_EPOCH"),
            (Some(-1), None, "--issued-at"),
        ] {
            let message = chosen(flag, env).unwrap_err();
            assert!(
                message.starts_with(&format!("{named} must not be negative"))
                    && !message.contains("too large"),
                "{message}"
            );
        }
        assert!(chosen(None, Some("x")).is_err());
    }
}
