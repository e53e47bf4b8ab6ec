//! The HTTP side: the page, `GET /api/model`, `POST /api/predict`, and the limits that keep a
//! bad request from taking the server down (body size, picture size, time, concurrent work).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Semaphore;

use crate::classifier::{Classifier, MAX_SIDE, Refusal};

/// Largest request body accepted: a drawing's PNG is a few KiB.
pub const MAX_BODY: usize = 1 << 20;

/// What the handlers share: the model, and permits for the CPU work of decoding and
/// classifying (one per core), so that many large pictures at once queue instead of taking
/// all the memory.
#[derive(Debug, Clone)]
struct AppState {
    classifier: Arc<Classifier>,
    work: Arc<Semaphore>,
}

/// The server's routes and limits. A request not read and answered within `timeout` gets 408
/// (a client sending its body byte by byte holds nothing but its own connection meanwhile); a
/// request addressed to another host than this server's loopback `port` gets 421 (see
/// [`check_host`]).
pub fn router(classifier: Arc<Classifier>, timeout: Duration, port: u16) -> Router {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let state = AppState {
        classifier,
        work: Arc::new(Semaphore::new(cores)),
    };
    Router::new()
        .route("/", get(page))
        .route("/api/model", get(model_info))
        .route("/api/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(move |request, next| {
            within(timeout, request, next)
        }))
        .layer(middleware::from_fn(move |request, next| {
            check_host(port, request, next)
        }))
}

/// Answers 408, with a body that says why, when `request` is not read and answered within
/// `timeout`.
async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request was not received and answered within {} s (--timeout)",
                timeout.as_secs()
            ),
        ),
    }
}

/// Refuses a request whose `Host` is not this server's own loopback address (`127.0.0.1`,
/// `localhost` or `[::1]`, with its port): a web page of another site that makes the browser
/// resolve its own name to 127.0.0.1 (DNS rebinding) could otherwise read `/api/model`.
async fn check_host(port: u16, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let ours = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")));
    if ours {
        return next.run(request).await;
    }
    error(
        StatusCode::MISDIRECTED_REQUEST,
        &format!(
            "this server answers requests addressed to 127.0.0.1:{port} or localhost:{port}, \
             not to {host:?}: open http://127.0.0.1:{port}/"
        ),
    )
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed: the server answers GET /, GET /api/model and POST /api/predict",
    )
}

/// The drawing page: HTML and plain JavaScript, embedded in the binary.
async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

async fn model_info(State(state): State<AppState>) -> Response {
    Json(&state.classifier.info).into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such page: the server answers GET /, GET /api/model and POST /api/predict",
    )
}

/// `POST /api/predict`: a PNG in, the class and probabilities out.
async fn predict(State(state): State<AppState>, request: Request) -> Response {
    let png = match read_png(request).await {
        Ok(png) => png,
        Err(response) => return response,
    };
    let Ok(_permit) = state.work.acquire().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    };
    let classifier = state.classifier.clone();
    let outcome = tokio::task::spawn_blocking(move || classifier.classify(&png)).await;
    match outcome {
        Ok(Ok(prediction)) => Json(prediction).into_response(),
        Ok(Err(refusal)) => refused(refusal),
        Err(join) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("classifying failed: {join}"),
        ),
    }
}

/// The body of a `Content-Type: image/png` request, within [`MAX_BODY`], or the 4xx answer.
async fn read_png(request: Request) -> Result<Bytes, Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("image/png") {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "send the drawing as a PNG with Content-Type: image/png (got {:?})",
                content_type
            ),
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|err| {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.to_string().contains("length limit"));
            if too_large {
                self::too_large()
            } else {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the body: {err}"),
                )
            }
        })?;
    if body.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the PNG of the drawing",
        ));
    }
    Ok(body)
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is over {MAX_BODY} bytes; a drawing's PNG is a few KiB"),
    )
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotAPicture(reason) => error(
            StatusCode::BAD_REQUEST,
            &format!("the body is not a picture: {reason}"),
        ),
        Refusal::TooLarge(width, height) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the picture is {width}x{height} pixels; at most {MAX_SIDE} a side is decoded"
            ),
        ),
        Refusal::Blank => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the drawing is blank: draw a digit first",
        ),
        Refusal::Internal(reason) => error(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    }
}

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
