#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::events::v1::{EncryptedField, HouseholdAdult, HouseholdDetails};
use proptest::prelude::*;

use crate::*;

fn material(byte: u8) -> String {
    STANDARD.encode([byte; KEY_LEN])
}

fn options(keys: &[(&str, u8)], current: &str, blind: u8) -> KeyringOptions {
    KeyringOptions {
        keys: keys
            .iter()
            .map(|(id, byte)| ((*id).to_owned(), material(*byte)))
            .collect(),
        current: current.to_owned(),
        blind_index_key: material(blind),
    }
}

fn keyring(keys: &[(&str, u8)], current: &str) -> Keyring {
    Keyring::new(&options(keys, current, 0xb1)).unwrap()
}

fn id(text: &str) -> KeyId {
    KeyId::parse(text).unwrap()
}

/// The day the tests read identity numbers on.
fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 14).unwrap()
}

fn pin() -> PersonalIdentityNumber {
    PersonalIdentityNumber::parse_on("19121212-1212", today()).unwrap()
}

// --- sealing and opening ---

#[test]
fn seal_then_open_round_trips() {
    let keyring = keyring(&[("k2026a", 1)], "k2026a");
    let sealed = keyring.seal(b"Anna Svensson", b"interest/42").unwrap();
    assert_eq!(sealed.key_id().as_str(), "k2026a");
    assert_eq!(
        sealed.ciphertext().len(),
        NONCE_LEN + b"Anna Svensson".len() + TAG_LEN
    );
    assert!(
        !sealed
            .ciphertext()
            .windows(5)
            .any(|window| window == b"Svens")
    );
    let opened = keyring.open(&sealed, b"interest/42").unwrap();
    assert_eq!(opened.as_slice(), b"Anna Svensson");
}

#[test]
fn empty_plaintext_round_trips() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let sealed = keyring.seal(b"", b"").unwrap();
    assert_eq!(sealed.ciphertext().len(), MIN_SEALED_LEN);
    assert!(keyring.open(&sealed, b"").unwrap().is_empty());
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let first = keyring.seal(b"same", b"aad").unwrap();
    let second = keyring.seal(b"same", b"aad").unwrap();
    assert_ne!(
        first.ciphertext()[..NONCE_LEN],
        second.ciphertext()[..NONCE_LEN]
    );
    assert_ne!(first, second);
}

#[test]
fn rotation_keeps_old_data_readable_and_seals_with_the_new_key() {
    let before = keyring(&[("k2025", 1)], "k2025");
    let old = before.seal(b"old secret", b"row-1").unwrap();

    let after = keyring(&[("k2025", 1), ("k2026", 2)], "k2026");
    assert_eq!(after.current_key_id().as_str(), "k2026");
    assert_eq!(
        after.key_ids().map(KeyId::as_str).collect::<Vec<_>>(),
        ["k2025", "k2026"]
    );
    assert_eq!(
        after.open(&old, b"row-1").unwrap().as_slice(),
        b"old secret"
    );

    let new = after.seal(b"new secret", b"row-2").unwrap();
    assert_eq!(new.key_id().as_str(), "k2026");
    assert!(after.needs_reseal(&old));
    assert!(!after.needs_reseal(&new));

    // The rotation job re-seals; then the old key can go.
    let resealed = after.reseal(&old, b"row-1").unwrap();
    assert_eq!(resealed.key_id().as_str(), "k2026");
    let retired = keyring(&[("k2026", 2)], "k2026");
    assert_eq!(
        retired.open(&resealed, b"row-1").unwrap().as_slice(),
        b"old secret"
    );
    let error = retired.open(&old, b"row-1").unwrap_err();
    assert!(matches!(&error, PrivacyError::UnknownKey { id, .. } if id == "k2025"));
    assert!(error.to_string().contains("`k2025`"), "{error}");
    assert!(error.to_string().contains("`k2026`"), "{error}");
}

#[test]
fn every_altered_byte_fails_authentication() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let sealed = keyring.seal(b"19121212-1212", b"agg").unwrap();
    let (key_id, bytes) = sealed.into_parts();
    for position in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[position] ^= 0x01;
        let error = keyring
            .open(&Sealed::new(key_id.clone(), tampered), b"agg")
            .unwrap_err();
        assert!(
            matches!(error, PrivacyError::AuthenticationFailed { .. }),
            "byte {position}: {error}"
        );
    }
}

