//! The verification steps on real data: trees built with ctp-ledger, checkpoints signed with
//! a note signer, results signed with ctp-jws keys.

use ctp_jws::{Algorithm, PrivateKey};
use ctp_ledger::{prove_record, prove_tree, tree_hash, MemoryHashes, Signer};
use ctp_model::ResourceId;

use super::*;
use crate::resources::AuthorityKey;

const ORIGIN: &str = "ctpd.example/ledger";
const NOW: &str = "2026-11-22T10:00:00.000Z";

/// A log: the leaves appended, their tree, the signer of its checkpoints.
struct Log {
    leaves: Vec<Leaf>,
    tree: MemoryHashes,
    signer: Signer,
}

impl Log {
    fn new(signer: Signer) -> Log {
        Log { leaves: Vec::new(), tree: MemoryHashes::new(), signer }
    }

    fn append(&mut self, leaf: Leaf) -> u64 {
        self.tree.append(leaf.leaf_hash().unwrap()).unwrap();
        self.leaves.push(leaf);
        self.tree.tree_size() - 1
    }

    fn checkpoint(&self) -> (Checkpoint, String) {
        let size = self.tree.tree_size();
        let checkpoint =
            Checkpoint { origin: ORIGIN.into(), size, root: tree_hash(size, &self.tree).unwrap(), extensions: vec![] };
        let note = checkpoint.sign(&self.signer).unwrap();
        (checkpoint, note)
    }

    fn proof(&self, index: u64) -> String {
        let size = self.tree.tree_size();
        TlogProof {
            extra: Some(self.leaves[index as usize].encode().unwrap()),
            index,
            hashes: prove_record(size, index, &self.tree).unwrap(),
            checkpoint: self.checkpoint().1,
        }
        .to_text()
    }

    fn consistency(&self, old: u64) -> Vec<Hash> {
        prove_tree(self.tree.tree_size(), old, &self.tree).unwrap()
    }
}

fn signer() -> Signer {
    Signer::generate(ORIGIN).unwrap()
}

fn result_record(measurement: &str, text: &str) -> Record {
    Record::Result { measurement: measurement.into(), text: text.into() }
}

fn result_leaf(measurement: &str, text: &str, millis: i64) -> Leaf {
    ctp_model::ledger::result_leaf(
        &ResourceId::parse(measurement).unwrap(),
        text,
        Timestamp::from_millis(millis).unwrap(),
    )
    .unwrap()
}

fn filler(log: &mut Log, n: usize) {
    for i in 0..n {
        let text = format!(r#"{{"value":[{{"i":{i}}}],"updateTime":"2026-01-01T00:00:00Z"}}"#);
        log.append(result_leaf("other", &text, 1_000));
    }
}

const RESULT: &str =
    r#"{"value":[{"level": 3}],"updateTime":"2026-11-22T10:41:58.123Z","authorityId":null,"signature":null}"#;

#[test]
fn a_result_in_the_log_is_accepted_and_its_acceptance_time_is_the_leafs() {
    let mut log = Log::new(signer());
    filler(&mut log, 3);
    let index = log.append(result_leaf("m1", RESULT, 1_795_000_000_000));
    filler(&mut log, 2);
    // Served with other spacing between members: the same content.
    let served = RESULT.replace(",\"updateTime\"", ", \"updateTime\"");
    let included = check_inclusion(&result_record("m1", &served), &log.proof(index), &log.signer.verifier()).unwrap();
    assert_eq!(included.index, index);
    assert_eq!(included.checkpoint.size, 6);
    assert_eq!(included.leaf.time.timestamp_millis(), 1_795_000_000_000);
}

#[test]
fn a_log_entry_in_the_log_is_accepted_from_what_the_api_returns() {
    let entry_json = r#"{"self":"http://h/api/1.0/logs/l7","scope":"http://h/api/1.0/serviceViews/v1",
        "trigger":"http://h/api/1.0/triggers/t2","creationTime":"2026-11-22T10:41:58.123Z",
        "result":{"value":[{"level": 12}],"updateTime":"2026-11-22T10:41:58.000Z","authorityId":null,"signature":null},
        "tags":["pager","a\"b"]}"#;
    let entry: LogEntry = serde_json::from_str(entry_json).unwrap();
    let record = Record::of_log(&entry).unwrap();
    let model_entry = ctp_model::resources::LogEntry {
        id: ResourceId::parse("l7").unwrap(),
        view_id: ResourceId::parse("v1").unwrap(),
        trigger_id: ResourceId::parse("t2").unwrap(),
        creation_time: Timestamp::parse_rfc3339("2026-11-22T10:41:58.123Z").unwrap(),
        tags: vec!["pager".into(), "a\"b".into()],
        body: LogBody::Result(entry.result.as_ref().unwrap().get().to_owned()),
        access_tags: vec![],
    };
    let mut log = Log::new(signer());
    filler(&mut log, 4);
    let index = log.append(ctp_model::ledger::log_leaf(&model_entry).unwrap());
    check_inclusion(&record, &log.proof(index), &log.signer.verifier()).unwrap();

    // Another tag than the one logged: a mismatch.
    let mut tampered = entry.clone();
    tampered.tags.pop();
    let failure = check_inclusion(&Record::of_log(&tampered).unwrap(), &log.proof(index), &log.signer.verifier());
    assert!(matches!(failure, Err(Failure::ContentMismatch { .. })), "{failure:?}");
}

