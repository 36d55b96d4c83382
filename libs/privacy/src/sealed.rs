//! Sealed data and its two outer forms: the protobuf `EncryptedField` (events) and a compact
//! text form (database columns).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_proto::events::v1::EncryptedField;

use crate::error::PrivacyError;
use crate::key::KeyId;

/// AES-GCM nonce length: 96 bits.
pub const NONCE_LEN: usize = 12;
/// AES-GCM authentication tag length: 128 bits.
pub const TAG_LEN: usize = 16;
/// The shortest sealed value: the nonce and the tag of an empty plaintext.
pub const MIN_SEALED_LEN: usize = NONCE_LEN + TAG_LEN;

/// The prefix of the text form; names the scheme (AES-256-GCM, 96-bit nonce first, 128-bit tag
/// last), so that a later scheme can be told apart.
pub const TEXT_VERSION: &str = "v1";

/// Data sealed by a [`Keyring`](crate::Keyring): the id of the data key used and
/// `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
///
/// Not secret (it is what may be stored and sent), but `Debug` shows only the key id and the
/// length, to keep logs short. [`Display`](fmt::Display) and [`FromStr`] give the text form
/// `v1:<key id>:<unpadded base64url>` for database columns; `From`/`TryFrom` convert to and from
/// the protobuf [`EncryptedField`].
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    key_id: KeyId,
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// Wraps a key id and `nonce ‖ ciphertext ‖ tag` (read from storage, say). The length is
    /// checked when it is opened.
    pub fn new(key_id: KeyId, ciphertext: Vec<u8>) -> Self {
        Self { key_id, ciphertext }
    }

    /// The id of the data key that sealed it.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The key id and `nonce ‖ ciphertext ‖ tag`.
    pub fn into_parts(self) -> (KeyId, Vec<u8>) {
        (self.key_id, self.ciphertext)
    }

    /// The text form, `v1:<key id>:<unpadded base64url of nonce ‖ ciphertext ‖ tag>`.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Parses the text form. Errors repeat nothing of the text.
    pub fn parse_text(text: &str) -> Result<Self, PrivacyError> {
        let mut parts = text.trim().splitn(3, ':');
        let (Some(version), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(PrivacyError::Malformed {
                reason: "expected `v1:<key id>:<base64>`",
            });
        };
        if version != TEXT_VERSION {
            return Err(PrivacyError::Malformed {
                reason: "unknown version: only `v1:` is understood",
            });
        }
        let key_id = KeyId::parse(key_id)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| PrivacyError::Malformed {
                reason: "the data after the key id is not unpadded base64url",
            })?;
        Ok(Self { key_id, ciphertext })
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id.as_str())
            .field("len", &self.ciphertext.len())
            .finish()
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TEXT_VERSION}:{}:{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }
}

impl FromStr for Sealed {
    type Err = PrivacyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_text(text)
    }
}

impl From<Sealed> for EncryptedField {
    fn from(sealed: Sealed) -> Self {
        EncryptedField {
            key_id: sealed.key_id.as_str().to_owned(),
            ciphertext: sealed.ciphertext,
        }
    }
}

impl TryFrom<EncryptedField> for Sealed {
    type Error = PrivacyError;
    fn try_from(field: EncryptedField) -> Result<Self, Self::Error> {
        Ok(Self {
            key_id: field_key_id(&field.key_id)?,
            ciphertext: field.ciphertext,
        })
    }
}

impl TryFrom<&EncryptedField> for Sealed {
    type Error = PrivacyError;
    fn try_from(field: &EncryptedField) -> Result<Self, Self::Error> {
        Ok(Self {
            key_id: field_key_id(&field.key_id)?,
            ciphertext: field.ciphertext.clone(),
        })
    }
}

fn field_key_id(key_id: &str) -> Result<KeyId, PrivacyError> {
    if key_id.is_empty() {
        return Err(PrivacyError::Malformed {
            reason: "the encrypted field has no key id",
        });
    }
    KeyId::parse(key_id)
}
