//! Sharing files from the composer: picked with its button, dropped onto the room or pasted.
//!
//! A file starts uploading the moment it is chosen, as Slack and Discord do, and waits in the
//! composer's tray (with its progress and a Cancel button) until the person presses Send; the
//! text typed by then becomes its caption. An upload is driven by acks, one chunk in flight:
//! `file:begin` says where the server stands, each `file:chunk` ack says where to go on, and once
//! every byte is there and Send was pressed, `file:finish` turns it into a message.
//!
//! Every step is safe to repeat (see [`crate::events::files`]), which makes resuming simple:
//! after a reconnect [`resume_uploads`] starts each upload's chain again from `file:begin`, and
//! the server's answer says which byte to send next, so nothing already acked is sent twice.
//! Each chain carries a generation number; a chain whose generation is no longer the upload's
//! (its acks were lost with the old connection) stops at its next step.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::ChatState;
use super::message::human_size;
use crate::ChatError;
use crate::events::files::{
    BeginUpload, BeginUploadPayload, CancelUpload, CancelUploadPayload, ChunkHeader, FinishUpload,
    FinishUploadPayload, UploadChunk, UploadProgress,
};
use crate::model::RoomId;
use crate::socket::{RequestError, SocketClient};

/// The bytes of a file the person chose: the browser's `File`.
#[cfg(feature = "hydrate")]
pub type Source = send_wrapper::SendWrapper<web_sys::File>;
/// The bytes of a file the person chose (nothing is ever chosen during SSR).
#[cfg(not(feature = "hydrate"))]
pub type Source = ();

/// Where an upload stands, as its row in the tray says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Asking the server where it stands (`file:begin`).
    Starting,
    /// Sending bytes.
    Sending,
    /// The server holds as many unfinished uploads of the person as it allows; this one starts
    /// when another is shared, cancelled or fails.
    Queued,
    /// The connection dropped; it goes on from the last acked chunk when it is back.
    Offline,
    /// Every byte is there; it is shared when the person presses Send.
    Uploaded,
    /// `file:finish` sent.
    Sharing,
    /// Refused for good (too large, a type not accepted, over the quota…).
    Failed(String),
}

/// One file in a composer's tray. Cloning copies signal handles: every clone is the same upload.
#[derive(Clone)]
pub struct Upload {
    pub id: Uuid,
    pub room: RoomId,
    pub thread: Option<Uuid>,
    pub name: String,
    pub size: u64,
    /// Bytes the server has acked.
    pub sent: RwSignal<u64>,
    pub stage: RwSignal<Stage>,
    /// The caption, once Send was pressed (`None` until then).
    caption: RwSignal<Option<String>>,
    /// The running chain's generation (see the module docs).
    generation: StoredValue<u32>,
    source: StoredValue<Source>,
    /// Bytes read from the file ahead of the chunk being sent, and where they start: reading
    /// the file costs a round trip through the browser, so it is read [`READ_AHEAD`] at a time
    /// and cut into chunks here.
    ahead: StoredValue<(u64, Vec<u8>)>,
}

/// How much of the file one read takes (see [`Upload::ahead`]).
const READ_AHEAD: u64 = 1024 * 1024;

impl Upload {
    /// What the row says beside the progress bar.
    pub fn status(&self) -> String {
        let waiting_to_share = self.caption.with(Option::is_some);
        match self.stage.get() {
            Stage::Starting => "Starting…".to_owned(),
            Stage::Sending | Stage::Offline | Stage::Queued => {
                let sent = self.sent.get();
                let percent = (sent * 100).checked_div(self.size).unwrap_or(100);
                let note = match self.stage.get() {
                    Stage::Offline => " · waiting for the connection",
                    Stage::Queued => " · waiting for your other uploads",
                    _ if waiting_to_share => " · shared when done",
                    _ => "",
                };
                format!("{percent}% · {} of {}{note}", human_size(sent), human_size(self.size))
            }
            Stage::Uploaded => format!("{} · ready, press Enter to share", human_size(self.size)),
            Stage::Sharing => "Sharing…".to_owned(),
            Stage::Failed(why) => why,
        }
    }
}

