//! `ctp` end to end: the real binary against the real ctpd on SQLite.

mod common;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn login_checks_the_token_and_writes_a_private_config_that_later_commands_use() {
    let server = Server::start();
    let tree = server.tree();
    let config = server.home().join(".config/ctp/config.toml");

    // A refused token: exit 2, nothing written.
    let err = fails(server.run_with_stdin(&["login", &server.base], "not-a-token\n"), 2);
    assert!(err.contains("401") && err.contains("ctp login"), "{err}");
    assert!(!config.exists());

    // The token typed on stdin.
    let out = ok(server.run_with_stdin(&["login", &server.base], &format!("{}\n", tree.customer)));
    assert!(out.contains("logged in"), "{out}");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&tree.customer) && text.contains(&server.base), "{text}");

    // Later commands find the server and token in it, with no flag or variable.
    let out = ok(server.ctp(&["tree"]).output().unwrap());
    assert!(out.contains("glucose-api") && out.contains("max-level"), "{out}");

    // --config PATH, and --json.
    let elsewhere = server.dir.path().join("elsewhere.toml");
    let out = ok(server
        .ctp(&["--config", elsewhere.to_str().unwrap(), "--token", &tree.customer, "--json", "login", &server.base])
        .output()
        .unwrap());
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["url"], server.base.as_str());
    assert_eq!(mode(&elsewhere), 0o600);

    // No server anywhere: a usage error that says what to do.
    let err = fails(server.ctp(&["--config", "/nonexistent/ctp.toml", "tree"]).output().unwrap(), 1);
    assert!(err.contains("ctp login"), "{err}");
}

