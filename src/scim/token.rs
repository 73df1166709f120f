//! API tokens: `scimd_<lookup prefix>_<secret>`. The prefix finds the row by
//! index; only an argon2id hash of the secret is stored.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::scim::ScimError;

const SCHEME: &str = "scimd_";
const PREFIX_LEN: usize = 12;
const SECRET_LEN: usize = 40;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub struct IssuedToken {
    /// Shown to the operator once, never stored.
    pub plaintext: String,
    pub lookup_prefix: String,
    pub secret_hash: String,
}

/// The two halves of a presented token.
pub struct PresentedToken<'a> {
    pub lookup_prefix: &'a str,
    pub secret: &'a str,
}

fn random_text(len: usize) -> String {
    // Rejection sampling keeps every character equally likely (62 does not divide 256).
    let mut out = String::with_capacity(len);
    let mut byte = [0u8; 1];
    while out.len() < len {
        OsRng.fill_bytes(&mut byte);
        if usize::from(byte[0]) < 248 {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    out
}

pub fn issue() -> Result<IssuedToken, ScimError> {
    let lookup_prefix = random_text(PREFIX_LEN);
    let secret = random_text(SECRET_LEN);
    let secret_hash = hash_secret(&secret)?;
    Ok(IssuedToken {
        plaintext: format!("{SCHEME}{lookup_prefix}_{secret}"),
        lookup_prefix,
        secret_hash,
    })
}

/// How a token's public start is shown in listings (`scimd_<prefix>_…`), so
/// a token found in the wild can be matched to its row.
pub fn shown_prefix(lookup_prefix: &str) -> String {
    format!("{SCHEME}{lookup_prefix}_…")
}

pub fn parse(token: &str) -> Option<PresentedToken<'_>> {
    let rest = token.strip_prefix(SCHEME)?;
    let (lookup_prefix, secret) = rest.split_once('_')?;
    let well_formed = lookup_prefix.len() == PREFIX_LEN
        && secret.len() == SECRET_LEN
        && lookup_prefix
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(PresentedToken {
        lookup_prefix,
        secret,
    })
}

/// argon2id with the crate's defaults and a fresh salt (also used for SCIM passwords).
pub fn hash_secret(secret: &str) -> Result<String, ScimError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ScimError::internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
}

/// Constant-time by construction of argon2's verifier.
pub fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Key for the in-memory cache of verified tokens: the token itself never
/// sits in memory longer than the request.
pub fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_parses_and_verifies() {
        let issued = issue().expect("issue");
        let presented = parse(&issued.plaintext).expect("parses");
        assert_eq!(presented.lookup_prefix, issued.lookup_prefix);
        assert!(verify_secret(presented.secret, &issued.secret_hash));
        assert!(!issued.secret_hash.contains(presented.secret));
    }

    #[test]
    fn wrong_secret_and_malformed_tokens_are_refused() {
        let issued = issue().expect("issue");
        let other = issue().expect("issue");
        let presented = parse(&other.plaintext).expect("parses");
        assert!(!verify_secret(presented.secret, &issued.secret_hash));
        assert!(parse("scimd_short_secret").is_none());
        assert!(parse("Bearer whatever").is_none());
        assert!(parse(&issued.plaintext.replace("scimd_", "other_")).is_none());
        assert!(!verify_secret("x", "not a phc string"));
    }
}
