//! Routes: the pool, the model files, the site's static files, health.
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::experiment::{self, DemoExperiment};
use crate::pool::Pool;

/// Everything a request can read; immutable after start-up.
pub struct AppState {
    pub pool: Pool,
    /// The built site (`www/dist`, written by Vite): every file in it may be served, except
    /// hidden ones. `None` when the folder holds no `index.html`: then no file is served at all,
    /// so pointing `--site` at a source tree (`--site .`, as older docs did) cannot publish it.
    pub site_root: Option<PathBuf>,
    pub model_dir: PathBuf,
    /// The demo's lift experiment and its two in-process stand-in DAP aggregators
    /// (`experiment/`: demo only, see its module doc).
    pub experiment: DemoExperiment,
}

/// The largest pool a request may ask for; a homepage never shows more.
pub const MAX_N: usize = 1000;
pub const DEFAULT_N: usize = 200;
/// The only page context this service knows. Unknown ones are an error rather than a silent
/// fallback, so a typo in a storefront shows up at once.
pub const CONTEXTS: &[&str] = &["home"];

/// Where Vite writes the bundled, content-hashed files (`build.assetsDir`). A file there whose
/// name carries the hash (`index-DteRV2-I.js`) never changes, so browsers may keep it for a
/// year without asking again; every other file revalidates (`no-cache` + ETag).
const HASHED_DIR: &str = "assets";

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/pool", get(pool))
        .route("/model/{file}", get(model_file))
        .route("/", get(index))
        .route("/lift", get(lift_page))
        .merge(experiment::routes())
        .fallback(get(static_file))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: method, path and query (the pool's query holds only `context` and
/// `n`; the service never receives anything personal to leak into logs), status, time.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    println!(
        "{} {} {} {:.1}ms",
        method,
        uri,
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// A 4xx answer with `{"error": code, "message": …}`.
fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({ "status": "ok", "items": state.pool.len(), "dim": state.pool.dim, "model": state.pool.model });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn pool(
    State(state): State<Arc<AppState>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadQuery",
            "the query string is not valid form encoding".into(),
        );
    };
    // Only `context` and `n` are accepted: anything else (a user id, a history) is refused, so
    // a storefront cannot quietly start sending personal data to the candidate service.
    let mut unknown: Vec<&String> = params
        .keys()
        .filter(|k| !matches!(k.as_str(), "context" | "n"))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownParameter",
            format!(
                "unknown query parameter {:?}: only context and n are accepted",
                unknown[0]
            ),
        );
    }
    let context = params.get("context").map(String::as_str).unwrap_or("home");
    if !CONTEXTS.contains(&context) {
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownContext",
            format!("unknown context {context:?}: expected one of {CONTEXTS:?}"),
        );
    }
    let n = match params.get("n") {
        None => DEFAULT_N,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_N).contains(&n) => n,
            Ok(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadN",
                    format!("n must be between 1 and {MAX_N}, got {raw}"),
                );
            }
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadN",
                    format!("n must be a whole number, got {raw:?}"),
                );
            }
        },
    };
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.pool.to_json(n),
    )
        .into_response()
}

/// The browser's two model files. The ETag is the model version, so a page that revalidates
/// gets a 304 instead of the weights again.
async fn model_file(
    State(state): State<Arc<AppState>>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let content_type = match file.as_str() {
        "model.safetensors" => "application/octet-stream",
        "model.json" => "application/json",
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the model files are model.safetensors and model.json".into(),
            );
        }
    };
    let etag = format!("\"{}\"", state.pool.model);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    send_file(&state.model_dir.join(&file), content_type, Some(etag)).await
}

async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(root) = &state.site_root else {
        return no_site();
    };
    send_static(
        &root.join("index.html"),
        "text/html; charset=utf-8",
        false,
        &headers,
    )
    .await
}

/// The demo's lift page (`lift.html` in the built site) at a clean URL.
async fn lift_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(root) = &state.site_root else {
        return no_site();
    };
    send_static(
        &root.join("lift.html"),
        "text/html; charset=utf-8",
        false,
        &headers,
    )
    .await
}

fn no_site() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NoSite",
        "this service was started without a built site (no index.html in --site); build it with `node scripts/build-site.mjs`".into(),
    )
}

