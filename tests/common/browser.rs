//! A headless Chromium driven through chromedriver (W3C WebDriver, with
//! `fantoccini`), for the console's browser tests, and axe-core run in the
//! same session to check each page's accessibility.
//!
//! Needs chromedriver and Chromium (Debian: `chromium chromium-driver`) and
//! axe-core (`npm ci` in tests/browser). Where one is missing the tests are
//! skipped with a message past libtest's capture, unless `CI=true` or
//! `SCIMD_REQUIRE_BROWSER` is set, where that is a failure.
//! `SCIMD_CHROMEDRIVER`, `SCIMD_CHROMIUM` and `SCIMD_AXE_JS` name other
//! copies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::Backend;
use crate::common::process::free_port;

/// What the browser tests need from the machine.
pub struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
    axe: String,
}

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("SCIMD_REQUIRE_BROWSER").is_some()
}

/// The first of `names` on PATH (or the path `variable` names).
fn executable(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// chromedriver, Chromium and axe-core, or `None` (said once, loudly) when
/// one is missing and the run does not require them.
pub fn tools() -> Option<&'static Tools> {
    static TOOLS: OnceLock<Option<Tools>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let chromedriver = executable("SCIMD_CHROMEDRIVER", &["chromedriver"]);
            let chromium = executable(
                "SCIMD_CHROMIUM",
                &["chromium", "chromium-browser", "google-chrome"],
            );
            let axe_path = std::env::var_os("SCIMD_AXE_JS")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/browser/node_modules/axe-core/axe.min.js")
                });
            let axe = std::fs::read_to_string(&axe_path).ok();
            let mut missing = Vec::new();
            if chromedriver.is_none() {
                missing.push("chromedriver (Debian: apt-get install chromium-driver)".to_owned());
            }
            if chromium.is_none() {
                missing.push("Chromium (Debian: apt-get install chromium)".to_owned());
            }
            if axe.is_none() {
                missing.push(format!(
                    "axe-core at {} (cd tests/browser && npm ci)",
                    axe_path.display()
                ));
            }
            if !missing.is_empty() {
                let what = missing.join("; ");
                assert!(
                    !required(),
                    "the console's browser tests are required here (CI=true or \
                     SCIMD_REQUIRE_BROWSER) but these are missing: {what}"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** console browser tests SKIPPED: missing {what} ***\n"
                );
                return None;
            }
            Some(Tools {
                chromedriver: chromedriver.unwrap(),
                chromium: chromium.unwrap(),
                axe: axe.unwrap(),
            })
        })
        .as_ref()
}