#[test]
fn wrong_associated_data_fails_authentication() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let sealed = keyring.seal(b"secret", b"aggregate-a").unwrap();
    let error = keyring.open(&sealed, b"aggregate-b").unwrap_err();
    assert!(matches!(&error, PrivacyError::AuthenticationFailed { key_id } if key_id == "k1"));
    assert!(
        error.to_string().contains("authentication failed"),
        "{error}"
    );
    assert!(!error.to_string().contains("secret"));
}

#[test]
fn same_id_with_other_material_fails_authentication() {
    let sealed = keyring(&[("k1", 1)], "k1").seal(b"x", b"a").unwrap();
    let impostor = keyring(&[("k1", 9)], "k1");
    assert!(matches!(
        impostor.open(&sealed, b"a"),
        Err(PrivacyError::AuthenticationFailed { .. })
    ));
}

#[test]
fn unknown_key_id_is_named() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let sealed = Sealed::new(id("k0"), vec![0; 40]);
    let error = keyring.open(&sealed, b"").unwrap_err();
    assert!(matches!(&error, PrivacyError::UnknownKey { id, .. } if id == "k0"));
    assert!(error.to_string().contains("`k0`"), "{error}");
    assert!(!keyring.contains(&id("k0")));
    assert!(keyring.contains(&id("k1")));
}

#[test]
fn truncated_data_is_refused() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let sealed = keyring.seal(b"some plaintext", b"a").unwrap();
    let (key_id, bytes) = sealed.into_parts();
    for len in [0, 1, NONCE_LEN, MIN_SEALED_LEN - 1] {
        let error = keyring
            .open(&Sealed::new(key_id.clone(), bytes[..len].to_vec()), b"a")
            .unwrap_err();
        assert!(
            matches!(error, PrivacyError::Truncated { len: found } if found == len),
            "{len}: {error}"
        );
    }
    // Long enough to parse, but cut: the tag no longer verifies.
    for len in [MIN_SEALED_LEN, bytes.len() - 1] {
        assert!(matches!(
            keyring.open(&Sealed::new(key_id.clone(), bytes[..len].to_vec()), b"a"),
            Err(PrivacyError::AuthenticationFailed { .. })
        ));
    }
}

#[test]
fn layout_is_nonce_then_ciphertext_then_tag() {
    // The GCM specification's test case 14 (AES-256, zero key, zero IV, 16 zero bytes), laid out
    // as `nonce ‖ ciphertext ‖ tag`: pins the format other implementations must read.
    let zero = Keyring::from_keys(
        vec![DataKey::new(id("zero"), [0; KEY_LEN])],
        &id("zero"),
        &BlindIndexKey::new([0; KEY_LEN]),
    )
    .unwrap();
    let mut bytes = vec![0u8; NONCE_LEN];
    bytes.extend(hex_bytes("cea7403d4d606b6e074ec5d3baf39d18"));
    bytes.extend(hex_bytes("d0d1c8a799996bf0265b98b5d48ab919"));
    let opened = zero.open(&Sealed::new(id("zero"), bytes), b"").unwrap();
    assert_eq!(opened.as_slice(), [0u8; 16]);
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

// --- outer forms ---

#[test]
fn text_form_round_trips() {
    let keyring = keyring(&[("2026-01", 1)], "2026-01");
    let text = keyring
        .seal_text(b"anna@example.se", b"users.email:7")
        .unwrap();
    assert!(text.starts_with("v1:2026-01:"), "{text}");
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
    );
    let parsed: Sealed = text.parse().unwrap();
    assert_eq!(parsed.to_text(), text);
    assert_eq!(
        keyring
            .open_text(&text, b"users.email:7")
            .unwrap()
            .as_slice(),
        b"anna@example.se"
    );
    assert!(matches!(
        keyring.open_text(&text, b"users.email:8"),
        Err(PrivacyError::AuthenticationFailed { .. })
    ));
}