#[test]
fn tree_get_and_push_print_statuses_in_words_and_json_on_request() {
    let server = Server::start();
    let tree = server.tree();

    let out = ok(server.run(&tree.customer, &["tree"]));
    assert!(!out.contains('\x1b'), "no colour when stdout is not a terminal: {out:?}");
    let line = out.lines().find(|l| l.contains("max-level")).unwrap();
    assert!(line.ends_with("no result  objective: value[0].level < 10"), "{line}");
    assert!(out.contains("glucose-api  (service view ") && out.contains("  api-endpoint  (asset "), "{out}");

    // An agent pushes: the objective's status after the push is printed.
    let out = ok(server.run(&tree.agent, &["push", &id(&tree.measurement), "--value", r#"[{"level": 3}]"#]));
    assert!(out.contains("objective: met (value[0].level < 10)"), "{out}");
    let out = ok(server.run(
        &tree.agent,
        &["push", &tree.measurement, "--value", r#"[{"level": 12.50}]"#, "--update-time", "2026-01-02T03:04:05.678Z"],
    ));
    assert!(out.contains("objective: not met"), "{out}");
    let out = ok(server.run(&tree.customer, &["tree"]));
    assert!(out.lines().any(|l| l.contains("max-level") && l.contains(": not met")), "{out}");

    // get by id (any kind) and by URL: the resource, pretty, in the server's member order.
    let by_id = ok(server.run(&tree.customer, &["get", &id(&tree.measurement)]));
    let by_url = ok(server.run(&tree.customer, &["get", &tree.measurement]));
    assert_eq!(by_id, by_url);
    assert!(by_id.starts_with("{\n  \"self\": "), "{by_id}");
    assert!(by_id.contains("\n        \"level\": 12.50\n"), "{by_id}");
    let members = [
        "\"value\": [",
        "\"updateTime\": \"2026-01-02T03:04:05.678Z\"",
        "\"authorityId\": null",
        "\"signature\": null",
    ];
    let order: Vec<usize> =
        members.iter().map(|member| by_id.find(member).unwrap_or_else(|| panic!("{member}: {by_id}"))).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{by_id}");
    let view = ok(server.run(&tree.customer, &["get", &id(&tree.view), "--kind", "serviceView"]));
    assert!(view.contains("\"name\": \"glucose-api\""), "{view}");

    // --json everywhere parses.
    let json: Value = serde_json::from_str(&ok(server.run(&tree.customer, &["--json", "tree"]))).unwrap();
    let m = &json[0]["assets"][0]["attributes"][0]["measurements"][0];
    assert_eq!(m["objectiveState"], "not met");
    assert_eq!(m["result"]["value"][0]["level"], 12.5);
    let got: Value =
        serde_json::from_str(&ok(server.run(&tree.customer, &["--json", "get", &tree.measurement]))).unwrap();
    assert_eq!(got["self"], tree.measurement.as_str());
    let pushed: Value = serde_json::from_str(&ok(
        server.run(&tree.agent, &["--json", "push", &tree.measurement, "--value", "[{\"level\": 1}]"])
    ))
    .unwrap();
    assert_eq!(pushed["objectiveState"], "met");

    // A 404 and a refused result: server errors, exit 2, one line each.
    let err = fails(server.run(&tree.customer, &["get", "no-such-id"]), 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = fails(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": "high"}]"#]), 2);
    assert!(err.starts_with("ctp: 400: "), "{err}");
    // A value that is not JSON: a usage error before any request.
    fails(server.run(&tree.agent, &["push", &tree.measurement, "--value", "[{"]), 1);
}

#[test]
fn triggers_are_created_listed_and_deleted_and_logs_follow_new_entries() {
    let server = Server::start();
    let tree = server.tree();
    ok(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": 3}]"#]));

    let out = ok(server.run(
        &tree.customer,
        &[
            "trigger",
            "create",
            &id(&tree.view),
            "--measurement",
            &id(&tree.measurement),
            "--condition",
            "value[0].level > 10",
            "--name",
            "too-high",
            "--tags",
            "pager,night",
        ],
    ));
    assert!(out.starts_with("created trigger "), "{out}");
    let trigger_id = out.split_whitespace().nth(2).unwrap().to_owned();
    let listed = ok(server.run(&tree.customer, &["trigger", "list", &tree.view]));
    assert!(
        listed.contains(&trigger_id) && listed.contains("\"too-high\"") && listed.contains("tags [pager,night]"),
        "{listed}"
    );
    let json: Value =
        serde_json::from_str(&ok(server.run(&tree.customer, &["--json", "trigger", "list", &tree.view]))).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(ok(server.run(&tree.customer, &["logs", &tree.view])).trim(), "no log entries");

    // Fire it once; the log shows it.
    ok(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": 11}]"#]));
    let logs = ok(server.run(&tree.customer, &["logs", &tree.view, "--tags", "pager"]));
    assert_eq!(logs.lines().count(), 1, "{logs}");
    assert!(logs.contains(&format!("trigger {trigger_id}")) && logs.contains(r#""level": 11"#), "{logs}");
    assert_eq!(ok(server.run(&tree.customer, &["logs", &tree.view, "--tags", "other"])).trim(), "no log entries");

    // --follow prints what is there, then each new entry once.
    let mut follow = server
        .ctp(&["--json", "logs", &tree.view, "--follow"])
        .env("CTP_URL", &server.base)
        .env("CTP_TOKEN", &tree.customer)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first: Value = serde_json::from_str(&received.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
    assert_eq!(first["result"]["value"][0]["level"], 11);
    // The condition must be false again before it fires again (5.3.2).
    ok(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": 2}]"#]));
    ok(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": 42}]"#]));
    let second: Value = serde_json::from_str(&received.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
    assert_eq!(second["result"]["value"][0]["level"], 42);
    assert_ne!(second["self"], first["self"]);
    // Nothing is printed twice while it keeps polling.
    assert!(received.recv_timeout(Duration::from_millis(4500)).is_err());
    follow.kill().unwrap();
    follow.wait().unwrap();

    let out = ok(server.run(&tree.customer, &["trigger", "delete", &trigger_id]));
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(ok(server.run(&tree.customer, &["trigger", "list", &tree.view])).trim(), "no triggers");
    fails(server.run(&tree.customer, &["trigger", "delete", &trigger_id]), 2);
}

#[test]
fn exit_codes_tell_usage_server_and_network_errors_apart() {
    let server = Server::start();
    let err = fails(server.run("wrong-token", &["tree"]), 2);
    assert_eq!(err.trim_end(), "ctp: 401: the token is not accepted — run `ctp login URL` again with a valid token");
    fails(server.run(ADMIN, &["tree", "--no-such-flag"]), 1);
    fails(server.run(ADMIN, &["no-such-command"]), 1);
    fails(server.run(ADMIN, &["push", "m1"]), 1);
    let err = fails(server.run(ADMIN, &["get", "http://elsewhere.example/api/1.0/measurements/m"]), 1);
    assert!(err.contains("not an id or a URL under"), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = fails(
        server.ctp(&["--url", &format!("http://127.0.0.1:{port}/api/1.0/"), "--token", "t", "tree"]).output().unwrap(),
        2,
    );
    assert!(err.contains("cannot reach"), "{err}");
    assert_eq!(server.ctp(&["--help"]).output().unwrap().status.code(), Some(0));
}

#[test]
fn keygen_writes_a_private_key_and_a_signed_push_verifies_with_its_public_key() {
    let server = Server::start();
    let tree = server.tree();
    let key_file = server.dir.path().join("agent.pem");
    let out = ok(server.run(&tree.agent, &["--json", "keygen", "--alg", "ES256", "--out", key_file.to_str().unwrap()]));
    let keygen: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(mode(&key_file), 0o600);
    assert!(std::fs::read_to_string(&key_file).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    let jwk = keygen["jwk"].as_object().unwrap();
    let kid = keygen["kid"].as_str().unwrap();
    assert_eq!(jwk["kid"], kid);
    let mut members = jwk.clone();
    members.remove("kid");
    let public = ctp_jws::PublicKey::from_jwk_members(&members).unwrap();
    assert_eq!(public.thumbprint(), kid);
    // Never overwritten.
    let err = fails(server.run(&tree.agent, &["keygen", "--out", key_file.to_str().unwrap()]), 1);
    assert!(err.contains("never overwritten"), "{err}");
    let plain = ok(server.run(&tree.agent, &["keygen", "--out", server.dir.path().join("ed.pem").to_str().unwrap()]));
    assert!(plain.contains("suggested kid: ") && plain.contains("\"crv\": \"Ed25519\""), "{plain}");

    // The authority registered by the provider (admin) with the public key.
    let authority = server
        .admin()
        .create_authority(&ctp_client::NewAuthority {
            name: "probe".into(),
            annotation: String::new(),
            keys: vec![ctp_client::AuthorityKey {
                kid: kid.to_owned(),
                algorithm: None,
                jwk: members.clone(),
                not_before: None,
                not_after: None,
            }],
        })
        .unwrap();
    let authority_id = id(&authority.self_link);
    assert_eq!(authority.keys[0].algorithm.as_deref(), Some("ES256"));

    // --sign needs the authority.
    fails(
        server.run(&tree.agent, &["push", &tree.measurement, "--value", "[]", "--sign", key_file.to_str().unwrap()]),
        1,
    );
    // Signed with a key the authority does not have: the server refuses it.
    let err = fails(
        server.run(
            &tree.agent,
            &[
                "push",
                &tree.measurement,
                "--value",
                "[]",
                "--sign",
                server.dir.path().join("ed.pem").to_str().unwrap(),
                "--authority",
                &authority_id,
            ],
        ),
        2,
    );
    assert!(err.starts_with("ctp: 400: "), "{err}");
    let out = ok(server.run(
        &tree.agent,
        &[
            "push",
            &tree.measurement,
            "--value",
            r#"[{"level": 4}]"#,
            "--sign",
            key_file.to_str().unwrap(),
            "--authority",
            &authority_id,
        ],
    ));
    assert!(out.contains(", signed; objective: met"), "{out}");
    // The result as the server returns it verifies with the public key over its exact payload.
    let measurement = server.admin().measurement(&tree.measurement).unwrap();
    let result = measurement.result.unwrap();
    let trusted = [ctp_jws::TrustedKey { kid: kid.to_owned(), key: public, validity: ctp_jws::Validity::ALWAYS }];
    let verified = ctp_jws::verify_result(result.get(), &trusted, 0).unwrap();
    assert_eq!(verified.kid, kid);
    assert!(result.get().contains(&format!(r#""authorityId":"{authority_id}""#)), "{}", result.get());

    // The customer verifies it without trusting the server: the signature with the
    // authority's key (pinned on first use), the inclusion proof against a checkpoint signed
    // by the server's key (pinned on first use).
    let out = ok(server.run(&tree.customer, &["verify", &tree.measurement]));
    assert!(out.contains("signature") && out.contains("inclusion"), "{out}");
    // The log grows; verifying again also checks it is consistent with what was seen.
    ok(server.run(&tree.agent, &["push", &tree.measurement, "--value", r#"[{"level": 2}]"#]));
    let out = ok(server.run(&tree.customer, &["--json", "verify", &tree.measurement]));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report.to_string().contains("consisten"), "{report}");

    // A log entry too (a trigger that fires on the next push).
    ok(server.run(
        &tree.customer,
        &["trigger", "create", &tree.view, "--measurement", &tree.measurement, "--condition", "value[0].level >= 0"],
    ));
    let logs = ok(server.run(&tree.customer, &["--json", "logs", &tree.view]));
    let entry: Value = serde_json::from_str(logs.lines().last().unwrap()).unwrap(); // JSON Lines
    let entry_link = entry["self"].as_str().unwrap_or_else(|| panic!("{logs}")).to_owned();
    let out = ok(server.run(&tree.customer, &["verify", &entry_link]));
    assert!(out.contains("inclusion"), "{out}");

    // A server whose checkpoints are signed by another key than the pinned one is refused.
    let state_dir = server.dir.path().join("home/.local/state/ctp/servers");
    let state_file = std::fs::read_dir(&state_dir).unwrap().next().unwrap().unwrap().path();
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let other = ctp_ledger::Signer::generate(state["serverKey"].as_str().unwrap().split('+').next().unwrap()).unwrap();
    state["serverKey"] = other.verifier().key_text().into();
    std::fs::write(&state_file, state.to_string()).unwrap();
    let err = fails(server.run(&tree.customer, &["verify", &tree.measurement]), 3);
    assert!(err.contains("SERVER KEY CHANGED"), "{err}");
}
