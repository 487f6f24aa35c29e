//! Parley's two cookies, read and written in one place for the page handlers and the socket
//! handshake alike.
//!
//! - `parley_session` holds the session token. `HttpOnly` (page scripts, and so injected
//!   scripts, cannot read it), `SameSite=Lax` (other sites' requests do not carry it; the origin
//!   guard in [`crate::http`] refuses their WebSocket upgrades and server-function calls as
//!   well), `Secure` when configured for HTTPS, and a `Max-Age` equal to the session's lifetime
//!   in the store.
//! - `parley_device` marks a browser that signed in before (OWASP's device cookies, see
//!   [`crate::domain::guard`]): `SameSite=Strict`, sent only to `/api` (the sign-in server
//!   functions), lasting [`DEVICE_COOKIE_DAYS`].

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;

use crate::domain::{Client, DeviceToken, SessionToken};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "parley_session";

/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "parley_device";

/// How long a browser stays known as a device of its people.
pub const DEVICE_COOKIE_DAYS: i64 = 365;

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// The session token in a request's `Cookie` headers, if any.
pub fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    cookie_value(headers, SESSION_COOKIE).map(|v| SessionToken::from_cookie(&v))
}

/// Who is asking, from a request's head: the peer address (as axum's `ConnectInfo` recorded
/// it) and the device cookie.
pub fn client_of(request: &http::request::Parts) -> Client {
    Client {
        address: request
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip()),
        device: cookie_value(&request.headers, DEVICE_COOKIE).map(|v| DeviceToken::from_cookie(&v)),
    }
}

/// Writes `Set-Cookie` values.
#[derive(Debug, Clone, Copy)]
pub struct CookieWriter {
    /// Whether cookies get the `Secure` attribute (the site is served over HTTPS).
    pub secure: bool,
}

impl CookieWriter {
    fn build(
        self,
        name: &'static str,
        value: String,
        same_site: SameSite,
        path: &'static str,
        max_age: cookie::time::Duration,
    ) -> String {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure)
            .path(path)
            .max_age(max_age)
            .build()
            .to_string()
    }

    /// The session cookie for `token`, lasting `max_age_secs`.
    pub fn session(self, token: &SessionToken, max_age_secs: i64) -> String {
        let max_age = cookie::time::Duration::seconds(max_age_secs);
        self.build(SESSION_COOKIE, token.as_str().to_owned(), SameSite::Lax, "/", max_age)
    }

    /// Clears the session cookie (signing out).
    pub fn cleared_session(self) -> String {
        self.build(SESSION_COOKIE, String::new(), SameSite::Lax, "/", cookie::time::Duration::ZERO)
    }

    /// The device cookie for `device`.
    pub fn device(self, device: &DeviceToken) -> String {
        let max_age = cookie::time::Duration::days(DEVICE_COOKIE_DAYS);
        self.build(DEVICE_COOKIE, device.as_str().to_owned(), SameSite::Strict, "/api", max_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_their_attributes() {
        let writer = CookieWriter { secure: true };
        let session = writer.session(&SessionToken::from_cookie("abc"), 60);
        for part in
            ["parley_session=abc", "HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"]
        {
            assert!(session.contains(part), "{session} lacks {part}");
        }
        let device = writer.device(&DeviceToken::from_cookie("dev"));
        for part in
            ["parley_device=dev", "HttpOnly", "SameSite=Strict", "Path=/api", "Max-Age=31536000"]
        {
            assert!(device.contains(part), "{device} lacks {part}");
        }
        let cleared = CookieWriter { secure: false }.cleared_session();
        assert!(
            cleared.starts_with("parley_session=;") && cleared.contains("Max-Age=0"),
            "{cleared}"
        );
        assert!(!cleared.contains("Secure"));
    }

    #[test]
    fn the_session_token_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "theme=dark; parley_session=tok".parse().expect("header"));
        assert_eq!(session_token(&headers).map(|t| t.as_str().to_owned()), Some("tok".into()));
        assert!(session_token(&HeaderMap::new()).is_none());
    }
}
