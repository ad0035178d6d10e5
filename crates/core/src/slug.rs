//! The public, URL-safe name of an association (`/{slug}/…`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Words that would collide with our own top-level paths.
const RESERVED: &[&str] = &[
    "api", "app", "ops", "static", "assets", "healthz", "readyz", "metrics", "webhooks", "login",
    "logout", "signup", "admin", "www", "help", "docs",
];

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Shorter than 2 or longer than 48 characters.
    #[error("a slug is 2 to 48 characters long")]
    Length,
    /// Contains something other than a-z, 0-9 and inner hyphens.
    #[error("a slug uses only lowercase letters, digits and single inner hyphens")]
    Characters,
    /// One of our own path names.
    #[error("this slug is reserved")]
    Reserved,
}

/// A validated slug: 2–48 of `a-z0-9-`, no leading, trailing or double hyphen.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Validates `s` as a slug.
    pub fn parse(s: &str) -> Result<Self, SlugError> {
        if !(2..=48).contains(&s.len()) {
            return Err(SlugError::Length);
        }
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(SlugError::Characters);
        }
        if RESERVED.contains(&s) {
            return Err(SlugError::Reserved);
        }
        Ok(Self(s.to_owned()))
    }
    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(s: String) -> Result<Self, SlugError> {
        Slug::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({})", self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_refuses() {
        assert!(Slug::parse("demo").is_ok());
        assert!(Slug::parse("cedar-creek-2").is_ok());
        assert_eq!(Slug::parse("a"), Err(SlugError::Length));
        assert_eq!(Slug::parse("Cedar"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("-x"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("a--b"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("api"), Err(SlugError::Reserved));
    }

    proptest! {
        #[test]
        fn parsed_slugs_are_url_safe(s in "\\PC{0,60}") {
            if let Ok(slug) = Slug::parse(&s) {
                prop_assert!(slug.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                prop_assert_eq!(slug.as_str(), s.as_str());
            }
        }
    }
}
