//! Field-level encryption and blind indexes.
//!
//! Key hierarchy: the master key (env or data-dir file) wraps, per school, a set of
//! numbered data keys (AES-256-GCM) and one blind-index key (HMAC-SHA256). Wrapped keys
//! live in the control database; plaintext keys only in memory.
//!
//! Field ciphertext layout: `[format=1][key id: u32 BE][nonce: 12][ciphertext+tag]`.
//! The AAD binds school, table, column and row id, so a ciphertext copied into another
//! row, column or school fails to decrypt instead of showing the wrong person's data.

use crate::domain::{Secret, TenantId};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use uuid::Uuid;

const FORMAT_V1: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext uses key {0}, which this school does not have")]
    UnknownKey(u32),
    #[error("decryption failed: wrong key or the value was moved to another row")]
    Decrypt,
    #[error("school has no active data key")]
    NoActiveKey,
    #[error("decrypted value is not UTF-8")]
    NotUtf8,
}

type HmacSha256 = Hmac<Sha256>;

/// 32 random bytes, zeroised on drop.
pub type KeyBytes = Secret<[u8; 32]>;

pub fn random_key() -> KeyBytes {
    Secret::new(rand::random())
}

/// The root key. Everything else is wrapped by it.
#[derive(Debug, Clone)]
pub struct MasterKey(KeyBytes);

impl MasterKey {
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self(Secret::new(arr)))
    }

    pub fn generate() -> Self {
        Self(random_key())
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.expose())
    }

    /// A value stored in the control database at first start. A different master key
    /// gives a different value, so the service refuses to start instead of writing
    /// data nobody can read.
    pub fn check_value(&self) -> Vec<u8> {
        let mut mac = hmac_sha256(self.0.expose());
        mac.update(b"raabta master key check v1");
        mac.finalize().into_bytes().to_vec()
    }

    pub fn matches_check_value(&self, stored: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.check_value().ct_eq(stored).into()
    }

    fn wrap_aad(tenant: TenantId, purpose: &str, key_id: u32) -> Vec<u8> {
        format!("raabta.keywrap.v1|{}|{purpose}|{key_id}", tenant.0).into_bytes()
    }

    /// Encrypts a school key under the master key.
    pub fn wrap(
        &self,
        tenant: TenantId,
        purpose: &str,
        key_id: u32,
        key: &KeyBytes,
    ) -> Result<Vec<u8>, CryptoError> {
        seal(
            self.0.expose(),
            0,
            &Self::wrap_aad(tenant, purpose, key_id),
            key.expose(),
        )
    }

    /// A key for one purpose derived from the master key (HMAC-SHA256 of the purpose):
    /// the backups' control part is encrypted with `derive("backup-control")`.
    pub fn derive(&self, purpose: &str) -> KeyBytes {
        let mut mac = hmac_sha256(self.0.expose());
        mac.update(b"raabta.derive.v1|");
        mac.update(purpose.as_bytes());
        let out: [u8; 32] = mac.finalize().into_bytes().into();
        Secret::new(out)
    }

    /// Another master key sealed under this one (a retired master key kept after a
    /// rotation, to read older backups).
    pub fn seal_master(&self, other: &MasterKey) -> Result<Vec<u8>, CryptoError> {
        self.seal_blob("retired-master", other.0.expose())
    }

    /// A master key sealed by [`MasterKey::seal_master`].
    pub fn open_master(&self, sealed: &[u8]) -> Result<MasterKey, CryptoError> {
        let plain = self.open_blob("retired-master", sealed)?;
        let arr: [u8; 32] = plain.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(MasterKey(Secret::new(arr)))
    }

    /// Encrypts a blob that belongs to no school (the inbound spool), bound to `purpose`.
    pub fn seal_blob(&self, purpose: &str, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(
            self.0.expose(),
            0,
            format!("raabta.blob.v1|{purpose}").as_bytes(),
            data,
        )
    }

    pub fn open_blob(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(
            self.0.expose(),
            format!("raabta.blob.v1|{purpose}").as_bytes(),
            sealed,
        )
        .map(|(_, p)| p)
    }

    pub fn unwrap(
        &self,
        tenant: TenantId,
        purpose: &str,
        key_id: u32,
        wrapped: &[u8],
    ) -> Result<KeyBytes, CryptoError> {
        let (_, plain) = open(
            self.0.expose(),
            &Self::wrap_aad(tenant, purpose, key_id),
            wrapped,
        )?;
        let arr: [u8; 32] = plain.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Secret::new(arr))
    }
}

