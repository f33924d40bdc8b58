//! ctp-jws against the real `openssl` command: keys openssl makes are read here, signatures
//! openssl makes verify here, signatures made here verify with openssl, and the classic
//! attacks built with openssl's help are refused. openssl is required (scripts/test installs
//! it): without it these tests fail, they never skip.

use std::path::PathBuf;
use std::process::{Command, Output};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ctp_jws::{
    read_signed_result, sign, sign_detached, signing_payload, verify, verify_result, Algorithm, KeyError, PrivateKey,
    PublicKey, TrustedKey, Validity, Verified, VerifyError,
};
use tempfile::TempDir;

/// A result as an agent pushes it, with white space, escapes and non-ASCII text.
const SAMPLE: &str = r#"{
  "value": [ { "uptime": 99.950, "period": "2026-11", "note": "a \"quoted\" note,\té \u00e9" } ],
  "updateTime": "2026-11-22T10:41:58.123Z",
  "authorityId": "monitor.example",
  "signature": null
}"#;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn openssl_output(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run openssl ({e}): these tests need the openssl command; run scripts/test, which installs it")
    })
}

/// Runs openssl, which must succeed; its standard output.
fn openssl(args: &[&str]) -> Vec<u8> {
    let output = openssl_output(args);
    assert!(output.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A folder of keys openssl generated: `rsa`, `ec`, `ed` (and their `.pub.pem`).
struct Keys {
    dir: TempDir,
}

impl Keys {
    fn new() -> Keys {
        let keys = Keys { dir: tempfile::tempdir().unwrap() };
        keys.generate("rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
        keys.generate("ec", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        keys.generate("ed", &["-algorithm", "ED25519"]);
        keys
    }

    fn generate(&self, name: &str, options: &[&str]) {
        let private = self.path(&format!("{name}.pem"));
        let public = self.path(&format!("{name}.pub.pem"));
        let mut args = vec!["genpkey"];
        args.extend_from_slice(options);
        args.extend_from_slice(&["-out", private.to_str().unwrap()]);
        openssl(&args);
        openssl(&["pkey", "-in", private.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn private_pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap()
    }

    fn public_pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pub.pem"))).unwrap()
    }

    fn public_key(&self, name: &str) -> PublicKey {
        PublicKey::from_spki_pem(&self.public_pem(name)).unwrap()
    }

    /// The keys the authority registered: each under its own name as kid, valid always.
    fn trusted(&self) -> Vec<TrustedKey> {
        ["rsa", "ec", "ed"]
            .into_iter()
            .map(|name| TrustedKey { kid: name.into(), key: self.public_key(name), validity: Validity::ALWAYS })
            .collect()
    }

    /// openssl's signature of `input` with key `name` for `alg`, as JWS wants it (ES256: raw
    /// r || s).
    fn openssl_sign(&self, alg: Algorithm, name: &str, input: &[u8]) -> Vec<u8> {
        let input_path = self.path("input");
        std::fs::write(&input_path, input).unwrap();
        let key = self.path(&format!("{name}.pem"));
        let (key, input_path) = (key.to_str().unwrap(), input_path.to_str().unwrap());
        match alg {
            Algorithm::Rs256 => openssl(&["dgst", "-sha256", "-sign", key, input_path]),
            Algorithm::Es256 => der_to_raw(&openssl(&["dgst", "-sha256", "-sign", key, input_path])),
            Algorithm::EdDsa => openssl(&["pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", input_path]),
        }
    }

    /// Whether openssl finds `signature` (as JWS has it) a signature of `input` by `public_pem`.
    fn openssl_verifies(&self, alg: Algorithm, public_pem: &str, input: &[u8], signature: &[u8]) -> bool {
        let (input_path, public, signature_path) = (self.path("v-input"), self.path("v-pub.pem"), self.path("v-sig"));
        std::fs::write(&input_path, input).unwrap();
        std::fs::write(&public, public_pem).unwrap();
        let signature = if alg == Algorithm::Es256 { raw_to_der(signature) } else { signature.to_vec() };
        std::fs::write(&signature_path, signature).unwrap();
        let [input_path, public, signature_path] = [&input_path, &public, &signature_path].map(|p| p.to_str().unwrap());
        let output = match alg {
            Algorithm::Rs256 | Algorithm::Es256 => {
                openssl_output(&["dgst", "-sha256", "-verify", public, "-signature", signature_path, input_path])
            }
            Algorithm::EdDsa => openssl_output(&[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                public,
                "-rawin",
                "-in",
                input_path,
                "-sigfile",
                signature_path,
            ]),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.success(),
            stdout.contains("Verified OK") || stdout.contains("Signature Verified Successfully"),
            "{stdout}"
        );
        output.status.success()
    }
}

/// A compact JWS `header.payload.signature` of `payload` with `header`, signed by openssl.
fn openssl_jws(keys: &Keys, header: &str, alg: Algorithm, name: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
    let signature = keys.openssl_sign(alg, name, input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// The DER ECDSA-Sig-Value openssl writes, as JWS's fixed `r || s` (RFC 7518 §3.4).
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30, "an ECDSA-Sig-Value");
    assert_eq!(usize::from(der[1]), der.len() - 2, "short form length for P-256");
    let mut rest = &der[2..];
    let mut raw = Vec::new();
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02, "an INTEGER");
        let len = usize::from(rest[1]);
        let integer = &rest[2..2 + len];
        let integer = &integer[integer.iter().take_while(|b| **b == 0).count()..];
        assert!(integer.len() <= 32);
        raw.extend(std::iter::repeat_n(0, 32 - integer.len()));
        raw.extend_from_slice(integer);
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty());
    raw
}

/// JWS's `r || s` as the DER ECDSA-Sig-Value openssl reads.
fn raw_to_der(raw: &[u8]) -> Vec<u8> {
    assert_eq!(raw.len(), 64);
    let mut content = Vec::new();
    for half in raw.chunks(32) {
        let half = &half[half.iter().take_while(|b| **b == 0).count()..];
        let pad = half.first().is_none_or(|b| b & 0x80 != 0);
        content.push(0x02);
        content.push((half.len() + usize::from(pad)) as u8);
        if pad {
            content.push(0);
        }
        content.extend_from_slice(half);
    }
    [vec![0x30, content.len() as u8], content].concat()
}

const ALGS: [(Algorithm, &str); 3] = [(Algorithm::Rs256, "rsa"), (Algorithm::Es256, "ec"), (Algorithm::EdDsa, "ed")];

fn header(alg: &str, kid: &str) -> String {
    format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#)
}

#[test]
fn openssl_keys_are_read_and_its_signatures_verify() {
    let keys = Keys::new();
    let trusted = keys.trusted();
    let payload = signing_payload(SAMPLE).unwrap();
    assert!(payload.starts_with(br#"{"value":[{"uptime":99.950,"period":"2026-11","note":"a \"quoted\" note,\t"#));
    for (alg, name) in ALGS {
        // The same key read from openssl's PKCS#8 and from its SPKI.
        let public = keys.public_key(name);
        assert_eq!(public.algorithm(), alg);
        let private = PrivateKey::from_pkcs8_pem(&keys.private_pem(name)).unwrap();
        assert_eq!(private.public_key(), public, "{name}");
        // Our SPKI PEM is byte for byte openssl's.
        assert_eq!(public.to_spki_pem(), keys.public_pem(name), "{name}");

        let jws = openssl_jws(&keys, &header(alg.name(), name), alg, name, &payload);
        let verified = verify(&jws, &payload, &trusted, 1_800_000_000).unwrap();
        assert_eq!(verified, Verified { alg, kid: name.into(), detached: false });
        // Detached: the same token without its payload part.
        let parts: Vec<&str> = jws.split('.').collect();
        let detached = format!("{}..{}", parts[0], parts[2]);
        assert!(verify(&detached, &payload, &trusted, 1_800_000_000).unwrap().detached);
        // In the result, as the agent pushes it and the server returns it.
        for signature in [&jws, &detached] {
            let pushed = SAMPLE.replace("\"signature\": null", &format!("\"signature\": \"{signature}\""));
            assert_eq!(read_signed_result(&pushed).unwrap().payload, payload);
            assert_eq!(verify_result(&pushed, &trusted, 1_800_000_000).unwrap().kid, name);
        }
    }
}

#[test]
fn our_signatures_verify_with_openssl() {
    let keys = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    let ours = [
        PrivateKey::from_pkcs8_pem(&keys.private_pem("rsa")).unwrap(),
        PrivateKey::generate(Algorithm::Es256).unwrap(),
        PrivateKey::generate(Algorithm::EdDsa).unwrap(),
        PrivateKey::from_pkcs8_pem(&keys.private_pem("ec")).unwrap(),
        PrivateKey::from_pkcs8_pem(&keys.private_pem("ed")).unwrap(),
    ];
    for (i, key) in ours.iter().enumerate() {
        let alg = key.algorithm();
        let public_pem = key.public_key().to_spki_pem();
        // openssl reads our PKCS#8 and finds the public key we say.
        let exported = keys.path(&format!("ours-{i}.pem"));
        std::fs::write(&exported, key.to_pkcs8_pem()).unwrap();
        let openssl_public = openssl(&["pkey", "-in", exported.to_str().unwrap(), "-pubout"]);
        assert_eq!(String::from_utf8(openssl_public).unwrap(), public_pem);

        for jws in [sign(&payload, key, "k").unwrap(), sign_detached(&payload, key, "k").unwrap()] {
            let (header, rest) = jws.split_once('.').unwrap();
            let (_, signature) = rest.split_once('.').unwrap();
            let input = format!("{header}.{}", b64(&payload));
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            assert!(keys.openssl_verifies(alg, &public_pem, input.as_bytes(), &signature), "{alg} {jws}");
            // And openssl says no to a changed input.
            let changed = format!("{header}.{}", b64(&payload[1..]));
            assert!(!keys.openssl_verifies(alg, &public_pem, changed.as_bytes(), &signature), "{alg}");
        }
    }
}

#[test]
fn a_payload_changed_by_one_byte_is_refused() {
    let keys = Keys::new();
    let trusted = keys.trusted();
    let payload = signing_payload(SAMPLE).unwrap();
    let changed = signing_payload(&SAMPLE.replace("99.950", "99.951")).unwrap();
    assert_eq!(payload.len(), changed.len());
    for (alg, name) in ALGS {
        let jws = openssl_jws(&keys, &header(alg.name(), name), alg, name, &payload);
        // Attached: the token carries another payload.
        assert_eq!(verify(&jws, &changed, &trusted, 0), Err(VerifyError::PayloadMismatch));
        // Detached: the signature does not cover this payload.
        let parts: Vec<&str> = jws.split('.').collect();
        let detached = format!("{}..{}", parts[0], parts[2]);
        assert_eq!(verify(&detached, &changed, &trusted, 0), Err(VerifyError::BadSignature { kid: name.into() }));
        // A token whose payload part was changed along with the result: bad signature.
        let forged = format!("{}.{}.{}", parts[0], b64(&changed), parts[2]);
        assert_eq!(verify(&forged, &changed, &trusted, 0), Err(VerifyError::BadSignature { kid: name.into() }));
    }
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let keys = Keys::new();
    let others = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    for (alg, name) in ALGS {
        // Signed by the other folder's key of the same algorithm, naming ours.
        let jws = openssl_jws(&others, &header(alg.name(), name), alg, name, &payload);
        assert_eq!(verify(&jws, &payload, &keys.trusted(), 0), Err(VerifyError::BadSignature { kid: name.into() }));
        assert!(verify(&jws, &payload, &others.trusted(), 0).is_ok());
    }
}

#[test]
fn alg_none_is_refused() {
    let keys = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    for kid in ["rsa", "ec", "ed"] {
        let jws = format!("{}.{}.", b64(header("none", kid).as_bytes()), b64(&payload));
        assert_eq!(
            verify(&jws, &payload, &keys.trusted(), 0),
            Err(VerifyError::AlgorithmNotAllowed { alg: "none".into() })
        );
    }
}

/// The classic algorithm confusion: HS256 with the RSA public key's bytes (the PEM text, as a
/// naive verifier would take "the key") as the HMAC secret. openssl computes the HMAC.
#[test]
fn hs256_with_the_rsa_public_key_as_secret_is_refused() {
    let keys = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    let input = format!("{}.{}", b64(header("HS256", "rsa").as_bytes()), b64(&payload));
    std::fs::write(keys.path("hs-input"), &input).unwrap();
    for secret in
        [keys.public_pem("rsa").into_bytes(), PublicKey::from_spki_pem(&keys.public_pem("rsa")).unwrap().to_spki_der()]
    {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let mac = openssl(&[
            "dgst",
            "-sha256",
            "-mac",
            "HMAC",
            "-macopt",
            &format!("hexkey:{hex}"),
            "-binary",
            keys.path("hs-input").to_str().unwrap(),
        ]);
        assert_eq!(mac.len(), 32);
        let jws = format!("{input}.{}", b64(&mac));
        assert_eq!(
            verify(&jws, &payload, &keys.trusted(), 0),
            Err(VerifyError::AlgorithmNotAllowed { alg: "HS256".into() })
        );
        // Relabelled RS256, the MAC is just a bad signature.
        let relabelled = format!("{}.{}.{}", b64(header("RS256", "rsa").as_bytes()), b64(&payload), b64(&mac));
        assert_eq!(
            verify(&relabelled, &payload, &keys.trusted(), 0),
            Err(VerifyError::BadSignature { kid: "rsa".into() })
        );
    }
}

#[test]
fn an_rs256_header_on_the_ed25519_key_is_refused() {
    let keys = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    // A valid RS256 signature by the RSA key, but naming the Ed25519 key.
    let jws = openssl_jws(&keys, &header("RS256", "ed"), Algorithm::Rs256, "rsa", &payload);
    assert_eq!(
        verify(&jws, &payload, &keys.trusted(), 0),
        Err(VerifyError::AlgorithmMismatch { alg: Algorithm::Rs256, kid: "ed".into(), key_alg: Algorithm::EdDsa })
    );
    // And an EdDSA header naming the RSA key.
    let jws = openssl_jws(&keys, &header("EdDSA", "rsa"), Algorithm::EdDsa, "ed", &payload);
    assert_eq!(
        verify(&jws, &payload, &keys.trusted(), 0),
        Err(VerifyError::AlgorithmMismatch { alg: Algorithm::EdDsa, kid: "rsa".into(), key_alg: Algorithm::Rs256 })
    );
}

#[test]
fn a_key_outside_its_validity_is_refused() {
    let keys = Keys::new();
    let payload = signing_payload(SAMPLE).unwrap();
    let jws = openssl_jws(&keys, &header("RS256", "rsa"), Algorithm::Rs256, "rsa", &payload);
    let mut trusted = keys.trusted();
    trusted[0].validity = Validity { not_before: Some(1_700_000_000), not_after: Some(1_760_000_000) };
    assert_eq!(
        verify(&jws, &payload, &trusted, 1_760_000_001),
        Err(VerifyError::KeyExpired { kid: "rsa".into(), not_after: 1_760_000_000, at: 1_760_000_001 })
    );
    assert_eq!(
        verify(&jws, &payload, &trusted, 1_600_000_000),
        Err(VerifyError::KeyNotYetValid { kid: "rsa".into(), not_before: 1_700_000_000, at: 1_600_000_000 })
    );
    assert!(verify(&jws, &payload, &trusted, 1_750_000_000).is_ok());
}

#[test]
fn detached_and_attached_do_not_mix() {
    let keys = Keys::new();
    let trusted = keys.trusted();
    let payload = signing_payload(SAMPLE).unwrap();
    let other = signing_payload(&SAMPLE.replace("monitor.example", "other.example")).unwrap();
    let jws = openssl_jws(&keys, &header("ES256", "ec"), Algorithm::Es256, "ec", &payload);
    let parts: Vec<&str> = jws.split('.').collect();
    // A token carrying payload A, checked against result B.
    assert_eq!(verify(&jws, &other, &trusted, 0), Err(VerifyError::PayloadMismatch));
    // Its detached form, checked against B: the signature is A's.
    let detached = format!("{}..{}", parts[0], parts[2]);
    assert_eq!(verify(&detached, &other, &trusted, 0), Err(VerifyError::BadSignature { kid: "ec".into() }));
    // A token carrying B's payload with A's signature.
    let swapped = format!("{}.{}.{}", parts[0], b64(&other), parts[2]);
    assert_eq!(verify(&swapped, &other, &trusted, 0), Err(VerifyError::BadSignature { kid: "ec".into() }));
}

#[test]
fn small_rsa_and_other_curves_from_openssl_are_refused() {
    let keys = Keys { dir: tempfile::tempdir().unwrap() };
    keys.generate("rsa1024", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]);
    assert_eq!(PublicKey::from_spki_pem(&keys.public_pem("rsa1024")), Err(KeyError::RsaSize { bits: 1024 }));
    assert!(PrivateKey::from_pkcs8_pem(&keys.private_pem("rsa1024")).is_err());
    keys.generate("p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    assert!(matches!(PublicKey::from_spki_pem(&keys.public_pem("p384")), Err(KeyError::Unsupported(_))));
    assert!(matches!(PrivateKey::from_pkcs8_pem(&keys.private_pem("p384")), Err(KeyError::Unsupported(_))));
    keys.generate("x25519", &["-algorithm", "X25519"]);
    assert!(matches!(PublicKey::from_spki_pem(&keys.public_pem("x25519")), Err(KeyError::Unsupported(_))));
    keys.generate("pss", &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"]);
    assert!(matches!(PublicKey::from_spki_pem(&keys.public_pem("pss")), Err(KeyError::Unsupported(_))));
}
