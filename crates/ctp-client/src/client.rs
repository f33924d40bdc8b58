//! The HTTP client (blocking): one base URL, one bearer token.

use std::sync::Once;
use std::time::Duration;

use ctp_jws::TrustedKey;
use reqwest::blocking::Client as Http;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{one_line, Error};
use crate::resources::{
    Asset, Attribute, Authority, Collection, EntryPoint, Kind, LedgerInfo, LogEntry, LogQuery, Measurement,
    NewAuthority, NewTrigger, ServiceView, Trigger,
};
use crate::verify::{self, Failure, Record, ServerState};

static CRYPTO_PROVIDER: Once = Once::new();

/// A client of one CTP server.
#[derive(Clone, Debug)]
pub struct Client {
    http: Http,
    base: String,
    token: String,
}

/// A service view with everything below it.
#[derive(Clone, Debug, Serialize)]
pub struct ViewNode {
    /// The view.
    pub view: ServiceView,
    /// Its assets.
    pub assets: Vec<AssetNode>,
}

/// An asset with its attributes.
#[derive(Clone, Debug, Serialize)]
pub struct AssetNode {
    /// The asset.
    pub asset: Asset,
    /// Its attributes.
    pub attributes: Vec<AttributeNode>,
}

/// An attribute with its measurements.
#[derive(Clone, Debug, Serialize)]
pub struct AttributeNode {
    /// The attribute.
    pub attribute: Attribute,
    /// Its measurements.
    pub measurements: Vec<Measurement>,
}

/// What `verify` is told beyond the record.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Accept (and pin) a server key other than the pinned one.
    pub trust_new_server_key: bool,
    /// Accept (and pin) authority keys other than the pinned ones.
    pub trust_new_authority_keys: bool,
    /// Verify signatures with these keys rather than the authority's as the server lists them.
    pub authority_keys: Option<Vec<TrustedKey>>,
}

/// What `verify` checked, one line each.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The record verified.
    pub record: String,
    /// The ledger index of its leaf.
    pub index: u64,
    /// When the server accepted it (the leaf's time, RFC 3339).
    pub accepted: String,
    /// The size of the checkpoint it was proven in.
    pub checkpoint_size: u64,
    /// The key id that verified its signature, if it is signed.
    pub signed_by: Option<String>,
    /// What was verified, one line each.
    pub lines: Vec<String>,
}

/// Why `verify` did not succeed: the server could not be asked, or the record failed a check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A call failed.
    #[error(transparent)]
    Client(#[from] Error),
    /// A check failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// The base URL with one trailing slash, if it is an http(s) URL.
pub fn normalize_base(url: &str) -> Result<String, Error> {
    let url = url.trim();
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) || url.contains(['?', '#', ' ']) {
        return Err(Error::InvalidUrl { url: url.to_owned() });
    }
    Ok(if url.ends_with('/') { url.to_owned() } else { format!("{url}/") })
}

