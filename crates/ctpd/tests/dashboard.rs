//! The web dashboard (issue 15) in a real browser: headless Chromium driven through
//! WebDriver (chromedriver, started here on a free port) against the real `ctpd serve
//! --demo`. One browser session walks through the pages as a customer, an administrator, a
//! customer of another tenant and a customer with 1 000 measurements, and checks what each
//! page shows; each page's screenshot goes to `target/dashboard-screenshots/`.
//!
//! Pages are waited for through `main.dataset.page` / `main.dataset.state` and the presence
//! of elements, never with fixed sleeps.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ctp_test_support::{free_port, Client, Ctpd, StoreLocation};
use fantoccini::Locator;
use futures_util::{stream, FutureExt, StreamExt};
use serde_json::{json, Value};

/// How long a page or an element may take to appear.
const PATIENCE: Duration = Duration::from_secs(15);

/// The dashboard polls every 5 s: a change shows within two polls.
const LIVE_PATIENCE: Duration = Duration::from_secs(12);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process on 127.0.0.1; killed when dropped.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Chromedriver {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: install the Debian packages chromium and chromium-driver (scripts/test does)"
            );
        }
        let port = free_port();
        // A process group of its own: the browsers it starts go with it when it is killed.
        let child = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Chromedriver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited ({status}) before listening");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(25));
        }
        driver
    }
}