/// The backend's name, as the screenshots' folder.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// One chromedriver and its headless Chromium, with a profile of its own,
/// pointed at a console.
pub struct Browser {
    pub client: Client,
    /// The console's origin, `http://127.0.0.1:PORT`.
    pub base: String,
    pub backend: Backend,
    driver: Child,
    /// Serious and critical accessibility violations found so far.
    violations: Mutex<Vec<String>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` when the tools are missing (and not required). With `dark`,
    /// Chromium prefers a dark colour scheme (the console's stylesheet
    /// follows it).
    pub async fn start(base: &str, backend: Backend, dark: bool) -> Option<Browser> {
        let tools = tools()?;
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log")).unwrap();
        let mut command = Command::new(&tools.chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // Its own process group, so Drop ends Chromium with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut driver = command.spawn().unwrap();
        let webdriver = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(answer) = probe.get(format!("{webdriver}/status")).send().await
                && answer.status() == 200
            {
                break;
            }
            if let Some(status) = driver.try_wait().unwrap() {
                panic!("chromedriver exited ({status}) before it was ready");
            }
            assert!(Instant::now() < deadline, "chromedriver not ready in 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let user_data = profile.path().join("chromium");
        let mut capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1000",
                    "--force-color-profile=srgb",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", user_data.display()),
                ],
            },
        });
        if dark {
            capabilities["goog:chromeOptions"]["args"]
                .as_array_mut()
                .unwrap()
                .push("--force-dark-mode".into());
        }
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                panic!("no WebDriver session: {e}\nchromedriver's log:\n{log}")
            });
        Some(Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            backend,
            driver,
            violations: Mutex::new(Vec::new()),
            _profile: profile,
        })
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The current page's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    /// The page's visible text.
    pub async fn body(&self) -> String {
        self.text("body").await
    }

    pub async fn h1(&self) -> String {
        self.text("h1").await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks `css` and waits until the page it leads to has loaded (a
    /// marker set on the old document is gone).
    pub async fn click_and_wait(&self, css: &str) {
        self.client
            .execute("window.__scimdOldPage = true;", vec![])
            .await
            .unwrap();
        self.find(css).await.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self
                .client
                .execute(
                    "return window.__scimdOldPage === true ? 'old' : document.readyState;",
                    vec![],
                )
                .await;
            if let Ok(Value::String(state)) = state
                && state == "complete"
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} led to no new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn sign_in(&self, name: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#name", name).await;
        self.fill("#password", password).await;
        self.click_and_wait("main form button[type=submit]").await;
    }

    /// The `Cookie` header the browser sends the console.
    pub async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Saves the viewport as `target/console-screenshots/<backend>/<scenario>.png`
    /// and returns the PNG.
    pub async fn screenshot(&self, scenario: &str) -> Vec<u8> {
        let png = self.client.screenshot().await.unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("console-screenshots")
            .join(backend_name(self.backend));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{scenario}.png")), &png).unwrap();
        png
    }

    /// Saves a screenshot of the page at `path`, as tall as the page (up
    /// to `max_height` CSS pixels), not just the window.
    pub async fn full_page_screenshot(&self, path: &Path, max_height: u64) {
        let sizes = self
            .client
            .execute(
                "return [Math.ceil(document.documentElement.scrollHeight), window.innerHeight];",
                vec![],
            )
            .await
            .unwrap();
        let page = sizes[0].as_u64().unwrap_or(1000).min(max_height);
        let inner = sizes[1].as_u64().unwrap_or(1000);
        let (width, outer) = self.client.get_window_size().await.unwrap();
        // The window's size counts what is not the page too.
        let height = page + outer.saturating_sub(inner);
        let (width, outer) = (u32::try_from(width).unwrap(), u32::try_from(outer).unwrap());
        self.client
            .set_window_size(width, u32::try_from(height).unwrap())
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        self.client.set_window_size(width, outer).await.unwrap();
    }

    /// Runs axe-core on the current page; records its serious and critical
    /// violations (see `assert_accessible`) and prints them.
    pub async fn axe(&self, page: &str) {
        let found = self.axe_violations(page).await;
        for line in &found {
            let _ = writeln!(std::io::stderr(), "axe: {line}");
        }
        self.violations.lock().unwrap().extend(found);
    }

    /// axe-core's serious and critical violations on the current page, one
    /// line each (then its elements).
    pub async fn axe_violations(&self, page: &str) -> Vec<String> {
        let tools = tools().unwrap();
        let loaded = self
            .client
            .execute("return typeof window.axe !== 'undefined';", vec![])
            .await
            .unwrap();
        if loaded != Value::Bool(true) {
            self.client.execute(&tools.axe, vec![]).await.unwrap();
        }
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { resultTypes: ["violations"] })
                      .then(r => done(JSON.stringify(r.violations)))
                      .catch(e => done(JSON.stringify({ error: String(e) })));"#,
                vec![],
            )
            .await
            .unwrap();
        let parsed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
        assert!(parsed.get("error").is_none(), "axe on {page}: {parsed}");
        let mut found = Vec::new();
        for violation in parsed.as_array().unwrap() {
            let impact = violation["impact"].as_str().unwrap_or("");
            if !matches!(impact, "serious" | "critical") {
                continue;
            }
            let nodes: Vec<String> = violation["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    format!(
                        "      {} — {}",
                        n["target"],
                        n["failureSummary"]
                            .as_str()
                            .unwrap_or("")
                            .replace('\n', " ")
                    )
                })
                .collect();
            found.push(format!(
                "{page} [{}]: {impact} {}: {}\n{}",
                backend_name(self.backend),
                violation["id"].as_str().unwrap_or(""),
                violation["help"].as_str().unwrap_or(""),
                nodes.join("\n")
            ));
        }
        found
    }

    /// Fails with every serious or critical violation `axe` found.
    pub fn assert_accessible(&self) {
        let violations = self.violations.lock().unwrap();
        assert!(
            violations.is_empty(),
            "{} serious or critical accessibility violations:\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    /// Ends the WebDriver session (Drop ends chromedriver).
    pub async fn close(self) {
        self.assert_accessible();
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// chromedriver and the Chromium it started, by their process group.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
