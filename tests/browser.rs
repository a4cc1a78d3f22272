//! The demo's HTML reports in a real browser: headless Chromium (Debian's `chromium`) opens
//! tco.html and chargeback.html through the DevTools protocol on a pipe, takes a full-page
//! screenshot, and the test fails on any console message or JavaScript error, on any request but
//! the page itself (the reports are self-contained), on a failed load, and on a blank page or
//! chart. The screenshots are kept under the target folder (the path is printed) for a person to
//! look at. Outside CI the test is skipped, with a message, when chromium is not installed; in CI
//! (CI=true) that is a failure. `CHROMIUM` names another binary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::*;

/// What one page load may take, on a build machine busy with other work.
const TIMEOUT: Duration = Duration::from_secs(90);

/// The flags that work here as root with a closed network (no sandbox for root; no background
/// networking, component updates or sync, which would try to reach Google's hosts).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
];

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// The browser's binary, or None (with a message) when it is not installed outside CI.
fn find_chromium() -> Option<String> {
    let bin = chromium_binary();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let found = Command::new(&bin).arg("--version").stdin(Stdio::null()).output();
    match found {
        Ok(o) if o.status.success() => Some(bin),
        other => {
            let why = match other {
                Ok(o) => format!("`{bin} --version` exited with {:?}", o.status.code()),
                Err(e) => format!("`{bin}`: {e}"),
            };
            assert!(!in_ci, "chromium is needed in CI for the browser test ({why}); .ci/run installs it");
            eprintln!(
                "skipped: chromium is not installed here ({why}); `apt-get install -y chromium`, CI runs this test"
            );
            None
        }
    }
}

/// A headless Chromium driven over `--remote-debugging-pipe`: the protocol's fds 3 (commands in)
/// and 4 (replies out) are the child's stdin and stdout, moved there by the shell, so no unsafe
/// code is needed to set them up. Messages are JSON, each ended by a NUL byte.
struct Browser {
    child: Child,
    input: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Browser {
    fn launch(bin: &str, profile: &Path, log: &Path) -> Browser {
        let log = std::fs::File::create(log).unwrap();
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(bin)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let input = child.stdin.take().unwrap();
        let output = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(output);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                if message.last() == Some(&0) {
                    message.pop();
                }
                let Ok(v) = serde_json::from_slice::<Value>(&message) else { break };
                if tx.send(v).is_err() {
                    break;
                }
                message.clear();
            }
        });
        Browser { child, input, replies, next_id: 0, session: None, events: Vec::new() }
    }

    /// Sends a command (to the attached page, once there is one) and waits for its result,
    /// keeping every event that arrives meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.input.write_all(&bytes).unwrap_or_else(|e| panic!("{method}: writing to chromium: {e}"));
        self.input.flush().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let reply = self.next(deadline, method);
            if reply["id"] == json!(id) {
                assert!(reply.get("error").is_none(), "{method}: {}", reply["error"]);
                return reply["result"].clone();
            }
            self.events.push(reply);
        }
    }

    fn next(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.replies
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("chromium: no answer while waiting for {waiting_for} ({e})"))
    }

    /// Waits for an event, keeping it and every other one.
    fn wait_for(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let event = self.next(deadline, method);
            let done = event["method"] == method;
            self.events.push(event);
            if done {
                return;
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page as the browser rendered it.
struct Page {
    url: String,
    /// Every protocol event while the page loaded and rendered.
    events: Vec<Value>,
    /// Each inline SVG: its label and box in page pixels, and its marks with a non-zero box.
    svgs: Vec<Svg>,
    screenshot: Vec<u8>,
}

#[derive(Debug)]
struct Svg {
    label: String,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    marks: u64,
}

/// Opens `file` at 1280 × 4000 CSS pixels, waits for it to load and takes a full-page screenshot.
fn render(bin: &str, file: &Path, work: &Path) -> Page {
    let name = file.file_stem().unwrap().to_string_lossy().into_owned();
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut b = Browser::launch(bin, profile.path(), &work.join(format!("{name}.chromium.log")));
    let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
    let attached = b.call("Target.attachToTarget", json!({ "targetId": target["targetId"].clone(), "flatten": true }));
    b.session = attached["sessionId"].as_str().map(str::to_string);
    for domain in ["Page", "Runtime", "Log", "Network"] {
        b.call(&format!("{domain}.enable"), json!({}));
    }
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 4000, "deviceScaleFactor": 1, "mobile": false }),
    );
    b.events.clear();
    let url = format!("file://{}", file.display());
    let nav = b.call("Page.navigate", json!({ "url": url }));
    assert!(nav.get("errorText").is_none(), "{url}: {}", nav["errorText"]);
    b.wait_for("Page.loadEventFired");
    // Fonts and layout settled, then the charts' geometry as laid out.
    b.call("Runtime.evaluate", json!({ "expression": "document.fonts.ready.then(() => true)", "awaitPromise": true }));
    let svgs =
        b.call("Runtime.evaluate", json!({ "expression": SVG_BOXES, "returnByValue": true, "awaitPromise": false }));
    let svgs: Vec<Svg> = svgs["result"]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("{url}: no SVG list: {svgs}"))
        .iter()
        .map(|s| Svg {
            label: s["label"].as_str().unwrap_or("").to_string(),
            x: s["x"].as_f64().unwrap_or(0.0),
            y: s["y"].as_f64().unwrap_or(0.0),
            width: s["width"].as_f64().unwrap_or(0.0),
            height: s["height"].as_f64().unwrap_or(0.0),
            marks: s["marks"].as_u64().unwrap_or(0),
        })
        .collect();
    // The page's own height (the viewport is 4000 px high; a shorter page would be padded).
    let bottom = b.call(
        "Runtime.evaluate",
        json!({ "expression": "document.body.getBoundingClientRect().bottom + scrollY", "returnByValue": true }),
    );
    let height = bottom["result"]["value"].as_f64().unwrap_or(4000.0).ceil().max(100.0);
    let shot = b.call(
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": { "x": 0, "y": 0, "width": 1280, "height": height, "scale": 1 }
        }),
    );
    let screenshot = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{url}: screenshot: {e}"));
    let _ = b.call("Browser.close", json!({}));
    let events = std::mem::take(&mut b.events);
    Page { url, events, svgs, screenshot }
}