#[test]
fn malformed_text_is_refused_without_repeating_it() {
    for bad in [
        "",
        "v1",
        "v1:k1",
        "v2:k1:AAAA",
        "v1::AAAA",
        "v1:bad id:AAAA",
        "v1:k1:not base64!",
        "v1:k1:AAAA==",
    ] {
        let error = Sealed::parse_text(bad).unwrap_err();
        assert!(
            matches!(
                error,
                PrivacyError::Malformed { .. } | PrivacyError::InvalidKeyId { .. }
            ),
            "{bad:?}: {error}"
        );
        if bad.contains("AAAA") {
            assert!(!error.to_string().contains("AAAA"), "{error}");
        }
    }
}

#[test]
fn encrypted_field_round_trips_with_the_aggregate_id_as_associated_data() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let field = keyring.seal_field(b"details", "0199-aggregate").unwrap();
    assert_eq!(field.key_id, "k1");
    assert_eq!(field.ciphertext.len(), NONCE_LEN + 7 + TAG_LEN);
    assert_eq!(
        keyring
            .open_field(&field, "0199-aggregate")
            .unwrap()
            .as_slice(),
        b"details"
    );
    assert!(matches!(
        keyring.open_field(&field, "another-aggregate"),
        Err(PrivacyError::AuthenticationFailed { .. })
    ));

    let sealed = Sealed::try_from(field.clone()).unwrap();
    assert_eq!(EncryptedField::from(sealed.clone()), field);
    assert_eq!(Sealed::try_from(&field).unwrap(), sealed);
    assert_eq!(
        keyring.open(&sealed, b"0199-aggregate").unwrap().as_slice(),
        b"details"
    );
}

#[test]
fn encrypted_field_without_a_key_id_is_refused() {
    let field = EncryptedField {
        key_id: String::new(),
        ciphertext: vec![0; 40],
    };
    assert!(matches!(
        Sealed::try_from(&field),
        Err(PrivacyError::Malformed { .. })
    ));
    let field = EncryptedField {
        key_id: "k:1".into(),
        ciphertext: vec![],
    };
    assert!(matches!(
        Sealed::try_from(field),
        Err(PrivacyError::InvalidKeyId { .. })
    ));
}

#[test]
fn household_details_travel_sealed_in_an_event() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let details = HouseholdDetails {
        adults: vec![HouseholdAdult {
            given_name: "Anna".into(),
            family_name: "Svensson".into(),
            personal_identity_number: pin().expose().to_owned(),
            email: "anna@example.se".into(),
            phone: "070-000 00 00".into(),
        }],
        own_bedroom_for_child: true,
        household_children_ages: vec![4, 9],
        message: "Vi vill hjälpa till".into(),
        ..Default::default()
    };
    let field = keyring.seal_message(&details, "registration-1").unwrap();
    assert!(
        !field
            .ciphertext
            .windows(8)
            .any(|window| window == b"Svensson")
    );
    let opened: HouseholdDetails = keyring.open_message(&field, "registration-1").unwrap();
    assert_eq!(opened, details);
    assert!(matches!(
        keyring.open_message::<HouseholdDetails>(&field, "registration-2"),
        Err(PrivacyError::AuthenticationFailed { .. })
    ));
}

#[test]
fn opening_something_that_is_not_the_message_says_so() {
    let keyring = keyring(&[("k1", 1)], "k1");
    // 0xff.. is not a valid protobuf tag varint.
    let field = keyring.seal_field(&[0xff; 11], "a").unwrap();
    let error = keyring
        .open_message::<HouseholdDetails>(&field, "a")
        .unwrap_err();
    assert!(matches!(error, PrivacyError::Decode { .. }), "{error}");
    assert!(error.to_string().contains("HouseholdDetails"), "{error}");
}

// --- blind index ---

#[test]
fn blind_index_is_stable_hex_and_separated_by_kind() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let index = keyring.blind_index("email", "anna@example.se");
    assert_eq!(index.len(), 64);
    assert!(
        index
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(index, keyring.blind_index("email", "anna@example.se"));
    assert_eq!(
        index,
        keyring.clone().blind_index("email", "anna@example.se")
    );
    assert_ne!(index, keyring.blind_index("phone", "anna@example.se"));
    assert_ne!(index, keyring.blind_index("email", "bo@example.se"));
    // Length prefixes: moving a character between kind and value changes the index.
    assert_ne!(
        keyring.blind_index("ab", "c"),
        keyring.blind_index("a", "bc")
    );
}