/// HMAC-SHA256 keyed with 32 bytes. HMAC pads short keys with zeros to the block
/// size, so padding here gives the standard result without a fallible constructor.
fn hmac_sha256(key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mac = <HmacSha256 as hmac::KeyInit>::new(&block.into());
    zeroize::Zeroize::zeroize(&mut block);
    mac
}

fn seal(key: &[u8; 32], key_id: u32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let nonce_bytes: [u8; 12] = rand::random();
    let nonce = Nonce::from(nonce_bytes);
    // AES-GCM only refuses inputs over 64 GiB.
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Malformed)?;
    let mut out = Vec::with_capacity(HEADER + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The key id a ciphertext was made with.
pub fn key_id_of(ciphertext: &[u8]) -> Result<u32, CryptoError> {
    if ciphertext.len() < HEADER + 16 || ciphertext[0] != FORMAT_V1 {
        return Err(CryptoError::Malformed);
    }
    Ok(u32::from_be_bytes([
        ciphertext[1],
        ciphertext[2],
        ciphertext[3],
        ciphertext[4],
    ]))
}

fn open(key: &[u8; 32], aad: &[u8], ciphertext: &[u8]) -> Result<(u32, Vec<u8>), CryptoError> {
    let key_id = key_id_of(ciphertext)?;
    let nonce_bytes: [u8; 12] = ciphertext[5..HEADER]
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let plain = cipher
        .decrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: &ciphertext[HEADER..],
                aad,
            },
        )
        .map_err(|_| CryptoError::Decrypt)?;
    Ok((key_id, plain))
}

/// Where a field lives; bound into the AAD.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: Uuid,
}

/// One school's keys, unwrapped, in memory.
#[derive(Clone)]
pub struct KeyRing {
    tenant: TenantId,
    data_keys: BTreeMap<u32, KeyBytes>,
    active: u32,
    index_mac: HmacSha256,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("tenant", &self.tenant)
            .field("key_ids", &self.data_keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    pub fn new(
        tenant: TenantId,
        data_keys: BTreeMap<u32, KeyBytes>,
        active: u32,
        index_key: KeyBytes,
    ) -> Result<Self, CryptoError> {
        if !data_keys.contains_key(&active) {
            return Err(CryptoError::NoActiveKey);
        }
        let index_mac = hmac_sha256(index_key.expose());
        Ok(Self {
            tenant,
            data_keys,
            active,
            index_mac,
        })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn active_key_id(&self) -> u32 {
        self.active
    }

    fn aad(&self, f: FieldRef<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        aad.extend_from_slice(b"raabta.field.v1\0");
        aad.extend_from_slice(self.tenant.0.as_bytes());
        aad.extend_from_slice(f.table.as_bytes());
        aad.push(0);
        aad.extend_from_slice(f.column.as_bytes());
        aad.push(0);
        aad.extend_from_slice(f.row.as_bytes());
        aad
    }

    pub fn encrypt(&self, field: FieldRef<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .data_keys
            .get(&self.active)
            .ok_or(CryptoError::NoActiveKey)?;
        seal(key.expose(), self.active, &self.aad(field), plaintext)
    }

    pub fn encrypt_str(
        &self,
        field: FieldRef<'_>,
        plaintext: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(field, plaintext.as_bytes())
    }

    pub fn decrypt(&self, field: FieldRef<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key_id = key_id_of(ciphertext)?;
        let key = self
            .data_keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        open(key.expose(), &self.aad(field), ciphertext).map(|(_, p)| p)
    }

    pub fn decrypt_str(
        &self,
        field: FieldRef<'_>,
        ciphertext: &[u8],
    ) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(field, ciphertext)?).map_err(|_| CryptoError::NotUtf8)
    }