/// Each SVG's box (page coordinates) and its count of shapes drawn with a non-zero box.
const SVG_BOXES: &str = r#"[...document.querySelectorAll("svg")].map(s => {
  const r = s.getBoundingClientRect();
  const marks = [...s.querySelectorAll("rect, path, circle, polyline, polygon")]
    .filter(e => { const b = e.getBBox(); return b.width > 0 && b.height > 0; }).length;
  return { label: s.getAttribute("aria-label") || "", x: r.x + scrollX, y: r.y + scrollY,
           width: r.width, height: r.height, marks };
})"#;

/// What the page said or did that a self-contained, script-free report never should: console
/// output, JavaScript exceptions, log entries (failed loads among them), requests for anything
/// but the page itself or inline data, failed requests.
fn problems(page: &Page) -> Vec<String> {
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    let mut urls = BTreeMap::new();
    let mut out = Vec::new();
    for e in &page.events {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or("") {
            "Runtime.consoleAPICalled" => {
                let args: Vec<String> = p["args"].as_array().into_iter().flatten().map(|a| text(&a["value"])).collect();
                out.push(format!("console.{}: {}", text(&p["type"]), args.join(" ")));
            }
            "Runtime.exceptionThrown" => {
                let details = &p["exceptionDetails"];
                out.push(format!("JavaScript error: {}", text(&details["exception"]["description"])));
            }
            "Log.entryAdded" => {
                let entry = &p["entry"];
                if entry["level"] != "verbose" && entry["level"] != "info" {
                    let (source, level) = (text(&entry["source"]), text(&entry["level"]));
                    out.push(format!("{source} {level}: {} {}", text(&entry["text"]), text(&entry["url"])));
                }
            }
            "Network.requestWillBeSent" => {
                let url = text(&p["request"]["url"]);
                if url != page.url && !url.starts_with("data:") {
                    out.push(format!("request for {url} (the report must be self-contained)"));
                }
                urls.insert(text(&p["requestId"]), url);
            }
            "Network.loadingFailed" => {
                let url = urls.get(&text(&p["requestId"])).cloned().unwrap_or_default();
                out.push(format!("failed load: {url}: {}", text(&p["errorText"])));
            }
            _ => {}
        }
    }
    out
}

