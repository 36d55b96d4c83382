//! Hearth's protection of personal data at rest and in events (docs/design.md, "Personal data at
//! rest" and "Personal data in events").
//!
//! - A [`Keyring`] holds the county's versioned AES-256-GCM [`DataKey`]s, one of them current,
//!   and the HMAC-SHA256 blind-index key. It is built from [`KeyringOptions`] (which the caller
//!   fills from its settings) or, for `hearth serve`, from [`DevelopmentKeys`].
//! - [`Keyring::seal`] / [`Keyring::open`] encrypt a value bound to associated data;
//!   [`Sealed`] converts to the events' `EncryptedField` and to a text form for database columns
//!   (`v1:<key id>:<base64url>`). [`Keyring::seal_message`] / [`Keyring::open_message`] do the
//!   whole job for a protobuf message inside an event, with the aggregate id as associated data.
//! - [`Keyring::blind_index`] / [`Keyring::blind_index_pin`] give a keyed hash to find equal
//!   values (the same person registering twice) without decrypting.
//!
//! See the crate's README for the scheme, rotation and what must be backed up.
//!
//! ```
//! use hearth_privacy::{KeyId, Keyring, PrivacyError};
//! use hearth_proto::events::v1::{HouseholdAdult, HouseholdDetails};
//!
//! # fn main() -> Result<(), PrivacyError> {
//! let keyring = Keyring::generate(KeyId::parse("k2026a")?)?;
//! let details = HouseholdDetails {
//!     adults: vec![HouseholdAdult { given_name: "Anna".into(), ..Default::default() }],
//!     ..Default::default()
//! };
//! // In an event: sealed with the aggregate id as associated data.
//! let field = keyring.seal_message(&details, "0199a3c2-aggregate")?;
//! let opened: HouseholdDetails = keyring.open_message(&field, "0199a3c2-aggregate")?;
//! assert_eq!(opened, details);
//!
//! // In a database column: the text form, bound to where it is stored.
//! let column = keyring.seal_text(b"anna@example.se", b"interest_registrations.email:42")?;
//! assert!(column.starts_with("v1:k2026a:"));
//! # Ok(())
//! # }
//! ```

mod dev_keys;
mod error;
mod key;
mod keyring;
mod sealed;

pub use dev_keys::{DEVELOPMENT_KEYS_FILE, DevelopmentKeys};
pub use error::PrivacyError;
pub use key::{BlindIndexKey, DataKey, KEY_ID_MAX_LEN, KEY_LEN, KeyId};
pub use keyring::{Keyring, KeyringOptions, PERSONAL_IDENTITY_NUMBER_KIND};
pub use sealed::{MIN_SEALED_LEN, NONCE_LEN, Sealed, TAG_LEN, TEXT_VERSION};

#[cfg(test)]
mod tests;
