//! `sessionstat serve` (SPEC 12) started on an ephemeral loopback port and
//! driven over real HTTP: every answer is compared with the bytes the CLI
//! prints for the same request.

use crate::util::{sessionstat, Dir};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "xJ)tsCNcpj)l+]}(@_|lt!t-test-key";

/// A running server and what it wrote on stderr.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `sessionstat serve ARGS --listen 127.0.0.1:0` and waits for
    /// the line that names its address.
    fn start(args: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", args).expect("the server starts")
    }

    fn start_on(listen: &str, args: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(assert_cmd::cargo_bin!("sessionstat"))
            .arg("serve")
            .args(args)
            .args(["--listen", listen])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("://") {
                    if line.contains("serving") {
                        let rest = &line[at + 3..];
                        let end = rest.find(',').unwrap_or(rest.len());
                        let scheme = &line[..at];
                        let scheme = &scheme[scheme.rfind(' ').map_or(0, |i| i + 1)..];
                        let _ = tx.send(format!("{scheme}://{}", &rest[..end]));
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Ok(Server { child, base, log }),
            Err(_) => {
                let status = child.wait().ok();
                Err(format!("{status:?}: {}", log.lock().unwrap().join("\n")))
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill only sends a signal to the child process.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until the log has a line containing `text`.
    fn wait_for(&self, text: &str) {
        let until = Instant::now() + Duration::from_secs(60);
        while !self.log().contains(text) {
            assert!(
                Instant::now() < until,
                "no {text:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// (status, body) of a request; `key` goes in the ApiKey header.
fn call(a: &ureq::Agent, method: &str, url: &str, key: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(k) = key {
        req = req.header("ApiKey", k);
    }
    let req = req.body(body.to_vec()).unwrap();
    let mut resp = a.run(req).expect("an answer");
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_string()
        .unwrap();
    (status, text)
}

/// A generated log across Berlin's spring DST change, as CSV.
fn log(d: &Dir, name: &str, seed: &str) -> String {
    let p = d.path(name).display().to_string();
    sessionstat(&[
        "generate",
        "-q",
        "-o",
        &p,
        "--seed",
        seed,
        "--users",
        "12",
        "--days",
        "3",
        "--start-date",
        "2021-03-27",
        "--tz",
        "Europe/Berlin",
        "--apps",
    ])
    .ok();
    p
}

fn keys(d: &Dir) -> String {
    d.write("keys.txt", format!("other-key\n{KEY}\n\n"))
}

const INPUT: [&str; 4] = ["--tz", "Europe/Berlin", "--idle-after", "10m"];

fn cli(log: &str, args: &[&str]) -> String {
    let mut all = vec![args[0], "-i", log];
    all.extend_from_slice(&INPUT);
    all.extend_from_slice(&args[1..]);
    sessionstat(&all).ok()
}

#[test]
fn every_endpoint_answers_with_the_clis_bytes() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "4");
    let keys = keys(&d);
    let mut args = vec!["-i", &log, "--api-key-file", &keys];
    args.extend_from_slice(&INPUT);
    let s = Server::start(&args);
    let a = agent();
    let post = |body: &str| {
        call(
            &a,
            "POST",
            &s.url("/ekranapi/sessions"),
            Some(KEY),
            body.as_bytes(),
        )
    };
    // Pages of Sessions (Post), against --request with the same body.
    for body in [
        r#"{}"#,
        r#"{"sessionCount":7,"pageIndex":2}"#,
        r#"{"start":"2021-03-28T01:30","end":"2021-03-28T12:00:00+02:00","sessionCount":5}"#,
        r#"{"start":"2021-03-28","sessionCount":1000,"pageIndex":0}"#,
        r#"{"start":"2021-03-27T10:00:00Z","sessionCount":0}"#,
        r#"{"end":"2021-03-28T03:00:00.5+02:00","pageIndex":40}"#,
    ] {
        let file = d.write("req.json", body);
        assert_eq!(
            post(body),
            (200, cli(&log, &["sessions", "--request", &file])),
            "{body}"
        );
    }
    // An empty body asks for the defaults, as {} does.
    assert_eq!(post(""), (200, cli(&log, &["sessions"])));
    // Sessions (Get) and User Productivity, windows as query parameters.
    for (query, flags) in [
        ("", vec![]),
        (
            "?start=2021-03-28T01:30&end=2021-03-28T12:00",
            vec!["--start", "2021-03-28T01:30", "--end", "2021-03-28T12:00"],
        ),
        (
            "?start=2021-03-28T03%3A10%3A00%2B02%3A00",
            vec!["--start", "2021-03-28T03:10:00+02:00"],
        ),
        ("?start=&end=2021-03-28", vec!["--end", "2021-03-28"]),
    ] {
        let mut get = vec!["sessions", "--get"];
        get.extend_from_slice(&flags);
        let url = s.url(&format!("/ekranapi/sessions{query}"));
        assert_eq!(
            call(&a, "GET", &url, Some(KEY), b""),
            (200, cli(&log, &get)),
            "{query}"
        );
        for (cmd, path) in [
            ("productivity", "/ekranapi/user/getproductivity"),
            ("apps", "/ekranapi/statistics/getapp"),
            ("urls", "/ekranapi/statistics/geturl"),
        ] {
            let mut args = vec![cmd];
            args.extend_from_slice(&flags);
            let url = s.url(&format!("{path}{query}"));
            let want = cli(&log, &args);
            assert!(want.len() > 2, "{cmd} {query}: {want}");
            assert_eq!(
                call(&a, "GET", &url, Some(KEY), b""),
                (200, want),
                "{cmd} {query}"
            );
        }
    }
}

#[test]
fn every_status_is_json_and_the_key_is_never_logged() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "5");
    let keys = keys(&d);
    let s = Server::start(&["-i", &log, "--api-key-file", &keys]);
    let a = agent();
    let sessions = s.url("/ekranapi/sessions");
    let status = |method: &str, url: &str, key: Option<&str>, body: &[u8]| {
        let (code, text) = call(&a, method, url, key, body);
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        if code != 200 {
            assert_eq!(v["status"], code, "{text}");
            assert!(v["error"].is_string(), "{text}");
        }
        (code, text)
    };
    // 401 first, whatever the path, method or body.
    assert_eq!(status("POST", &sessions, None, b"{}").0, 401);
    assert_eq!(
        status(
            "POST",
            &sessions,
            Some("xJ)tsCNcpj)l+]}(@_|lt!t-test-kez"),
            b"{}"
        )
        .0,
        401
    );
    assert_eq!(
        status("POST", &sessions, Some(&KEY[..KEY.len() - 1]), b"{}").0,
        401
    );
    assert_eq!(status("GET", &s.url("/nowhere"), None, b"").0, 401);
    assert_eq!(status("DELETE", &sessions, Some("wrong"), b"").0, 401);
    // Both keys of the file are accepted.
    assert_eq!(status("POST", &sessions, Some("other-key"), b"{}").0, 200);
    // 404 and 405.
    let (code, text) = status("GET", &s.url("/ekranapi/alerts"), Some(KEY), b"");
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("/ekranapi/alerts"), "{text}");
    assert_eq!(status("DELETE", &sessions, Some(KEY), b"").0, 405);
    assert_eq!(
        status(
            "POST",
            &s.url("/ekranapi/user/getproductivity"),
            Some(KEY),
            b""
        )
        .0,
        405
    );
    // 400 naming the field.
    for (method, url, body, field) in [
        (
            "POST",
            sessions.clone(),
            r#"{"sessionCount":5000}"#,
            "sessionCount",
        ),
        ("POST", sessions.clone(), r#"{"pageIndex":-1}"#, "pageIndex"),
        (
            "POST",
            sessions.clone(),
            r#"{"start":"2021-13-01"}"#,
            "start",
        ),
        (
            "POST",
            sessions.clone(),
            r#"{"sessionCount":"ten"}"#,
            "sessionCount",
        ),
        (
            "POST",
            sessions.clone(),
            r#"{"start":"2021-03-02","end":"2021-03-01"}"#,
            "start",
        ),
        ("POST", sessions.clone(), r#"{"color":"red"}"#, "color"),
        ("POST", sessions.clone(), r#"{"start":"#, "request body"),
        ("GET", format!("{sessions}?start=yesterday"), "", "start"),
        (
            "GET",
            format!("{sessions}?sessionCount=5"),
            "",
            "sessionCount",
        ),
        ("GET", format!("{sessions}?limit=5"), "", "limit"),
        (
            "GET",
            s.url("/ekranapi/user/getproductivity?pageIndex=1"),
            "",
            "pageIndex",
        ),
        (
            "GET",
            s.url("/ekranapi/statistics/getapp?sessionCount=5"),
            "",
            "sessionCount",
        ),
        (
            "GET",
            s.url("/ekranapi/statistics/geturl?start=2021-13-40"),
            "",
            "start",
        ),
    ] {
        let (code, text) = status(method, &url, Some(KEY), body.as_bytes());
        assert_eq!(code, 400, "{method} {url} {body}: {text}");
        assert!(text.contains(field), "{method} {url} {body}: {text}");
    }
    // 413 for a body over 64 KiB, seen by the client; the server goes on.
    let big = format!(
        r#"{{"start":"2021-03-28","x":"{}"}}"#,
        "a".repeat(100 * 1024)
    );
    assert_eq!(status("POST", &sessions, Some(KEY), big.as_bytes()).0, 413);
    let huge = vec![b' '; 3 << 20];
    let mut sock = std::net::TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        sock,
        "POST /ekranapi/sessions HTTP/1.1\r\nHost: x\r\nApiKey: {KEY}\r\nContent-Length: {}\r\n\r\n",
        huge.len()
    )
    .unwrap();
    let _ = sock.write_all(&huge);
    let mut head = [0u8; 12];
    sock.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    assert_eq!(status("POST", &sessions, Some(KEY), b"{}").0, 200);
    // Request lines: method, path, status; never a key.
    s.wait_for("POST /ekranapi/sessions 413");
    let logged = s.log();
    assert!(logged.contains("POST /ekranapi/sessions 401"), "{logged}");
    assert!(logged.contains("GET /ekranapi/alerts 404"), "{logged}");
    assert!(
        !logged.contains(KEY) && !logged.contains("other-key") && !logged.contains("wrong"),
        "{logged}"
    );
}

#[test]
fn without_a_key_file_only_loopback() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "6");
    // Refused at start on any other address, before loading.
    let err = sessionstat(&["serve", "-i", &log, "--listen", "0.0.0.0:0"]).fails(2);
    assert!(
        err.contains("--api-key-file") && err.contains("0.0.0.0:0"),
        "{err}"
    );
    // On loopback it answers without a key.
    let s = Server::start(&["-i", &log]);
    let (code, body) = call(&agent(), "GET", &s.url("/ekranapi/sessions"), None, b"");
    assert_eq!(code, 200);
    assert_eq!(body, sessionstat(&["sessions", "--get", "-i", &log]).ok());
    // An empty key file is an error, not a server that lets nobody in.
    let empty = d.write("empty.txt", "\n\n");
    let err = sessionstat(&["serve", "-i", &log, "--api-key-file", &empty]).fails(2);
    assert!(err.contains("no key"), "{err}");
}

#[test]
fn sigterm_stops_cleanly() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "7");
    let mut s = Server::start(&["-i", &log, "-q"]);
    assert_eq!(
        call(&agent(), "POST", &s.url("/ekranapi/sessions"), None, b"{}").0,
        200
    );
    s.signal(libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < until, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}: {}", s.log());
    s.wait_for("stopped");
}

