//! base64url without padding (RFC 7515 §2), strict: canonical encodings only.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// base64url without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL.encode(bytes)
}

/// The bytes of a canonical base64url text without padding; why not, otherwise.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    if text.contains('=') {
        return Err("padding ('=') is not allowed in base64url");
    }
    if let Some(c) = text.bytes().find(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')) {
        return Err(if c == b'+' || c == b'/' {
            "'+' and '/' are base64, not base64url"
        } else {
            "a character outside the base64url alphabet"
        });
    }
    let bytes = URL.decode(text).map_err(|_| "not a canonical base64url encoding")?;
    // Belt and braces: only the one encoding of these bytes is accepted.
    if URL.encode(&bytes) != text {
        return Err("not a canonical base64url encoding");
    }
    Ok(bytes)
}

/// Standard base64 with padding (PEM bodies).
pub(crate) fn encode_standard(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64 with padding (PEM bodies).
pub(crate) fn decode_standard(text: &str) -> Result<Vec<u8>, &'static str> {
    STANDARD.decode(text).map_err(|_| "the PEM body is not valid base64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_canonical_only() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff, 0xfe]] {
            assert_eq!(decode(&encode(bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(&[0xfb, 0xff, 0xfe]), "-__-");
        assert_eq!(decode("Zg"), Ok(b"f".to_vec()));
        assert!(decode("Zg==").unwrap_err().contains("padding"));
        assert!(decode("Zh").unwrap_err().contains("canonical"), "non-zero trailing bits");
        assert!(decode("Z").is_err(), "one character left over");
        assert!(decode("+/+/").unwrap_err().contains("base64url"));
        assert!(decode("Zm 9v").unwrap_err().contains("alphabet"));
        assert!(decode("Zm9v\n").is_err());
    }
}