#[test]
fn blind_index_matches_the_documented_construction() {
    // Computed independently (Python's hmac): HMAC-SHA256(key = 32 × 0xb1,
    // "hearth.blind-index.v1" ‖ u64be(24) ‖ "personal_identity_number" ‖ u64be(12) ‖ digits).
    // If this changes, every stored blind index must be recomputed.
    assert_eq!(
        keyring(&[("k1", 1)], "k1").blind_index_pin(&pin()),
        "8924a3289fed82087793c3f878505fef656fe4cc958df4cb9f5410e707893216"
    );
}

#[test]
fn blind_index_normalises_case_and_whitespace() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let index = keyring.blind_index("name", "anna svensson");
    assert_eq!(index, keyring.blind_index("name", "  Anna \t SVENSSON\n"));
    assert_eq!(index, keyring.blind_index("name", "ANNA SVENSSON"));
    assert_ne!(index, keyring.blind_index("name", "annasvensson"));
    assert_eq!(
        keyring.blind_index("name", "Åsa Öberg"),
        keyring.blind_index("name", "åsa öberg")
    );
}

#[test]
fn blind_index_depends_on_the_blind_index_key_only() {
    let first = Keyring::new(&options(&[("k1", 1)], "k1", 0xb1)).unwrap();
    let rotated = Keyring::new(&options(&[("k1", 1), ("k2", 2)], "k2", 0xb1)).unwrap();
    let other = Keyring::new(&options(&[("k1", 1)], "k1", 0xb2)).unwrap();
    let value = ("email", "anna@example.se");
    assert_eq!(
        first.blind_index(value.0, value.1),
        rotated.blind_index(value.0, value.1)
    );
    assert_ne!(
        first.blind_index(value.0, value.1),
        other.blind_index(value.0, value.1)
    );
}

#[test]
fn blind_index_of_a_personal_identity_number_finds_the_same_person() {
    let keyring = keyring(&[("k1", 1)], "k1");
    let dashed = PersonalIdentityNumber::parse_on("19121212-1212", today()).unwrap();
    let plain = PersonalIdentityNumber::parse_on("191212121212", today()).unwrap();
    let index = keyring.blind_index_pin(&dashed);
    assert_eq!(index, keyring.blind_index_pin(&plain));
    let short = PersonalIdentityNumber::parse_on("121212+1212", today()).unwrap();
    assert_eq!(index, keyring.blind_index_pin(&short));
    assert_eq!(
        index,
        keyring.blind_index(PERSONAL_IDENTITY_NUMBER_KIND, "191212121212")
    );
    assert!(!index.contains("1212121212"));
    let someone_else = PersonalIdentityNumber::from_parts(
        chrono::NaiveDate::from_ymd_opt(1990, 1, 12).unwrap(),
        239,
        false,
    )
    .unwrap();
    assert_ne!(index, keyring.blind_index_pin(&someone_else));
}

// --- building a keyring ---

fn build_error(options: &KeyringOptions) -> PrivacyError {
    Keyring::new(options).unwrap_err()
}

#[test]
fn bad_key_material_is_refused_naming_the_key() {
    let mut short = options(&[("k1", 1), ("k2", 2)], "k2", 3);
    short.keys[0].1 = STANDARD.encode([1u8; 16]);
    let error = build_error(&short);
    assert!(matches!(&error, PrivacyError::KeyLength { id, len: 16 } if id == "k1"));
    assert!(error.to_string().contains("`k1`"), "{error}");
    assert!(error.to_string().contains("32 bytes"), "{error}");

    let mut garbage = options(&[("k1", 1), ("k2", 2)], "k2", 3);
    garbage.keys[1].1 = "not*base64".into();
    let error = build_error(&garbage);
    assert!(matches!(&error, PrivacyError::KeyNotBase64 { id } if id == "k2"));
    assert!(!error.to_string().contains("not*base64"), "{error}");
}

#[test]
fn key_material_accepts_padding_or_none_and_surrounding_whitespace() {
    let padded = material(1);
    assert!(padded.ends_with('='));
    let mut options = options(&[("k1", 1)], "k1", 3);
    options.keys[0].1 = format!("  {}\n", padded.trim_end_matches('='));
    let keyring = Keyring::new(&options).unwrap();
    let sealed = keyring.seal(b"x", b"").unwrap();
    let same = self::keyring(&[("k1", 1)], "k1");
    assert_eq!(same.open(&sealed, b"").unwrap().as_slice(), b"x");
}

