//! Plain HTTP concerns: the health check and the origin policy.
//!
//! Browsers attach an `Origin` header to cross-site requests, WebSocket upgrades included, but
//! WebSockets are not covered by CORS: a page on another site could otherwise open a socket with
//! the visitor's cookies (cross-site WebSocket hijacking). [`guard_origin`] therefore refuses any
//! request whose `Origin` is neither the server's own (the `Host` it was reached by) nor on the
//! configured allow-list, before Engine.IO sees it; [`cors`] tells browsers the same for fetches.

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Which origins may call this server from a browser.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    extra: Vec<String>,
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl OriginPolicy {
    /// The server's own origin plus `extra` (as `scheme://host[:port]`).
    pub fn new(extra: &[String]) -> Self {
        Self { extra: extra.iter().map(|o| normalize(o)).filter(|o| !o.is_empty()).collect() }
    }

    /// Whether a request with these headers may proceed. Requests without `Origin` (same-origin
    /// navigations, non-browser clients) are not cross-site and are allowed.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else { return true };
        let Ok(origin) = origin.to_str() else { return false };
        let origin = normalize(origin);
        let own = headers.get(HOST).and_then(|h| h.to_str().ok()).is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
        own || self.extra.iter().any(|allowed| *allowed == origin)
    }
}

/// Middleware: answers 403 to a request from an origin the policy does not allow.
pub async fn guard_origin(
    State(policy): State<Arc<OriginPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if policy.allows(request.headers()) {
        next.run(request).await
    } else {
        tracing::info!(
            origin = ?request.headers().get(ORIGIN),
            path = %request.uri().path(),
            "refused a request from a foreign origin"
        );
        (StatusCode::FORBIDDEN, "origin not allowed").into_response()
    }
}

/// CORS for allowed origins (with credentials, for the session cookie).
pub fn cors(policy: &Arc<OriginPolicy>) -> CorsLayer {
    let policy = Arc::clone(policy);
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            let mut headers = parts.headers.clone();
            headers.insert(ORIGIN, origin.clone());
            policy.allows(&headers)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_credentials(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn own_origin_and_listed_origins_pass() {
        let policy = OriginPolicy::new(&["https://chat.example.com/".to_owned()]);
        assert!(policy.allows(&headers(None, "127.0.0.1:3000")));
        assert!(policy.allows(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")));
        assert!(policy.allows(&headers(Some("https://chat.example.com"), "10.0.0.1")));
    }

    #[test]
    fn foreign_origins_are_refused() {
        let policy = OriginPolicy::new(&[]);
        assert!(!policy.allows(&headers(Some("http://evil.example"), "127.0.0.1:3000")));
        assert!(!policy.allows(&headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3000")));
        assert!(!policy.allows(&headers(Some("null"), "127.0.0.1:3000")));
    }
}
