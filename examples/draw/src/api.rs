//! The HTTP side: the page, `GET /api/model`, `POST /api/predict`, and the limits that keep a
//! bad request from taking the server down (body size, picture size, time, concurrent work).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;

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
/// (a client sending its body byte by byte holds nothing but its own connection meanwhile).
pub fn router(classifier: Arc<Classifier>, timeout: Duration) -> Router {
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
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
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
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|err| {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.to_string().contains("length limit"));
            if too_large {
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the body is over {MAX_BODY} bytes; a drawing's PNG is a few KiB"),
                )
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
