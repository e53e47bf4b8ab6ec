//! What the draw server's tests share: a trained run, the server on a free loopback port, and
//! a small HTTP/1.1 client.
#![allow(dead_code)] // each test file uses its own share of these

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use data::ImageData;
use learner::{BackendKind, ProgressMode, TrainOptions, TrainingConfig};

/// A run trained with the default config, in `dir/run`.
pub fn trained_run(dir: &Path, mnist: &Path) -> (PathBuf, ImageData) {
    let data = integration_tests::load_mnist(mnist);
    let artifacts = dir.join("run");
    let config = TrainingConfig::default().validate().unwrap();
    let options = TrainOptions::new(&artifacts)
        .with_backend(Some(BackendKind::Flex))
        .with_progress(ProgressMode::Quiet);
    integration_tests::train(&config, &data, &options).unwrap();
    (artifacts, data)
}

/// A run of a zoo model other than the default (`model::CnnConfig`, `model::MlpConfig`),
/// trained briefly (one epoch of 150 steps) in `dir/<kind>`, as `trainer --model` trains it.
pub fn zoo_run(dir: &Path, data: &ImageData, kind: &str) -> PathBuf {
    let artifacts = dir.join(kind);
    let config = TrainingConfig::from_json(&format!(
        r#"{{"model": {{"kind": "{kind}"}}, "epochs": 1, "iterations_per_epoch": 150,
            "optimizer": {{"learning_rate": 0.05}}}}"#
    ))
    .unwrap()
    .validate()
    .unwrap();
    let options = TrainOptions::new(&artifacts)
        .with_backend(Some(BackendKind::Flex))
        .with_progress(ProgressMode::Quiet);
    match kind {
        "cnn" => {
            let network = model::CnnConfig::default();
            learner::train_model(
                |device: &_, shape: &_| network.init(device, shape),
                &config,
                data,
                &options,
            )
            .map(drop)
        }
        _ => {
            let network = model::MlpConfig::default();
            learner::train_model(
                |device: &_, shape: &_| network.init(device, shape),
                &config,
                data,
                &options,
            )
            .map(drop)
        }
    }
    .unwrap();
    artifacts
}

/// The server, killed when dropped.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `draw --artifacts ARTIFACTS --port 0 EXTRA` and reads the address it prints.
    pub fn start(artifacts: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_draw"))
            .arg("--artifacts")
            .arg(artifacts)
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.trim().strip_suffix('/'))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Server { child, address }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends `signal` (`-TERM`, `-INT`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the server to exit; its exit code, `None` if it did not.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// One request: the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before reading a large body; a reset is then fine.
        let _ = stream.write_all(body);
        read_response(&mut stream)
    }

    /// `POST /api/predict` with a PNG.
    pub fn predict(&self, png: &[u8]) -> (u16, serde_json::Value) {
        let (status, body) = self.request(
            "POST",
            "/api/predict",
            &[("Content-Type", "image/png")],
            png,
        );
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Reads an HTTP/1.1 response to its end: status and body.
pub fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text_end = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..text_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    let mut body = bytes[text_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&bytes[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[end + 2 + size + 2..];
    }
}

/// A grey picture as PNG bytes, each pixel `scale` times wider and taller.
pub fn png(pixels: &[u8], side: u32, scale: u32) -> Vec<u8> {
    let image = image::GrayImage::from_fn(side * scale, side * scale, |x, y| {
        image::Luma([pixels[((y / scale) * side + x / scale) as usize]])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
