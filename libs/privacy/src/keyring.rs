//! The keyring: versioned data keys for sealing and opening, and the blind-index key.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::events::v1::EncryptedField;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::PrivacyError;
use crate::key::{BlindIndexKey, DataKey, KeyId, fill_random};
use crate::sealed::{MIN_SEALED_LEN, NONCE_LEN, Sealed, TAG_LEN};

/// The blind index of a personal identity number is computed under this kind.
pub const PERSONAL_IDENTITY_NUMBER_KIND: &str = "personal_identity_number";

/// Domain separation for the blind index: no other HMAC under the same key can collide with it.
const BLIND_INDEX_DOMAIN: &[u8] = b"hearth.blind-index.v1";

/// What a keyring is built from; the caller maps its settings (a Secret) into it.
///
/// Key material is standard base64 of 32 bytes (`openssl rand -base64 32`). `Debug` shows the
/// ids only, and the strings are wiped when the options are dropped.
#[derive(Clone, Default)]
pub struct KeyringOptions {
    /// Every data key still needed: `(id, base64 material)`. The current one seals; the others
    /// open what was sealed before a rotation.
    pub keys: Vec<(String, String)>,
    /// The id of the key new data is sealed with.
    pub current: String,
    /// The HMAC key of the blind index, base64.
    pub blind_index_key: String,
}

impl fmt::Debug for KeyringOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyringOptions")
            .field("keys", &ids)
            .field("current", &self.current)
            .field("blind_index_key", &"<redacted>")
            .finish()
    }
}

impl Drop for KeyringOptions {
    fn drop(&mut self) {
        for (_, material) in &mut self.keys {
            material.zeroize();
        }
        self.blind_index_key.zeroize();
    }
}

/// The county's data keys and blind-index key: the one way Hearth seals personal data at rest
/// and in events, and computes the blind index that finds duplicates without decrypting.
///
/// Sealing always uses the current key; opening uses whichever key the sealed data names, so
/// that data sealed before a rotation still opens as long as its key is kept. `Debug` shows
/// key ids only. Cheap to share behind an `Arc`; `Clone` copies the keys.
#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<KeyId, DataKey>,
    current: DataKey,
    blind_index: Hmac<Sha256>,
}

impl Keyring {
    /// Builds a keyring from options, checking every key. Errors name the offending key id.
    pub fn new(options: &KeyringOptions) -> Result<Self, PrivacyError> {
        let keys = options
            .keys
            .iter()
            .map(|(id, material)| DataKey::from_base64(KeyId::parse(id.trim())?, material))
            .collect::<Result<Vec<_>, _>>()?;
        let current = KeyId::parse(options.current.trim())?;
        let blind_index_key = BlindIndexKey::from_base64(&options.blind_index_key)?;
        Self::from_keys(keys, &current, &blind_index_key)
    }

    /// Builds a keyring from keys already decoded.
    pub fn from_keys(
        keys: Vec<DataKey>,
        current: &KeyId,
        blind_index_key: &BlindIndexKey,
    ) -> Result<Self, PrivacyError> {
        if keys.is_empty() {
            return Err(PrivacyError::NoKeys);
        }
        let mut by_id = BTreeMap::new();
        for key in keys {
            if by_id.contains_key(key.id()) {
                return Err(PrivacyError::DuplicateKeyId {
                    id: key.id().to_string(),
                });
            }
            by_id.insert(key.id().clone(), key);
        }
        let current =
            by_id
                .get(current)
                .cloned()
                .ok_or_else(|| PrivacyError::CurrentKeyMissing {
                    current: current.to_string(),
                    available: list_ids(by_id.keys()),
                })?;
        // HMAC accepts a key of any length, so this cannot fail; the error is mapped all the same.
        let blind_index = <Hmac<Sha256> as Mac>::new_from_slice(blind_index_key.material())
            .map_err(|_| PrivacyError::BlindIndexKeyLength {
                len: blind_index_key.material().len(),
            })?;
        Ok(Self {
            keys: by_id,
            current,
            blind_index,
        })
    }