/// Each inline `<svg>…</svg>` of an HTML text.
fn inline_svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").map(|e| start + e + 6).unwrap_or(rest.len());
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// The value of attribute `name` in one tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    tag[start..].find('"').map(|end| &tag[start..start + end])
}

/// Whether an SVG's text has a `<rect>` with a positive width and height or a `<path>` with data.
fn has_drawn_shape(svg: &str) -> bool {
    let tags = svg.split('<').skip(1).map(|t| t.split('>').next().unwrap_or(""));
    tags.into_iter().any(|t| {
        let positive = |n| attr(t, n).and_then(|v| v.parse::<f64>().ok()).is_some_and(|v| v > 0.0);
        (t.starts_with("rect ") && positive("width") && positive("height"))
            || (t.starts_with("path ") && attr(t, "d").is_some_and(|d| !d.trim().is_empty()))
    })
}

/// Pixel counts of a screenshot region: how many are not (near) white, how many are coloured
/// (chart fills and lines, not grey text), and the distinct colours among the coloured ones that
/// cover a solid area (at least `solid` pixels each, so anti-aliasing does not count).
#[derive(Debug)]
struct Ink {
    pixels: u64,
    non_white: u64,
    coloured: u64,
    solid_colours: BTreeSet<[u8; 3]>,
}

fn ink(image: &Image, x: f64, y: f64, width: f64, height: f64, solid: u64) -> Ink {
    let (x0, y0) = (x.max(0.0) as usize, y.max(0.0) as usize);
    let x1 = ((x + width).ceil() as usize).min(image.width);
    let y1 = ((y + height).ceil() as usize).min(image.height);
    let mut counts: BTreeMap<[u8; 3], u64> = BTreeMap::new();
    let (mut pixels, mut non_white, mut coloured) = (0, 0, 0);
    for row in y0..y1 {
        for col in x0..x1 {
            let rgb = image.rgb(col, row);
            pixels += 1;
            if rgb.iter().any(|&c| c < 235) {
                non_white += 1;
            }
            let (max, min) = (*rgb.iter().max().unwrap_or(&0), *rgb.iter().min().unwrap_or(&0));
            if max - min > 60 {
                coloured += 1;
                *counts.entry(rgb).or_default() += 1;
            }
        }
    }
    let solid_colours = counts.into_iter().filter(|&(_, n)| n >= solid).map(|(c, _)| c).collect();
    Ink { pixels, non_white, coloured, solid_colours }
}