#[test]
fn current_key_must_be_among_the_keys() {
    let error = build_error(&options(&[("k1", 1), ("k2", 2)], "k3", 3));
    assert!(matches!(&error, PrivacyError::CurrentKeyMissing { current, .. } if current == "k3"));
    let message = error.to_string();
    assert!(
        message.contains("`k3`") && message.contains("`k1`, `k2`"),
        "{message}"
    );
}

#[test]
fn duplicate_and_invalid_ids_and_empty_keyrings_are_refused() {
    let error = build_error(&options(&[("k1", 1), ("k1", 2)], "k1", 3));
    assert!(matches!(&error, PrivacyError::DuplicateKeyId { id } if id == "k1"));
    assert!(error.to_string().contains("`k1`"));

    assert!(matches!(
        build_error(&options(&[], "k1", 3)),
        PrivacyError::NoKeys
    ));
    let too_long = "k".repeat(KEY_ID_MAX_LEN + 1);
    for bad in ["", "k 1", "k:1", "nyckel-å", too_long.as_str()] {
        let error = build_error(&options(&[(bad, 1)], bad, 3));
        assert!(
            matches!(&error, PrivacyError::InvalidKeyId { id } if id == bad),
            "{bad:?}: {error}"
        );
    }
    assert!(KeyId::parse(&"k".repeat(KEY_ID_MAX_LEN)).is_ok());
    assert!(KeyId::parse("2026-01_a.b").is_ok());
}

#[test]
fn bad_blind_index_key_is_refused() {
    let mut options = options(&[("k1", 1)], "k1", 3);
    options.blind_index_key = STANDARD.encode([3u8; 31]);
    assert!(matches!(
        build_error(&options),
        PrivacyError::BlindIndexKeyLength { len: 31 }
    ));
    options.blind_index_key = "%%%".into();
    assert!(matches!(
        build_error(&options),
        PrivacyError::BlindIndexKeyNotBase64
    ));
}

#[test]
fn generated_keyrings_work_and_differ() {
    let first = Keyring::generate(id("test")).unwrap();
    let second = Keyring::generate(id("test")).unwrap();
    let sealed = first.seal(b"x", b"a").unwrap();
    assert_eq!(first.open(&sealed, b"a").unwrap().as_slice(), b"x");
    assert!(second.open(&sealed, b"a").is_err());
    assert_ne!(first.blind_index("k", "v"), second.blind_index("k", "v"));
}

#[test]
fn debug_never_shows_key_material() {
    let options = options(&[("k2025", 0x11), ("k2026", 0x22)], "k2026", 0x33);
    let keyring = Keyring::new(&options).unwrap();
    let data_key = DataKey::new(id("k9"), [0x44; KEY_LEN]);
    let blind_key = BlindIndexKey::new([0x55; KEY_LEN]);
    let outputs = [
        format!("{options:?}"),
        format!("{keyring:?}"),
        format!("{keyring:#?}"),
        format!("{data_key:?}"),
        format!("{blind_key:?}"),
    ];
    let secrets = [
        material(0x11),
        material(0x22),
        material(0x33),
        material(0x44),
        material(0x55),
        "17, 17".to_owned(),
        "34, 34".to_owned(),
        "51, 51".to_owned(),
        "68, 68".to_owned(),
        "85, 85".to_owned(),
        "0x".to_owned(),
    ];
    for output in &outputs {
        for secret in &secrets {
            assert!(!output.contains(secret.as_str()), "{output}");
        }
    }
    assert!(outputs[1].contains("k2025") && outputs[1].contains("k2026"));
    assert!(outputs[3].contains("k9"));
    assert_eq!(data_key.material_base64().as_str(), material(0x44));
}

#[test]
fn sealed_debug_is_short() {
    let sealed = Sealed::new(id("k1"), vec![7; 100]);
    assert_eq!(
        format!("{sealed:?}"),
        r#"Sealed { key_id: "k1", len: 100 }"#
    );
}

// --- development keys ---

