//! Slack request signing (v0): HMAC-SHA256 over `v0:<timestamp>:<raw body>` keyed with the
//! signing secret as UTF-8 bytes, compared in constant time, within a 5-minute window.
//! Runs on the raw bytes before anything is parsed.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Largest accepted difference between the request timestamp and our clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Shortest signing secret we trust (Slack's are 32 hex characters): a shorter one is a
/// configuration mistake (a placeholder, a truncated paste), and verifying with it would
/// accept requests signed by anyone who guesses it.
pub const MIN_SECRET_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    MissingHeaders,
    #[error("malformed request timestamp")]
    BadTimestamp,
    #[error("request timestamp is outside the 5-minute window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
    #[error("the signing secret is shorter than {MIN_SECRET_CHARS} characters")]
    WeakSecret,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail; an empty key still verifies nothing useful.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
        <Hmac<Sha256> as KeyInit>::new_from_slice(b"").unwrap_or_else(|_| unreachable!("HMAC takes any key"))
    });
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// `v0=<64 hex>` for a body sent at `timestamp` (used by `im chatops test-commands` and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret.as_bytes(), &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v0={}", hex::encode(digest))
}

/// Verifies a request. `now` is Unix seconds from an injectable clock.
pub fn verify(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if secret.expose_secret().trim().chars().count() < MIN_SECRET_CHARS {
        return Err(SignatureError::WeakSecret);
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::MissingHeaders);
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    if now.abs_diff(ts) > MAX_SKEW_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret.expose_secret().as_bytes(), timestamp.trim(), body)
        .finalize()
        .into_bytes();
    let expected = format!("v0={}", hex::encode(expected));
    let given = signature.trim().as_bytes();
    if given.len() == expected.len() && bool::from(given.ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example (PROTOCOLS.md §1.1).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn slack_test_vector() {
        assert_eq!(sign(SECRET, 1531420618, BODY.as_bytes()), EXPECTED);
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), 1531420618 + 10),
            Ok(())
        );
    }

    #[test]
    fn window_is_five_minutes_either_way() {
        let now = 1531420618;
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), now + 300),
            Ok(())
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), now - 300),
            Ok(())
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), now - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn tampering_and_missing_parts_are_rejected() {
        let now = 1531420618;
        let other_body = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), other_body.as_bytes(), now),
            Err(SignatureError::Mismatch)
        );
        let wrong = SecretString::from("another-secret-of-32-characters!");
        assert_eq!(
            verify(&wrong, Some(TS), Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some("v0=abc"), BODY.as_bytes(), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), Some("1531420619"), Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::Mismatch),
            "the timestamp is signed"
        );
        assert_eq!(
            verify(&secret(), None, Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::MissingHeaders)
        );
        assert_eq!(
            verify(&secret(), Some(TS), None, BODY.as_bytes(), now),
            Err(SignatureError::MissingHeaders)
        );
        assert_eq!(
            verify(&secret(), Some("yesterday"), Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn a_short_signing_secret_verifies_nothing() {
        let now = 1531420618;
        let short = "s3cret";
        let signature = sign(short, now, BODY.as_bytes());
        assert_eq!(
            verify(
                &SecretString::from(short),
                Some(TS),
                Some(&signature),
                BODY.as_bytes(),
                now
            ),
            Err(SignatureError::WeakSecret),
            "even a correct signature with a weak secret is refused"
        );
        let almost = &SECRET[..31];
        assert_eq!(
            verify(
                &SecretString::from(almost),
                Some(TS),
                Some(&sign(almost, now, BODY.as_bytes())),
                BODY.as_bytes(),
                now
            ),
            Err(SignatureError::WeakSecret)
        );
    }
}