/// A site file with an ETag from its size and modification time: with `no-cache`, a
/// returning browser revalidates and gets a 304 instead of the 600 KB wasm again; a hashed
/// asset is `immutable` (a new build gives it a new name).
async fn send_static(
    file: &Path,
    content_type: &str,
    immutable: bool,
    headers: &HeaderMap,
) -> Response {
    let etag = tokio::fs::metadata(file).await.ok().map(|m| {
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{:x}\"", m.len(), modified)
    });
    if let Some(tag) = &etag
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(tag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag.clone())]).into_response();
    }
    let mut response = send_file(file, content_type, etag).await;
    if immutable && response.status() == StatusCode::OK {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

async fn static_file(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let headers = request.headers();
    let path = request.uri().path();
    let Some(root) = &state.site_root else {
        return no_site();
    };
    let Some(file) = resolve(root, path) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no file at {path}"),
        );
    };
    send_static(&file, content_type(&file), is_hashed_asset(path), headers).await
}

/// Maps a URL path to a file inside the site folder; `None` for anything that would leave it
/// (`..` — also percent-encoded —, absolute or prefixed parts, a backslash or NUL) or is hidden
/// (any part starting with `.`, e.g. `.vite/` or `.env`). An encoded `/` (`%2F`) decodes to a
/// separator and is checked like one.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let relative = Path::new(decoded.trim_start_matches('/'));
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    if parts.is_empty() || parts.iter().any(|p| p.starts_with('.')) {
        return None;
    }
    Some(
        parts
            .iter()
            .fold(root.to_path_buf(), |p, part| p.join(part)),
    )
}

/// `/assets/<name>-<hash>.<ext>`: a bundler's content-hashed output file (Vite names them
/// `[name]-[hash].[ext]`, the hash 8 characters of `[A-Za-z0-9_-]`).
pub fn is_hashed_asset(url_path: &str) -> bool {
    let Some(name) = url_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(HASHED_DIR))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    stem.len() > 9
        && stem.is_char_boundary(stem.len() - 9)
        && stem[stem.len() - 9..].starts_with('-')
        && stem[stem.len() - 8..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn send_file(path: &Path, content_type: &str, etag: Option<String>) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            // The site changes with every build; revalidate rather than serve stale code.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
                headers.insert(header::ETAG, tag);
            }
            response
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::IsADirectory =>
        {
            error(StatusCode::NOT_FOUND, "NotFound", "no such file".into())
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.display());
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ReadFailed",
                "the file could not be read".into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_keeps_requests_inside_the_site_folder() {
        let root = Path::new("/site/dist");
        assert_eq!(
            resolve(root, "/status.html"),
            Some(PathBuf::from("/site/dist/status.html"))
        );
        assert_eq!(
            resolve(root, "/assets/localrank_simd_bg-DANBp0I9.wasm"),
            Some(PathBuf::from(
                "/site/dist/assets/localrank_simd_bg-DANBp0I9.wasm"
            ))
        );
        assert_eq!(
            resolve(root, "/assets/a%20b.js"),
            Some(PathBuf::from("/site/dist/assets/a b.js"))
        );
        assert_eq!(resolve(root, "/../Cargo.toml"), None);
        assert_eq!(resolve(root, "/assets/../../Cargo.toml"), None);
        assert_eq!(resolve(root, "/%2e%2e/Cargo.toml"), None);
        assert_eq!(resolve(root, "/assets%2f..%2f..%2fCargo.toml"), None);
        assert_eq!(resolve(root, "/assets/..%5c..%5cCargo.toml"), None);
        assert_eq!(resolve(root, "/index.html%00.js"), None);
        assert_eq!(
            resolve(root, "//etc/passwd"),
            Some(PathBuf::from("/site/dist/etc/passwd"))
        );
        assert_eq!(resolve(root, "/.vite/manifest.json"), None);
        assert_eq!(resolve(root, "/assets/.hidden"), None);
        assert_eq!(resolve(root, "/.env"), None);
        assert_eq!(resolve(root, "/"), None);
        assert_eq!(resolve(root, "/assets/%zz"), None);
    }

    #[test]
    fn only_hashed_assets_are_immutable() {
        assert!(is_hashed_asset("/assets/index-DteRV2-I.js"));
        assert!(is_hashed_asset("/assets/localrank_simd_bg-DANBp0I9.wasm"));
        assert!(is_hashed_asset("/assets/worker-entry-Dsn5O8g1.js"));
        assert!(!is_hashed_asset("/assets/shop.js"), "no hash");
        assert!(!is_hashed_asset("/assets/sub/index-DteRV2-I.js"));
        assert!(!is_hashed_asset("/index-DteRV2-I.js"), "outside assets/");
        assert!(!is_hashed_asset("/status.html"));
        assert!(!is_hashed_asset("/assets/x-DteRV2-I"), "no extension");
        assert!(!is_hashed_asset("/assets/-DteRV2-I.js"), "no name");
    }
}
