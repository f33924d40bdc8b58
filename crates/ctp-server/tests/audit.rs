//! The audit trail (issue 14), on the backend under test: the changes accounts attempt
//! through the API are recorded with who, what, a digest of the body, when and the outcome;
//! administrators query them by account, resource and time; each record is a leaf of the
//! transparency log that verifies like any other; nothing can change or delete one.

use axum::http::StatusCode;
use ctp_ledger::{Leaf, LeafKind, Verifier};
use ctp_model::resources::AuditRecord;
use ctp_model::{ResourceId, Timestamp};
use ctp_test_support::{api_path, id_of, link, TestServer, Tree};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn record_of(json: &Value) -> AuditRecord {
    AuditRecord {
        id: ResourceId::parse(&id_of(&json["self"])).unwrap(),
        account_id: json["account"].as_str().map(|a| ResourceId::parse(a.rsplit('/').next().unwrap()).unwrap()),
        method: json["method"].as_str().unwrap().to_owned(),
        resource: json["resource"].as_str().unwrap().to_owned(),
        body_sha256: json["bodySha256"].as_str().unwrap().to_owned(),
        status: json["status"].as_u64().unwrap() as u16,
        time: Timestamp::parse_rfc3339(json["time"].as_str().unwrap()).unwrap(),
    }
}

#[tokio::test]
async fn changes_are_recorded_queried_and_verified_and_cannot_be_changed() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let started = Timestamp::now();
    let tree = Tree::build(&admin, &["tenant:a"], false).await; // 5 creations by the admin
    let customer_token = server.account(&["role:user", "tenant:a"]).await; // 1 more
    let customer = server.client(&customer_token);
    let agent = server.client(&server.account(&["role:agent", "tenant:a"]).await); // 1 more
    let customer_id = customer.get_ok("").await; // a read: not recorded
    assert!(customer_id.is_object());
    let body = json!({"measurement": link(&tree.measurement), "condition": "true", "name": "audit me"});
    let trigger = customer.create(&format!("{}/triggers", api_path(&link(&tree.view))), body.clone()).await;
    assert_eq!(customer.delete(&api_path(&link(&trigger))).await.0, StatusCode::NO_CONTENT);
    // A refused attempt is recorded with its outcome; a push and an anonymous attempt are not.
    assert_eq!(customer.post("serviceViews", json!({"name": "not mine"})).await.0, StatusCode::FORBIDDEN);
    let push_path = format!("{}?x=result", api_path(&link(&tree.measurement)));
    assert_eq!(agent.put(&push_path, json!({"result": {"value": []}})).await.0, StatusCode::OK);
    assert_eq!(server.anonymous().post("serviceViews", json!({})).await.0, StatusCode::UNAUTHORIZED);

    // Ten changes, each recorded when received (status 0) and once answered.
    let all = admin.get_ok("audit").await;
    assert_eq!(all["collectionLength"], 20, "{all:#}");
    let records = all["collection"].as_array().unwrap();
    for (i, outcome) in records.iter().enumerate().filter(|(_, r)| r["status"] != 0) {
        let same = |r: &&Value| {
            ["account", "method", "resource", "bodySha256"].iter().all(|k| r[k] == outcome[k]) && r["status"] == 0
        };
        assert!(records[..i].iter().any(|r| same(&r)), "{outcome} was recorded when received");
    }
    assert!(records.iter().all(|r| r["method"] != "GET"));
    assert!(!records.iter().any(|r| r["resource"].as_str().unwrap().contains("x=result")));

    // By account: the customer's three attempts, with their outcomes and body digests.
    let customer_account = records
        .iter()
        .find(|r| r["resource"].as_str().unwrap().ends_with("/triggers"))
        .map(|r| r["account"].as_str().unwrap().to_owned())
        .unwrap();
    let mine = admin.get_ok(&format!("audit?account={}", id_of(&json!(customer_account)))).await;
    let outcomes: Vec<(String, u64)> = mine["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["method"].as_str().unwrap().to_owned(), r["status"].as_u64().unwrap()))
        .collect();
    let (post, delete) = ("POST".to_owned(), "DELETE".to_owned());
    assert_eq!(
        outcomes,
        [(post.clone(), 0), (post.clone(), 201), (delete.clone(), 0), (delete, 204), (post.clone(), 0), (post, 403)]
    );
    let created = &mine["collection"][1];
    assert_eq!(created["bodySha256"], hex::encode(Sha256::digest(body.to_string().as_bytes())));

    // By resource prefix, by time, by page.
    let deletions = admin.get_ok("audit?resource=triggers/").await;
    assert_eq!(deletions["collectionLength"], 2);
    assert_eq!(deletions["collection"][1]["method"], "DELETE");
    assert_eq!(deletions["collection"][1]["status"], 204);
    let none = admin.get_ok(&format!("audit?newest={}", started.to_string().replace('+', "%2B"))).await;
    assert_eq!(none["collectionLength"], 0);
    let page = admin.get_ok("audit?page=1&items=4").await;
    assert_eq!((page["collectionLength"].clone(), page["returnedLength"].clone()), (json!(20), json!(4)));
    assert_eq!(page["collection"][0], records[4]);
    assert_eq!(admin.get("audit?oldest=yesterday").await.0, StatusCode::BAD_REQUEST);

    // Each record verifies as a leaf of the transparency log, against the published key.
    let ledger = admin.get_ok("ledger").await;
    let verifier = Verifier::from_key_text(ledger["publicKey"].as_str().unwrap()).unwrap();
    for json in [created, &mine["collection"][0], &records[19]] {
        let path = api_path(json["self"].as_str().unwrap());
        assert_eq!(&admin.get_ok(&path).await, json);
        let proof = admin.text(&format!("{path}?x=proof")).await;
        let parsed = ctp_ledger::TlogProof::parse(&proof).unwrap();
        let leaf = Leaf::decode(parsed.extra.as_deref().unwrap()).unwrap();
        assert_eq!(leaf, ctp_model::ledger::audit_leaf(&record_of(json)));
        assert_eq!(leaf.kind, LeafKind::Audit);
        ctp_ledger::verify_proof(&proof, &verifier, &leaf.leaf_hash().unwrap()).unwrap();
    }

    // Only administrators read it; nothing changes or deletes it.
    assert_eq!(customer.get("audit").await.0, StatusCode::FORBIDDEN);
    let one = api_path(records[0]["self"].as_str().unwrap());
    assert_eq!(admin.delete(&one).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(admin.put(&one, json!({})).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(admin.get_ok(&one).await, records[0]);
}

/// A token over its request rate is refused before anything is written: its refused writes
/// leave no record, so the rate bounds what an account can make the server write; and each
/// write counts once against the rate.
#[tokio::test]
async fn writes_over_the_rate_are_refused_before_any_record() {
    use ctp_server::limits::Limits;
    use ctp_server::ServerConfig;
    let limits = Limits { requests_per_second: 5, ..Limits::default() };
    let server = TestServer::start_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let busy = server.client(&server.account(&["role:user"]).await);
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..40 {
        match busy.post("serviceViews", json!({"name": "x"})).await.0 {
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            _ => answered += 1,
        }
    }
    assert!(refused > 0 && answered >= 10, "bursts of 10, each write counted once: {answered} answered");
    let account = server.admin().get_ok("accounts").await["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| id_of(&a["link"]))
        .find(|id| id != "admin")
        .unwrap();
    let records = server.admin().get_ok(&format!("audit?account={account}")).await;
    assert_eq!(records["collectionLength"], 2 * answered, "received and answered, for answered writes only");
}
