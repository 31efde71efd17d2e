//! Discord request signing: Ed25519 over `timestamp || raw body` with the application's public
//! key (`verify_strict`). Every failure is the same 401: Discord probes endpoints with bad
//! signatures and removes those that accept them.

use ed25519_dalek::{Signature, VerifyingKey};
use im_core::inbound::VerifyError;

/// The application's public key: exactly 64 hex characters (32 bytes), a valid curve point.
pub fn public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let trimmed = hex_key.trim();
    if trimmed.len() != 64 {
        return Err(format!(
            "a Discord public key is 64 hex characters (this one has {})",
            trimmed.len()
        ));
    }
    let bytes: [u8; 32] = hex::decode(trimmed)
        .map_err(|_| "a Discord public key is 64 hex characters (0-9, a-f)".to_string())?
        .try_into()
        .map_err(|_| "a Discord public key is 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_string())
}

/// Verifies a request's `X-Signature-Ed25519` over `X-Signature-Timestamp` and the raw body.
pub fn verify(
    public_key_hex: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let key = public_key(public_key_hex).map_err(VerifyError::Unusable)?;
    verify_with(&key, timestamp, signature, body)
}

/// [`verify`] with the key already read.
pub fn verify_with(
    key: &VerifyingKey,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let timestamp = timestamp.ok_or(VerifyError::Missing("X-Signature-Timestamp"))?;
    let signature = signature.ok_or(VerifyError::Missing("X-Signature-Ed25519"))?;
    let bytes: [u8; 64] = hex::decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::Malformed("X-Signature-Ed25519"))?;
    let signature = Signature::from_bytes(&bytes);
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &signature)
        .map_err(|_| VerifyError::Mismatch)
}

/// What the local key pair's seed is the SHA-256 of: `events/` fixtures and `im sign-event` sign
/// with it, and a local provider trusts it by having its public key. Never a real application's.
pub const LOCAL_SEED_TEXT: &str = "im events fixture discord key";

/// The local key pair (fixtures, `make dev`, `im sign-event`).
pub fn local_signing_key() -> ed25519_dalek::SigningKey {
    use sha2::Digest;
    let seed: [u8; 32] = sha2::Sha256::digest(LOCAL_SEED_TEXT.as_bytes()).into();
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

/// `X-Signature-Ed25519` for `timestamp || body`, hex, as Discord sends it.
pub fn sign(key: &ed25519_dalek::SigningKey, timestamp: &str, body: &[u8]) -> String {
    use ed25519_dalek::Signer;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    hex::encode(key.sign(&message).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // PROTOCOLS.md §2.1: the RFC 8032 TEST 1 key, signing `1700000000` + `{"type":1}`.
    const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const TS: &str = "1700000000";
    const BODY: &[u8] = br#"{"type":1}"#;
    const SIG: &str = "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f";

    #[test]
    fn the_test_vector_verifies() {
        assert_eq!(verify(KEY, Some(TS), Some(SIG), BODY), Ok(()));
    }

    #[test]
    fn what_the_local_key_signs_verifies_with_its_public_key_only() {
        let key = local_signing_key();
        let public = hex::encode(key.verifying_key().to_bytes());
        assert_eq!(
            public, "4abf97a7212f92e651b1cbc3c4ba6d41dcc6276e8b4d2a95fd9e09917b48df09",
            "the key events/generate.py signs the fixtures with"
        );
        let signature = sign(&key, TS, BODY);
        assert_eq!(verify(&public, Some(TS), Some(&signature), BODY), Ok(()));
        assert_eq!(
            verify(KEY, Some(TS), Some(&signature), BODY),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn anything_changed_is_refused() {
        assert_eq!(
            verify(KEY, Some("1700000001"), Some(SIG), BODY),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(KEY, Some(TS), Some(SIG), br#"{"type":2}"#),
            Err(VerifyError::Mismatch)
        );
        let other = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
        assert_eq!(verify(other, Some(TS), Some(SIG), BODY), Err(VerifyError::Mismatch));
        let mut flipped = SIG.to_string();
        flipped.replace_range(0..2, "17");
        assert_eq!(verify(KEY, Some(TS), Some(&flipped), BODY), Err(VerifyError::Mismatch));
        assert!(matches!(
            verify(KEY, None, Some(SIG), BODY),
            Err(VerifyError::Missing(_))
        ));
        assert!(matches!(
            verify(KEY, Some(TS), None, BODY),
            Err(VerifyError::Missing(_))
        ));
        assert!(matches!(
            verify(KEY, Some(TS), Some("zz"), BODY),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn public_keys_are_exactly_64_hex_characters() {
        assert!(public_key(KEY).is_ok());
        assert!(public_key(&KEY[..62]).is_err_and(|e| e.contains("has 62")));
        assert!(public_key(&format!("{KEY}00")).is_err());
        assert!(public_key(&"g".repeat(64)).is_err_and(|e| e.contains("hex")));
        assert!(matches!(
            verify("short", Some(TS), Some(SIG), BODY),
            Err(VerifyError::Unusable(_))
        ));
    }
}
