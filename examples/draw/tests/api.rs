//! The draw server over HTTP on a free loopback port: real MNIST test digits come back with
//! their class; every bad request gets its 4xx; the server keeps serving through them.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, png, read_response, trained_run, zoo_run};
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
    assert_eq!(model["kind"], "logistic");
    assert_eq!(model["model"], "logistic regression (softmax head)");
    assert_eq!(model["input"], serde_json::json!([28, 28]));
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
        "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n\u{89}PNG",
        server.address
    )
    .unwrap();
    let started = Instant::now();
    let (status, _) = server.predict(&png(data.test.image(0), 28, 1));
    assert_eq!(status, 200, "served while a slow client waits");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (status, body) = read_response(&mut slow);
    assert_eq!(status, 408);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("--timeout"),
        "{body}"
    );
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

/// Issue 18: what a slow or hostile client does gets an answer with a body that says why, fast,
/// and the server keeps serving: a method it does not answer, another host (DNS rebinding), a
/// body announced as 10 GB, headers sent a line every second.
#[test]
fn hostile_requests_get_quick_answers_with_reasons() {
    let Some(mnist) = mnist_dir("hostile_requests_get_quick_answers_with_reasons") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, data) = trained_run(dir.path(), &mnist);
    let server = Server::start(&artifacts, &["--timeout", "2"]);
    let (status, body) = server.request("GET", "/api/predict", &[], b"");
    assert_eq!(status, 405);
    assert!(String::from_utf8_lossy(&body).contains("POST /api/predict"));

    let raw = |head: String| {
        let mut stream = TcpStream::connect(&server.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let (status, body) = read_response(&mut stream);
        (
            status,
            String::from_utf8_lossy(&body).into_owned(),
            started.elapsed(),
        )
    };
    let (status, body, _) = raw(
        "GET /api/model HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n".to_string(),
    );
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("127.0.0.1"), "{body}");
    let (status, body, took) = raw(format!(
        "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\n\
         Content-Length: 10000000000\r\nConnection: close\r\n\r\n",
        server.address
    ));
    assert_eq!(status, 413, "{body}");
    assert!(took < Duration::from_secs(1), "{took:?}");

    // Headers a line every second: the connection is closed once --timeout (2 s) is over,
    // while another client is served.
    let mut slow = TcpStream::connect(&server.address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /api/model HTTP/1.1\r\n").unwrap();
    let mut closed = false;
    for line in 0..20 {
        std::thread::sleep(Duration::from_secs(1));
        if slow
            .write_all(format!("X-Slow-{line}: 1\r\n").as_bytes())
            .is_err()
        {
            closed = true;
            break;
        }
        let (status, _) = server.predict(&png(data.test.image(0), 28, 1));
        assert_eq!(status, 200);
    }
    if !closed {
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut slow, &mut rest);
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the slow client was held {:?}",
        started.elapsed()
    );
}

/// Issue 18: Ctrl-C or SIGTERM lets open requests finish for a grace period, then the server
/// exits; a second signal exits at once.
#[test]
fn shutdown_waits_a_grace_period_and_a_second_signal_stops_at_once() {
    let Some(mnist) = mnist_dir("shutdown_waits_a_grace_period") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, _) = trained_run(dir.path(), &mnist);
    for second_signal in [false, true] {
        let mut server = Server::start(&artifacts, &["--timeout", "60"]);
        // A client that sent half a request and waits.
        let mut slow = TcpStream::connect(&server.address).unwrap();
        write!(
            slow,
            "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\nPNG",
            server.address
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        server.signal("-TERM");
        if second_signal {
            std::thread::sleep(Duration::from_millis(300));
            server.signal("-TERM");
        }
        let code = server.wait(Duration::from_secs(20));
        let took = started.elapsed();
        if second_signal {
            assert_eq!(code, Some(143));
            assert!(took < Duration::from_secs(3), "{took:?}");
        } else {
            assert_eq!(code, Some(0));
            assert!(took < Duration::from_secs(10), "{took:?}");
        }
    }
}

/// The page serves any zoo run: an MLP's and a CNN's, each saying which model it is, each
/// classifying drawn digits.
#[test]
fn the_mlp_and_the_cnn_are_served_too() {
    let Some(mnist) = mnist_dir("the_mlp_and_the_cnn_are_served_too") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = integration_tests::load_mnist(&mnist);
    for (kind, described) in [("mlp", "MLP"), ("cnn", "CNN")] {
        let artifacts = zoo_run(dir.path(), &data, kind);
        let server = Server::start(&artifacts, &[]);
        let (status, body) = server.request("GET", "/api/model", &[], b"");
        assert_eq!(status, 200);
        let model: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(model["kind"], kind, "{model}");
        assert!(
            model["model"].as_str().unwrap().contains(described),
            "{model}"
        );
        let count = 50;
        let correct = (0..count)
            .filter(|&index| {
                let (status, answer) = server.predict(&png(data.test.image(index), 28, 4));
                assert_eq!(status, 200, "{kind}: {answer}");
                answer["class"].as_u64() == Some(u64::from(data.test.label(index)))
            })
            .count();
        eprintln!("{kind}: {correct} of {count} MNIST test digits classified right over HTTP");
        assert!(
            correct * 100 >= count * 85,
            "{kind}: {correct} of {count} right"
        );
    }
}