#[test]
fn tampered_content_a_wrong_leaf_or_a_broken_proof_fail_each_with_its_reason() {
    let mut log = Log::new(signer());
    filler(&mut log, 2);
    let index = log.append(result_leaf("m1", RESULT, 1_000));
    filler(&mut log, 3);
    let verifier = log.signer.verifier();
    let proof = log.proof(index);

    let tampered = RESULT.replace("\"level\": 3", "\"level\": 4");
    let failure = check_inclusion(&result_record("m1", &tampered), &proof, &verifier).unwrap_err();
    assert!(matches!(failure, Failure::ContentMismatch { .. }), "{failure}");
    assert!(failure.to_string().starts_with("CONTENT MISMATCH: "), "{failure}");

    let failure = check_inclusion(&result_record("m2", RESULT), &proof, &verifier).unwrap_err();
    assert!(matches!(failure, Failure::WrongLeaf { .. }), "{failure}");
    let failure = check_inclusion(&result_record("m1", RESULT), &log.proof(0), &verifier).unwrap_err();
    assert!(matches!(failure, Failure::WrongLeaf { .. }), "{failure}");

    // The proof of another index with this leaf: the inclusion fails.
    let mut parsed = TlogProof::parse(&proof).unwrap();
    parsed.index = 1;
    let failure = check_inclusion(&result_record("m1", RESULT), &parsed.to_text(), &verifier).unwrap_err();
    assert!(matches!(failure, Failure::NotIncluded(_)), "{failure}");

    let failure = check_inclusion(&result_record("m1", RESULT), "not a proof", &verifier).unwrap_err();
    assert!(matches!(failure, Failure::Malformed { what: "PROOF", .. }), "{failure}");
}

#[test]
fn a_checkpoint_signed_by_another_key_fails_and_a_changed_server_key_is_refused_unless_trusted() {
    let mut log = Log::new(signer());
    let index = log.append(result_leaf("m1", RESULT, 1_000));
    let impostor = signer();
    let failure = check_inclusion(&result_record("m1", RESULT), &log.proof(index), &impostor.verifier()).unwrap_err();
    assert!(matches!(failure, Failure::BadCheckpoint(_)), "{failure}");

    let mut state = ServerState::new("http://h/api/1.0/");
    let served = log.signer.verifier().key_text();
    let (_, pin) = server_verifier(&mut state, &served, false, NOW).unwrap();
    assert_eq!(pin, KeyPin::PinnedNow);
    assert_eq!(state.server_key.as_deref(), Some(served.as_str()));
    let (verifier, pin) = server_verifier(&mut state, &served, false, "later").unwrap();
    assert_eq!(pin, KeyPin::Known { since: NOW.into() });
    check_inclusion(&result_record("m1", RESULT), &log.proof(index), &verifier).unwrap();

    let other = impostor.verifier().key_text();
    let failure = server_verifier(&mut state, &other, false, "later").unwrap_err();
    assert!(failure.to_string().starts_with("SERVER KEY CHANGED: "), "{failure}");
    assert!(failure.to_string().contains("--trust-new-server-key"), "{failure}");
    assert_eq!(state.server_key.as_deref(), Some(served.as_str()), "the pin stays");
    let (_, pin) = server_verifier(&mut state, &other, true, "later").unwrap();
    assert_eq!(pin, KeyPin::Replaced { old: served });
    assert_eq!(state.server_key.as_deref(), Some(other.as_str()));
    assert!(matches!(server_verifier(&mut ServerState::new("x"), "junk", false, NOW), Err(Failure::Malformed { .. })));
}

