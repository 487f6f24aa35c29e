//! Plain HTTP concerns: the health check and the origin policy.
//!
//! Browsers attach an `Origin` header to cross-site requests, WebSocket upgrades included, but
//! WebSockets are not covered by CORS: a page on another site could otherwise open a socket with
//! the visitor's cookies (cross-site WebSocket hijacking). [`guard_origin`] therefore refuses any
//! request whose `Origin` is neither the server's own (the `Host` it was reached by) nor on the
//! configured allow-list, before Engine.IO sees it; [`cors`] tells browsers the same for fetches.
//!
//! [`own_socket_request`] is about memory: see its doc.

use axum::Json;
use axum::extract::{OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
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
        own || self.extra.contains(&origin)
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

/// Where Engine.IO is served (socketioxide's default path).
const SOCKET_IO_PATH: &str = "/socket.io/";

/// Middleware: gives a Socket.IO request headers and a URI of its own.
///
/// Engine.IO keeps every connection's request parts (headers, URI) for as long as the
/// connection lives. hyper hands them out as slices of the connection's read buffer (8 to 16 KiB),
/// so keeping the parts kept the whole buffer alive: a heap profile (heaptrack, 3,000 idle
/// WebSockets) showed that buffer as the largest part of an idle connection. Copying the few
/// hundred bytes of headers lets the buffer go when the upgrade completes.
pub async fn own_socket_request(mut request: Request) -> Request {
    if !request.uri().path().starts_with(SOCKET_IO_PATH) {
        return request;
    }
    for value in request.headers_mut().values_mut() {
        // `from_bytes` copies; the value was valid, so this cannot fail.
        if let Ok(mut owned) = HeaderValue::from_bytes(value.as_bytes()) {
            owned.set_sensitive(value.is_sensitive());
            *value = owned;
        }
    }
    if let Ok(uri) = request.uri().to_string().parse() {
        *request.uri_mut() = uri;
    }
    // axum's router keeps a clone of the URI as it arrived, for handlers that want it.
    let own = request.uri().clone();
    if let Some(OriginalUri(original)) = request.extensions_mut().get_mut::<OriginalUri>() {
        *original = own;
    }
    request
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
    use axum::body::{Body, Bytes};

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

    /// What hyper does: header values and the URI point into one shared read buffer.
    fn request_sharing(buffer: &Bytes, path: &str) -> Request {
        let text = std::str::from_utf8(buffer).expect("ascii");
        let at = |needle: &str| {
            let start = text.find(needle).expect("in buffer");
            buffer.slice(start..start + needle.len())
        };
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = http::Uri::from_maybe_shared(at(path)).expect("uri");
        let original = OriginalUri(request.uri().clone());
        request.extensions_mut().insert(original);
        request
            .headers_mut()
            .insert(ORIGIN, HeaderValue::from_maybe_shared(at("http://a.example")).expect("v"));
        request
    }

    fn points_into(buffer: &Bytes, bytes: &[u8]) -> bool {
        buffer.as_ptr_range().contains(&bytes.as_ptr())
    }

    #[tokio::test]
    async fn socket_requests_stop_sharing_the_read_buffer() {
        let path = "/socket.io/?EIO=4&transport=websocket";
        let mut raw = format!("GET {path} HTTP/1.1\r\norigin: http://a.example\r\n\r\n");
        raw.push_str(&" ".repeat(16 * 1024));
        let buffer = Bytes::from(raw);
        let request = request_sharing(&buffer, path);
        assert!(points_into(&buffer, request.headers()[ORIGIN].as_bytes()));
        assert!(points_into(&buffer, request.uri().path().as_bytes()));

        let request = own_socket_request(request).await;
        assert_eq!(request.headers()[ORIGIN], "http://a.example");
        assert!(!points_into(&buffer, request.headers()[ORIGIN].as_bytes()));
        assert_eq!(request.uri().to_string(), path);
        assert!(!points_into(&buffer, request.uri().path().as_bytes()));
        let OriginalUri(original) = request.extensions().get::<OriginalUri>().expect("kept");
        assert_eq!(original.to_string(), path);
        assert!(!points_into(&buffer, original.path().as_bytes()));
    }

    #[tokio::test]
    async fn other_requests_are_left_alone() {
        let buffer = Bytes::from("GET /rooms HTTP/1.1\r\norigin: http://a.example\r\n\r\n");
        let request = own_socket_request(request_sharing(&buffer, "/rooms")).await;
        assert!(points_into(&buffer, request.headers()[ORIGIN].as_bytes()));
    }
}
