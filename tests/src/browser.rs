//! A real browser for page tests: Debian's Chromium, headless, driven over the DevTools protocol
//! (one WebSocket, `Runtime.evaluate`). `.ci/run` and `make test` install Chromium when missing
//! (`infra/ensure-chromium.sh`); `CHROMIUM` names another binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Browser {
    child: Child,
    profile: PathBuf,
    page: String,
}

fn binary() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: run infra/ensure-chromium.sh (make test and .ci/run do)",
        path.display()
    );
    path
}

impl Browser {
    /// Starts Chromium on `url` and waits until the page has loaded.
    pub fn open(url: &str) -> Self {
        let profile = std::env::temp_dir().join(format!("im-chromium-{}", ulid::Ulid::generate()));
        let mut child = Command::new(binary())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1280,2400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting chromium: {e}"));
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(ws) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(ws.to_string());
                }
            }
        });
        let browser_ws = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("chromium did not open its DevTools port: {e}"));
        let port = browser_ws
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        let page = loop {
            let list: Value = ureq_get(&format!("http://{port}/json/list"));
            let found = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)));
            if let Some(target) = found {
                break target["webSocketDebuggerUrl"].as_str().expect("ws url").to_string();
            }
            assert!(Instant::now() < deadline, "chromium never opened {url}: {list}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let browser = Self { child, profile, page };
        // The target exists before its navigation ends (its first document is about:blank, and
        // an evaluation there dies with it): ask until our URL's document is complete.
        let ready = format!(
            "location.href.startsWith({}) && document.readyState === 'complete'",
            json!(url)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.evaluate(&ready) != json!(true) {
            assert!(Instant::now() < deadline, "{url} did not load");
            std::thread::sleep(Duration::from_millis(50));
        }
        browser
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub fn evaluate(&self, expression: &str) -> Value {
        let (mut socket, _) =
            tungstenite::connect(self.page.as_str()).unwrap_or_else(|e| panic!("connecting to the page: {e}"));
        let request = json!({
            "id": 1,
            "method": "Runtime.evaluate",
            "params": {"expression": expression, "awaitPromise": true, "returnByValue": true},
        });
        socket
            .send(tungstenite::Message::text(request.to_string()))
            .unwrap_or_else(|e| panic!("{e}"));
        loop {
            let message = socket.read().unwrap_or_else(|e| panic!("reading from the page: {e}"));
            let Ok(text) = message.to_text() else { continue };
            let Ok(answer) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if answer["id"] == 1 {
                if let Some(exception) = answer["result"].get("exceptionDetails") {
                    panic!("the page threw: {exception}");
                }
                return answer["result"]["result"]["value"].clone();
            }
        }
    }
}

/// A blocking GET of a JSON document on loopback (DevTools' HTTP endpoints, which keep the
/// connection open: the body is read to its Content-Length).
fn ureq_get(url: &str) -> Value {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return Value::Null;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return serde_json::from_slice(&data[end + 4..end + 4 + length]).unwrap_or(Value::Null);
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return Value::Null,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
