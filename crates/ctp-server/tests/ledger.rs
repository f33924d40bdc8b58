//! The transparency log as a customer checks it (issue 14), on the backend under test:
//! everything the server serves (checkpoints, tiles, entry bundles, inclusion and
//! consistency proofs) is verified with `ctp_ledger` against the key the server publishes,
//! the leaves' content hashes are rebuilt from what the API returns, and a tenant gets no
//! proof of another tenant's records.

use axum::http::StatusCode;
use ctp_ledger::tile::{Tile, TileKind};
use ctp_ledger::{Checkpoint, Leaf, LeafKind, Verifier};
use ctp_model::resources::LogBody;
use ctp_model::Timestamp;
use ctp_test_support::{api_path, id_of, link, Client, TestServer, Tree};
use serde_json::value::RawValue;
use serde_json::{json, Value};

async fn checkpoint(client: &Client, verifier: &Verifier) -> (Checkpoint, String) {
    let note = client.text("ledger/checkpoint").await;
    (Checkpoint::open(note.as_bytes(), verifier).expect("the checkpoint is signed by the published key"), note)
}

#[tokio::test]
async fn a_customer_verifies_results_and_log_entries_against_signed_checkpoints() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer = server.client(&server.account(&["role:user", "tenant:a"]).await);
    let agent = server.client(&server.account(&["role:agent", "tenant:a"]).await);
    let measurement = api_path(&link(&tree.measurement));
    customer
        .create(
            &format!("{}/triggers", api_path(&link(&tree.view))),
            json!({"measurement": link(&tree.measurement), "condition": "value[0].level >= 7", "tags": ["high"]}),
        )
        .await;
    let push = |level: i64| {
        let (agent, measurement) = (&agent, &measurement);
        async move {
            let body = format!(r#"{{"result": {{ "value": [ {{"level": {level}}} ] }}}}"#);
            let (status, answer) =
                agent.send(reqwest::Method::PUT, &format!("{measurement}?x=result"), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    // The setup's changes are leaves of the audit trail; the pushes come after them.
    let before = admin.get_ok("ledger").await["size"].as_u64().unwrap();
    push(3).await;
    push(9).await;

    // The published key; the entry point links the log.
    let entry_point = customer.get_ok("").await;
    let ledger = customer.get_ok(&api_path(entry_point["ledger"].as_str().unwrap())).await;
    let verifier = Verifier::from_key_text(ledger["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!(verifier.name(), ledger["origin"]);
    let (first, _) = checkpoint(&customer, &verifier).await;
    assert_eq!(first.size, before + 3, "two results and one log entry");
    assert_eq!(ledger["size"], first.size);

    // The measurement's current result: its proof, and the leaf's hash rebuilt from the API.
    let proof = customer.text(&format!("{measurement}?x=proof")).await;
    let text = customer.text(&measurement).await;
    let served: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(&text).unwrap();
    let parsed = ctp_ledger::TlogProof::parse(&proof).unwrap();
    let leaf = Leaf::decode(parsed.extra.as_deref().unwrap()).unwrap();
    assert_eq!((leaf.kind, leaf.id.as_str()), (LeafKind::Result, id_of(&tree.measurement["self"]).as_str()));
    assert_eq!(leaf.sha256, ctp_model::ledger::result_hash(served["result"].get()).unwrap());
    let (_, at) = ctp_ledger::verify_proof(&proof, &verifier, &leaf.leaf_hash().unwrap()).unwrap();
    assert_eq!(at.size, first.size);

    // The log entry: its content rebuilt from GET /logs/{id}.
    let logs = customer.get_ok(&format!("{}/logs", api_path(&link(&tree.view)))).await;
    let log = api_path(logs["collection"][0]["link"].as_str().unwrap());
    let entry_text = customer.text(&log).await;
    let entry: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(&entry_text).unwrap();
    let entry_json: Value = serde_json::from_str(&entry_text).unwrap();
    let content = ctp_model::ledger::log_content(
        &id_of(&entry_json["scope"]),
        &id_of(&entry_json["trigger"]),
        Timestamp::parse_rfc3339(entry_json["creationTime"].as_str().unwrap()).unwrap(),
        &["high".to_owned()],
        &LogBody::Result(entry["result"].get().to_owned()),
    )
    .unwrap();
    let log_proof = customer.text(&format!("{log}?x=proof")).await;
    let log_leaf = Leaf::decode(ctp_ledger::TlogProof::parse(&log_proof).unwrap().extra.as_deref().unwrap()).unwrap();
    assert_eq!(log_leaf.sha256, ctp_ledger::sha256(&content));
    ctp_ledger::verify_proof(&log_proof, &verifier, &log_leaf.leaf_hash().unwrap()).unwrap();
    // A proof with another leaf does not verify.
    assert!(ctp_ledger::verify_proof(&log_proof, &verifier, &leaf.leaf_hash().unwrap()).is_err());

    // The log grows; the new checkpoint is consistent with the first.
    push(8).await;
    push(2).await;
    let (second, _) = checkpoint(&customer, &verifier).await;
    assert_eq!(second.size, first.size + 3);
    let lines = customer.text(&format!("ledger/consistency?old={}&new={}", first.size, second.size)).await;
    let hashes: Vec<ctp_ledger::Hash> = lines.lines().map(|l| ctp_ledger::Hash::from_base64(l).unwrap()).collect();
    ctp_ledger::check_tree(&hashes, second.size, &second.root, first.size, &first.root).unwrap();
    assert!(ctp_ledger::check_tree(&hashes, second.size, &second.root, first.size, &second.root).is_err());

    // Tiles: the level-0 tile holds the leaf hashes of the entry bundle (administrators).
    let width = u16::try_from(second.size).unwrap();
    assert!(width < 256, "one partial tile holds the whole log");
    let tile = Tile { kind: TileKind::Hashes(0), index: 0, width };
    let (status, hashes_tile) = customer.bytes(&format!("ledger/{}", tile.path())).await;
    assert_eq!(status, StatusCode::OK);
    let entries = Tile { kind: TileKind::Entries, index: 0, width };
    assert_eq!(customer.bytes(&format!("ledger/{}", entries.path())).await.0, StatusCode::FORBIDDEN);
    let (status, bundle) = admin.bytes(&format!("ledger/{}", entries.path())).await;
    assert_eq!(status, StatusCode::OK);
    let leaves = ctp_ledger::tile::parse_entry_bundle(&bundle).unwrap();
    let mut memory = ctp_ledger::MemoryHashes::default();
    let mut from_leaves = Vec::new();
    for leaf in &leaves {
        Leaf::decode(leaf).unwrap();
        memory.append(ctp_ledger::leaf_hash(leaf)).unwrap();
        from_leaves.extend_from_slice(&ctp_ledger::leaf_hash(leaf).0);
    }
    assert_eq!(hashes_tile, from_leaves);
    assert_eq!(ctp_ledger::tree_hash(second.size, &memory).unwrap(), second.root);

    // What is not there, or malformed.
    let beyond = Tile { kind: TileKind::Hashes(0), index: 0, width: width + 1 };
    assert_eq!(customer.bytes(&format!("ledger/{}", beyond.path())).await.0, StatusCode::NOT_FOUND);
    assert_eq!(customer.bytes("ledger/tile/0/0001").await.0, StatusCode::NOT_FOUND);
    assert_eq!(customer.get("ledger/consistency?old=5&new=2").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(customer.get("ledger/consistency?old=1&new=99999").await.0, StatusCode::BAD_REQUEST);

    // Another tenant gets no proof of tenant a's records.
    let outsider = server.client(&server.account(&["role:user", "tenant:b"]).await);
    assert_eq!(outsider.get(&format!("{measurement}?x=proof")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(outsider.get(&format!("{log}?x=proof")).await.0, StatusCode::FORBIDDEN);
}
