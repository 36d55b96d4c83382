//! Shared fixtures for this crate's tests: a development key, a verifier on a fixed clock, and
//! a way to sign arbitrary claims with the trusted key.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_domain::{Clock, CountySlug, FixedClock, MunicipalityCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::{DevelopmentKey, MintRequest, PRIVATE_KEY_FILE, Role, TokenVerifier, VerifierOptions};

pub const ISSUER: &str = "https://idp.dalarna.example/realms/hearth";
pub const AUDIENCE: &str = "hearth";

pub fn dalarna() -> CountySlug {
    CountySlug::parse("dalarna").unwrap()
}

pub fn code(text: &str) -> MunicipalityCode {
    MunicipalityCode::parse(text).unwrap()
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-14T12:00:00Z")
        .unwrap()
        .to_utc()
}

pub struct Fixture {
    pub key: DevelopmentKey,
    pub clock: FixedClock,
    pub verifier: TokenVerifier,
    /// The trusted key's private PEM, for tests that sign hand-made claims.
    private_pem: String,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = DevelopmentKey::load_or_generate(dir.path()).unwrap();
        let private_pem = std::fs::read_to_string(dir.path().join(PRIVATE_KEY_FILE)).unwrap();
        let clock = FixedClock::new(start_time());
        let verifier = TokenVerifier::with_clock(
            VerifierOptions {
                county: dalarna(),
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                keys: vec![key.verification_key()],
            },
            Arc::new(clock.clone()),
        )
        .unwrap();
        Self {
            key,
            clock,
            verifier,
            private_pem,
        }
    }

    pub fn request(&self, roles: &[Role], municipality: Option<&str>) -> MintRequest {
        MintRequest {
            county: dalarna(),
            roles: roles.to_vec(),
            municipality: municipality.map(code),
            subject: "user-42".into(),
            ttl: Duration::from_secs(3600),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
        }
    }

    /// A valid token, minted at the fixture clock's time.
    pub fn mint(&self, request: MintRequest) -> String {
        self.key.mint_at(request, self.clock.now_utc()).unwrap()
    }

    pub fn unit_staff_token(&self) -> String {
        self.mint(self.request(&[Role::UnitStaff], None))
    }

    /// Signs `claims` with the trusted key under its kid, bypassing the minting checks.
    pub fn sign_raw(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        let key = EncodingKey::from_ec_pem(self.private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    /// Claims that would pass, as JSON, for tests to spoil one field at a time.
    pub fn good_claims(&self) -> serde_json::Value {
        let now = self.clock.now_utc().timestamp();
        serde_json::json!({
            "sub": "user-42",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "county": "dalarna",
            "roles": ["unit_staff"],
        })
    }
}