/// A refusal as the tray shows it, with sizes a person reads.
pub fn describe(error: &RequestError) -> String {
    match error {
        RequestError::Rejected(ChatError::FileTooLarge { size, max }) => {
            format!("Too large: {} (the limit is {})", human_size(*size), human_size(*max))
        }
        RequestError::Rejected(ChatError::QuotaExceeded { used, quota }) => {
            format!("Over your storage quota: {} of {} used", human_size(*used), human_size(*quota))
        }
        RequestError::Rejected(ChatError::FileTypeRefused { mime }) => {
            format!("Files of this type ({mime}) are not accepted here")
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// Adds files to the tray of the composer for `room` (or its `thread`) and starts uploading
/// them.
#[cfg(feature = "hydrate")]
pub fn stage_files(chat: ChatState, room: &RoomId, thread: Option<Uuid>, files: Vec<Source>) {
    for source in files {
        let (name, size) = (source.name(), source.size() as u64);
        let upload = Upload {
            id: Uuid::now_v7(),
            room: room.clone(),
            thread,
            name,
            size,
            sent: RwSignal::new(0),
            stage: RwSignal::new(Stage::Starting),
            caption: RwSignal::new(None),
            generation: StoredValue::new(0),
            source: StoredValue::new(source),
            ahead: StoredValue::new((0, Vec::new())),
        };
        let id = upload.id;
        chat.uploads.update(|u| u.push(upload));
        begin(chat, id, 0);
    }
}

/// The uploads in the tray of `room`'s composer (or its `thread`'s), tracked.
pub fn in_tray(chat: ChatState, room: &RoomId, thread: Option<Uuid>) -> Vec<Upload> {
    chat.uploads
        .with(|u| u.iter().filter(|u| u.room == *room && u.thread == thread).cloned().collect())
}

/// Send was pressed in the composer of `room` (or `thread`): every file waiting there is
/// shared as soon as its bytes are in, the first with `caption`. False if none was waiting.
pub fn share_staged(chat: ChatState, room: &RoomId, thread: Option<Uuid>, caption: String) -> bool {
    let waiting: Vec<Upload> = chat.uploads.with_untracked(|u| {
        u.iter()
            .filter(|u| u.room == *room && u.thread == thread)
            .filter(|u| u.caption.with_untracked(Option::is_none))
            .filter(|u| !matches!(u.stage.get_untracked(), Stage::Failed(_)))
            .cloned()
            .collect()
    });
    let mut caption = Some(caption);
    for upload in &waiting {
        upload.caption.set(Some(caption.take().unwrap_or_default()));
        if upload.stage.get_untracked() == Stage::Uploaded {
            finish(chat, upload.id, upload.generation.get_value());
        }
    }
    !waiting.is_empty()
}

/// Drops an upload (its row's Cancel or Remove button) and tells the server to drop its bytes.
pub fn cancel(chat: ChatState, id: Uuid) {
    forget(chat, id);
    chat.request::<CancelUpload>(CancelUploadPayload { id }, |_| {});
}

/// After a reconnect: every upload still going starts again from `file:begin`.
pub fn resume_uploads(chat: ChatState) {
    let going: Vec<Upload> = chat.uploads.with_untracked(|u| {
        u.iter().filter(|u| !matches!(u.stage.get_untracked(), Stage::Failed(_))).cloned().collect()
    });
    for upload in going {
        let generation = upload.generation.get_value().wrapping_add(1);
        upload.generation.set_value(generation);
        begin(chat, upload.id, generation);
    }
}

fn find(chat: ChatState, id: Uuid) -> Option<Upload> {
    chat.uploads.with_untracked(|u| u.iter().find(|u| u.id == id).cloned())
}

/// The upload, if this chain (`generation`) is still the one driving it.
fn current(chat: ChatState, id: Uuid, generation: u32) -> Option<Upload> {
    find(chat, id).filter(|u| u.generation.get_value() == generation)
}

fn forget(chat: ChatState, id: Uuid) {
    // The signals live as long as the component that staged the file; the bytes must not.
    if let Some(upload) = find(chat, id) {
        upload.ahead.set_value((0, Vec::new()));
    }
    let had = chat.uploads.try_update(|u| {
        let before = u.len();
        u.retain(|u| u.id != id);
        before != u.len()
    });
    if had == Some(true) {
        start_queued(chat);
    }
}

/// A slot on the server was freed: the queued uploads try again.
fn start_queued(chat: ChatState) {
    let queued: Vec<Upload> = chat.uploads.with_untracked(|u| {
        u.iter().filter(|u| u.stage.get_untracked() == Stage::Queued).cloned().collect()
    });
    for upload in queued {
        upload.stage.set(Stage::Starting);
        begin(chat, upload.id, upload.generation.get_value());
    }
}

/// A request of this chain failed without a verdict (no ack in time, or no connection).
fn stalled(chat: ChatState, upload: &Upload, retry: impl FnOnce() + 'static) {
    if chat.connected.get_untracked() {
        // Connected but unanswered: ask again; every step can be repeated.
        retry();
    } else {
        // `resume_uploads` starts a new chain when the connection is back.
        upload.stage.set(Stage::Offline);
    }
}

fn fail(chat: ChatState, upload: &Upload, error: &RequestError) {
    upload.stage.set(Stage::Failed(describe(error)));
    // Whatever the server still holds of it is of no use now.
    chat.request::<CancelUpload>(CancelUploadPayload { id: upload.id }, |_| {});
    start_queued(chat);
}

fn begin(chat: ChatState, id: Uuid, generation: u32) {
    let Some(upload) = current(chat, id, generation) else { return };
    let payload = BeginUploadPayload {
        id,
        room: upload.room.clone(),
        name: upload.name.clone(),
        size: upload.size,
    };
    chat.request::<BeginUpload>(payload, move |result| {
        let Some(upload) = current(chat, id, generation) else { return };
        match result {
            Ok(progress) => advance(chat, &upload, generation, progress),
            Err(RequestError::Rejected(ChatError::TooManyUploads { .. })) => {
                upload.stage.set(Stage::Queued);
            }
            Err(e @ RequestError::Rejected(_)) => fail(chat, &upload, &e),
            Err(_) => stalled(chat, &upload, move || begin(chat, id, generation)),
        }
    });
}

/// The server holds `progress.received` bytes: send the next chunk, or finish.
fn advance(chat: ChatState, upload: &Upload, generation: u32, progress: UploadProgress) {
    upload.sent.set(progress.received);
    if progress.received >= upload.size {
        upload.ahead.set_value((0, Vec::new()));
        upload.stage.set(Stage::Uploaded);
        if upload.caption.with_untracked(Option::is_some) {
            finish(chat, upload.id, generation);
        }
        return;
    }
    upload.stage.set(Stage::Sending);
    let (id, start) = (upload.id, progress.received);
    let end = (start + u64::from(progress.chunk_bytes.max(1))).min(upload.size);
    let held = upload.ahead.with_value(|(at, bytes)| {
        let from = usize::try_from(start.checked_sub(*at)?).ok()?;
        let to = usize::try_from(end - at).ok()?;
        bytes.get(from..to).map(<[u8]>::to_vec)
    });
    let read = held.is_none().then(|| {
        let until = (start + READ_AHEAD.max(end - start)).min(upload.size);
        upload.source.with_value(|source| read_part(source, start, until))
    });
    let ahead = upload.ahead;
    spawn_local(async move {
        let read = match read {
            None => Ok(held.unwrap_or_default()),
            Some(read) => read.await.map(|bytes| {
                let chunk = bytes
                    [..usize::try_from(end - start).unwrap_or(bytes.len()).min(bytes.len())]
                    .to_vec();
                ahead.set_value((start, bytes));
                chunk
            }),
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(why) => {
                if let Some(upload) = current(chat, id, generation) {
                    upload.stage.set(Stage::Failed(format!("Could not read the file: {why}")));
                    chat.request::<CancelUpload>(CancelUploadPayload { id }, |_| {});
                }
                return;
            }
        };
        let Some(socket) = chat.socket.get_value() else { return };
        let ack =
            socket.request_with_bytes::<UploadChunk>(&ChunkHeader { id, offset: start }, &bytes);
        drop(bytes);
        let result = ack.await;
        let Some(upload) = current(chat, id, generation) else { return };
        match result {
            Ok(progress) => advance(chat, &upload, generation, progress),
            Err(RequestError::Rejected(ChatError::UploadOffset { expected })) => {
                let chunk_bytes = progress.chunk_bytes;
                advance(
                    chat,
                    &upload,
                    generation,
                    UploadProgress { id, received: expected, chunk_bytes },
                );
            }
            // The server forgot it (expired while idle, or restarted): from the start.
            Err(RequestError::Rejected(ChatError::UnknownUpload { .. })) => {
                begin(chat, id, generation)
            }
            Err(RequestError::Rejected(ChatError::RateLimited { retry_after_ms })) => {
                set_timeout(
                    move || begin(chat, id, generation),
                    std::time::Duration::from_millis(retry_after_ms),
                );
            }
            Err(e @ RequestError::Rejected(_)) => fail(chat, &upload, &e),
            Err(_) => stalled(chat, &upload, move || begin(chat, id, generation)),
        }
    });
}

fn finish(chat: ChatState, id: Uuid, generation: u32) {
    let Some(upload) = current(chat, id, generation) else { return };
    upload.stage.set(Stage::Sharing);
    let payload = FinishUploadPayload {
        id,
        caption: upload.caption.get_untracked().unwrap_or_default(),
        thread: upload.thread,
    };
    chat.request::<FinishUpload>(payload, move |result| {
        let Some(upload) = current(chat, id, generation) else { return };
        match result {
            Ok(message) => {
                forget(chat, id);
                chat.apply_message(message, false);
            }
            // Forgotten before the finish (idle too long, or a restart): send it again.
            Err(RequestError::Rejected(ChatError::UnknownUpload { .. })) => {
                upload.sent.set(0);
                begin(chat, id, generation);
            }
            Err(e @ RequestError::Rejected(_)) => fail(chat, &upload, &e),
            Err(_) => stalled(chat, &upload, move || finish(chat, id, generation)),
        }
    });
}

/// Reads bytes `start..end` of the file.
#[cfg(feature = "hydrate")]
fn read_part(
    source: &Source,
    start: u64,
    end: u64,
) -> impl Future<Output = Result<Vec<u8>, String>> + use<> {
    let part = source.slice_with_f64_and_f64(start as f64, end as f64);
    async move {
        let part = part.map_err(|e| format!("{e:?}"))?;
        let buffer = wasm_bindgen_futures::JsFuture::from(part.array_buffer())
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}

#[cfg(not(feature = "hydrate"))]
fn read_part(_: &Source, _: u64, _: u64) -> impl Future<Output = Result<Vec<u8>, String>> + use<> {
    std::future::ready(Err("no files during SSR".to_owned()))
}

/// The files of a `FileList` (from the file input, a drop or a paste).
#[cfg(feature = "hydrate")]
pub fn sources(list: Option<web_sys::FileList>) -> Vec<Source> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).map(send_wrapper::SendWrapper::new).collect()
}

/// The composer's tray: one row per file with its progress, status and a Cancel button.
#[component]
pub fn UploadTray(#[prop(optional_no_strip)] thread: Option<Uuid>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let uploads = move || in_tray(chat, &chat.current.get(), thread);
    view! {
        <Show when=move || !uploads().is_empty()>
            <ul class="uploads" aria-label="Files to share">
                <For each=uploads key=|u| u.id let:upload>
                    <UploadRow upload />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn UploadRow(upload: Upload) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let id = upload.id;
    let failed = {
        let stage = upload.stage;
        move || matches!(stage.get(), Stage::Failed(_))
    };
    // A finished bar says nothing the status line does not.
    let ready = {
        let stage = upload.stage;
        move || matches!(stage.get(), Stage::Uploaded | Stage::Sharing)
    };
    let button = move || if failed() { "Remove" } else { "Cancel" };
    let label = {
        let name = upload.name.clone();
        move || format!("{} {name}", button())
    };
    let status_id = format!("upload-status-{}", id.simple());
    let size = upload.size.max(1).to_string();
    let sent = upload.sent;
    let status = {
        let upload = upload.clone();
        move || upload.status()
    };
    view! {
        <li class="upload" class:failed=failed>
            <span class="upload-name" title=upload.name.clone()>{upload.name.clone()}</span>
            <progress max=size prop:value=move || sent.get().to_string()
                aria-label=format!("Upload of {}", upload.name) aria-describedby=status_id.clone()
                class:hidden=move || failed() || ready()></progress>
            <span class="upload-status" id=status_id role=move || failed().then_some("alert")>{status}</span>
            <button type="button" class="ghost small" aria-label=label on:click=move |_| cancel(chat, id)>
                {button}
            </button>
        </li>
    }
}
