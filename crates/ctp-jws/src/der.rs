//! The little DER and PEM the keys need: SubjectPublicKeyInfo (RFC 5280), the algorithm of a
//! PKCS#8 PrivateKeyInfo (RFC 5208/5958), RSAPublicKey (RFC 8017), PEM (RFC 7468).

use crate::b64;

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;

/// rsaEncryption, 1.2.840.113549.1.1.1.
pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
pub(crate) const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 (P-256), 1.2.840.10045.3.1.7.
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-Ed25519, 1.3.101.112.
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A reader of DER elements (definite, minimal lengths; single-byte tags).
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next element: its tag and content.
    pub(crate) fn next(&mut self) -> Result<(u8, &'a [u8]), &'static str> {
        let [tag, first, rest @ ..] = self.data else {
            return Err("truncated DER");
        };
        let (len, rest) = match *first {
            short @ 0..=0x7f => (usize::from(short), rest),
            0x81..=0x84 => {
                let count = usize::from(first & 0x7f);
                if rest.len() < count || rest[0] == 0 {
                    return Err("invalid DER length");
                }
                let len = rest[..count].iter().fold(0usize, |len, b| len << 8 | usize::from(*b));
                if len < 0x80 {
                    return Err("invalid DER length (not minimal)");
                }
                (len, &rest[count..])
            }
            _ => return Err("invalid DER length"),
        };
        if rest.len() < len {
            return Err("truncated DER");
        }
        let (content, rest) = rest.split_at(len);
        self.data = rest;
        Ok((*tag, content))
    }

    /// The next element's content, which must have `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8], &'static str> {
        match self.next()? {
            (found, content) if found == tag => Ok(content),
            _ => Err("unexpected DER element"),
        }
    }
}

/// A DER element.
pub(crate) fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of the unsigned big-endian `magnitude`.
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed = strip_leading_zeros(magnitude);
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    element(INTEGER, &content)
}

/// The magnitude of a non-negative DER INTEGER's content, without leading zeros.
pub(crate) fn unsigned_integer_content(content: &[u8]) -> Result<&[u8], &'static str> {
    match content.first() {
        None => Err("empty DER INTEGER"),
        Some(b) if b & 0x80 != 0 => Err("negative DER INTEGER"),
        Some(_) => Ok(strip_leading_zeros(content)),
    }
}

pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[zeros..]
}

/// The content of a BIT STRING with no unused bits.
pub(crate) fn bit_string_bytes(content: &[u8]) -> Result<&[u8], &'static str> {
    match content {
        [0, bytes @ ..] => Ok(bytes),
        _ => Err("a BIT STRING with unused bits"),
    }
}

/// The body of the one PEM block labelled `label` in `text`. Text before and after the block
/// is ignored (RFC 7468 §2); a block of another label is named in the error.
pub(crate) fn pem_decode(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin_marker = "-----BEGIN ";
    let Some(begin) = text.find(begin_marker) else {
        return Err("no PEM block (-----BEGIN ...-----) found".into());
    };
    let after = &text[begin + begin_marker.len()..];
    let Some((found, body)) = after.split_once("-----") else {
        return Err("a PEM BEGIN line without its closing dashes".into());
    };
    if found != label {
        return Err(format!("a PEM block labelled {found:?}, expected {label:?}"));
    }
    let end_line = format!("-----END {label}-----");
    let Some((body, _)) = body.split_once(&end_line) else {
        return Err(format!("no {end_line} line"));
    };
    let body: String = body.split_ascii_whitespace().collect();
    b64::decode_standard(&body).map_err(str::to_owned)
}

/// A PEM block of `der`, lines of 64 characters.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = b64::encode_standard(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        let long = vec![7u8; 300];
        let e = element(OCTET_STRING, &long);
        assert_eq!(&e[..4], &[OCTET_STRING, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&e);
        assert_eq!(r.expect(OCTET_STRING).unwrap(), &long[..]);
        assert!(r.is_empty());
        assert_eq!(unsigned_integer(&[0x80]), vec![INTEGER, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0, 1]), vec![INTEGER, 1, 1]);
        assert_eq!(unsigned_integer_content(&[0, 0x80]).unwrap(), &[0x80]);
        assert!(unsigned_integer_content(&[0x80]).is_err());
        assert!(Reader::new(&[OCTET_STRING, 0x81, 0x05, 1, 2, 3, 4, 5]).next().is_err(), "non-minimal length");
        assert!(Reader::new(&[OCTET_STRING, 0x05, 1]).next().is_err(), "truncated");
        assert!(Reader::new(&[OCTET_STRING, 0x80]).next().is_err(), "indefinite length");
    }

    #[test]
    fn pem_blocks() {
        let pem = pem_encode("PUBLIC KEY", &[1, 2, 3]);
        assert_eq!(pem, "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n");
        assert_eq!(pem_decode(&format!("explanatory text\n{pem}"), "PUBLIC KEY").unwrap(), vec![1, 2, 3]);
        let err = pem_decode(&pem, "PRIVATE KEY").unwrap_err();
        assert!(err.contains("\"PUBLIC KEY\""), "{err}");
        assert!(pem_decode("nothing", "PUBLIC KEY").is_err());
        assert!(pem_decode("-----BEGIN PUBLIC KEY-----\nAQ!D\n-----END PUBLIC KEY-----\n", "PUBLIC KEY").is_err());
    }
}