#[test]
fn a_reload_swaps_whole_snapshots_under_load() {
    let d = Dir::new();
    let old_log = log(&d, "a.csv", "8");
    let new_log = log(&d, "b.csv", "9");
    let live = d.path("live.csv").display().to_string();
    std::fs::copy(&old_log, &live).unwrap();
    let old = sessionstat(&["sessions", "--get", "-i", &old_log]).ok();
    let new = sessionstat(&["sessions", "--get", "-i", &new_log]).ok();
    assert_ne!(old, new);
    let s = Arc::new(Server::start(&["-i", &live, "-q"]));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (s, stop, old, new) = (s.clone(), stop.clone(), old.clone(), new.clone());
            std::thread::spawn(move || {
                let a = agent();
                let (mut olds, mut news) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (code, body) = call(&a, "GET", &s.url("/ekranapi/sessions"), None, b"");
                    assert_eq!(code, 200);
                    if body == old {
                        olds += 1;
                    } else {
                        assert_eq!(body, new, "neither snapshot");
                        news += 1;
                    }
                }
                (olds, news)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // The new log arrives whole (a rename), then SIGHUP.
    let tmp = d.path("live.csv.tmp");
    std::fs::copy(&new_log, &tmp).unwrap();
    std::fs::rename(&tmp, &live).unwrap();
    s.signal(libc::SIGHUP);
    s.wait_for("reloaded");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let counts: Vec<(u32, u32)> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        counts.iter().any(|c| c.0 > 0) && counts.iter().all(|c| c.1 > 0),
        "{counts:?}"
    );
    // A reload that fails keeps the snapshot and says why.
    std::fs::write(&live, "session_id,user_id\n1,x\n").unwrap();
    s.signal(libc::SIGHUP);
    s.wait_for("reload failed");
    assert_eq!(
        call(&agent(), "GET", &s.url("/ekranapi/sessions"), None, b"").1,
        new
    );
}

