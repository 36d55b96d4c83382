use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A setting that must never be printed: Debug, Display and Serialize all show `********`.
/// Read it with [`Secret::expose`] at the one place that needs it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

const MASK: &str = "********";

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:********@host/db`; URLs without a password
/// are returned unchanged. Used wherever a connection URL is shown or logged.
pub fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:{}{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        MASK,
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?} {secret}"), "******** ********");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            mask_url_password("postgres://hearth:s3cret@db:5432/hearth_dalarna"),
            "postgres://hearth:********@db:5432/hearth_dalarna"
        );
        assert_eq!(
            mask_url_password("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            mask_url_password("nats://a:b@n:4222"),
            "nats://a:********@n:4222"
        );
        assert_eq!(mask_url_password("not a url"), "not a url");
    }
}
