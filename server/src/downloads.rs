//! `GET /files/{message}` and `/files/{message}/preview`: a shared file's bytes, to members of
//! its room only.
//!
//! Access is the session cookie's person and the rule history follows (a member of the message's
//! room, the message not deleted); anything else is a 404 that does not say which it was. What
//! comes back can never run in Parley's origin, whatever someone uploaded: only the four image
//! types a browser renders without script are served as themselves, everything else (SVG and
//! HTML included) as `application/octet-stream` with `Content-Disposition: attachment`; every
//! answer carries `X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy, so
//! even a file opened directly in a tab has no script and no origin.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use uuid::Uuid;

use crate::AppState;
use crate::domain::files::INLINE_TYPES;

/// The policy every file is served under: no script, no plugins, no origin; images and inline
/// styles only (what the browser's own image viewer needs).
const FILE_POLICY: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";

/// `GET /files/{message}`: the original.
pub async fn original(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    serve(&state, id, &headers, false).await
}

/// `GET /files/{message}/preview`: an image's preview.
pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    serve(&state, id, &headers, true).await
}

async fn serve(state: &AppState, id: Uuid, headers: &HeaderMap, preview: bool) -> Response {
    let Some(token) = crate::cookies::session_token(headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let user = match state.accounts.session(&token).await {
        Ok(Some(user)) => user,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let attachment = match state.chat.attachment(&user.id, id).await {
        Ok(attachment) => attachment,
        Err(app::ChatError::Internal) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    if preview && attachment.image.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let key =
        if preview { format!("preview-{}", attachment.file) } else { attachment.file.clone() };
    let bytes = match state.files.blobs().get(&key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::warn!(file = %key, "a shared file's bytes are missing");
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read a shared file");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let inline = preview || INLINE_TYPES.contains(&attachment.mime.as_str());
    let mut response = Body::from_stream(bytes).into_response();
    let out = response.headers_mut();
    let content_type = match (preview, inline) {
        (true, _) => HeaderValue::from_static(crate::domain::files::preview_type(&attachment.mime)),
        (false, true) => HeaderValue::from_str(&attachment.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        (false, false) => HeaderValue::from_static("application/octet-stream"),
    };
    out.insert(CONTENT_TYPE, content_type);
    if !preview {
        out.insert(CONTENT_LENGTH, HeaderValue::from(attachment.size));
        if let Ok(value) = HeaderValue::from_str(&disposition(inline, &attachment.name)) {
            out.insert(CONTENT_DISPOSITION, value);
        }
    }
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_POLICY));
    out.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    // The bytes under a message never change, but access can end (leaving a private room):
    // the browser may keep them, shared caches may not.
    out.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response
}

/// `Content-Disposition` for `name`: an ASCII fallback and the exact name in RFC 5987 form.
fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn names_cannot_break_out_of_the_header() {
        assert_eq!(
            disposition(false, "a\"b\\c é.pdf"),
            "attachment; filename=\"a_b_c _.pdf\"; filename*=UTF-8''a%22b%5Cc%20%C3%A9.pdf"
        );
        assert!(http::HeaderValue::from_str(&disposition(true, "x\r\ny.png")).is_ok());
    }
}