#[test]
fn watch_reloads_when_an_input_changes() {
    let d = Dir::new();
    let old_log = log(&d, "a.csv", "10");
    let new_log = log(&d, "b.csv", "11");
    let live = d.path("live.csv").display().to_string();
    std::fs::copy(&old_log, &live).unwrap();
    let s = Server::start(&["-i", &live, "-q", "--watch"]);
    let a = agent();
    let url = s.url("/ekranapi/user/getproductivity");
    assert_eq!(
        call(&a, "GET", &url, None, b"").1,
        sessionstat(&["productivity", "-i", &old_log]).ok()
    );
    let tmp = d.path("live.csv.tmp");
    std::fs::copy(&new_log, &tmp).unwrap();
    std::fs::rename(&tmp, &live).unwrap();
    s.wait_for("reloaded");
    assert_eq!(
        call(&a, "GET", &url, None, b"").1,
        sessionstat(&["productivity", "-i", &new_log]).ok()
    );
}

#[test]
fn eight_clients_of_five_hundred_requests_all_correct() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "12");
    let keys = keys(&d);
    let s = Arc::new(Server::start(&["-i", &log, "--api-key-file", &keys, "-q"]));
    // The expected pages, from the CLI.
    let bodies: Vec<String> = (0..10)
        .map(|p| {
            format!(
                r#"{{"start":"2021-03-28T0{}:00:00Z","sessionCount":3,"pageIndex":{p}}}"#,
                p % 4
            )
        })
        .collect();
    let want: Arc<Vec<String>> = Arc::new(
        bodies
            .iter()
            .map(|b| {
                let file = d.write("req.json", b);
                sessionstat(&["sessions", "-i", &log, "--request", &file]).ok()
            })
            .collect(),
    );
    let bodies = Arc::new(bodies);
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (s, bodies, want) = (s.clone(), bodies.clone(), want.clone());
            std::thread::spawn(move || {
                let a = agent();
                for i in 0..500 {
                    let k = (c * 7 + i) % bodies.len();
                    let got = call(
                        &a,
                        "POST",
                        &s.url("/ekranapi/sessions"),
                        Some(KEY),
                        bodies[k].as_bytes(),
                    );
                    assert_eq!(got, (200, want[k].clone()), "client {c} request {i}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

#[test]
fn https_with_a_certificate() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "13");
    let keys = keys(&d);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = d.write("cert.pem", cert.cert.pem());
    let key_pem = d.write("key.pem", cert.signing_key.serialize_pem());
    let s = Server::start(&[
        "-i",
        &log,
        "--api-key-file",
        &keys,
        "--tls-cert",
        &cert_pem,
        "--tls-key",
        &key_pem,
    ]);
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let roots = vec![ureq::tls::Certificate::from_der(cert.cert.der()).to_owned()];
    let a: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                .build(),
        )
        .build()
        .into();
    let url = s.base.replace("127.0.0.1", "localhost") + "/ekranapi/sessions";
    let (code, body) = call(&a, "POST", &url, Some(KEY), b"{}");
    assert_eq!(
        (code, body),
        (200, sessionstat(&["sessions", "-i", &log]).ok())
    );
    // Plain HTTP to the HTTPS port gets no answer as HTTP.
    let plain = url.replace("https://", "http://");
    assert!(agent().post(&plain).send_empty().is_err());
    // A key file and certificate that do not go together are refused at start.
    let err = sessionstat(&[
        "serve",
        "-i",
        &log,
        "--tls-cert",
        &key_pem,
        "--tls-key",
        &cert_pem,
        "--listen",
        "127.0.0.1:0",
    ])
    .fails(2);
    assert!(err.contains("--tls-cert"), "{err}");
}

#[test]
fn a_stalled_client_is_cut_off() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "14");
    let s = Server::start(&["-i", &log, "-q"]);
    let addr = s.base.trim_start_matches("http://").to_string();
    // Silent from the start, and silent inside a request head: both closed
    // after 10 s, while the server goes on answering others.
    let silent = std::net::TcpStream::connect(&addr).unwrap();
    let mut partial = std::net::TcpStream::connect(&addr).unwrap();
    partial
        .write_all(b"GET /ekranapi/sessions HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let began = Instant::now();
    assert_eq!(
        call(&agent(), "GET", &s.url("/ekranapi/sessions"), None, b"").0,
        200
    );
    for mut sock in [silent, partial] {
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut buf = [0u8; 64];
        // closed: end of stream (or a reset), not a timeout of ours
        match sock.read(&mut buf) {
            Ok(n) => assert!(
                n == 0 || buf.starts_with(b"HTTP/1.1 408"),
                "{:?}",
                &buf[..n]
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    let waited = began.elapsed();
    assert!(waited < Duration::from_secs(25), "{waited:?}");
}

#[test]
fn a_key_file_saved_with_a_byte_order_mark_keeps_its_first_key() {
    let d = Dir::new();
    let log = log(&d, "log.csv", "4");
    let keys = d.write("keys.txt", format!("\u{feff}{KEY}\r\nsecond-key\r\n"));
    let s = Server::start(&["-i", &log, "--api-key-file", &keys, "-q"]);
    let a = agent();
    let url = s.url("/ekranapi/sessions");
    assert_eq!(call(&a, "GET", &url, Some(KEY), b"").0, 200);
    assert_eq!(call(&a, "GET", &url, Some("second-key"), b"").0, 200);
    assert_eq!(call(&a, "GET", &url, Some("third-key"), b"").0, 401);
}

#[test]
fn a_sighup_during_the_first_load_loads_again_once_serving() {
    let d = Dir::new();
    let big = d.path("big.csv").display().to_string();
    sessionstat(&["generate", "--out", &big, "--events", "3000000", "--quiet"]).ok();
    let mut child = Command::new(assert_cmd::cargo_bin!("sessionstat"))
        .args(["serve", "-i", &big, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill only sends a signal to the child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGHUP);
    }
    let sent_while_loading = !log.lock().unwrap().contains("serving");
    let until = Instant::now() + Duration::from_secs(120);
    while !log.lock().unwrap().contains("reloaded") {
        let alive = child.try_wait().unwrap().is_none();
        assert!(alive && Instant::now() < until, "{}", log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = log.lock().unwrap().clone();
    assert!(
        sent_while_loading,
        "the load ended before the signal: make the log bigger\n{text}"
    );
    let serving = text.find("serving").expect("served");
    assert!(
        text.find("reloading after SIGHUP")
            .is_some_and(|r| r > serving),
        "{text}"
    );
}

#[test]
fn watch_tells_a_deleted_input_and_keeps_serving() {
    let d = Dir::new();
    let old_log = log(&d, "a.csv", "12");
    let live = d.path("live.csv").display().to_string();
    std::fs::copy(&old_log, &live).unwrap();
    let s = Server::start(&["-i", &live, "-q", "--watch"]);
    let a = agent();
    let url = s.url("/ekranapi/sessions");
    let before = call(&a, "GET", &url, None, b"").1;
    std::fs::remove_file(&live).unwrap();
    s.wait_for("reload failed");
    assert!(s.log().contains("live.csv"), "{}", s.log());
    assert_eq!(call(&a, "GET", &url, None, b""), (200, before.clone()));
    // Told once, not every time it looks.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(s.log().matches("reload failed").count(), 1, "{}", s.log());
    std::fs::copy(&old_log, &live).unwrap();
    s.wait_for("reloaded");
    assert_eq!(call(&a, "GET", &url, None, b""), (200, before));
}