#[test]
fn a_log_that_grew_is_consistent_and_a_rewritten_or_shrunk_history_is_reported() {
    let key = signer();
    let mut honest = Log::new(Signer::from_key_text(&key.key_text()).unwrap());
    filler(&mut honest, 5);
    let mut state = ServerState::new("http://h/api/1.0/");
    let (old, old_note) = honest.checkpoint();
    assert!(seen_to_check(&state, &old).unwrap().is_empty());
    remember_checkpoint(&mut state, &old, &old_note, "2026-11-01T00:00:00.000Z");
    remember_checkpoint(&mut state, &old, &old_note, "again");
    assert_eq!(state.checkpoints.len(), 1);

    // The honest log grows: the seen checkpoint is a prefix.
    filler(&mut honest, 4);
    let (grown, _) = honest.checkpoint();
    let to_check = seen_to_check(&state, &grown).unwrap();
    assert_eq!(to_check.len(), 1);
    check_consistency(&to_check[0], &grown, &honest.consistency(5)).unwrap();
    let text: String = honest.consistency(5).iter().map(|h| format!("{}\n", h.to_base64())).collect();
    assert_eq!(parse_hashes(&text).unwrap(), honest.consistency(5));

    // A fork: the same key signs a tree whose first 5 leaves differ in one.
    let mut fork = Log::new(Signer::from_key_text(&key.key_text()).unwrap());
    filler(&mut fork, 2);
    fork.append(result_leaf("m1", RESULT, 1_000));
    filler(&mut fork, 6);
    let (forked, _) = fork.checkpoint();
    assert_eq!(forked.size, grown.size);
    let failure = seen_to_check(&state, &forked).map(|seen| check_consistency(&seen[0], &forked, &fork.consistency(5)));
    let failure = failure.unwrap().unwrap_err();
    assert!(
        failure.to_string().starts_with(
            "HISTORY REWRITTEN: the server's checkpoint of size 9 is not consistent with the one of size 5 seen on \
             2026-11-01T00:00:00.000Z"
        ),
        "{failure}"
    );
    // The honest proof does not rescue the fork either.
    assert!(check_consistency(&to_check[0], &forked, &honest.consistency(5)).is_err());

    // Same size, another root; and a log that shrank.
    remember_checkpoint(&mut state, &grown, "note", "2026-11-02T00:00:00.000Z");
    let failure = seen_to_check(&state, &forked).unwrap_err();
    assert!(matches!(failure, Failure::HistoryRewritten { seen_size: 9, .. }), "{failure}");
    let failure = seen_to_check(&state, &old).unwrap_err();
    assert!(failure.to_string().contains("the log shrank"), "{failure}");
}

#[test]
fn only_the_largest_checkpoints_are_kept() {
    let mut log = Log::new(signer());
    let mut state = ServerState::new("x");
    for _ in 0..MAX_SEEN_CHECKPOINTS + 5 {
        filler(&mut log, 1);
        let (checkpoint, note) = log.checkpoint();
        remember_checkpoint(&mut state, &checkpoint, &note, NOW);
    }
    assert_eq!(state.checkpoints.len(), MAX_SEEN_CHECKPOINTS);
    assert_eq!(state.checkpoints.last().unwrap().size, MAX_SEEN_CHECKPOINTS as u64 + 5);
}

