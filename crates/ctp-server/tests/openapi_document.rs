//! The OpenAPI document the server serves at `{base path}openapi.json`: valid OpenAPI 3.1,
//! readable without a token, with the configured base path, and describing every route the
//! router has, method by method (a route added without its `#[utoipa::path]` fails here).
//! Schemathesis checks the answers against it (`crates/ctpd/tests/openapi.rs`).
//!
//! `tests/fixtures/openapi-3.1-schema.json` is the JSON Schema of OpenAPI 3.1 documents
//! published by the OpenAPI Initiative (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`,
//! Apache-2.0), as the PyPI package `openapi-spec-validator` ships it.

use std::collections::BTreeSet;

use ctp_server::ServerConfig;
use ctp_test_support::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// An HTTP client without a token.
fn http() -> reqwest::Client {
    ctp_server::notify::install_crypto_provider();
    reqwest::Client::new()
}

async fn document(server: &TestServer) -> Value {
    let response = http().get(format!("{}openapi.json", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the document needs no token");
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("the document is JSON")
}

/// The `(path, method)` pairs the document describes.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            operations.insert((path.clone(), method.clone()));
        }
    }
    operations
}

/// Every `$ref` in `value`, with where it is.
fn references<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                match (key.as_str(), member) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => references(member, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                references(item, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Every schema object of the document: components and those of parameters, bodies and
/// answers.
fn schemas<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                if key == "schema" && member.is_object() {
                    found.push((format!("{at}/schema"), member));
                } else {
                    schemas(member, format!("{at}/{key}"), found);
                }
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| schemas(item, format!("{at}/{i}"), found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    assert_eq!(document["openapi"], "3.1.0");

    let meta_schema: Value =
        serde_json::from_str(include_str!("fixtures/openapi-3.1-schema.json")).expect("the OpenAPI 3.1 schema");
    let validator = jsonschema::draft202012::new(&meta_schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&document).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "not a valid OpenAPI 3.1 document:\n{}", errors.join("\n"));

    // The schema objects are JSON Schema 2020-12 (which the OpenAPI schema leaves unchecked).
    let mut found = Vec::new();
    schemas(&document["paths"], "#/paths".into(), &mut found);
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        found.push((format!("#/components/schemas/{name}"), schema));
    }
    for (at, schema) in found {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("{at} is not a JSON Schema: {e}");
        }
    }

    // Every reference resolves within the document.
    let mut found = Vec::new();
    references(&document, "#".into(), &mut found);
    assert!(!found.is_empty());
    for (at, target) in found {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{at}: {target} is outside the document"));
        assert!(document.pointer(pointer).is_some(), "{at}: {target} does not resolve");
    }

    // Operation ids are unique, and every operation says what it answers.
    let mut ids = BTreeSet::new();
    for (path, method) in operations(&document) {
        let operation = &document["paths"][&path][&method];
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
    }
}

/// What `ctp_server::router` routes, found by asking the server itself: without a token, a
/// method a path takes answers 401 (or 200 where no token is needed), one it does not take
/// 405. Each route must be in the document, and the document has nothing else.
#[tokio::test]
async fn the_document_describes_every_route() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let origin = server.base.trim_end_matches("/api/1.0/");
    let http = http();
    let mut routed = BTreeSet::new();
    for path in ctp_server::route_paths("/api/1.0/") {
        for method in METHODS {
            let url = format!("{origin}{}", path.replace("{id}", "x1"));
            let response =
                http.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url).send().await.unwrap();
            match response.status() {
                StatusCode::METHOD_NOT_ALLOWED => {}
                StatusCode::UNAUTHORIZED | StatusCode::OK => {
                    // axum's `{*rest}` (the tiles' paths) is OpenAPI's `{rest}`.
                    routed.insert((path.replace("{*", "{"), method.to_owned()));
                }
                // The drill acknowledgement link takes no bearer token; without its own token
                // it is a 400.
                StatusCode::BAD_REQUEST if path.ends_with("/drills/{id}/ack") => {
                    routed.insert((path.clone(), method.to_owned()));
                }
                other => panic!("{method} {path} without a token: {other}"),
            }
        }
    }
    let documented = operations(&document);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes the OpenAPI document does not describe: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(unrouted.is_empty(), "operations the router does not have: {unrouted:?}");
    assert!(routed.contains(&("/api/1.0/measurements/{id}".to_owned(), "put".to_owned())), "{routed:?}");
}

/// What every operation shares: the bearer token (but for the document and `/healthz`), the
/// answers of the token and its rate (401 with `WWW-Authenticate`, 403, 429 with
/// `Retry-After`), the 413 of a body over the limit, and JSON error bodies.
#[tokio::test]
async fn every_operation_documents_its_errors() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(document["security"], serde_json::json!([{"bearer": []}]));
    let responses = &document["components"]["responses"];
    assert_eq!(responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"], true);
    assert_eq!(responses["TooManyRequests"]["headers"]["Retry-After"]["required"], true);
    assert_eq!(responses["MethodNotAllowed"]["headers"]["Allow"]["required"], true);
    for (name, response) in responses.as_object().unwrap() {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
            "{name} has the error body"
        );
    }
    // The drill acknowledgement link's own token is its credential (the person who got the
    // message opens it): no bearer token. It answers 200 to POST as to GET (nothing created).
    let public = ["/api/1.0/openapi.json", "/healthz", "/api/1.0/drills/{id}/ack"];
    for (path, method) in operations(&document) {
        let operation = &document["paths"][&path][&method];
        let answers = &operation["responses"];
        if public.contains(&path.as_str()) {
            assert_eq!(operation["security"], serde_json::json!([{}]), "{path} needs no token");
            continue;
        }
        assert!(operation.get("security").is_none(), "{method} {path} takes the bearer token");
        for status in ["401", "403", "429", "500"] {
            assert!(answers.get(status).is_some(), "{method} {path} documents {status}");
        }
        if operation.get("requestBody").is_some() {
            assert!(answers.get("413").is_some(), "{method} {path} documents 413");
        }
        if path.contains("{id}") {
            assert!(answers.get("400").is_some() && answers.get("404").is_some(), "{method} {path}: 400, 404");
        }
        let success: Vec<&String> = answers.as_object().unwrap().keys().filter(|s| s.starts_with('2')).collect();
        let expected = match method.as_str() {
            // The alert intake creates no resource: its alerts go into results.
            "post" if path.ends_with("/ossec/alerts") => "200",
            "post" => "201",
            "delete" => "204",
            _ => "200",
        };
        assert_eq!(success, [expected], "{method} {path}");
        if expected == "201" {
            assert_eq!(answers["201"]["headers"]["Location"]["required"], true, "{method} {path}: Location");
        }
    }
}

/// The paths are those of the configured base path, and the document is the same whoever
/// asks: it holds no data.
#[tokio::test]
async fn the_document_follows_the_base_path() {
    let server = TestServer::start_with(ServerConfig { base_path: "/ctp/v1/".into(), ..ServerConfig::default() }).await;
    let document = document(&server).await;
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert!(paths.contains(&&"/ctp/v1/".to_owned()), "{paths:?}");
    assert!(paths.contains(&&"/ctp/v1/measurements/{id}".to_owned()), "{paths:?}");
    assert!(paths.contains(&&"/ctp/v1/openapi.json".to_owned()), "{paths:?}");
    assert!(paths.contains(&&"/healthz".to_owned()) && paths.contains(&&"/metrics".to_owned()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("/api/1.0")), "{paths:?}");
    let (status, with_token) = server.admin().get("openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(with_token, document);
}
