//! Results signed at the source (issue 14), on the backend under test: authorities and their
//! keys, a pushed result verified over exactly the §4.2.6 payload before anything is stored,
//! each refusal a 400 that says why with nothing changed, and a verified result that a
//! customer re-verifies from what the API returns.

use axum::http::StatusCode;
use ctp_jws::{Algorithm, PrivateKey, TrustedKey, Validity};
use ctp_test_support::{api_path, link, Client, TestServer, Tree};
use serde_json::{json, Value};

/// The RSA test key of ctp-jws (ring cannot generate RSA keys): RS256 is the algorithm CTP
/// requires.
const RSA_PEM: &str = include_str!("../../ctp-jws/tests/data/rsa-2048-test-only.pem");

struct Signed {
    server: TestServer,
    tree: Tree,
    agent: Client,
    customer: Client,
    authority: Value,
    rsa: PrivateKey,
    ed25519: PrivateKey,
}

async fn signed() -> Signed {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let agent = server.client(&server.account(&["role:agent", "tenant:a"]).await);
    let customer = server.client(&server.account(&["role:user", "tenant:a"]).await);
    let rsa = PrivateKey::from_pkcs8_pem(RSA_PEM).unwrap();
    let ed25519 = PrivateKey::generate(Algorithm::EdDsa).unwrap();
    let (status, authority) = admin
        .post(
            "authorities",
            json!({"name": "Acme monitoring", "keys": [
                {"kid": "rsa-1", "pem": rsa.public_key().to_spki_pem()},
                {"kid": "ed-1", "jwk": ed25519.public_key().to_jwk()},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{authority}");
    Signed { server, tree, agent, customer, authority, rsa, ed25519 }
}

impl Signed {
    fn authority_id(&self) -> String {
        self.authority["self"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
    }

    fn measurement(&self) -> String {
        api_path(&link(&self.tree.measurement))
    }

    /// A result text naming `authority`, signed by `key` as `kid` (the signature added last).
    fn sign(&self, level: i64, key: &PrivateKey, kid: &str) -> String {
        let unsigned = format!(
            r#"{{"value": [{{"level": {level}}}], "updateTime": "2026-12-02T10:00:00.000Z", "authorityId": "{}"}}"#,
            self.authority_id()
        );
        let jws = ctp_jws::sign(&ctp_jws::signing_payload(&unsigned).unwrap(), key, kid).unwrap();
        format!("{}, \"signature\": \"{jws}\"}}", unsigned.strip_suffix('}').unwrap())
    }

    /// Pushes a result text as the agent.
    async fn push(&self, result: &str) -> (StatusCode, Value) {
        let body = format!(r#"{{"result": {result}}}"#);
        self.agent.send(reqwest::Method::PUT, &format!("{}?x=result", self.measurement()), Some(body)).await
    }
}

#[tokio::test]
async fn a_signed_result_is_verified_marked_and_re_verifiable_from_what_the_api_returns() {
    let s = signed().await;
    let result = s.sign(3, &s.rsa, "rsa-1");
    let (status, measurement) = s.push(&result).await;
    assert_eq!(status, StatusCode::OK, "{measurement}");
    assert_eq!(
        measurement["resultVerification"],
        json!({"authority": s.authority["self"], "keyId": "rsa-1", "algorithm": "RS256"})
    );
    // What a customer reads: the result as pushed (white space aside), which verifies with
    // the authority's key as the customer gets it from the API.
    let seen = s.customer.text(&s.measurement()).await;
    let raw: &serde_json::value::RawValue =
        serde_json::from_str::<std::collections::HashMap<&str, &serde_json::value::RawValue>>(&seen).unwrap()["result"];
    let authority = s.customer.get_ok(&api_path(s.authority["self"].as_str().unwrap())).await;
    let keys: Vec<TrustedKey> = authority["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| TrustedKey {
            kid: k["kid"].as_str().unwrap().to_owned(),
            key: ctp_jws::PublicKey::from_jwk_members(k["jwk"].as_object().unwrap()).unwrap(),
            validity: Validity::ALWAYS,
        })
        .collect();
    let verified = ctp_jws::verify_result(raw.get(), &keys, 0).unwrap();
    assert_eq!(verified.kid, "rsa-1");
    assert_eq!(ctp_jws::compact(raw.get()).unwrap(), ctp_jws::compact(&result).unwrap());

    // EdDSA too; an unsigned push afterwards clears the mark.
    assert_eq!(s.push(&s.sign(4, &s.ed25519, "ed-1")).await.1["resultVerification"]["algorithm"], "EdDSA");
    let (status, unsigned) = s.push(r#"{"value": [{"level": 5}]}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unsigned["resultVerification"], Value::Null);
}

#[tokio::test]
async fn every_bad_signature_is_a_400_that_says_why_and_changes_nothing() {
    let s = signed().await;
    assert_eq!(s.push(&s.sign(3, &s.rsa, "rsa-1")).await.0, StatusCode::OK);
    let before = s.customer.get_ok(&s.measurement()).await;
    let good = s.sign(8, &s.rsa, "rsa-1");
    let other = PrivateKey::generate(Algorithm::EdDsa).unwrap();
    let none_alg = {
        let unsigned = s.sign(8, &s.rsa, "rsa-1");
        let cut = unsigned.rfind(", \"signature\"").unwrap();
        let payload = ctp_jws::signing_payload(&unsigned).unwrap();
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        format!(
            "{}, \"signature\": \"{}.{}.\"}}",
            &unsigned[..cut],
            b64(br#"{"alg":"none","kid":"rsa-1"}"#),
            b64(&payload)
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (good.replacen("\"level\": 8", "\"level\": 9", 1), "not the result's payload"),
        (s.sign(8, &other, "ed-1"), "bad signature"),
        (s.sign(8, &s.ed25519, "nobody"), "unknown key id"),
        (s.sign(8, &s.ed25519, "rsa-1"), "algorithm confusion"),
        (none_alg, "not allowed"),
        (good.replace(&s.authority_id(), "no-such-authority"), "unknown authority"),
        (good.replace(", \"updateTime\": \"2026-12-02T10:00:00.000Z\"", ""), "must carry its updateTime"),
        (
            good.replace(&format!("\"authorityId\": \"{}\"", s.authority_id()), "\"authorityId\": null"),
            "no authorityId",
        ),
    ];
    for (result, why) in cases {
        let (status, body) = s.push(&result).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{why}: {body}");
        assert_eq!(s.customer.get_ok(&s.measurement()).await, before, "{why}: nothing changed");
    }
}

#[tokio::test]
async fn keys_rotate_and_retire_and_signed_results_can_be_required() {
    let s = signed().await;
    let admin = s.server.admin();
    let authority = api_path(s.authority["self"].as_str().unwrap());
    // Rotation: a new key, then the old one retired; its signatures are refused from then on.
    let new_key = PrivateKey::generate(Algorithm::Es256).unwrap();
    let (status, rotated) =
        admin.post(&format!("{authority}/keys"), json!({"kid": "es-2", "jwk": new_key.public_key().to_jwk()})).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    assert_eq!(rotated["keys"][2]["algorithm"], "ES256");
    let (status, _) =
        admin.post(&format!("{authority}/keys"), json!({"kid": "es-2", "jwk": new_key.public_key().to_jwk()})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a key id is never reused");
    let (status, retired) = admin.put(&format!("{authority}?x=retireKey"), json!({"kid": "rsa-1"})).await;
    assert_eq!(status, StatusCode::OK, "{retired}");
    assert!(retired["keys"][0]["notAfter"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // validity is checked in whole seconds
    let (status, body) = s.push(&s.sign(2, &s.rsa, "rsa-1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("has expired"), "{body}");
    assert_eq!(s.push(&s.sign(2, &new_key, "es-2")).await.0, StatusCode::OK);

    // Required on the measurement: an unsigned result is refused, a signed one taken.
    let measurement = s.measurement();
    let (status, body) = admin.put(&format!("{measurement}?x=signing"), json!({"requireSignedResults": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requireSignedResults"], true);
    let (status, body) = s.push(r#"{"value": [{"level": 1}], "updateTime": "2026-12-02T10:00:00.000Z"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("takes signed results only"), "{body}");
    assert_eq!(s.push(&s.sign(1, &s.ed25519, "ed-1")).await.0, StatusCode::OK);

    // Required by a metric: every measurement of it.
    let metric = admin
        .create(
            "metrics",
            json!({"name": "signed level", "resultFormat": [{"name": "level", "type": "number"}],
                   "requireSignedResults": true}),
        )
        .await;
    let strict =
        admin.create(&format!("{}/measurements", link(&s.tree.attribute)), json!({"metric": link(&metric)})).await;
    assert_eq!(strict["requireSignedResults"], true);
    let path = format!("{}?x=result", api_path(&link(&strict)));
    let (status, _) = s.agent.put(&path, json!({"result": {"value": [{"level": 1}]}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A retired authority signs nothing; customers may read but not change authorities.
    assert_eq!(s.customer.put(&format!("{authority}?x=retire"), json!({})).await.0, StatusCode::FORBIDDEN);
    let (status, gone) = admin.put(&format!("{authority}?x=retire"), json!({})).await;
    assert_eq!((status, gone["retired"].clone()), (StatusCode::OK, json!(true)));
    let (status, body) = s.push(&s.sign(1, &s.ed25519, "ed-1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("was retired"), "{body}");
    let listed = s.customer.get_ok("authorities").await;
    assert_eq!(listed["collection"][0]["link"], s.authority["self"]);
}

#[tokio::test]
async fn an_authority_needs_usable_keys() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let weak = json!({"kty": "oct", "k": "c2VjcmV0"});
    for body in [
        json!({"keys": []}),
        json!({"keys": [{"kid": "k", "jwk": weak}]}),
        json!({"keys": [{"kid": "", "pem": "x"}]}),
        json!({"keys": [{"kid": "k", "pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}),
        json!({"keys": [{"kid": "k"}]}),
        json!({"keys": [{"kid": "k", "jwk": PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key().to_jwk(),
                         "notBefore": "yesterday"}]}),
    ] {
        let (status, answer) = admin.post("authorities", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    let customer = server.client(&server.account(&["role:user"]).await);
    let key = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key().to_jwk();
    assert_eq!(
        customer.post("authorities", json!({"keys": [{"kid": "k", "jwk": key}]})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.get_ok("authorities").await["collectionLength"], 0);
}