    /// A fresh random keyring with one data key called `current_id` (tests, demos). Not saved:
    /// what it seals is lost with it. For `hearth serve`, see
    /// [`DevelopmentKeys`](crate::DevelopmentKeys).
    pub fn generate(current_id: KeyId) -> Result<Self, PrivacyError> {
        let key = DataKey::generate(current_id.clone())?;
        Self::from_keys(vec![key], &current_id, &BlindIndexKey::generate()?)
    }

    /// The id of the key new data is sealed with.
    pub fn current_key_id(&self) -> &KeyId {
        self.current.id()
    }

    /// Every key id, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Whether the keyring can open data sealed with `id`.
    pub fn contains(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    /// Encrypts and authenticates `plaintext` with the current key (AES-256-GCM, a fresh random
    /// 96-bit nonce each time), binding it to `associated_data`, which is not stored and must be
    /// given again to open it: say what the value belongs to (an aggregate id; a table, column
    /// and row id), so that a ciphertext copied elsewhere does not open.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Sealed, PrivacyError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let cipher = cipher(&self.current);
        let mut out = Vec::with_capacity(MIN_SEALED_LEN + plaintext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = match cipher.encrypt_in_place_detached(
            &Nonce::from(nonce),
            associated_data,
            &mut out[NONCE_LEN..],
        ) {
            Ok(tag) => tag,
            Err(_) => {
                out.zeroize();
                return Err(PrivacyError::EncryptionFailed);
            }
        };
        out.extend_from_slice(&tag);
        Ok(Sealed::new(self.current.id().clone(), out))
    }

    /// Checks and decrypts `sealed` with the key it names and the same associated data it was
    /// sealed with. The plaintext is wiped when dropped.
    ///
    /// Errors: [`UnknownKey`](PrivacyError::UnknownKey) (names the id),
    /// [`Truncated`](PrivacyError::Truncated), and
    /// [`AuthenticationFailed`](PrivacyError::AuthenticationFailed) for altered data, other
    /// associated data or other key material. Never panics.
    pub fn open(
        &self,
        sealed: &Sealed,
        associated_data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PrivacyError> {
        let key = self
            .keys
            .get(sealed.key_id())
            .ok_or_else(|| PrivacyError::UnknownKey {
                id: sealed.key_id().to_string(),
                available: list_ids(self.keys.keys()),
            })?;
        let bytes = sealed.ciphertext();
        let truncated = || PrivacyError::Truncated { len: bytes.len() };
        if bytes.len() < MIN_SEALED_LEN {
            return Err(truncated());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| truncated())?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| truncated())?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        cipher(key)
            .decrypt_in_place_detached(
                &Nonce::from(nonce),
                associated_data,
                plaintext.as_mut_slice(),
                &Tag::from(tag),
            )
            .map_err(|_| PrivacyError::AuthenticationFailed {
                key_id: key.id().to_string(),
            })?;
        Ok(plaintext)
    }

    /// Whether `sealed` uses an older key than the current one (a rotation job re-seals it).
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id() != self.current.id()
    }

    /// Opens `sealed` and seals it again with the current key and the same associated data:
    /// the step of a rotation job, after which the old key can be retired.
    pub fn reseal(&self, sealed: &Sealed, associated_data: &[u8]) -> Result<Sealed, PrivacyError> {
        let plaintext = self.open(sealed, associated_data)?;
        self.seal(&plaintext, associated_data)
    }

