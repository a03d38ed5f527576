//! Argon2id hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane) for passwords and
//! access codes. Hashing is deliberately slow, so it runs on the blocking pool,
//! never on the async runtime's worker threads.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("hashing failed")]
    Hash,
    #[error("hashing task failed")]
    Join,
}

fn hash_blocking(secret: &[u8]) -> Result<String, HashError> {
    let hash: argon2::password_hash::phc::PasswordHash = Argon2::default()
        .hash_password(secret)
        .map_err(|_| HashError::Hash)?;
    Ok(hash.to_string())
}

/// Hashes a secret into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(secret: String) -> Result<String, HashError> {
    let secret = zeroize::Zeroizing::new(secret);
    tokio::task::spawn_blocking(move || hash_blocking(secret.as_bytes()))
        .await
        .map_err(|_| HashError::Join)?
}

/// Checks a secret against a stored PHC string; false on mismatch or a malformed hash.
pub async fn verify(secret: String, phc: String) -> Result<bool, HashError> {
    let secret = zeroize::Zeroizing::new(secret);
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(secret.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .map_err(|_| HashError::Join)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("AB10XYZ9".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("AB10XYZ9".into(), h.clone()).await.unwrap());
        assert!(!verify("AB10XYZ8".into(), h).await.unwrap());
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }
}