#[test]
fn development_keys_are_generated_once_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let first = DevelopmentKeys::load_or_generate(&data_dir).unwrap();
    assert_eq!(first.path(), data_dir.join(DEVELOPMENT_KEYS_FILE));
    let key_id = first.keyring().current_key_id().to_string();
    assert!(key_id.starts_with("dev-") && key_id.len() == 12, "{key_id}");

    let sealed = first.keyring().seal(b"Anna", b"a").unwrap();
    let second = DevelopmentKeys::load_or_generate(&data_dir).unwrap();
    assert_eq!(second.keyring().current_key_id().as_str(), key_id);
    assert_eq!(
        second.keyring().open(&sealed, b"a").unwrap().as_slice(),
        b"Anna"
    );
    assert_eq!(
        first.keyring().blind_index_pin(&pin()),
        second.into_keyring().blind_index_pin(&pin())
    );
    let text = fs::read_to_string(first.path()).unwrap();
    assert!(text.starts_with("# Hearth development data keys"), "{text}");
    assert!(!format!("{first:?}").contains("material"));
}

#[cfg(unix)]
#[test]
fn development_keys_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = DevelopmentKeys::load_or_generate(dir.path()).unwrap();
    let mode = fs::metadata(keys.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn development_keys_file_errors_name_the_file_but_not_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DEVELOPMENT_KEYS_FILE);
    fs::write(
        &path,
        "current = \"dev-1\"\nblind_index_key = SECRETSTUFF\n",
    )
    .unwrap();
    let error = DevelopmentKeys::load_or_generate(dir.path()).unwrap_err();
    assert!(
        matches!(error, PrivacyError::InvalidKeyFile { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains(DEVELOPMENT_KEYS_FILE), "{message}");
    assert!(!message.contains("SECRETSTUFF"), "{message}");

    fs::write(
        &path,
        format!(
            "current = \"dev-1\"\nblind_index_key = \"{}\"\n[[keys]]\nid = \"dev-1\"\nmaterial = \"{}\"\n",
            material(1),
            STANDARD.encode([2u8; 8])
        ),
    )
    .unwrap();
    let message = DevelopmentKeys::load(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("`dev-1`") && message.contains("32 bytes"),
        "{message}"
    );

    let missing = tempfile::tempdir().unwrap();
    assert!(matches!(
        DevelopmentKeys::load(missing.path()),
        Err(PrivacyError::Read { .. })
    ));
}

// --- properties ---

proptest! {
    #[test]
    fn any_bytes_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let keyring = keyring(&[("k1", 1), ("k2", 2)], "k2");
        let sealed = keyring.seal(&plaintext, &aad).unwrap();
        prop_assert_eq!(sealed.ciphertext().len(), plaintext.len() + MIN_SEALED_LEN);
        let opened = keyring.open(&sealed, &aad).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());

        let text = sealed.to_text();
        let from_text = Sealed::parse_text(&text).unwrap();
        prop_assert_eq!(&from_text, &sealed);
        let field = EncryptedField::from(sealed.clone());
        prop_assert_eq!(Sealed::try_from(field).unwrap(), sealed);
    }

    #[test]
    fn any_flipped_bit_is_caught(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        bit in any::<usize>(),
    ) {
        let keyring = keyring(&[("k1", 1)], "k1");
        let (key_id, mut bytes) = keyring.seal(&plaintext, b"a").unwrap().into_parts();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let is_auth_failure = matches!(
            keyring.open(&Sealed::new(key_id, bytes), b"a"),
            Err(PrivacyError::AuthenticationFailed { .. })
        );
        prop_assert!(is_auth_failure);
    }

    #[test]
    fn arbitrary_input_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
        text in "\\PC{0,80}",
    ) {
        let keyring = keyring(&[("k1", 1)], "k1");
        prop_assert!(keyring.open(&Sealed::new(id("k1"), bytes), b"").is_err());
        let _ = keyring.open_text(&text, b"");
        let _ = keyring.blind_index(&text, &text);
    }

    #[test]
    fn blind_index_ignores_surrounding_whitespace_and_case(value in "[a-zA-Z0-9@. ]{0,40}") {
        let keyring = keyring(&[("k1", 1)], "k1");
        let index = keyring.blind_index("email", &value);
        prop_assert_eq!(&index, &keyring.blind_index("email", &format!("  {value}\t")));
        prop_assert_eq!(&index, &keyring.blind_index("email", &value.to_uppercase()));
    }
}
