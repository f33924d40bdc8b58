//! The transparency log of the real binary checked by Go's reference implementation
//! (`golang.org/x/mod/sumdb/note` and `sumdb/tlog`, Debian's golang-golang-x-mod-dev),
//! over HTTP as any client: `tests/go/verify_server.go` verifies the signed checkpoint with
//! the key ctpd publishes, the tree hash from ctpd's tiles and every leaf of its entry
//! bundles, inclusion proofs of a result and of a log entry (and compares them with its own
//! from the tiles), and a consistency proof between two checkpoints. More than 256 leaves,
//! so that tiles of two levels and a full tile are read.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use ctp_test_support::{api_path, link, Ctpd, StoreLocation, Tree};
use serde_json::json;

const GOPATH: &str = "/usr/share/gocode";
const X_MOD: &str = "/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog";

#[tokio::test(flavor = "multi_thread")]
async fn go_verifies_the_checkpoints_tiles_and_proofs_ctpd_serves() {
    let version = Command::new("go").arg("version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()) && Path::new(X_MOD).is_dir(),
        "Go or golang.org/x/mod is missing: run scripts/test, which installs golang-go and golang-golang-x-mod-dev"
    );
    let db = StoreLocation::new().await;
    let ctpd = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .args(["--database", &db.url])
        .admin_token("admin-token-for-the-go-check")
        .start();
    let admin = ctpd.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer = admin.create("accounts", json!({"accountTags": ["role:user", "tenant:a"]})).await;
    let customer_token = customer["token"].as_str().unwrap().to_owned();
    let customer = ctpd.client(&customer_token);
    let agent = admin.create("accounts", json!({"accountTags": ["role:agent", "tenant:a"]})).await;
    let agent = ctpd.client(agent["token"].as_str().unwrap());
    let measurement = api_path(&link(&tree.measurement));
    customer
        .create(
            &format!("{}/triggers", api_path(&link(&tree.view))),
            json!({"measurement": link(&tree.measurement), "condition": "value[0].level % 10 == 0"}),
        )
        .await;
    let push = |level: i64| {
        let (agent, measurement) = (&agent, &measurement);
        async move {
            let answer =
                agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": level}]}})).await;
            assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
        }
    };
    let dir = tempfile::tempdir().unwrap();
    for level in 0..100 {
        push(level).await;
    }
    std::fs::write(dir.path().join("old.checkpoint"), customer.text("ledger/checkpoint").await).unwrap();
    for level in 100..270 {
        push(level).await;
    }
    let logs = customer.get_ok(&format!("{}/logs", api_path(&link(&tree.view)))).await;
    let log = api_path(logs["collection"][3]["link"].as_str().unwrap());
    std::fs::write(dir.path().join("result.proof"), customer.text(&format!("{measurement}?x=proof")).await).unwrap();
    std::fs::write(dir.path().join("log.proof"), customer.text(&format!("{log}?x=proof")).await).unwrap();

    let go = |proofs: &[&str]| {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
        let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/verify_server.go");
        let output = Command::new("go")
            .arg("run")
            .arg(&program)
            .args([&ctpd.base(), &customer_token, "admin-token-for-the-go-check"])
            .arg(dir.path().join("old.checkpoint"))
            .args(proofs.iter().map(|p| dir.path().join(p)))
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOCACHE", &cache)
            .env("GOFLAGS", "")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("go runs");
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), said)
    };
    let (passed, said) = go(&["result.proof", "log.proof"]);
    assert!(passed, "Go refuses what ctpd serves:\n{said}");
    // 270 results, 27 log entries and the audit records of the setup: more than one tile.
    let leaves: u64 = said
        .split("go: ok: checkpoint of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(leaves > 297 && said.contains("leaves, tiles, 2 inclusion proofs"), "{said}");

    // The check can fail: a proof whose leaf was changed by one byte is refused.
    let proof = std::fs::read_to_string(dir.path().join("result.proof")).unwrap();
    let mut lines: Vec<String> = proof.lines().map(str::to_owned).collect();
    let leaf = ctp_ledger_leaf(&lines[1]);
    lines[1] = format!("extra {}", base64_of(&leaf.replace("\"kind\":\"result\"", "\"kind\":\"audit\"")));
    std::fs::write(dir.path().join("tampered.proof"), lines.join("\n") + "\n").unwrap();
    let (passed, said) = go(&["tampered.proof"]);
    assert!(!passed && said.contains("go: FAIL: ") && said.contains("inclusion"), "{said}");
}

/// The leaf in a proof's `extra` line.
fn ctp_ledger_leaf(extra_line: &str) -> String {
    use base64::Engine;
    let encoded = extra_line.strip_prefix("extra ").expect("an extra line");
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap()
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
