//! Running the real `diameter-peer` binary as separate processes, each under
//! `timeout`, stopped by PID.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_diameter-peer");

/// The example files.
pub fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// A fresh directory for a test's files, under Cargo's scratch directory for
/// integration tests (`target/tmp`), not in `/tmp`.
pub fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "diameter-peer-it-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a file in a fresh directory; returns its path.
pub fn write_file(name: &str, text: &str) -> PathBuf {
    let p = temp_dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Identity options of a peer.
pub fn identity(host: &str, realm: &str) -> Vec<String> {
    vec![
        "--origin-host".into(),
        host.into(),
        "--origin-realm".into(),
        realm.into(),
    ]
}

/// A background process (server, agent) whose stdout and stderr are collected.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    pub addr: String,
}

impl Running {
    /// Starts `diameter-peer ARGS` under `timeout SECS` and waits for
    /// `listening on ADDR` on stdout.
    pub fn start(secs: u32, args: &[String]) -> Running {
        let mut child = Command::new("timeout")
            .arg(secs.to_string())
            .arg(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn timeout diameter-peer");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = line.strip_prefix("listening on ")
                    && let Some(t) = tx.take()
                {
                    let _ = t.send(a.trim().to_string());
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut err = child.stderr.take().unwrap();
        let esink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                esink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no `listening on` line; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        Running {
            child,
            stdout,
            stderr,
            addr,
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the process to exit by itself (at most `limit`); its status code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// stdout once it contains every one of `needles` (or after 10 s): the
    /// reader thread may lag behind the process.
    pub fn stdout_with(&self, needles: &[&str]) -> String {
        wait_text(|| self.stdout(), needles)
    }

    /// stderr once it contains every one of `needles` (or after 10 s).
    pub fn stderr_with(&self, needles: &[&str]) -> String {
        wait_text(|| self.stderr(), needles)
    }

    /// Waits until stdout contains `needle` (at most `limit`).
    pub fn wait_stdout(&self, needle: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.stdout().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM to `timeout`, which passes it on to diameter-peer.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_text(get: impl Fn() -> String, needles: &[&str]) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let t = get();
        if needles.iter().all(|n| t.contains(n)) || Instant::now() >= end {
            return t;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `diameter-peer ARGS` to completion under `timeout SECS`, in `dir` if given.
pub fn run(secs: u32, args: &[String], dir: Option<&Path>) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg(secs.to_string()).arg(BIN).args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.output().expect("run timeout diameter-peer")
}

/// Text of an output stream.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Builds an argument list from string slices.
pub fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}
