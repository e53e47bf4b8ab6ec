//! The draw server over HTTP on a free loopback port: real MNIST test digits come back with
//! their class; every bad request gets its 4xx; the server keeps serving through them.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, png, read_response, trained_run};
use integration_tests::mnist_dir;

#[test]
fn the_api_classifies_mnist_digits_and_refuses_bad_requests() {
    let Some(mnist) = mnist_dir("the_api_classifies_mnist_digits") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, data) = trained_run(dir.path(), &mnist);
    let mut server = Server::start(&artifacts, &["--timeout", "2"]);

    let (status, body) = server.request("GET", "/api/model", &[], b"");
    assert_eq!(status, 200);
    let model: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(model["dataset"], "mnist");
    assert_eq!(model["head"], "softmax");
    assert_eq!(model["class_names"].as_array().unwrap().len(), 10);
    assert!(model["test_accuracy"].as_f64().unwrap() > 0.9);
    let (status, page) = server.request("GET", "/", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<canvas id=\"pad\""));

    // 200 MNIST test digits, enlarged to 112x112 PNGs, as a drawing would be sent.
    let count = 200;
    let mut correct = 0;
    for index in 0..count {
        let (status, answer) = server.predict(&png(data.test.image(index), 28, 4));
        assert_eq!(status, 200, "{answer}");
        let probabilities = answer["probabilities"].as_array().unwrap();
        assert_eq!(probabilities.len(), 10);
        let sum: f64 = probabilities.iter().map(|p| p.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-3, "{sum}");
        assert_eq!(answer["input"].as_array().unwrap().len(), 784);
        if answer["class"].as_u64() == Some(u64::from(data.test.label(index))) {
            correct += 1;
        }
    }
    eprintln!("{correct} of {count} MNIST test digits classified right over HTTP");
    assert!(correct * 100 >= count * 90, "{correct} of {count} right");

    let bad_requests = bad_requests();
    for (what, content_type, body, expected) in &bad_requests {
        let (status, answer) = server.request(
            "POST",
            "/api/predict",
            &[("Content-Type", content_type)],
            body,
        );
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        assert_eq!(status, *expected, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {answer}"
        );
    }

    // A client that sends its head and then its body too slowly: others are served meanwhile,
    // and it gets 408.
    let mut slow = TcpStream::connect(&server.address).unwrap();
    write!(
        slow,
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n\u{89}PNG"
    )
    .unwrap();
    let started = Instant::now();
    let (status, _) = server.predict(&png(data.test.image(0), 28, 1));
    assert_eq!(status, 200, "served while a slow client waits");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (status, _) = read_response(&mut slow);
    assert_eq!(status, 408);
    assert!(started.elapsed() < Duration::from_secs(20));

    assert!(server.alive(), "the server is still up");
    let (status, answer) = server.predict(&png(data.test.image(1), 28, 2));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["class"].as_u64(),
        Some(u64::from(data.test.label(1)))
    );
}

/// What a hostile client sends, and the status each must get.
fn bad_requests() -> Vec<(&'static str, &'static str, Vec<u8>, u16)> {
    let blank = png(&[0; 28 * 28], 28, 10);
    let mut huge_header = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    huge_header.extend_from_slice(&30000u32.to_be_bytes());
    huge_header.extend_from_slice(&30000u32.to_be_bytes());
    huge_header.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
    vec![
        (
            "not a picture",
            "image/png",
            b"hello, I am not a PNG".to_vec(),
            400,
        ),
        ("an empty body", "image/png", Vec::new(), 400),
        ("a blank canvas", "image/png", blank.clone(), 422),
        ("30000x30000 pixels", "image/png", huge_header, 413),
        ("a body over the limit", "image/png", vec![7; 3 << 20], 413),
        (
            "a JSON body",
            "application/json",
            b"{\"digit\": 7}".to_vec(),
            415,
        ),
        ("no content type", "", blank, 415),
    ]
}
