//! The token's claims as the identity provider writes them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::role::Role;

/// The JWT payload as the identity provider writes it. Only [`TokenVerifier`] reads this after
/// checking the signature; handlers see a [`Principal`](crate::Principal).
///
/// [`TokenVerifier`]: crate::TokenVerifier
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: the provider's stable id for the user or integration client.
    pub sub: String,
    /// The county's identity provider.
    pub iss: String,
    /// For whom the token is meant; one string or an array on the wire (RFC 7519 allows both).
    #[serde(
        serialize_with = "serialize_audience",
        deserialize_with = "deserialize_audience"
    )]
    pub aud: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Not before, seconds since the Unix epoch (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The county slug the token was issued for.
    pub county: String,
    /// Hearth roles; an unknown name makes the whole token unusable (fail closed).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The four-digit municipality code, for municipality staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

fn serialize_audience<S: Serializer>(aud: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    match aud {
        [one] => serializer.serialize_str(one),
        many => many.serialize(serializer),
    }
}

fn deserialize_audience<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_one_string_or_many() {
        let base = r#""sub":"s","iss":"i","exp":2,"iat":1,"county":"dalarna","roles":["admin"]"#;
        let one: Claims = serde_json::from_str(&format!(r#"{{{base},"aud":"hearth"}}"#)).unwrap();
        assert_eq!(one.aud, vec!["hearth".to_owned()]);
        let many: Claims =
            serde_json::from_str(&format!(r#"{{{base},"aud":["hearth","other"]}}"#)).unwrap();
        assert_eq!(many.aud.len(), 2);
        let written = serde_json::to_value(&one).unwrap();
        assert_eq!(written["aud"], "hearth");
        assert!(written.get("municipality").is_none());
    }
}
