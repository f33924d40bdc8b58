//! ctp-jws (on ring) against a second, independent implementation: the RustCrypto crates
//! `rsa` (with `sha2`), `p256` (`ecdsa`) and `ed25519-dalek`. Their signatures verify here,
//! ours verify there, and the keys travel both ways as SPKI PEM, PKCS#8 PEM and JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ctp_jws::{
    sign, sign_detached, signing_payload, verify, Algorithm, PrivateKey, PublicKey, TrustedKey, Validity, VerifyError,
};

const SAMPLE: &str = r#"{ "value": [ {"cpu": 0.75, "host": "db-1"} ], "updateTime": "2026-11-22T10:41:58.123Z",
  "authorityId": "agent-7", "signature": "" }"#;
const RSA_PEM: &str = include_str!("data/rsa-2048-test-only.pem");
const OTHER_RSA_PEM: &str = include_str!("data/rsa-2048-other-test-only.pem");

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn trusted(kid: &str, key: PublicKey) -> Vec<TrustedKey> {
    vec![TrustedKey { kid: kid.into(), key, validity: Validity::ALWAYS }]
}

/// `header.payload` for `alg` and `kid`, and the payload.
fn signing_input(alg: Algorithm, kid: &str) -> (String, Vec<u8>) {
    let payload = signing_payload(SAMPLE).unwrap();
    let header = format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#);
    (format!("{}.{}", b64(header.as_bytes()), b64(&payload)), payload)
}

/// The input and decoded signature of a compact JWS made by us, for `payload`.
fn parts_of(jws: &str, payload: &[u8]) -> (String, Vec<u8>) {
    let (header, rest) = jws.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    (format!("{header}.{}", b64(payload)), URL_SAFE_NO_PAD.decode(signature).unwrap())
}

mod rs256 {
    use super::*;
    use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
    use rsa::sha2::Sha256;
    use rsa::signature::{SignatureEncoding, Signer, Verifier};
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPrivateKey;

    #[test]
    fn their_signatures_verify_here() {
        let private = RsaPrivateKey::from_pkcs8_pem(RSA_PEM).unwrap();
        let public = private.to_public_key();
        let (input, payload) = signing_input(Algorithm::Rs256, "r1");
        let signature = SigningKey::<Sha256>::new(private.clone()).sign(input.as_bytes()).to_vec();
        let jws = format!("{input}.{}", b64(&signature));
        // Their public key, as SPKI PEM and as a JWK of their n and e.
        let from_pem = PublicKey::from_spki_pem(&public.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let jwk = format!(
            r#"{{"kty":"RSA","n":"{}","e":"{}","kid":"r1"}}"#,
            b64(&public.n().to_bytes_be()),
            b64(&public.e().to_bytes_be())
        );
        let from_jwk = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_pem, from_jwk);
        // Their PKCS#8 of the private key, read here, has the same public key.
        let pkcs8 = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(PrivateKey::from_pkcs8_pem(&pkcs8).unwrap().public_key(), from_pem);
        for key in [from_pem, from_jwk] {
            assert_eq!(verify(&jws, &payload, &trusted("r1", key.clone()), 0).unwrap().alg, Algorithm::Rs256);
            let mut tampered = signature.clone();
            tampered[10] ^= 0x40;
            let bad = format!("{input}.{}", b64(&tampered));
            assert_eq!(
                verify(&bad, &payload, &trusted("r1", key), 0),
                Err(VerifyError::BadSignature { kid: "r1".into() })
            );
        }
    }

    #[test]
    fn our_signatures_verify_there() {
        let ours = PrivateKey::from_pkcs8_pem(OTHER_RSA_PEM).unwrap();
        let theirs = VerifyingKey::<Sha256>::new(
            rsa::RsaPublicKey::from_public_key_pem(&ours.public_key().to_spki_pem()).unwrap(),
        );
        let payload = signing_payload(SAMPLE).unwrap();
        for jws in [sign(&payload, &ours, "r2").unwrap(), sign_detached(&payload, &ours, "r2").unwrap()] {
            let (input, signature) = parts_of(&jws, &payload);
            let signature = Signature::try_from(&signature[..]).unwrap();
            theirs.verify(input.as_bytes(), &signature).unwrap();
            assert!(theirs.verify(&input.as_bytes()[1..], &signature).is_err());
        }
        // A key of theirs is not ours.
        let other = VerifyingKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_pem(RSA_PEM).unwrap().to_public_key());
        let (input, signature) = parts_of(&sign(&payload, &ours, "r2").unwrap(), &payload);
        assert!(other.verify(input.as_bytes(), &Signature::try_from(&signature[..]).unwrap()).is_err());
    }
}

