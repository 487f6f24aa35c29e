//! The browser implementation: wasm-bindgen bindings to the official `socket.io-client`.
//!
//! The client's UMD bundle (installed from npm by the build scripts, served at
//! `/vendor/socket.io.min.js`) defines a global `io`. Only the chat needs it, so the sign-in page
//! does not load it: [`load_client`] adds its script when the chat is about to start (a page the
//! server rendered signed in has already asked the browser to preload it).
//! Values cross the boundary as JSON text (`serde_json` on this side, the browser's `JSON` on the
//! other), so a payload reaches the server exactly as `serde_json` wrote it. The app already
//! needs `serde_json` (Leptos hydrates resources with it); a second codec such as
//! `serde_wasm_bindgen` would compile every payload type's (de)serializer twice into the WASM.
//!
//! JS handles are not `Send`; the WASM app runs on one thread, so [`SendWrapper`] makes the handle
//! storable in Leptos signals and would panic (rather than misbehave) if that ever changed.

use std::future::Future;
use std::rc::Rc;

use send_wrapper::SendWrapper;
use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{
    BYTES_TIMEOUT_MS, ConnectOptions, ConnectionStatus, REQUEST_TIMEOUT_MS, RequestError,
    SocketClient, Subscription, Transports,
};
use crate::events::{Ack, ClientEvent, ServerEvent};

#[wasm_bindgen]
extern "C" {
    /// A `socket.io-client` `Socket`.
    #[derive(Debug, Clone)]
    type RawSocket;

    #[wasm_bindgen(catch, js_name = io)]
    fn io(uri: &str, opts: &JsValue) -> Result<RawSocket, JsValue>;

    #[wasm_bindgen(method)]
    fn on(this: &RawSocket, event: &str, listener: &js_sys::Function);

    #[wasm_bindgen(method)]
    fn off(this: &RawSocket, event: &str, listener: &js_sys::Function);

    /// Sets the ack timeout for the next emit and returns the same socket.
    #[wasm_bindgen(method)]
    fn timeout(this: &RawSocket, ms: u32) -> RawSocket;

    #[wasm_bindgen(method, js_name = emitWithAck)]
    fn emit_with_ack(this: &RawSocket, event: &str, payload: &JsValue) -> js_sys::Promise;

    /// `emitWithAck(event, payload, bytes)`: the client sends a `Uint8Array` argument as a
    /// binary attachment.
    #[wasm_bindgen(method, js_name = emitWithAck)]
    fn emit_with_ack_bytes(
        this: &RawSocket,
        event: &str,
        payload: &JsValue,
        bytes: &js_sys::Uint8Array,
    ) -> js_sys::Promise;

    #[wasm_bindgen(method)]
    fn disconnect(this: &RawSocket);

    #[wasm_bindgen(method)]
    fn connect(this: &RawSocket);

    /// Whether the client will keep trying to (re)connect.
    #[wasm_bindgen(method, getter)]
    fn active(this: &RawSocket) -> bool;
}

/// The browser's Socket.IO connection.
#[derive(Debug, Clone)]
pub struct JsSocket {
    raw: SendWrapper<Rc<RawSocket>>,
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, RequestError> {
    let text = serde_json::to_string(value).map_err(|e| RequestError::Codec(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|e| RequestError::Codec(error_message(&e)))
}

fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, RequestError> {
    // `JSON.stringify(undefined)` is `undefined`, not text: a missing value reads as `null`.
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_else(|| "null".to_owned());
    serde_json::from_str(&text).map_err(|e| RequestError::Codec(e.to_string()))
}

fn error_message(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

impl JsSocket {
    /// Registers `listener` for `event`; the returned subscription unregisters it and frees it.
    fn listen(&self, event: &'static str, listener: Closure<dyn FnMut(JsValue)>) -> Subscription {
        self.raw.on(event, listener.as_ref().unchecked_ref());
        let raw = Rc::clone(&self.raw);
        Subscription::new(move || {
            raw.off(event, listener.as_ref().unchecked_ref());
            drop(listener);
        })
    }
}

thread_local! {
    /// The one load of the client's script, shared by every caller while it is under way.
    static CLIENT_LOAD: std::cell::RefCell<Option<js_sys::Promise>> = const { std::cell::RefCell::new(None) };
}

/// Starts loading `socket.io-client` (once; later calls share the load, or resolve at once
/// when `io` is already defined) and returns a future that ends when it has loaded. Starting
/// is synchronous, so a caller can begin the download before awaiting something else.
///
/// # Errors
/// When the script could not be loaded (a network failure): the next call tries again.
pub fn load_client() -> impl Future<Output = Result<(), String>> + 'static {
    let promise = CLIENT_LOAD.with_borrow_mut(|load| {
        if js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("io")).unwrap_or(false) {
            return None;
        }
        Some(load.get_or_insert_with(insert_client_script).clone())
    });
    async move {
        let Some(promise) = promise else { return Ok(()) };
        JsFuture::from(promise).await.map(drop).map_err(|_| {
            CLIENT_LOAD.with_borrow_mut(|load| *load = None);
            format!("could not load {}", crate::SOCKET_IO_CLIENT_URL)
        })
    }
}

/// Appends the client's `<script>` to the document and returns a promise of its `load`.
fn insert_client_script() -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
        let inserted = (|| {
            let document = web_sys::window()?.document()?;
            let script = document.create_element("script").ok()?;
            script.set_attribute("src", crate::SOCKET_IO_CLIENT_URL).ok()?;
            let script: web_sys::HtmlScriptElement = script.unchecked_into();
            script.set_onload(Some(&resolve));
            script.set_onerror(Some(&reject));
            document.head()?.append_child(&script).ok()
        })();
        if inserted.is_none() {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("no document to load into"));
        }
    })
}

