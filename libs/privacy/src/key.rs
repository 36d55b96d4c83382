//! Key ids, data keys and the blind-index key.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::error::PrivacyError;

/// Length of a data key and of the blind-index key: 256 bits.
pub const KEY_LEN: usize = 32;

/// The longest key id accepted.
pub const KEY_ID_MAX_LEN: usize = 64;

/// Standard base64 (`+/`), padding optional: what `openssl rand -base64 32` prints.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The name of a data key, e.g. `k2026a` or `2026-01`: stored beside every ciphertext so that
/// the right key opens it after rotation.
///
/// 1 to 64 characters of `A-Z a-z 0-9 - _ .` (no `:`, which separates the parts of the
/// [text form](crate::Sealed)). Ids are names, not secrets: errors and `Debug` show them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks and wraps an id.
    pub fn parse(id: &str) -> Result<Self, PrivacyError> {
        let valid = !id.is_empty()
            && id.len() <= KEY_ID_MAX_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(PrivacyError::InvalidKeyId { id: id.to_owned() })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for KeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = PrivacyError;
    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::parse(id)
    }
}

impl TryFrom<&str> for KeyId {
    type Error = PrivacyError;
    fn try_from(id: &str) -> Result<Self, Self::Error> {
        Self::parse(id)
    }
}

/// A versioned AES-256-GCM data key: its id and 32 bytes of material.
///
/// The material is wiped from memory when the key is dropped, and `Debug` shows only the id.
#[derive(Clone)]
pub struct DataKey {
    id: KeyId,
    material: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    /// A key from raw material.
    pub fn new(id: KeyId, material: [u8; KEY_LEN]) -> Self {
        Self {
            id,
            material: Zeroizing::new(material),
        }
    }

    /// A key from standard base64 (padding optional, surrounding whitespace ignored). Errors
    /// name the id, never the material.
    pub fn from_base64(id: KeyId, material: &str) -> Result<Self, PrivacyError> {
        let bytes = decode_key_base64(material)
            .ok_or_else(|| PrivacyError::KeyNotBase64 { id: id.to_string() })?;
        let material = to_key_array(&bytes).ok_or_else(|| PrivacyError::KeyLength {
            id: id.to_string(),
            len: bytes.len(),
        })?;
        Ok(Self { id, material })
    }

    /// A fresh random key from the operating system's RNG.
    pub fn generate(id: KeyId) -> Result<Self, PrivacyError> {
        Ok(Self {
            id,
            material: random_key()?,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The material as standard base64, the form [`KeyringOptions`](crate::KeyringOptions)
    /// takes: for writing a generated key to a secret store. Wiped when dropped.
    pub fn material_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(KEY_BASE64.encode(self.material.as_slice()))
    }

    pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
        &self.material
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id.as_str())
            .field("material", &"<redacted>")
            .finish()
    }
}

/// The HMAC-SHA256 key of the [blind index](crate::Keyring::blind_index): 32 bytes, wiped when
/// dropped, redacted in `Debug`.
#[derive(Clone)]
pub struct BlindIndexKey {
    material: Zeroizing<[u8; KEY_LEN]>,
}

impl BlindIndexKey {
    /// A key from raw material.
    pub fn new(material: [u8; KEY_LEN]) -> Self {
        Self {
            material: Zeroizing::new(material),
        }
    }

    /// A key from standard base64 (padding optional, surrounding whitespace ignored).
    pub fn from_base64(material: &str) -> Result<Self, PrivacyError> {
        let bytes = decode_key_base64(material).ok_or(PrivacyError::BlindIndexKeyNotBase64)?;
        let material =
            to_key_array(&bytes).ok_or(PrivacyError::BlindIndexKeyLength { len: bytes.len() })?;
        Ok(Self { material })
    }

    /// A fresh random key from the operating system's RNG.
    pub fn generate() -> Result<Self, PrivacyError> {
        Ok(Self {
            material: random_key()?,
        })
    }

    /// The material as standard base64. Wiped when dropped.
    pub fn material_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(KEY_BASE64.encode(self.material.as_slice()))
    }

    pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
        &self.material
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

fn decode_key_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    KEY_BASE64.decode(text.trim()).ok().map(Zeroizing::new)
}

fn to_key_array(bytes: &[u8]) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        return None;
    }
    material.copy_from_slice(bytes);
    Some(material)
}

fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, PrivacyError> {
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(material.as_mut_slice())?;
    Ok(material)
}

/// Fills `buffer` from the operating system's RNG, reporting (not panicking on) a failure.
pub(crate) fn fill_random(buffer: &mut [u8]) -> Result<(), PrivacyError> {
    rand::rngs::OsRng
        .try_fill_bytes(buffer)
        .map_err(|error| PrivacyError::Random(error.to_string()))
}