/// A decoded screenshot, 8-bit RGB or RGBA.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn decode(png_bytes: &[u8]) -> Image {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("screenshot: {e}"));
        let mut data = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader.next_frame(&mut data).unwrap_or_else(|e| panic!("screenshot: {e}"));
        assert_eq!(info.bit_depth, png::BitDepth::Eight, "screenshot bit depth");
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("screenshot colour type {other:?}"),
        };
        data.truncate(info.buffer_size());
        Image { width: info.width as usize, height: info.height as usize, channels, data }
    }

    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * self.channels;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// Where the screenshots are kept for people to look at: the target folder's scratch space.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn browser_renders_the_demo_reports_without_errors_or_blank_charts() {
    let Some(bin) = find_chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(tally(&["run", "pipelines/demo.toml", "--out", &out.to_string_lossy()]));
    let month = "2026-10";
    for (report, charts) in [("tco", 4), ("chargeback", 0)] {
        let file = out.join(format!("reports/{month}/{report}.html"));
        let html = std::fs::read_to_string(&file).unwrap();

        // Every chart in the HTML draws something.
        let svgs = inline_svgs(&html);
        assert_eq!(svgs.len(), charts, "{report}.html: inline SVG charts");
        for svg in &svgs {
            assert!(has_drawn_shape(svg), "{report}.html: a chart with no rect or path of non-zero size: {svg}");
        }

        let page = render(&bin, &file, dir.path());
        let shot = screenshot_dir().join(format!("{report}-{month}.png"));
        std::fs::write(&shot, &page.screenshot).unwrap();
        eprintln!("{report}.html: screenshot {}", shot.display());

        let problems = problems(&page);
        let log = dir.path().join(format!("{report}.chromium.log"));
        assert!(
            problems.is_empty(),
            "{report}.html in chromium:\n  {}\n(browser log: {})",
            problems.join("\n  "),
            std::fs::read_to_string(&log).unwrap_or_default()
        );

        // Not blank: the page as a whole, and each chart where the browser laid it out.
        let image = Image::decode(&page.screenshot);
        assert_eq!(image.width, 1280, "{report}.html: screenshot width");
        assert!(image.height >= 400, "{report}.html: page only {} px high", image.height);
        let all = ink(&image, 0.0, 0.0, image.width as f64, image.height as f64, 200);
        assert!(all.non_white * 100 >= all.pixels * 2, "{report}.html looks blank: {all:?}");
        assert_eq!(page.svgs.len(), charts, "{report}.html: SVGs in the DOM");
        for svg in &page.svgs {
            let what = format!("{report}.html chart {:?}", svg.label);
            assert!(svg.width >= 300.0 && svg.height >= 100.0, "{what}: laid out at {svg:?}");
            assert!(svg.marks >= 3, "{what}: only {} shapes drawn with a non-zero size", svg.marks);
            let area = ink(&image, svg.x, svg.y, svg.width, svg.height, 100);
            assert!(area.non_white * 100 >= area.pixels * 3, "{what} looks blank: {area:?}");
            assert!(area.coloured * 1000 >= area.pixels * 5, "{what}: hardly any coloured pixels: {area:?}");
            assert!(area.solid_colours.len() >= 2, "{what}: fewer than two filled colours: {area:?}");
        }
    }
}

/// The checks above catch what they claim to: a page with a console message, a script error, a
/// missing file, a request to a server (a closed port on loopback, refused at once) and an empty
/// chart.
#[test]
fn browser_checks_flag_errors_requests_and_empty_charts() {
    let Some(bin) = find_chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.html");
    std::fs::write(
        &file,
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>
<h1>A broken report</h1>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 200" width="100%" aria-label="empty"><rect x="0" y="0" width="0" height="20"/></svg>
<img src="missing.png" alt=""><img src="http://127.0.0.1:9/logo.png" alt="">
<script>console.error("a console error"); undefinedFunction();</script>
</body></html>"#,
    )
    .unwrap();
    let html = std::fs::read_to_string(&file).unwrap();
    let svgs = inline_svgs(&html);
    assert_eq!(svgs.len(), 1);
    assert!(!has_drawn_shape(svgs[0]), "a zero-width rect is not a drawn shape");
    assert!(has_drawn_shape(r#"<svg><rect x="1" width="2.5" height="3"/></svg>"#));
    assert!(has_drawn_shape(r#"<svg><path d="M0 0L1 1"/></svg>"#));

    let page = render(&bin, &file, dir.path());
    let found = problems(&page).join("\n");
    for expected in
        ["console.error", "a console error", "JavaScript error", "undefinedFunction", "missing.png", "127.0.0.1:9"]
    {
        assert!(found.contains(expected), "{expected:?} not reported; reported:\n{found}");
    }
    let image = Image::decode(&page.screenshot);
    assert_eq!(page.svgs.len(), 1);
    let svg = &page.svgs[0];
    assert_eq!(svg.marks, 0, "{svg:?}");
    let area = ink(&image, svg.x, svg.y, svg.width, svg.height, 100);
    assert!(area.non_white == 0 && area.solid_colours.is_empty(), "an empty chart is blank: {area:?}");
}