    /// [`seal`](Self::seal) into the text form `v1:<key id>:<base64url>`, for a database column.
    pub fn seal_text(
        &self,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<String, PrivacyError> {
        Ok(self.seal(plaintext, associated_data)?.to_text())
    }

    /// [`open`](Self::open) from the text form.
    pub fn open_text(
        &self,
        text: &str,
        associated_data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PrivacyError> {
        self.open(&Sealed::parse_text(text)?, associated_data)
    }

    /// Seals bytes into an event's [`EncryptedField`], as `privacy.proto` specifies: the
    /// event's `aggregate_id` is the associated data.
    pub fn seal_field(
        &self,
        plaintext: &[u8],
        aggregate_id: &str,
    ) -> Result<EncryptedField, PrivacyError> {
        Ok(self.seal(plaintext, aggregate_id.as_bytes())?.into())
    }

    /// Opens an event's [`EncryptedField`] with the event's `aggregate_id`.
    pub fn open_field(
        &self,
        field: &EncryptedField,
        aggregate_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, PrivacyError> {
        self.open(&Sealed::try_from(field)?, aggregate_id.as_bytes())
    }

    /// Encodes a protobuf message (e.g. `HouseholdDetails`) and seals it into an
    /// [`EncryptedField`] bound to `aggregate_id`. The encoded plaintext is wiped.
    pub fn seal_message<M: prost::Message>(
        &self,
        message: &M,
        aggregate_id: &str,
    ) -> Result<EncryptedField, PrivacyError> {
        let plaintext = Zeroizing::new(message.encode_to_vec());
        self.seal_field(&plaintext, aggregate_id)
    }

    /// Opens an [`EncryptedField`] and decodes the protobuf message inside.
    pub fn open_message<M: prost::Message + Default>(
        &self,
        field: &EncryptedField,
        aggregate_id: &str,
    ) -> Result<M, PrivacyError> {
        let plaintext = self.open_field(field, aggregate_id)?;
        M::decode(plaintext.as_slice()).map_err(|_| PrivacyError::Decode {
            message: std::any::type_name::<M>(),
        })
    }

    /// The blind index of `value`: lowercase hex of HMAC-SHA256 under the blind-index key over
    /// a domain tag, `kind` and the normalised value (each length-prefixed, so no two inputs run
    /// together). Equal values of the same kind give equal indexes, so a unique or plain index
    /// on this column finds duplicates without decrypting; without the key it reveals nothing.
    ///
    /// `kind` separates uses (`"personal_identity_number"`, `"email"`): the same value under
    /// two kinds gives unrelated indexes. Normalisation: surrounding whitespace removed, inner
    /// runs of whitespace made one space, letters lowercased. Callers with a canonical form
    /// (such as [`blind_index_pin`](Self::blind_index_pin)) pass that.
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        let normalised = normalise(value);
        let mut mac = self.blind_index.clone();
        mac.update(BLIND_INDEX_DOMAIN);
        for part in [kind.as_bytes(), normalised.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        hex(&mac.finalize().into_bytes())
    }

    /// The blind index of a personal identity number, over its 12 digits: the same person
    /// registering twice (with or without the dash) gives the same index.
    pub fn blind_index_pin(&self, number: &PersonalIdentityNumber) -> String {
        self.blind_index(PERSONAL_IDENTITY_NUMBER_KIND, number.expose())
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.keys().map(KeyId::as_str).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current.id().as_str())
            .field("keys", &ids)
            .field("blind_index_key", &"<redacted>")
            .finish()
    }
}

fn cipher(key: &DataKey) -> Aes256Gcm {
    Aes256Gcm::new(key.material().into())
}

fn list_ids<'a>(ids: impl Iterator<Item = &'a KeyId>) -> String {
    let ids: Vec<String> = ids.map(|id| format!("`{id}`")).collect();
    if ids.is_empty() {
        "no keys".to_owned()
    } else {
        ids.join(", ")
    }
}

/// Trimmed, inner whitespace runs made one space, lowercased. Wiped when dropped.
fn normalise(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len()));
    for (index, word) in value.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        for c in word.chars().flat_map(char::to_lowercase) {
            out.push(c);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}