mod es256 {
    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};

    #[test]
    fn their_signatures_verify_here() {
        let signing = SigningKey::from_slice(&[0x11; 32]).unwrap();
        let verifying = *signing.verifying_key();
        let (input, payload) = signing_input(Algorithm::Es256, "e1");
        let signature: Signature = signing.sign(input.as_bytes());
        let signature = signature.to_bytes().to_vec();
        assert_eq!(signature.len(), 64, "r || s");
        let jws = format!("{input}.{}", b64(&signature));
        let from_pem = PublicKey::from_spki_pem(&verifying.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let point = verifying.to_encoded_point(false);
        let jwk = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","use":"sig","alg":"ES256"}}"#,
            b64(point.x().unwrap()),
            b64(point.y().unwrap())
        );
        let from_jwk = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_pem, from_jwk);
        let pkcs8 = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(PrivateKey::from_pkcs8_pem(&pkcs8).unwrap().public_key(), from_pem);
        for key in [from_pem, from_jwk] {
            assert!(verify(&jws, &payload, &trusted("e1", key.clone()), 0).is_ok());
            let bad = format!("{input}.{}", b64(&[&signature[32..], &signature[..32]].concat()));
            assert_eq!(
                verify(&bad, &payload, &trusted("e1", key), 0),
                Err(VerifyError::BadSignature { kid: "e1".into() })
            );
        }
    }

    #[test]
    fn our_signatures_verify_there() {
        let ours = PrivateKey::generate(Algorithm::Es256).unwrap();
        let verifying = VerifyingKey::from_public_key_pem(&ours.public_key().to_spki_pem()).unwrap();
        // Our PKCS#8 is theirs too.
        let signing = SigningKey::from_pkcs8_pem(&ours.to_pkcs8_pem()).unwrap();
        assert_eq!(*signing.verifying_key(), verifying);
        let payload = signing_payload(SAMPLE).unwrap();
        for jws in [sign(&payload, &ours, "e2").unwrap(), sign_detached(&payload, &ours, "e2").unwrap()] {
            let (input, signature) = parts_of(&jws, &payload);
            let signature = Signature::from_slice(&signature).unwrap();
            verifying.verify(input.as_bytes(), &signature).unwrap();
            assert!(verifying.verify(&input.as_bytes()[1..], &signature).is_err());
        }
    }
}

mod eddsa {
    use super::*;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
    use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

    #[test]
    fn their_signatures_verify_here() {
        let signing = SigningKey::from_bytes(&[0x42; 32]);
        let verifying = signing.verifying_key();
        let (input, payload) = signing_input(Algorithm::EdDsa, "d1");
        let signature = signing.sign(input.as_bytes()).to_bytes();
        let jws = format!("{input}.{}", b64(&signature));
        let from_pem = PublicKey::from_spki_pem(&verifying.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, b64(verifying.as_bytes()));
        let from_jwk = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_pem, from_jwk);
        let pkcs8 = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(PrivateKey::from_pkcs8_pem(&pkcs8).unwrap().public_key(), from_pem);
        for key in [from_pem, from_jwk] {
            assert!(verify(&jws, &payload, &trusted("d1", key.clone()), 0).is_ok());
            let mut tampered = signature;
            tampered[63] ^= 1;
            let bad = format!("{input}.{}", b64(&tampered));
            assert_eq!(
                verify(&bad, &payload, &trusted("d1", key), 0),
                Err(VerifyError::BadSignature { kid: "d1".into() })
            );
        }
    }

    #[test]
    fn our_signatures_verify_there() {
        let ours = PrivateKey::generate(Algorithm::EdDsa).unwrap();
        let verifying = VerifyingKey::from_public_key_pem(&ours.public_key().to_spki_pem()).unwrap();
        let signing = SigningKey::from_pkcs8_pem(&ours.to_pkcs8_pem()).unwrap();
        assert_eq!(signing.verifying_key(), verifying);
        let payload = signing_payload(SAMPLE).unwrap();
        for jws in [sign(&payload, &ours, "d2").unwrap(), sign_detached(&payload, &ours, "d2").unwrap()] {
            let (input, signature) = parts_of(&jws, &payload);
            let signature = Signature::from_slice(&signature).unwrap();
            verifying.verify(input.as_bytes(), &signature).unwrap();
            verifying.verify_strict(input.as_bytes(), &signature).unwrap();
            assert!(verifying.verify(&input.as_bytes()[1..], &signature).is_err());
        }
    }
}