impl Client {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:8080/api/1.0/`) with `token`.
    /// Installs ring as rustls' crypto provider once per process.
    pub fn new(base: &str, token: &str) -> Result<Client, Error> {
        CRYPTO_PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let base = normalize_base(base)?;
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("ctp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Network { url: base.clone(), detail: chain(&e) })?;
        Ok(Client { http, base, token: token.to_owned() })
    }

    /// The base URL, with its trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `target`: a URL under the base URL as is, or the id of a resource of
    /// `kind`. The token is never sent elsewhere.
    pub fn url_of(&self, target: &str, kind: Kind) -> Result<String, Error> {
        if target.contains("://") {
            return self.check_url(target);
        }
        let invalid = || Error::InvalidTarget { target: target.to_owned(), base: self.base.clone() };
        if target.is_empty() || !target.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
            return Err(invalid());
        }
        Ok(format!("{}{}/{target}", self.base, kind.segment()))
    }

    fn check_url(&self, url: &str) -> Result<String, Error> {
        if url.starts_with(&self.base) || url == self.base.trim_end_matches('/') {
            Ok(url.to_owned())
        } else {
            Err(Error::InvalidTarget { target: url.to_owned(), base: self.base.clone() })
        }
    }

    fn send(&self, method: Method, url: &str, body: Option<String>) -> Result<String, Error> {
        let url = self.check_url(url)?;
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let network = |e: reqwest::Error| Error::Network { url: url.clone(), detail: chain(&e) };
        let response = request.send().map_err(network)?;
        let status = response.status();
        let text = response.text().map_err(network)?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(Error::from_status(status.as_u16(), &url, &text))
        }
    }

    /// Any call under the base URL, for what the typed methods do not cover (the back office):
    /// `method` (`GET`, `POST`, `PUT`, `DELETE`), a JSON body; the answer's text.
    pub fn request(&self, method: &str, url: &str, body: Option<&str>) -> Result<String, Error> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::InvalidTarget { target: method.to_owned(), base: self.base.clone() })?;
        self.send(method, url, body.map(str::to_owned))
    }

    /// `GET url`: the body's text.
    pub fn get_text(&self, url: &str) -> Result<String, Error> {
        self.send(Method::GET, url, None)
    }

    /// `GET url`, read as `T`.
    pub fn get_as<T: DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let text = self.get_text(url)?;
        parse(url, &text)
    }

    /// The JSON text of `target` (a URL, or an id of `kind`; an id of unknown kind is looked
    /// up in every kind's collection) and its URL.
    pub fn get(&self, target: &str, kind: Option<Kind>) -> Result<(String, String), Error> {
        if target.contains("://") || kind.is_some() {
            let url = self.url_of(target, kind.unwrap_or(Kind::ServiceView))?;
            return Ok((url.clone(), self.get_text(&url)?));
        }
        let mut last = None;
        for kind in Kind::ALL {
            let url = self.url_of(target, kind)?;
            match self.get_text(&url) {
                Ok(text) => return Ok((url, text)),
                Err(e) if e.is_not_found() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(Error::NotFound {
            url: target.to_owned(),
            message: format!("no resource of any kind has this id ({})", last.map_or(String::new(), |e| e.to_string())),
        })
    }

    /// The entry point: also checks that the token is accepted.
    pub fn entry_point(&self) -> Result<EntryPoint, Error> {
        self.get_as(&self.base)
    }

    /// The members of the collection at `url`.
    pub fn collection(&self, url: &str) -> Result<Collection, Error> {
        self.get_as(url)
    }

    /// Every member of the collection at `url`, each fetched as `T`.
    pub fn members<T: DeserializeOwned>(&self, url: &str) -> Result<Vec<T>, Error> {
        self.collection(url)?.collection.iter().map(|m| self.get_as(&m.link)).collect()
    }

    /// The service views this token may read.
    pub fn service_views(&self) -> Result<Vec<ServiceView>, Error> {
        let entry = self.entry_point()?;
        self.members(&entry.service_views)
    }

    /// Walks service views → assets → attributes → measurements.
    pub fn tree(&self) -> Result<Vec<ViewNode>, Error> {
        self.service_views()?
            .into_iter()
            .map(|view| {
                let assets = self
                    .members::<Asset>(&view.assets)?
                    .into_iter()
                    .map(|asset| {
                        let attributes = self
                            .members::<Attribute>(&asset.attributes)?
                            .into_iter()
                            .map(|attribute| {
                                let measurements = self.members(&attribute.measurements)?;
                                Ok(AttributeNode { attribute, measurements })
                            })
                            .collect::<Result<_, Error>>()?;
                        Ok(AssetNode { asset, attributes })
                    })
                    .collect::<Result<_, Error>>()?;
                Ok(ViewNode { view, assets })
            })
            .collect()
    }

    /// A measurement.
    pub fn measurement(&self, target: &str) -> Result<Measurement, Error> {
        self.get_as(&self.url_of(target, Kind::Measurement)?)
    }

    /// Pushes a result (`PUT {measurement}?x=result`, body `{"result": TEXT}`); returns the
    /// measurement as it is after the push (its objective evaluated).
    pub fn push_result(&self, measurement: &str, result_text: &str) -> Result<Measurement, Error> {
        let url = format!("{}?x=result", self.url_of(measurement, Kind::Measurement)?);
        let text = self.send(Method::PUT, &url, Some(crate::result::push_body(result_text)))?;
        parse(&url, &text)
    }

    /// Creates a trigger in the service view `view`.
    pub fn create_trigger(&self, view: &str, trigger: &NewTrigger) -> Result<Trigger, Error> {
        let url = format!("{}/triggers", self.url_of(view, Kind::ServiceView)?);
        let mut trigger = trigger.clone();
        trigger.measurement = self.url_of(&trigger.measurement, Kind::Measurement)?;
        let body = serde_json::to_string(&trigger).expect("a trigger serializes");
        let text = self.send(Method::POST, &url, Some(body))?;
        parse(&url, &text)
    }

    /// The triggers of the service view `view`.
    pub fn triggers(&self, view: &str) -> Result<Vec<Trigger>, Error> {
        self.members(&format!("{}/triggers", self.url_of(view, Kind::ServiceView)?))
    }

    /// Deletes a trigger.
    pub fn delete_trigger(&self, trigger: &str) -> Result<(), Error> {
        self.send(Method::DELETE, &self.url_of(trigger, Kind::Trigger)?, None).map(drop)
    }

    /// The log entries of the service view `view` that `query` selects, as the server lists
    /// them.
    pub fn logs(&self, view: &str, query: &LogQuery) -> Result<Vec<LogEntry>, Error> {
        let mut url = format!("{}/logs", self.url_of(view, Kind::ServiceView)?);
        let query = query.to_query();
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        self.members(&url)
    }

    /// A log entry.
    pub fn log_entry(&self, target: &str) -> Result<LogEntry, Error> {
        self.get_as(&self.url_of(target, Kind::Log)?)
    }

    /// An authority (who signs results).
    pub fn authority(&self, target: &str) -> Result<Authority, Error> {
        self.get_as(&self.url_of(target, Kind::Authority)?)
    }

    /// Registers an authority (admin).
    pub fn create_authority(&self, authority: &NewAuthority) -> Result<Authority, Error> {
        let url = format!("{}authorities", self.base);
        let text = self.send(Method::POST, &url, Some(serde_json::to_string(authority).expect("serializes")))?;
        parse(&url, &text)
    }

    /// The transparency log's description.
    pub fn ledger(&self) -> Result<LedgerInfo, Error> {
        let entry = self.entry_point()?;
        let advertised = entry.ledger.is_some();
        let url = entry.ledger.unwrap_or_else(|| format!("{}ledger", self.base));
        self.get_as(&url).map_err(|e| match e {
            Error::NotFound { url, .. } if !advertised => Error::NotFound {
                url,
                message: "this server keeps no transparency log (its entry point has no ledger link), so nothing \
                          it serves can be verified"
                    .into(),
            },
            e => e,
        })
    }

    /// The latest signed checkpoint (a C2SP signed note).
    pub fn checkpoint(&self) -> Result<String, Error> {
        self.get_text(&format!("{}ledger/checkpoint", self.base))
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    pub fn consistency(&self, old: u64, new: u64) -> Result<String, Error> {
        self.get_text(&format!("{}ledger/consistency?old={old}&new={new}", self.base))
    }

    /// The tlog-proof of a measurement's result or of a log entry.
    pub fn proof(&self, target: &str, kind: Kind) -> Result<String, Error> {
        self.get_text(&format!("{}?x=proof", self.url_of(target, kind)?))
    }

    /// Checks a measurement's result or a log entry against the transparency log without
    /// trusting the server (see [`crate::verify`]); updates `state` (pins, checkpoints seen),
    /// which the caller saves only when this succeeds. `now` is written into the state.
    pub fn verify(
        &self,
        target: &str,
        kind: Kind,
        state: &mut ServerState,
        options: &VerifyOptions,
        now: &str,
    ) -> Result<Report, VerifyError> {
        let url = self.url_of(target, kind)?;
        let record = match kind {
            Kind::Measurement => Record::of_measurement(&self.get_as(&url)?)?,
            Kind::Log => Record::of_log(&self.get_as(&url)?)?,
            _ => {
                return Err(
                    Failure::Nothing("only measurements' results and log entries are in the ledger".into()).into()
                )
            }
        };
        let mut lines = Vec::new();
        // The server's key.
        let ledger = self.ledger()?;
        let (verifier, pin) = verify::server_verifier(state, &ledger.public_key, options.trust_new_server_key, now)?;
        lines.push(match pin {
            verify::KeyPin::PinnedNow => format!("server key: {} (first use: pinned now)", verifier.key_text()),
            verify::KeyPin::Known { since } => format!("server key: {} (pinned on {since})", verifier.key_text()),
            verify::KeyPin::Replaced { old } => {
                format!("server key: {} (NEW, trusted on request; replaces {old})", verifier.key_text())
            }
        });
        // The record in the log.
        let proof = self.get_text(&format!("{url}?x=proof"))?;
        let included = verify::check_inclusion(&record, &proof, &verifier)?;
        let accepted = included.leaf.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        lines.push(format!(
            "content: {} as served has the hash the ledger recorded (sha256 {})",
            record.describe(),
            included.leaf.sha256.to_hex()
        ));
        lines.push(format!(
            "inclusion: leaf {} (accepted {accepted}) is in the checkpoint of size {} signed by the server key",
            included.index, included.checkpoint.size
        ));
        // The history.
        let current = &included.checkpoint;
        let to_check = verify::seen_to_check(state, current)?;
        for seen in &to_check {
            let hashes = verify::parse_hashes(&self.consistency(seen.size, current.size)?)?;
            verify::check_consistency(seen, current, &hashes)?;
        }
        lines.push(match state.checkpoints.last() {
            None => "history: first checkpoint seen from this server (remembered)".to_owned(),
            Some(largest) => format!(
                "history: consistent with the {} checkpoint(s) seen before (the largest of size {}, seen {})",
                state.checkpoints.len(),
                largest.size,
                largest.seen
            ),
        });
        verify::remember_checkpoint(state, current, &included.note, now);
        // The signature.
        let mut signed_by = None;
        if let Some(text) = record.result_text() {
            let (authority, signed) = verify::signature_claim(text)?;
            match (signed, authority, &options.authority_keys) {
                (false, _, _) => lines.push("signature: the result is not signed (nothing to check)".into()),
                (true, _, Some(keys)) => {
                    let verified = verify::check_signature(text, keys, included.leaf.time)?;
                    lines.push(format!(
                        "signature: verified with key {} ({}) of the key file, at the acceptance time {accepted}",
                        verified.kid,
                        verified.alg.name()
                    ));
                    signed_by = Some(verified.kid);
                }
                (true, Some(authority_id), None) => {
                    let fetched = self.authority(&authority_id)?;
                    let (keys, pin, new_kids) =
                        verify::authority_keys(state, &authority_id, &fetched, options.trust_new_authority_keys, now)?;
                    let verified = match ctp_jws::verify_result(text, &keys, included.leaf.time.timestamp()) {
                        Ok(verified) => verified,
                        Err(ctp_jws::VerifyError::UnknownKeyId { kid }) if new_kids.contains(&kid) => {
                            let since = state.authorities.get(&authority_id).map(|p| p.pinned.clone());
                            return Err(Failure::UnpinnedAuthorityKey {
                                authority: authority_id,
                                kid,
                                since: since.unwrap_or_default(),
                            }
                            .into());
                        }
                        Err(e) => return Err(Failure::BadSignature(e.to_string()).into()),
                    };
                    let pinned = match pin {
                        verify::AuthorityPin::PinnedNow => "first use: keys pinned now".to_owned(),
                        verify::AuthorityPin::Known { since } => format!("keys pinned on {since}"),
                        verify::AuthorityPin::Replaced => "NEW keys, trusted on request".to_owned(),
                    };
                    let retired = if fetched.retired { "; the authority is retired now" } else { "" };
                    lines.push(format!(
                        "signature: verified with key {} ({}) of authority {authority_id} \"{}\" ({pinned}{retired}), \
                         at the acceptance time {accepted}",
                        verified.kid,
                        verified.alg.name(),
                        fetched.name
                    ));
                    signed_by = Some(verified.kid);
                }
                (true, None, None) => {
                    return Err(Failure::BadSignature(
                        "the result is signed but names no authority (authorityId is null) — give the signer's \
                         public key with --authority-key FILE"
                            .into(),
                    )
                    .into())
                }
            }
        }
        Ok(Report {
            record: record.describe(),
            index: included.index,
            accepted,
            checkpoint_size: included.checkpoint.size,
            signed_by,
            lines,
        })
    }
}

fn parse<T: DeserializeOwned>(url: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::Unexpected { url: url.to_owned(), detail: format!("{e} in {}", one_line(text, 120)) })
}

/// An error and its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    one_line(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_get_one_trailing_slash_and_targets_stay_under_them() {
        assert_eq!(normalize_base("http://h:8080/api/1.0").unwrap(), "http://h:8080/api/1.0/");
        assert_eq!(normalize_base("https://h/api/1.0/").unwrap(), "https://h/api/1.0/");
        for bad in ["h/api", "ftp://h/", "http://", "http:///x", "http://h/?a"] {
            assert!(matches!(normalize_base(bad), Err(Error::InvalidUrl { .. })), "{bad}");
        }
        let client = Client::new("http://h/api/1.0", "t").unwrap();
        assert_eq!(client.url_of("m1", Kind::Measurement).unwrap(), "http://h/api/1.0/measurements/m1");
        assert_eq!(client.url_of("http://h/api/1.0/logs/x", Kind::Measurement).unwrap(), "http://h/api/1.0/logs/x");
        for bad in ["http://evil/api/1.0/logs/x", "a/b", "", "m?x=1", "http://h/api/1.0.evil/"] {
            assert!(matches!(client.url_of(bad, Kind::Log), Err(Error::InvalidTarget { .. })), "{bad}");
        }
    }

    #[test]
    fn an_unreachable_server_is_a_network_error_that_says_what_to_check() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new(&format!("http://127.0.0.1:{port}/api/1.0/"), "t").unwrap();
        let e = client.entry_point().unwrap_err();
        assert!(matches!(e, Error::Network { .. }), "{e}");
        assert!(e.to_string().contains("check the URL"), "{e}");
    }
}
