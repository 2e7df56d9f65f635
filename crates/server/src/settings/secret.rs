//! Secrets in the settings (passwords, tokens, signing keys, the database URL's password):
//! `Debug` and `Serialize` show `•••`, so no log line, error message or the Settings page can
//! reveal them; `expose` is the one way to read one, at the place that uses it.

use serde::{Deserialize, Serialize, Serializer};

const HIDDEN: &str = "•••";

/// A secret string; empty means "not set" and shows as empty.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() { "" } else { HIDDEN }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret::new(text)
    }
}

/// A database URL: shown with its password replaced by `•••`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL with any password (in its user info or its query) replaced by `•••`.
    pub fn redacted(&self) -> String {
        firebreak_store::redact_url(&self.0)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        DatabaseUrl(url)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        DatabaseUrl(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_shown() {
        let table = [
            (
                "postgres://fb:s3cret@db:5432/fb",
                "postgres://fb:•••@db:5432/fb",
            ),
            ("postgres://fb@db/fb", "postgres://fb@db/fb"),
            (
                "postgres://fb@db/fb?sslmode=require&password=s3cret",
                "postgres://fb@db/fb?sslmode=require&password=•••",
            ),
            ("sqlite:firebreak.db", "sqlite:firebreak.db"),
        ];
        for (url, shown) in table {
            let url = DatabaseUrl::from(url);
            assert_eq!(url.redacted(), shown);
            assert_eq!(format!("{url:?}"), format!("{shown:?}"));
        }
    }

    #[test]
    fn secrets_show_as_dots_and_empty_as_empty() {
        assert_eq!(format!("{:?}", Secret::new("hunter22")), "\"•••\"");
        assert_eq!(
            serde_json::to_string(&Secret::new("hunter22")).unwrap(),
            "\"•••\""
        );
        assert_eq!(format!("{:?}", Secret::default()), "\"\"");
        assert_eq!(Secret::new("hunter22").expose(), "hunter22");
    }
}
