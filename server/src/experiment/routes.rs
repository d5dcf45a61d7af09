//! HTTP for the demo experiment:
//!
//! - `GET /api/experiment`: the storefront's `open({ experiment })` options and the leader's URL;
//! - `GET /dap/{leader,helper}/hpke_config`: each aggregator's `HpkeConfigList`;
//! - `PUT /dap/leader/tasks/{task_id}/reports`: a browser's `takeReport()` upload;
//! - `GET /api/lift`: the collection (48 counts) and the estimate;
//! - `POST /api/lift/simulate?shoppers=N`: N synthetic shopper-days through the same upload code.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use localrank_report::Role;
use localrank_report::dap::{HPKE_CONFIG_LIST_MEDIA_TYPE, REPORT_MEDIA_TYPE};

use super::{DEMO_MIN_BATCH_SIZE, MAX_SIMULATED, Source, UploadError, simulate::{SIMULATED_SPLIT, TRUTH}};
use crate::http::AppState;

/// A report is ~1.5 KB; anything much larger is not one.
const MAX_UPLOAD_BYTES: usize = 64 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/experiment", get(experiment))
        .route(
            "/dap/leader/hpke_config",
            get(|s| hpke_config(s, Role::Leader)),
        )
        .route(
            "/dap/helper/hpke_config",
            get(|s| hpke_config(s, Role::Helper)),
        )
        .route(
            "/dap/leader/tasks/{task_id}/reports",
            put(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/api/lift", get(lift))
        .route("/api/lift/simulate", post(simulate))
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => problem(&UploadError::Internal(e.to_string())),
    }
}

/// An RFC 7807 problem document with the DAP error type where there is one.
fn problem(error: &UploadError) -> Response {
    let status = error.status();
    let mut body = serde_json::json!({ "title": error.to_string(), "status": status.as_u16() });
    if let Some(kind) = error.dap_type() {
        body["type"] = format!("urn:ietf:params:ppm:dap:error:{kind}").into();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn experiment(State(state): State<Arc<AppState>>) -> Response {
    match state.experiment.to_json() {
        Ok(value) => json(&value),
        Err(e) => problem(&e),
    }
}

async fn hpke_config(State(state): State<Arc<AppState>>, role: Role) -> Response {
    match state.experiment.config_list(role) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, HPKE_CONFIG_LIST_MEDIA_TYPE),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => problem(&e),
    }
}

async fn upload(
    State(state): State<Arc<AppState>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = media_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(REPORT_MEDIA_TYPE) {
        return problem(&UploadError::MediaType(media_type.to_string()));
    }
    // HPKE opening and Prio3 preparation are CPU work: off the async threads.
    let result = tokio::task::spawn_blocking(move || {
        state
            .experiment
            .upload(&task_id, &body, Source::Browser, now_s())
    })
    .await
    .unwrap_or_else(|e| Err(UploadError::Internal(e.to_string())));
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => problem(&e),
    }
}

async fn lift(State(state): State<Arc<AppState>>) -> Response {
    match state.experiment.lift() {
        Ok(view) => json(&serde_json::json!({
            "demo": "Both DAP aggregators run inside this demo server (a stand-in for Janus): it could read every report. In a deployment two non-colluding aggregators each see only random-looking shares, and the store sees only these batch sums.",
            "task_id": state.experiment.task_id(),
            "split": state.experiment.split,
            "simulated_split": SIMULATED_SPLIT,
            "min_batch_size": DEMO_MIN_BATCH_SIZE,
            "simulated_truth": TRUTH,
            "view": view,
        })),
        Err(e) => problem(&e),
    }
}

async fn simulate(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let shoppers = match params.get("shoppers").map(|s| s.parse::<usize>()) {
        Some(Ok(n)) if (1..=MAX_SIMULATED).contains(&n) => n,
        _ => {
            let body = serde_json::json!({ "error": "BadShoppers", "message": format!("shoppers must be a whole number from 1 to {MAX_SIMULATED}") });
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response();
        }
    };
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || state.experiment.simulate(shoppers, now_s()))
        .await
        .unwrap_or_else(|e| Err(UploadError::Internal(e.to_string())));
    match result {
        Ok(accepted) => json(
            &serde_json::json!({ "simulated": accepted, "ms": started.elapsed().as_secs_f64() * 1000.0 }),
        ),
        Err(e) => problem(&e),
    }
}