impl Drop for Chromedriver {
    /// Kills chromedriver's process group (chromedriver and the browsers it started, also
    /// when a failed step left its session open), then reaps chromedriver.
    fn drop(&mut self) {
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/dashboard-screenshots`, else the workspace's
/// `target/dashboard-screenshots`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("dashboard-screenshots")
}

/// One browser session on the dashboard.
struct Browser {
    wd: fantoccini::Client,
    /// `http://127.0.0.1:PORT`
    origin: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Chromedriver, origin: String) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                         "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
            }),
        );
        let wd = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session of headless Chromium");
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("the screenshot folder");
        Browser { wd, origin, shots }
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.wd.execute(script, args).await.unwrap_or_else(|e| panic!("script failed ({e}): {script}"))
    }

    /// What `main` shows, for failure messages.
    async fn main_text(&self) -> String {
        self.js("const m = document.getElementById('main'); return m ? m.dataset.page + '/' + m.dataset.state + ': ' + m.innerText : '';", vec![])
            .await
            .as_str()
            .unwrap_or("")
            .chars()
            .take(2000)
            .collect()
    }

    /// Waits until `condition` (a JS expression) is truthy, for `patience` at most.
    async fn wait_until_within(&self, what: &str, condition: &str, patience: Duration) -> Value {
        let deadline = Instant::now() + patience;
        let script = format!("try {{ return ({condition}) || null; }} catch (e) {{ return null; }}");
        loop {
            let value = self.js(&script, vec![]).await;
            if !value.is_null() && value != json!(false) {
                return value;
            }
            if Instant::now() > deadline {
                let shown = self.main_text().await;
                panic!("timed out after {patience:?} waiting for {what} ({condition}); the page shows:\n{shown}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_until(&self, what: &str, condition: &str) -> Value {
        self.wait_until_within(what, condition, PATIENCE).await
    }

    /// Waits until the page `page` is rendered (`data-state` ready); an error page fails.
    async fn wait_page(&self, page: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let state = self
                .js("const m = document.getElementById('main'); return m ? [m.dataset.page || '', m.dataset.state || ''] : ['', ''];", vec![])
                .await;
            let (shown, ready) = (state[0].as_str().unwrap_or(""), state[1].as_str().unwrap_or(""));
            if shown == page && ready == "ready" {
                return;
            }
            if shown == page && ready == "error" {
                panic!("the page {page} failed:\n{}", self.main_text().await);
            }
            if Instant::now() > deadline {
                panic!("the page {page} was not ready within {PATIENCE:?}:\n{}", self.main_text().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Opens `#/hash` by changing the location's hash (no reload) and waits for `page`.
    async fn show(&self, hash: &str, page: &str) {
        // Mark the state as loading first, so that the previous page being ready is not
        // taken for this one.
        self.js(
            "document.getElementById('main').dataset.state = 'loading'; location.hash = arguments[0];",
            vec![json!(hash)],
        )
        .await;
        self.wait_page(page).await;
    }

    /// Loads the dashboard afresh at `#/hash`.
    async fn load(&self, hash: &str) {
        self.wd.goto(&format!("{}/{hash}", self.origin)).await.expect("the dashboard loads");
    }

    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        element.text().await.unwrap_or_else(|e| panic!("the text of {css}: {e}"))
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.wd.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css} ({e}); the page shows:\n{}", self.main_text().await),
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.wd.find_all(Locator::Css(css)).await.map(|all| all.len()).unwrap_or(0)
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replaces an input's text by typing `text`.
    async fn type_into(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap_or_else(|e| panic!("clearing {css}: {e}"));
        input.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    async fn body_text(&self) -> String {
        self.js("return document.body.innerText;", vec![]).await.as_str().unwrap_or("").to_owned()
    }

    /// Saves a screenshot as `NAME.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        // Let the canvases of the page draw (they draw on the next animation frame).
        self.js(
            "return await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
            vec![],
        )
        .await;
        let png = self.wd.screenshot().await.expect("a screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    async fn sign_out(&self) {
        self.click("#signout").await;
        self.wait_page("login").await;
    }

    async fn sign_in(&self, token: &str) {
        self.wait_page("login").await;
        self.type_into("#token", token).await;
        self.js("document.querySelector('form.login').requestSubmit();", vec![]).await;
        self.wait_page("overview").await;
    }
}

/// The demo's tokens and ids, as `ctpd serve --demo` prints them.
struct Demo {
    customer: String,
    agent: String,
    admin: String,
    view_id: String,
    intrusion_measurement: String,
}

/// Reads the demo's start-up message; its standard output is then drained by a thread, so
/// that a later line never meets a closed pipe.
fn read_demo(server: &mut Ctpd) -> Demo {
    let mut lines = BufReader::new(server.take_stdout()).lines();
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("?x=result")) {
        match lines.next() {
            Some(Ok(line)) => seen.push(line),
            _ => panic!("ctpd's demo message ended early: {seen:#?}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let last_word = |label: &str| {
        let line =
            seen.iter().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no {label}: {seen:#?}"));
        line.split_whitespace().last().unwrap().trim_matches(|c| c == '"' || c == ')').to_owned()
    };
    let view = seen.iter().find(|l| l.contains("(service view ")).expect("the demo's service view");
    let view_id = view.rsplit("(service view ").next().unwrap().trim_end_matches(')').to_owned();
    let measurement = seen.iter().find(|l| l.contains("?x=result")).expect("the push example");
    let intrusion_measurement =
        measurement.split("measurements/").nth(1).unwrap().split('?').next().unwrap().to_owned();
    Demo {
        customer: last_word("customer token"),
        agent: last_word("agent token"),
        admin: last_word("admin token"),
        view_id,
        intrusion_measurement,
    }
}

fn id(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn the_dashboard_in_a_browser() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(StoreLocation::new());
    let mut server = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .args(["--demo", "--database", &store.url])
        // A trigger's webhook on a closed port of this machine: a delivery that fails at once.
        .args(["--webhook-allow-private", "--delivery-attempts", "1", "--rate-limit", "0"])
        .stdout_piped()
        .start();
    let demo = read_demo(&mut server);
    let driver = Chromedriver::start();
    runtime.block_on(async {
        let browser = Browser::open(&driver, format!("http://127.0.0.1:{}", server.port)).await;
        // The session is closed (the browser quits) whether the walk passes, fails or times out.
        let walking = AssertUnwindSafe(walk(&browser, &server, &demo)).catch_unwind();
        let outcome = tokio::time::timeout(Duration::from_secs(150), walking).await;
        let _ = browser.wd.clone().close().await;
        match outcome {
            Err(_) => panic!("the whole walk through the dashboard took over 150 s"),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Ok(Ok(())) => {}
        }
    });
}

/// Every step, in one browser session.
async fn walk(browser: &Browser, server: &Ctpd, demo: &Demo) {
    let started = Instant::now();
    let step = |name: &str| eprintln!("[{:>6.2} s] {name}", started.elapsed().as_secs_f64());
    let admin = server.client(&demo.admin);
    // A second tenant, set up before anyone signs in: its view must never reach the demo
    // customer, nor the demo's view it.
    let other = other_tenant(&admin).await;

    step("sign in");
    sign_in(browser, demo).await;
    step("overview");
    overview(browser, demo, &other).await;
    step("tree and measurement");
    let availability = tree_and_measurement(browser, server, demo).await;
    step("triggers");
    let trigger = create_trigger(browser, &availability).await;
    step("live update");
    live_update(browser, server, demo, &availability).await;
    step("logs");
    logs(browser, &trigger).await;
    step("delete the trigger");
    delete_trigger(browser, &trigger).await;
    step("narrow screen");
    narrow_screen(browser).await;
    step("administration");
    administration(browser, demo).await;
    step("another tenant");
    another_tenant(browser, demo, &other).await;
    step("1 000 measurements");
    performance(browser, server, &admin).await;
    step("done");
}

/// The other tenant: a view, an account that reads only it.
struct OtherTenant {
    token: String,
    view_name: &'static str,
}

async fn other_tenant(admin: &Client) -> OtherTenant {
    let view_name = "Northside Clinic telemetry";
    let view = admin
        .create(
            "serviceViews",
            json!({"name": view_name, "provider": "Northside IT", "accessTags": ["customer:northside"]}),
        )
        .await;
    let asset =
        admin.create(&format!("{}/assets", view["self"].as_str().unwrap()), json!({"name": "telemetry-db"})).await;
    let attribute =
        admin.create(&format!("{}/attributes", asset["self"].as_str().unwrap()), json!({"name": "backups"})).await;
    let metric = admin
        .create(
            "metrics",
            json!({"name": "backup-age", "baseMetric": "https://example.org/backup-age",
                   "resultFormat": [{"name": "hours", "type": "number"}]}),
        )
        .await;
    admin
        .create(
            &format!("{}/measurements", attribute["self"].as_str().unwrap()),
            json!({"name": "age of the last backup", "metric": metric["self"], "createTrigger": true,
                   "objective": {"condition": "value[0].hours < 24"}, "result": {"value": [{"hours": 3}]}}),
        )
        .await;
    let account = admin
        .create("accounts", json!({"name": "Northside Clinic", "accountTags": ["role:user", "customer:northside"]}))
        .await;
    OtherTenant { token: account["token"].as_str().unwrap().to_owned(), view_name }
}

async fn sign_in(browser: &Browser, demo: &Demo) {
    browser.load("").await;
    browser.wait_page("login").await;
    assert_eq!(browser.js("return document.activeElement.id;", vec![]).await, "token", "the token field has the focus");
    browser.screenshot("login").await;
    browser.type_into("#token", "not-a-token-of-this-server-0123").await;
    browser.click("form.login button[type=submit]").await;
    let message =
        browser.wait_until("the refusal of a bad token", "document.getElementById('login-error').textContent").await;
    assert!(message.as_str().unwrap().contains("not accepted (401)"), "{message}");
    assert_eq!(browser.js("return sessionStorage.getItem('ctpd-token');", vec![]).await, Value::Null);
    browser.screenshot("login-refused").await;
    // Enter in the field signs in (keyboard only).
    browser.type_into("#token", &format!("{}\n", demo.customer)).await;
    browser.wait_page("overview").await;
    assert_eq!(browser.js("return sessionStorage.getItem('ctpd-token');", vec![]).await, json!(demo.customer));
    let url = browser.wd.current_url().await.unwrap().to_string();
    assert!(!url.contains(&demo.customer), "the token is never in a URL: {url}");
}

async fn overview(browser: &Browser, demo: &Demo, other: &OtherTenant) {
    let card = format!("section.view-card[data-view$='/serviceViews/{}']", demo.view_id);
    assert_eq!(browser.count("section.view-card").await, 1, "the demo customer reads one service view");
    let title = browser.text(&format!("{card} h2")).await;
    assert_eq!(title, "GlucoCloud continuous glucose monitoring");
    // The counts: a number and a word for each status, and they add up to the rows.
    let counts = browser
        .js(
            "const card = document.querySelector(arguments[0]);
             const n = {};
             for (const c of card.querySelectorAll('[data-count]')) n[c.dataset.count] = Number((c.textContent.match(/[0-9]+/) || [null])[0]);
             return { n, rows: card.querySelectorAll('tr.measure-row').length, text: card.querySelector('.counts').innerText };",
            vec![json!(card)],
        )
        .await;
    let rows = counts["rows"].as_u64().unwrap();
    assert_eq!(rows, 12, "the demo has twelve measurements: {counts}");
    let sum: u64 = counts["n"].as_object().unwrap().values().map(|v| v.as_u64().expect("a number")).sum();
    assert_eq!(sum, rows, "the counts add up to the rows: {counts}");
    assert!(counts["n"]["met"].as_u64().unwrap() >= 5, "most demo objectives are met: {counts}");
    assert_eq!(counts["n"]["noResult"], 1, "the user-activated scan has no result: {counts}");
    assert!(counts["text"].as_str().unwrap().contains("objective met"), "words, not colour alone: {counts}");
    // Each row: a status badge with a word, and a 90-day bar that is drawn.
    let bars = browser
        .js(
            "const card = document.querySelector(arguments[0]);
             return [...card.querySelectorAll('tr.measure-row')].map((row) => {
               const c = row.querySelector('canvas.bars');
               const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
               let painted = 0;
               for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
               return { label: c.getAttribute('aria-label'), painted, focusable: c.tabIndex === 0,
                        badge: row.querySelector('.status').innerText };
             });",
            vec![json!(card)],
        )
        .await;
    for bar in bars.as_array().unwrap() {
        assert!(bar["label"].as_str().unwrap().starts_with("Last 90 days: "), "{bar}");
        assert!(bar["painted"].as_u64().unwrap() > 0, "the bar is drawn: {bar}");
        assert_eq!(bar["focusable"], true, "the bar takes the keyboard: {bar}");
        assert!(
            ["objective met", "objective not met", "no result yet", "cannot be evaluated", "no objective"]
                .iter()
                .any(|w| bar["badge"].as_str().unwrap().contains(w)),
            "{bar}"
        );
    }
    browser.screenshot("overview").await;
    // The keyboard steps through the days of a bar and shows a day's summary.
    browser.js("document.querySelector(arguments[0] + ' canvas.bars').focus();", vec![json!(card)]).await;
    browser.find(&format!("{card} canvas.bars")).await.send_keys("\u{E012}").await.unwrap(); // ArrowLeft
    let tip = browser
        .wait_until(
            "the day's tooltip",
            "!document.getElementById('day-tip').hidden && document.getElementById('day-tip').innerText",
        )
        .await;
    assert!(tip.as_str().unwrap().contains("Worst:"), "{tip}");
    let label = browser.js("return document.activeElement.getAttribute('aria-label');", vec![]).await;
    assert!(label.as_str().unwrap().contains("Worst:"), "a screen reader reads the day chosen: {label}");
    browser.js("document.activeElement.blur();", vec![]).await;
    // The skip link moves the focus to the content, and leaves the route alone.
    browser.js("document.querySelector('a.skip').focus();", vec![]).await;
    browser.wd.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap(); // Enter
    let after = browser
        .js("return [location.hash, document.activeElement.id, document.getElementById('main').dataset.page];", vec![])
        .await;
    assert!(["", "#/"].contains(&after[0].as_str().unwrap()), "the skip link leaves the route alone: {after}");
    assert_eq!(
        (&after[1], &after[2]),
        (&json!("main"), &json!("overview")),
        "the skip link focuses the content: {after}"
    );
    let text = browser.body_text().await;
    assert!(!text.contains(other.view_name), "another tenant's view is not shown");
}

/// Walks from the overview to the view's tree, then to the availability of the API endpoint;
/// returns that measurement's link.
async fn tree_and_measurement(browser: &Browser, server: &Ctpd, demo: &Demo) -> String {
    browser.click(&format!("section.view-card[data-view$='/serviceViews/{}'] h2 a", demo.view_id)).await;
    browser.wait_page("view").await;
    let heading = browser.text("main h1").await;
    assert!(heading.contains("GlucoCloud continuous glucose monitoring"), "{heading}");
    let provider = browser.text("main dl.kv").await;
    assert!(provider.contains("Acme Diabetes Care"), "{provider}");
    // The supply chain: the IaaS dependency, in the graph and in the list beside it.
    let list = browser.js("return document.querySelector('main .scroll details').textContent;", vec![]).await;
    assert!(list.as_str().unwrap().contains("ExampleCloud IaaS eu-west-1"), "{list}");
    let dependency = browser
        .js("return [...document.querySelectorAll('svg.graph a title')].map((t) => t.textContent).join(' | ');", vec![])
        .await;
    assert!(dependency.as_str().unwrap().contains("ExampleCloud IaaS eu-west-1"), "{dependency}");
    // Three assets, each with its attributes and measurements and a worst status.
    assert_eq!(browser.count("details[data-asset]").await, 3);
    let api_asset = browser
        .js(
            "return [...document.querySelectorAll('details[data-asset]')].find((d) =>
               d.querySelector('summary').innerText.includes('api.glucocloud.example')).dataset.asset;",
            vec![],
        )
        .await;
    let api_asset = api_asset.as_str().expect("the API endpoint's asset").to_owned();
    let asset = format!("details[data-asset='{api_asset}']");
    let tree = browser.text(&asset).await;
    for expected in ["availability", "monthly availability", "intrusion alerts", "TLS of the public endpoint"] {
        assert!(tree.contains(expected), "{expected} in {tree}");
    }
    browser.screenshot("view").await;
    // Walk down with the keyboard: the link has the focus, Enter opens it.
    let link = browser
        .js(
            "const a = [...document.querySelectorAll(arguments[0] + ' ul.measures a')].find((a) => a.textContent === 'monthly availability');
             a.focus(); return a.getAttribute('href');",
            vec![json!(asset)],
        )
        .await;
    let measurement_id = link.as_str().unwrap().trim_start_matches("#/measurement/").to_owned();
    browser.wd.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap(); // Enter
    browser.wait_page("measurement").await;
    let heading = browser.text("main h1").await;
    assert!(heading.contains("monthly availability") && heading.contains("objective met"), "{heading}");
    // The current result, and its column's type.
    let table = browser.text("table.result").await;
    assert!(table.contains("percentage") && table.contains("99.97"), "{table}");
    // The numeric column's plot: uPlot's root with its canvas.
    browser
        .wait_until(
            "the plot of percentage",
            "document.querySelector(\"figure.chart[data-column='percentage'] .uplot canvas\")",
        )
        .await;
    let label = browser
        .js("return document.querySelector(\"figure.chart[data-column='percentage'] .uplot\").getAttribute('aria-label');", vec![])
        .await;
    assert!(label.as_str().unwrap().starts_with("Chart of percentage: "), "{label}");
    assert!(label.as_str().unwrap().contains("latest 99.97"), "the chart's words say what it shows: {label}");
    // A range chosen with the keyboard: the history follows, the focus stays on the button.
    browser.js("document.getElementById('main').dataset.state = 'loading'; document.querySelector('[data-range=\"30d\"]').focus();", vec![]).await;
    browser.wd.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap(); // Enter
    browser.wait_page("measurement").await;
    let pressed = browser
        .js("return [location.hash.endsWith('?range=30d'), document.activeElement.dataset.range, document.activeElement.getAttribute('aria-pressed'), document.getElementById('history').innerText];", vec![])
        .await;
    assert_eq!((&pressed[0], &pressed[1], &pressed[2]), (&json!(true), &json!("30d"), &json!("true")), "{pressed}");
    assert!(pressed[3].as_str().unwrap().contains("in the last 30 days"), "{pressed}");
    browser
        .wait_until(
            "the plot over 30 days",
            "document.querySelector(\"figure.chart[data-column='percentage'] .uplot canvas\")",
        )
        .await;
    browser.screenshot("measurement").await;
    browser.js("document.querySelector('figure.chart').scrollIntoView();", vec![]).await;
    browser.screenshot("measurement-chart").await;
    browser.js("window.scrollTo(0, 0);", vec![]).await;
    format!("{}measurements/{measurement_id}", server.base())
}

/// Creates a trigger from the form of the measurement's page; returns its link.
async fn create_trigger(browser: &Browser, availability: &str) -> String {
    browser.click("a.button[href^='#/triggers?measurement=']").await;
    browser.wait_page("triggers").await;
    let chosen = browser.js("return document.getElementById('t-measurement').value;", vec![]).await;
    assert_eq!(chosen.as_str().map(id), Some(id(availability)), "the measurement is preselected");
    browser.type_into("#t-name", "availability below 99 %").await;
    // A syntax error: marked invalid, with its line and column.
    browser.type_into("#t-condition", "value[0].percentage <<< 99").await;
    let invalid = browser
        .wait_until(
            "the check marking the condition invalid",
            "document.querySelector(\"#t-check [data-valid='false']\")?.innerText",
        )
        .await;
    let invalid = invalid.as_str().unwrap();
    assert_eq!(
        browser.js("return document.getElementById('t-condition').getAttribute('aria-invalid');", vec![]).await,
        "true"
    );
    assert!(invalid.contains("Line 1, column "), "{invalid}");
    let column: usize = invalid.split("column ").nth(1).unwrap().split(':').next().unwrap().trim().parse().unwrap();
    assert!((21..=25).contains(&column), "the column points into the operator: {invalid}");
    // A good one: valid, with its outcome on the current result.
    browser.type_into("#t-condition", "value[0].percentage < 99").await;
    let valid = browser
        .wait_until(
            "the check marking the condition valid",
            "document.querySelector(\"#t-check [data-valid='true']\")?.innerText",
        )
        .await;
    assert!(valid.as_str().unwrap().contains("on the current result it is false"), "{valid}");
    browser.type_into("#t-tags", "team:dashboard, severity:low").await;
    let closed = free_port();
    browser.type_into("#t-notification", &format!("http://127.0.0.1:{closed}/hook")).await;
    browser.screenshot("trigger-form").await;
    browser.js("document.getElementById('main').dataset.state = 'loading';", vec![]).await;
    browser.click("#t-submit").await;
    browser.wait_page("triggers").await;
    let notice = browser.text("main .notice.good").await;
    assert_eq!(notice, "Trigger created.");
    let row = browser
        .wait_until(
            "the new trigger in the list",
            "[...document.querySelectorAll('tr[data-trigger]')].find((r) => r.innerText.includes('availability below 99 %'))?.dataset.trigger",
        )
        .await;
    let link = row.as_str().unwrap().to_owned();
    let text = browser.text(&format!("tr[data-trigger='{link}']")).await;
    for expected in [
        "team:dashboard",
        "severity:low",
        "value[0].percentage < 99",
        "webhook to http://127.0.0.1",
        "monthly availability",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(text.contains("condition does not hold"), "its status in words: {text}");
    browser.screenshot("triggers").await;
    link
}

/// A result pushed through the API changes the page without a reload.
async fn live_update(browser: &Browser, server: &Ctpd, demo: &Demo, availability: &str) {
    browser.show("#/", "overview").await;
    let row = format!("tr.measure-row[data-measurement='{availability}']");
    let before = browser.text(&format!("{row} .status")).await;
    assert!(before.contains("objective met"), "{before}");
    let not_met_before = browser.text("[data-count='notMet']").await;
    // A mark that a reload would lose.
    browser.js("window.notReloaded = true;", vec![]).await;
    let agent = server.client(&demo.agent);
    let (status, body) = agent
        .put(
            &format!("measurements/{}?x=result", id(availability)),
            json!({"result": {"value": [{"percentage": 98.5}]}}),
        )
        .await;
    assert!(status.is_success(), "the push: {status} {body}");
    let (status, body) = agent
        .put(
            &format!("measurements/{}?x=result", demo.intrusion_measurement),
            json!({"result": {"value": [{"level": 12, "rule": 5720, "description": "Multiple SSHD authentication failures.", "agent": "api-1"}]}}),
        )
        .await;
    assert!(status.is_success(), "the push: {status} {body}");
    let pushed = Instant::now();
    browser
        .wait_until_within(
            "the new status without a reload",
            &format!("document.querySelector(\"{row} .status\")?.dataset.status === 'notMet'"),
            LIVE_PATIENCE,
        )
        .await;
    eprintln!("the overview showed the new status {:.1} s after the push", pushed.elapsed().as_secs_f64());
    assert_eq!(browser.js("return window.notReloaded === true;", vec![]).await, true, "the page was not reloaded");
    let after = browser.text(&format!("{row} .status")).await;
    assert!(after.contains("objective not met"), "{after}");
    let not_met_after = browser.text("[data-count='notMet']").await;
    assert_ne!(not_met_before, not_met_after, "the counts follow");
    let live = browser.text("#live").await;
    assert!(live.starts_with("Updated") || live.starts_with("Live"), "{live}");
    browser.screenshot("overview-updated").await;
}

async fn logs(browser: &Browser, trigger: &str) {
    browser.show("#/logs", "logs").await;
    let list = browser.text("#log-list").await;
    assert!(list.contains("availability below 99 %"), "the new trigger's entry: {list}");
    assert!(list.contains("high-level intrusion alert"), "the demo trigger's entry: {list}");
    let all = browser.count("#log-list > li").await;
    assert!(all >= 2, "{list}");
    browser.screenshot("logs").await;

    // By tags: only the demo trigger's entries carry severity:high.
    browser.type_into("#f-tags", "severity:high").await;
    browser.js("document.getElementById('main').dataset.state = 'loading'; document.getElementById('log-filters').requestSubmit();", vec![]).await;
    browser.wait_page("logs").await;
    let hash = browser.js("return location.hash;", vec![]).await;
    assert!(hash.as_str().unwrap().contains("tags=severity%3Ahigh"), "{hash}");
    let list = browser.text("#log-list").await;
    assert!(list.contains("high-level intrusion alert") && !list.contains("availability below 99 %"), "{list}");
    assert_eq!(
        browser.js("return document.getElementById('f-tags').value;", vec![]).await,
        "severity:high",
        "the filter stays"
    );

    // By trigger.
    browser.show("#/logs", "logs").await;
    browser.find("#f-trigger").await.select_by_value(trigger).await.expect("the trigger is offered");
    browser.js("document.getElementById('main').dataset.state = 'loading'; document.getElementById('log-filters').requestSubmit();", vec![]).await;
    browser.wait_page("logs").await;
    let list = browser.text("#log-list").await;
    assert!(list.contains("availability below 99 %") && !list.contains("high-level intrusion alert"), "{list}");
    let entries = browser.count("#log-list > li").await;
    assert!(entries >= 1 && entries < all, "{list}");

    // By time range: the last hour has them, the hour before none.
    let set_range = "const local = (ms) => { const d = new Date(ms); return new Date(d - d.getTimezoneOffset() * 6e4).toISOString().slice(0, 16); };
         document.getElementById('f-trigger').value = '';
         document.getElementById('f-from').value = local(Date.now() + arguments[0] * 60e3);
         document.getElementById('f-to').value = local(Date.now() + arguments[1] * 60e3);
         document.getElementById('main').dataset.state = 'loading';
         document.getElementById('log-filters').requestSubmit();";
    browser.js(set_range, vec![json!(-60), json!(2)]).await;
    browser.wait_page("logs").await;
    let hash = browser.js("return location.hash;", vec![]).await;
    assert!(hash.as_str().unwrap().contains("oldest=") && hash.as_str().unwrap().contains("newest="), "{hash}");
    assert_eq!(browser.count("#log-list > li").await, all, "every entry is of the last hour");
    browser.js(set_range, vec![json!(-120), json!(-60)]).await;
    browser.wait_page("logs").await;
    let none = browser.text("#no-logs").await;
    assert_eq!(none, "No log entry matches.");
    browser.screenshot("logs-filtered").await;
}

async fn delete_trigger(browser: &Browser, trigger: &str) {
    browser.show("#/triggers", "triggers").await;
    let button = format!("button[data-delete='{trigger}']");
    browser.click(&button).await;
    let armed = browser.text(&button).await;
    assert_eq!(armed, "Click again to delete", "the first click only arms the button");
    assert_eq!(browser.count(&format!("tr[data-trigger='{trigger}']")).await, 1);
    browser.js("document.getElementById('main').dataset.state = 'loading';", vec![]).await;
    browser.click(&button).await;
    browser.wait_page("triggers").await;
    browser
        .wait_until(
            "the trigger to leave the list",
            &format!("!document.querySelector(\"tr[data-trigger='{trigger}']\")"),
        )
        .await;
    let text = browser.text("main").await;
    assert!(text.contains("high-level intrusion alert"), "the demo trigger stays: {text}");
}

/// A phone's width: nothing wider than the screen but what scrolls inside its own box.
async fn narrow_screen(browser: &Browser) {
    browser.wd.set_window_size(390, 844).await.expect("a phone-sized window");
    browser.show("#/", "overview").await;
    let overflow =
        browser.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![]).await;
    browser.screenshot("overview-phone").await;
    browser.show("#/triggers", "triggers").await;
    let overflow_triggers =
        browser.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![]).await;
    browser.screenshot("triggers-phone").await;
    browser.wd.set_window_size(1280, 900).await.expect("the window back to its size");
    assert_eq!(overflow, 0, "the overview fits a phone's width");
    assert_eq!(overflow_triggers, 0, "the triggers page fits a phone's width");
}

async fn administration(browser: &Browser, demo: &Demo) {
    assert_eq!(browser.count("#nav-admin:not([hidden])").await, 0, "no administration for a customer");
    browser.sign_out().await;
    let message = browser.text("#login-error").await;
    assert!(message.contains("Signed out"), "{message}");
    browser.sign_in(&demo.admin).await;
    browser.find("#nav-admin:not([hidden])").await;
    browser.click("#nav-admin").await;
    browser.wait_page("admin").await;
    let accounts = browser.text("#accounts").await;
    for expected in ["St Mary's Hospital (demo customer)", "demo-agent", "Northside Clinic", "role:user"] {
        assert!(accounts.contains(expected), "{expected} in {accounts}");
    }
    // The webhook on a closed port failed (one attempt): its delivery is listed.
    let failed = browser
        .wait_until(
            "the failed delivery",
            "[...document.querySelectorAll('tr[data-delivery]')].map((r) => r.innerText).join('\\n') || null",
        )
        .await;
    assert!(failed.as_str().unwrap().contains("/hook"), "{failed}");
    let text = browser.text("main").await;
    assert!(text.contains("Notifications that failed (") && text.contains("Audit trail"), "{text}");
    browser.screenshot("admin").await;
}

async fn another_tenant(browser: &Browser, demo: &Demo, other: &OtherTenant) {
    browser.sign_out().await;
    // Only what this session loads from now on counts.
    browser.js("performance.clearResourceTimings(); performance.setResourceTimingBufferSize(10000);", vec![]).await;
    browser.sign_in(&other.token).await;
    assert_eq!(browser.count("section.view-card").await, 1);
    assert_eq!(browser.text("section.view-card h2").await, other.view_name);
    browser.screenshot("overview-other-tenant").await;
    for (hash, page) in [("#/triggers", "triggers"), ("#/logs", "logs"), ("#/admin", "admin")] {
        browser.show(hash, page).await;
        // The whole document, hidden parts included.
        let text = browser.js("return document.documentElement.outerHTML;", vec![]).await.as_str().unwrap().to_owned();
        for secret in ["GlucoCloud", "St Mary", &demo.view_id, &demo.intrusion_measurement] {
            assert!(!text.contains(secret), "{secret} shown on {hash}: {text}");
        }
    }
    let admin_text = browser.text("main").await;
    assert!(admin_text.contains("not one"), "no administration for a customer: {admin_text}");
    browser.show("#/", "overview").await;
    browser.click("section.view-card h2 a").await;
    browser.wait_page("view").await;
    let tree = browser.js("return document.documentElement.outerHTML;", vec![]).await.as_str().unwrap().to_owned();
    assert!(tree.contains("age of the last backup"), "{tree}");
    for secret in ["GlucoCloud", &demo.view_id] {
        assert!(!tree.contains(secret), "{secret} shown on the view's page: {tree}");
    }
    let urls = browser.js("return performance.getEntriesByType('resource').map((e) => e.name);", vec![]).await;
    let urls: Vec<&str> = urls.as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert!(urls.iter().any(|u| u.contains("/serviceViews")), "the resource timings are recorded: {urls:?}");
    for url in &urls {
        assert!(!url.contains(&demo.view_id), "the demo's view was requested: {url}");
        assert!(!url.contains(&demo.intrusion_measurement), "a demo measurement was requested: {url}");
    }
}

/// Seeds 20 service views with 1 000 measurements in all, each with an objective and a
/// result, through the API (concurrent requests); returns the token of a customer who
/// reads them all.
async fn seed_load(admin: &Client) -> String {
    let seeding = Instant::now();
    let metric = admin
        .create(
            "metrics",
            json!({"name": "load", "baseMetric": "https://example.org/load", "resultFormat": [{"name": "load", "type": "number"}]}),
        )
        .await;
    let metric = metric["self"].as_str().unwrap().to_owned();
    let views: Vec<String> = stream::iter(0..20)
        .map(|v| async move {
            let view = admin
                .create(
                    "serviceViews",
                    json!({"name": format!("Load test view {v:02}"), "provider": "Perf", "accessTags": ["customer:perf"]}),
                )
                .await;
            view["self"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let attributes: Vec<String> = stream::iter(views.iter())
        .map(|view| async move {
            let asset = admin.create(&format!("{view}/assets"), json!({"name": "cluster"})).await;
            let asset = asset["self"].as_str().unwrap().to_owned();
            let mut attributes = Vec::new();
            for a in 0..5 {
                let attribute =
                    admin.create(&format!("{asset}/attributes"), json!({"name": format!("attribute {a}")})).await;
                attributes.push(attribute["self"].as_str().unwrap().to_owned());
            }
            attributes
        })
        .buffer_unordered(8)
        .flat_map(stream::iter)
        .collect()
        .await;
    let measurements: Vec<(usize, &String)> =
        attributes.iter().flat_map(|a| (0..10).map(move |m| (m, a))).enumerate().map(|(i, (_, a))| (i, a)).collect();
    assert_eq!(measurements.len(), 1000);
    let metric = &metric;
    stream::iter(measurements)
        .map(|(i, attribute)| async move {
            admin
                .create(
                    &format!("{attribute}/measurements"),
                    json!({"name": format!("load {i:04}"), "metric": metric, "objective": {"condition": "value[0].load < 90"},
                           "result": {"value": [{"load": (i * 37) % 100}]}}),
                )
                .await;
        })
        .buffer_unordered(24)
        .collect::<Vec<()>>()
        .await;
    eprintln!("seeded 20 service views and 1 000 measurements in {:.1} s", seeding.elapsed().as_secs_f64());
    let account =
        admin.create("accounts", json!({"name": "Perf customer", "accountTags": ["role:user", "customer:perf"]})).await;
    account["token"].as_str().unwrap().to_owned()
}

/// 20 service views with 1 000 measurements in all: the overview shows them all. How fast is
/// measured, not asserted, here; `scripts/bench-dashboard` runs this step on a release build
/// (`CTPD_DASHBOARD_BENCH=1`) and holds it to the second, with the API's own time,
/// measured in the same run, as the reference.
async fn performance(browser: &Browser, server: &Ctpd, admin: &Client) {
    let token = seed_load(admin).await;

    // The API alone: the calls the overview makes, from this test.
    let customer = server.client(&token);
    let offset = 0;
    let api_time = |customer: Client| async move {
        let started = Instant::now();
        let views = customer.get_ok("serviceViews").await;
        let links: Vec<String> =
            views["collection"].as_array().unwrap().iter().map(|m| m["link"].as_str().unwrap().to_owned()).collect();
        let overviews: Vec<Value> = stream::iter(links.iter())
            .map(|link| {
                let customer = customer.clone();
                async move { customer.get_ok(&format!("{link}?x=overview&days=90&utcOffset={offset}")).await }
            })
            .buffered(6)
            .collect()
            .await;
        let measurements: usize = overviews.iter().map(|o| o["measurements"].as_array().unwrap().len()).sum();
        assert_eq!(measurements, 1000);
        started.elapsed()
    };
    let api_cold = api_time(customer.clone()).await;
    let api_warm = api_time(customer.clone()).await;

    browser.sign_out().await;
    browser.sign_in(&token).await;
    assert_eq!(browser.count("section.view-card").await, 20);
    assert_eq!(browser.count("tr.measure-row").await, 1000);
    // A fresh load of the page (the token stays in the tab), measured from the navigation's start.
    let mut timings = Vec::new();
    let bench = std::env::var_os("CTPD_DASHBOARD_BENCH").is_some();
    for _ in 0..if bench { 7 } else { 2 } {
        // A reload: a new document, a new navigation start.
        browser.wd.refresh().await.expect("the page reloads");
        browser.wait_page("overview").await;
        let ms = browser.wait_until("the overview's timing", "window.ctpdTimings.overviewMs").await;
        timings.push(ms.as_f64().unwrap());
        let phases = browser
            .js(
                "const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/'));
                 const nav = performance.getEntriesByType('navigation')[0];
                 return { scripts: Math.round(nav.domContentLoadedEventEnd), firstApi: Math.round(Math.min(...api.map((e) => e.startTime))),
                          lastApi: Math.round(Math.max(...api.map((e) => e.responseEnd))), calls: api.length,
                          render: Math.round(window.ctpdTimings.overviewRenderMs) };",
                vec![],
            )
            .await;
        eprintln!("overview phases (ms from navigation start): {phases}");
    }
    browser.screenshot("overview-1000").await;
    let api_ms = [api_cold, api_warm].map(|d| d.as_secs_f64() * 1000.0);
    eprintln!(
        "overview of 20 views / 1 000 measurements: page {} ms from navigation start; the API calls alone from \
         the test {} ms",
        timings.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>().join(" / "),
        api_ms.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>().join(" / "),
    );
    if bench {
        let mut sorted = timings.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let api = api_ms[1];
        eprintln!(
            "BENCH overview page median {median:.0} ms; the API calls alone {api:.0} ms; page / API = {:.2}",
            median / api
        );
        assert!(median < 1000.0, "the overview took {timings:?} ms (median {median:.0} ms), over a second");
    }
}