impl SocketClient for JsSocket {
    fn connect(options: &ConnectOptions) -> Result<Self, RequestError> {
        let opts = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| {
            js_sys::Reflect::set(&opts, &JsValue::from_str(key), value)
                .map(drop)
                .map_err(|e| RequestError::Codec(error_message(&e)))
        };
        let transports: &[&str] = match options.transports {
            Transports::Default => &["polling", "websocket"],
            Transports::PollingOnly => &["polling"],
            Transports::WebSocketOnly => &["websocket"],
        };
        set("transports", &to_js(transports)?)?;
        let raw = io(options.namespace, &opts).map_err(|e| {
            RequestError::Codec(format!("socket.io-client is not loaded: {}", error_message(&e)))
        })?;
        Ok(Self { raw: SendWrapper::new(Rc::new(raw)) })
    }

    fn request<E: ClientEvent>(
        &self,
        payload: &E::Payload,
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static {
        let promise = to_js(payload)
            .map(|payload| self.raw.timeout(REQUEST_TIMEOUT_MS).emit_with_ack(E::NAME, &payload));
        async move {
            // socket.io-client rejects only when the timeout fires.
            let ack = JsFuture::from(promise?).await.map_err(|_| RequestError::Timeout)?;
            let ack: Ack<E> = from_js(ack)?;
            ack.map_err(RequestError::Rejected)
        }
    }

    fn request_with_bytes<E: ClientEvent>(
        &self,
        payload: &E::Payload,
        bytes: &[u8],
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static {
        // The one copy out of the WASM memory; socket.io-client sends this buffer as it is.
        let bytes = js_sys::Uint8Array::from(bytes);
        let promise = to_js(payload).map(|payload| {
            self.raw.timeout(BYTES_TIMEOUT_MS).emit_with_ack_bytes(E::NAME, &payload, &bytes)
        });
        async move {
            let ack = JsFuture::from(promise?).await.map_err(|_| RequestError::Timeout)?;
            let ack: Ack<E> = from_js(ack)?;
            ack.map_err(RequestError::Rejected)
        }
    }

    fn subscribe<E: ServerEvent>(&self, handler: impl Fn(E::Payload) + 'static) -> Subscription {
        let listener = Closure::<dyn FnMut(JsValue)>::new(move |value: JsValue| {
            match from_js::<E::Payload>(value) {
                Ok(payload) => handler(payload),
                Err(e) => web_sys::console::warn_2(
                    &JsValue::from_str(&format!("ignored a malformed `{}`:", E::NAME)),
                    &JsValue::from_str(&e.to_string()),
                ),
            }
        });
        self.listen(E::NAME, listener)
    }

    fn watch_status(&self, handler: impl Fn(ConnectionStatus) + 'static) -> Subscription {
        let handler = Rc::new(handler);
        let on_connect = {
            let handler = Rc::clone(&handler);
            Closure::<dyn FnMut(JsValue)>::new(move |_| handler(ConnectionStatus::Connected))
        };
        let on_disconnect = {
            let handler = Rc::clone(&handler);
            let raw = Rc::clone(&self.raw);
            Closure::<dyn FnMut(JsValue)>::new(move |reason: JsValue| {
                let reason = reason.as_string().unwrap_or_default();
                // socket.io-client does not reconnect after the server closed the connection;
                // ask once more, so a signed-out session comes back as a refusal.
                if reason == "io server disconnect" {
                    raw.connect();
                }
                handler(ConnectionStatus::Reconnecting { reason })
            })
        };
        let on_error = {
            let raw = Rc::clone(&self.raw);
            Closure::<dyn FnMut(JsValue)>::new(move |err: JsValue| {
                let message = error_message(&err);
                // An inactive socket was refused by the server's middleware and will not retry.
                handler(if raw.active() {
                    ConnectionStatus::Reconnecting { reason: message }
                } else {
                    ConnectionStatus::Refused { message }
                })
            })
        };
        let subs = [
            self.listen("connect", on_connect),
            self.listen("disconnect", on_disconnect),
            self.listen("connect_error", on_error),
        ];
        Subscription::new(move || drop(subs))
    }

    fn disconnect(&self) {
        self.raw.disconnect();
    }
}
