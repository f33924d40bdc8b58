//! Resource identifiers (CTP 4.1.3): the base64url alphabet of RFC 4648 §5, at most 96
//! characters.

use std::fmt;

use base64::Engine;
use rand::Rng;

/// Longest identifier the specification allows.
pub const MAX_ID_LENGTH: usize = 96;

/// A resource identifier, checked at the edge: only base64url characters, 1 to 96 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

/// Why a path segment is not an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The segment is empty.
    #[error("the identifier is empty")]
    Empty,
    /// More than [`MAX_ID_LENGTH`] characters.
    #[error("the identifier is {0} characters long; at most 96 are allowed")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 - _`.
    #[error("the identifier contains {0:?}; only A-Z, a-z, 0-9, '-' and '_' are allowed")]
    BadCharacter(char),
}

impl ResourceId {
    /// Checks a string taken from a URL or a request body.
    pub fn parse(text: &str) -> Result<ResourceId, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        if text.len() > MAX_ID_LENGTH {
            return Err(IdError::TooLong(text.chars().count()));
        }
        if let Some(c) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(IdError::BadCharacter(c));
        }
        Ok(ResourceId(text.to_owned()))
    }

    /// A new random identifier: 96 random bits, 16 base64url characters.
    pub fn generate() -> ResourceId {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        ResourceId(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_base64url() {
        assert!(ResourceId::parse("VYkcv8y-5zuVAAAH").is_ok());
        assert!(ResourceId::parse("a_b-C9").is_ok());
        assert_eq!(ResourceId::parse(""), Err(IdError::Empty));
        assert_eq!(ResourceId::parse("a.b"), Err(IdError::BadCharacter('.')));
        assert_eq!(ResourceId::parse("a+b"), Err(IdError::BadCharacter('+')));
        assert!(ResourceId::parse(&"a".repeat(96)).is_ok());
        assert_eq!(ResourceId::parse(&"a".repeat(97)), Err(IdError::TooLong(97)));
        let generated = ResourceId::generate();
        assert_eq!(generated.as_str().len(), 16);
        assert_eq!(ResourceId::parse(generated.as_str()), Ok(generated.clone()));
        assert_ne!(generated, ResourceId::generate());
    }
}