    /// Keyed blind index: equal inputs give equal outputs within one school and
    /// purpose, and nothing about the input can be learned without the key.
    pub fn blind_index(&self, purpose: &str, normalised_value: &str) -> Vec<u8> {
        let mut mac = self.index_mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(normalised_value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[u32], active: u32) -> KeyRing {
        school_ring(7, keys, active, 9)
    }

    /// A school's ring: data keys `keys` (key n is n repeated), blind-index key `index`.
    fn school_ring(school: u128, keys: &[u32], active: u32, index: u8) -> KeyRing {
        let t = TenantId(Uuid::from_u128(school));
        let map = keys
            .iter()
            .map(|k| (*k, Secret::new([*k as u8; 32])))
            .collect();
        KeyRing::new(t, map, active, Secret::new([index; 32])).unwrap()
    }

    fn field(row: u128) -> FieldRef<'static> {
        FieldRef {
            table: "guardians",
            column: "phone_enc",
            row: Uuid::from_u128(row),
        }
    }

    #[test]
    fn round_trip_and_key_id() {
        let r = ring(&[1, 2], 2);
        let ct = r.encrypt_str(field(1), "+923001234567").unwrap();
        assert_eq!(key_id_of(&ct).unwrap(), 2);
        assert_eq!(r.decrypt_str(field(1), &ct).unwrap(), "+923001234567");
        assert!(!ct.windows(5).any(|w| w == b"92300"));
        // Two encryptions of the same value differ (random nonce).
        assert_ne!(ct, r.encrypt_str(field(1), "+923001234567").unwrap());
    }

    #[test]
    fn aad_binds_row_column_and_school() {
        let r = ring(&[1], 1);
        let ct = r.encrypt_str(field(1), "secret").unwrap();
        assert_eq!(r.decrypt(field(2), &ct), Err(CryptoError::Decrypt));
        let other_col = FieldRef {
            column: "cnic_enc",
            ..field(1)
        };
        assert_eq!(r.decrypt(other_col, &ct), Err(CryptoError::Decrypt));
        let other_school = school_ring(8, &[1], 1, 9);
        assert_eq!(
            other_school.decrypt(field(1), &ct),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn old_keys_still_decrypt_after_rotation() {
        let old = ring(&[1], 1);
        let ct = old.encrypt_str(field(1), "x").unwrap();
        let new = ring(&[1, 2], 2);
        assert_eq!(new.decrypt_str(field(1), &ct).unwrap(), "x");
        let only_new = ring(&[2], 2);
        assert_eq!(
            only_new.decrypt(field(1), &ct),
            Err(CryptoError::UnknownKey(1))
        );
    }

    #[test]
    fn tampering_and_garbage_fail() {
        let r = ring(&[1], 1);
        let mut ct = r.encrypt_str(field(1), "x").unwrap();
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert_eq!(r.decrypt(field(1), &ct), Err(CryptoError::Decrypt));
        assert_eq!(r.decrypt(field(1), b"short"), Err(CryptoError::Malformed));
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let a = ring(&[1], 1);
        assert_eq!(
            a.blind_index("phone", "+92300"),
            a.blind_index("phone", "+92300")
        );
        assert_ne!(
            a.blind_index("phone", "+92300"),
            a.blind_index("code", "+92300")
        );
        let b = school_ring(7, &[1], 1, 10);
        assert_ne!(
            a.blind_index("phone", "+92300"),
            b.blind_index("phone", "+92300")
        );
    }

    #[test]
    fn master_key_wraps_and_checks() {
        let m = MasterKey::generate();
        let t = TenantId(Uuid::from_u128(3));
        let k = random_key();
        let w = m.wrap(t, "data", 1, &k).unwrap();
        assert_eq!(m.unwrap(t, "data", 1, &w).unwrap().expose(), k.expose());
        assert!(m.unwrap(t, "data", 2, &w).is_err());
        let other = MasterKey::generate();
        assert!(other.unwrap(t, "data", 1, &w).is_err());
        assert!(m.matches_check_value(&m.check_value()));
        assert!(!other.matches_check_value(&m.check_value()));
        assert_eq!(
            MasterKey::from_base64(&m.to_base64())
                .unwrap()
                .check_value(),
            m.check_value()
        );
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{m:?}").contains(&m.to_base64()));
    }
}