fn authority(keys: &[(&str, &PrivateKey)]) -> Authority {
    Authority {
        self_link: "http://h/api/1.0/authorities/a1".into(),
        name: "probe".into(),
        annotation: String::new(),
        retired: false,
        keys: keys
            .iter()
            .map(|(kid, key)| AuthorityKey {
                kid: (*kid).into(),
                algorithm: Some(key.algorithm().name().into()),
                jwk: key.public_key().to_jwk(),
                not_before: Some("2026-01-01T00:00:00Z".into()),
                not_after: Some("2026-12-31T23:59:59Z".into()),
            })
            .collect(),
    }
}

#[test]
fn a_signed_result_verifies_with_the_pinned_authority_keys_at_the_ledger_time() {
    let key = PrivateKey::generate(Algorithm::EdDsa).unwrap();
    let text = crate::result::result_text("[{\"level\":3}]", "2026-11-22T10:41:58.123Z", Some("a1")).unwrap();
    let signed = crate::result::signed(&text, &key, "k1").unwrap();
    assert_eq!(signature_claim(&signed).unwrap(), (Some("a1".into()), true));
    assert_eq!(signature_claim(RESULT).unwrap(), (None, false));

    let mut state = ServerState::new("x");
    let fetched = authority(&[("k1", &key)]);
    let (keys, pin, new) = authority_keys(&mut state, "a1", &fetched, false, NOW).unwrap();
    assert_eq!((pin, new.len()), (AuthorityPin::PinnedNow, 0));
    let accepted: DateTime<Utc> = "2026-11-22T10:42:00Z".parse().unwrap();
    assert_eq!(check_signature(&signed, &keys, accepted).unwrap().kid, "k1");
    // Outside the key's validity, by the ledger's time: refused.
    let late: DateTime<Utc> = "2027-01-02T00:00:00Z".parse().unwrap();
    assert!(check_signature(&signed, &keys, late).unwrap_err().to_string().contains("expired"));
    // A forged value: refused.
    let forged = signed.replace("\"level\":3", "\"level\":1");
    assert!(matches!(check_signature(&forged, &keys, accepted), Err(Failure::BadSignature(_))));

    // The server swaps the key under the same kid: refused unless trusted.
    let swapped_key = PrivateKey::generate(Algorithm::EdDsa).unwrap();
    let swapped = authority(&[("k1", &swapped_key)]);
    let failure = authority_keys(&mut state, "a1", &swapped, false, "later").unwrap_err();
    assert!(failure.to_string().starts_with("AUTHORITY KEY CHANGED: "), "{failure}");
    // A key added since the pin is reported as new, not used.
    let added = authority(&[("k1", &key), ("k2", &swapped_key)]);
    let (keys, pin, new) = authority_keys(&mut state, "a1", &added, false, "later").unwrap();
    assert_eq!((keys.len(), pin, new), (1, AuthorityPin::Known { since: NOW.into() }, vec!["k2".to_owned()]));
    let (keys, pin, _) = authority_keys(&mut state, "a1", &added, true, "later").unwrap();
    assert_eq!((keys.len(), pin), (2, AuthorityPin::Replaced));
    assert_eq!(state.authorities["a1"].keys.len(), 2);
}

#[test]
fn keys_are_read_from_a_jwk_a_jwk_set_or_a_pem_file() {
    let key = PrivateKey::generate(Algorithm::Es256).unwrap();
    let public = key.public_key();
    let mut jwk = public.to_jwk();
    let from_jwk = keys_from_file(&serde_json::Value::Object(jwk.clone()).to_string()).unwrap();
    assert_eq!(from_jwk[0].kid, public.thumbprint());
    jwk.insert("kid".into(), "mine".into());
    let set = serde_json::json!({"keys": [jwk]}).to_string();
    assert_eq!(keys_from_file(&set).unwrap()[0].kid, "mine");
    let from_pem = keys_from_file(&public.to_spki_pem()).unwrap();
    assert_eq!(from_pem[0].key, public);
    assert!(matches!(keys_from_file("{}"), Err(Failure::BadAuthorityKey(_))));
}
