//! Shared files: uploads in chunks, their checks, and what a finished one becomes.
//!
//! An upload is memory of this node (its place, its running hash, the first bytes for sniffing)
//! and a partial file under `data_dir/uploads`; it survives its tab's reconnect (the same
//! person beginning the same id again gets where it stands) and is forgotten after
//! [`IDLE_EXPIRY`] without a chunk. Finishing checks the bytes, not the name: the type is
//! sniffed from the content and must be allowed, the person's quota is counted in the store,
//! an image gets a preview, and the bytes go to the [`Blobs`] under their SHA-256, where the
//! same file shared twice is one file. Then it is a message like any other ([`Chat::share_file`]).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::ChatError;
use app::events::files::{BeginUploadPayload, ChunkHeader, FinishUploadPayload, UploadProgress};
use app::limits::{MAX_FILE_NAME_CHARS, PREVIEW_PIXELS};
use app::model::{Attachment, ChatMessage, ImageSize, RoomId, UserId};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{Audience, Chat, Identity, internal};
use crate::store::Blobs;

/// An upload without a chunk for this long is dropped with its bytes.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(10 * 60);

/// Bytes kept from a file's start for sniffing its type.
const SNIFF_BYTES: usize = 8 * 1024;

/// Uploads in progress on one node, all people together.
const UPLOADS_PER_NODE: usize = 256;

/// Previews made at once (decoding an image is CPU and memory).
const PREVIEWS_AT_ONCE: usize = 2;

/// Largest image decoded for a preview: pixels on a side, and bytes of decoded memory.
const PREVIEW_MAX_SIDE: u32 = 12_000;
const PREVIEW_MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// Types served inline (as images in the page); everything else is a download.
pub const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What uploads may do.
#[derive(Debug, Clone)]
pub struct FileLimits {
    /// Largest file.
    pub max_file_bytes: u64,
    /// What one person's files may take.
    pub quota_bytes: u64,
    /// Uploads in progress per person.
    pub uploads_per_person: usize,
    /// Accepted types: exact, `family/*`, or `*`.
    pub types: Vec<String>,
    /// Most bytes per chunk.
    pub chunk_bytes: u32,
}

impl FileLimits {
    fn allows(&self, mime: &str) -> bool {
        let family = mime.split('/').next().unwrap_or_default();
        self.types.iter().map(|t| t.trim()).any(|t| {
            t == "*" || t.eq_ignore_ascii_case(mime) || t.strip_suffix("/*") == Some(family)
        })
    }
}

/// One upload in progress.
#[derive(Debug)]
struct Upload {
    room: RoomId,
    name: String,
    size: u64,
    received: u64,
    hasher: Sha256,
    head: Vec<u8>,
    file: tokio::fs::File,
    path: PathBuf,
    touched: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Upload>>>;

/// Uploads and what they become.
#[derive(Debug)]
pub struct Files {
    chat: Arc<Chat>,
    blobs: Arc<dyn Blobs>,
    partial_dir: PathBuf,
    limits: FileLimits,
    /// By person and upload id: an id is the person's own, so someone else's is another upload.
    uploads: Mutex<HashMap<(UserId, Uuid), (Slot, Instant)>>,
    previews: tokio::sync::Semaphore,
}

impl Files {
    /// The file service: partial uploads under `data_dir/uploads` (emptied now: uploads do not
    /// outlive the process that received them), finished files in `blobs`.
    pub async fn new(
        chat: Arc<Chat>,
        blobs: Arc<dyn Blobs>,
        data_dir: &std::path::Path,
        limits: FileLimits,
    ) -> std::io::Result<Self> {
        let partial_dir = data_dir.join("uploads");
        match tokio::fs::remove_dir_all(&partial_dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        tokio::fs::create_dir_all(&partial_dir).await?;
        Ok(Self {
            chat,
            blobs,
            partial_dir,
            limits,
            uploads: Mutex::new(HashMap::new()),
            previews: tokio::sync::Semaphore::new(PREVIEWS_AT_ONCE),
        })
    }

    /// The blob store (for downloads).
    pub fn blobs(&self) -> &Arc<dyn Blobs> {
        &self.blobs
    }

    fn progress(&self, id: Uuid, received: u64) -> UploadProgress {
        UploadProgress { id, received, chunk_bytes: self.limits.chunk_bytes }
    }

    fn slot(&self, who: &Identity, id: Uuid) -> Option<Slot> {
        let mut uploads = self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = uploads.get_mut(&(who.user.id.clone(), id))?;
        entry.1 = Instant::now();
        Some(Arc::clone(&entry.0))
    }

    fn forget(&self, who: &Identity, id: Uuid) {
        let mut uploads = self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        uploads.remove(&(who.user.id.clone(), id));
    }

    /// `file:begin`: a new upload, or where an existing one stands.
    pub async fn begin(
        &self,
        who: &Identity,
        request: BeginUploadPayload,
    ) -> Result<UploadProgress, ChatError> {
        if let Some(slot) = self.slot(who, request.id) {
            let received = slot.lock().await.as_ref().map_or(0, |u| u.received);
            return Ok(self.progress(request.id, received));
        }
        // Finished already (the finish's ack was lost): all of it is there; finishing again
        // answers the stored message.
        // Someone else's message under this id (known once shared): refused now, not after
        // every byte has been sent.
        if let Some(stored) = self.chat.stored_message(request.id).await? {
            return match stored.attachment {
                Some(file) if stored.author.id == *who.id() => {
                    Ok(self.progress(request.id, file.size))
                }
                _ => Err(ChatError::MessageIdTaken { id: request.id }),
            };
        }
        if request.size > self.limits.max_file_bytes {
            return Err(ChatError::FileTooLarge {
                size: request.size,
                max: self.limits.max_file_bytes,
            });
        }
        self.chat.check_member(who, &request.room).await?;
        // Only what cannot fit whatever the bytes are: a file the person shared before counts
        // nothing again, which only its hash, known at the finish, can tell.
        if request.size > self.limits.quota_bytes {
            let used = self.chat.store().upload_usage(&who.user.id).await.map_err(internal)?;
            return Err(ChatError::QuotaExceeded { used, quota: self.limits.quota_bytes });
        }
        let path = self.partial_dir.join(format!("{}.part", Uuid::now_v7().simple()));
        let file = tokio::fs::File::create(&path).await.map_err(disk_failure)?;
        let upload = Upload {
            room: request.room,
            name: file_name(&request.name),
            size: request.size,
            received: 0,
            hasher: Sha256::new(),
            head: Vec::new(),
            file,
            path: path.clone(),
            touched: Instant::now(),
        };
        let expired = {
            let mut uploads =
                self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let expired: Vec<Slot> = {
                let now = Instant::now();
                let old: Vec<(UserId, Uuid)> = uploads
                    .iter()
                    .filter(|(_, (_, touched))| now.duration_since(*touched) > IDLE_EXPIRY)
                    .map(|(k, _)| k.clone())
                    .collect();
                old.iter().filter_map(|k| uploads.remove(k)).map(|(slot, _)| slot).collect()
            };
            let key = (who.user.id.clone(), request.id);
            let mine = uploads.keys().filter(|(user, _)| *user == who.user.id).count();
            let refusal = if uploads.contains_key(&key) {
                // Begun meanwhile by another tab: that one stands.
                Some(None)
            } else if mine >= self.limits.uploads_per_person {
                Some(Some(ChatError::TooManyUploads { max: self.limits.uploads_per_person }))
            } else if uploads.len() >= UPLOADS_PER_NODE {
                Some(Some(ChatError::RateLimited { retry_after_ms: 5_000 }))
            } else {
                uploads
                    .insert(key, (Arc::new(tokio::sync::Mutex::new(Some(upload))), Instant::now()));
                None
            };
            (expired, refusal)
        };
        let (expired, refusal) = expired;
        for slot in expired {
            if let Some(old) = slot.lock().await.take() {
                remove_quietly(&old.path).await;
            }
        }
        match refusal {
            None => Ok(self.progress(request.id, 0)),
            Some(refusal) => {
                remove_quietly(&path).await;
                match refusal {
                    Some(e) => Err(e),
                    None => Box::pin(self.begin_again(who, request.id)).await,
                }
            }
        }
    }

    async fn begin_again(&self, who: &Identity, id: Uuid) -> Result<UploadProgress, ChatError> {
        let Some(slot) = self.slot(who, id) else { return Err(ChatError::UnknownUpload { id }) };
        let received = slot.lock().await.as_ref().map_or(0, |u| u.received);
        Ok(self.progress(id, received))
    }

    /// `file:chunk`: `bytes` at `header.offset`. A chunk the upload holds already (resent after
    /// a lost ack) is acked again without writing.
    pub async fn chunk(
        &self,
        who: &Identity,
        header: ChunkHeader,
        bytes: &[u8],
    ) -> Result<UploadProgress, ChatError> {
        let id = header.id;
        let slot = self.slot(who, id).ok_or(ChatError::UnknownUpload { id })?;
        let mut guard = slot.lock().await;
        let upload = guard.as_mut().ok_or(ChatError::UnknownUpload { id })?;
        if bytes.len() > self.limits.chunk_bytes as usize {
            return Err(ChatError::InvalidPayload {
                reason: format!("a chunk carries at most {} bytes", self.limits.chunk_bytes),
            });
        }
        let len = bytes.len() as u64;
        let end = header.offset.saturating_add(len);
        if header.offset < upload.received && end <= upload.received {
            return Ok(self.progress(id, upload.received));
        }
        if header.offset != upload.received || end > upload.size || bytes.is_empty() {
            return Err(ChatError::UploadOffset { expected: upload.received });
        }
        upload.file.write_all(bytes).await.map_err(disk_failure)?;
        upload.hasher.update(bytes);
        if upload.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - upload.head.len()).min(bytes.len());
            upload.head.extend_from_slice(&bytes[..take]);
        }
        upload.received = end;
        upload.touched = Instant::now();
        Ok(self.progress(id, upload.received))
    }

    /// `file:cancel`: the upload and its bytes are dropped.
    pub async fn cancel(&self, who: &Identity, id: Uuid) {
        let Some(slot) = self.slot(who, id) else { return };
        self.forget(who, id);
        if let Some(upload) = slot.lock().await.take() {
            remove_quietly(&upload.path).await;
        }
    }

    /// `file:finish`: the checked file, stored, posted as message `id`.
    pub async fn finish(
        &self,
        who: &Identity,
        request: FinishUploadPayload,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        let id = request.id;
        let Some(slot) = self.slot(who, id) else {
            return match self.chat.own_message(who, id).await? {
                Some(stored) if stored.attachment.is_some() => Ok((stored, None)),
                _ => Err(ChatError::UnknownUpload { id }),
            };
        };
        let mut guard = slot.lock().await;
        let Some(upload) = guard.as_mut() else { return Err(ChatError::UnknownUpload { id }) };
        if upload.received != upload.size {
            return Err(ChatError::UploadIncomplete {
                received: upload.received,
                size: upload.size,
            });
        }
        // Taken out: whatever happens next, this upload is over.
        let Some(mut upload) = guard.take() else { return Err(ChatError::UnknownUpload { id }) };
        drop(guard);
        self.forget(who, id);
        let result = self.store_and_share(who, &mut upload, request).await;
        if result.is_err() {
            remove_quietly(&upload.path).await;
        }
        result
    }

    async fn store_and_share(
        &self,
        who: &Identity,
        upload: &mut Upload,
        request: FinishUploadPayload,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        // Durable before the message that names it is acked.
        upload.file.flush().await.map_err(disk_failure)?;
        upload.file.sync_all().await.map_err(disk_failure)?;
        let mime = sniff(&upload.head);
        if !self.limits.allows(&mime) {
            return Err(ChatError::FileTypeRefused { mime });
        }
        let hash = hex(&std::mem::take(&mut upload.hasher).finalize());
        if let Some(used) = self
            .chat
            .store()
            .record_upload(&who.user.id, &hash, upload.size, self.limits.quota_bytes)
            .await
            .map_err(internal)?
        {
            return Err(ChatError::QuotaExceeded { used, quota: self.limits.quota_bytes });
        }
        let image = if INLINE_TYPES.contains(&mime.as_str()) {
            self.preview(&hash, &upload.path, &mime).await
        } else {
            None
        };
        self.blobs.put_file(&hash, &upload.path).await.map_err(internal)?;
        let attachment =
            Attachment { file: hash, name: upload.name.clone(), size: upload.size, mime, image };
        self.chat
            .share_file(
                who,
                request.id,
                upload.room.clone(),
                &request.caption,
                request.thread,
                attachment,
            )
            .await
    }

    /// Makes and stores the preview of the image at `path`; its size, or `None` if it cannot
    /// be read (it is then shared as a plain file).
    async fn preview(&self, hash: &str, path: &std::path::Path, mime: &str) -> Option<ImageSize> {
        let _turn = self.previews.acquire().await.ok()?;
        let path = path.to_owned();
        let mime = mime.to_owned();
        let made = tokio::task::spawn_blocking(move || make_preview(&path, &mime)).await.ok()?;
        let (size, bytes) = match made {
            Ok(made) => made,
            Err(e) => {
                tracing::debug!(error = %e, "no preview for an uploaded image");
                return None;
            }
        };
        match self.blobs.put_bytes(&format!("preview-{hash}"), bytes).await {
            Ok(()) => Some(size),
            Err(e) => {
                tracing::warn!(error = %e, "could not store an image preview");
                None
            }
        }
    }
}

/// The type of an image's preview: JPEG for a photo, PNG for the rest (screenshots, images with
/// transparency).
pub fn preview_type(mime: &str) -> &'static str {
    if mime == "image/jpeg" { "image/jpeg" } else { "image/png" }
}

/// Decodes the image at `path` within bounds and encodes a preview of at most
/// [`PREVIEW_PIXELS`] a side, as [`preview_type`] says.
fn make_preview(
    path: &std::path::Path,
    mime: &str,
) -> Result<(ImageSize, Vec<u8>), image::ImageError> {
    let mut reader = image::ImageReader::open(path)?.with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(PREVIEW_MAX_SIDE);
    limits.max_image_height = Some(PREVIEW_MAX_SIDE);
    limits.max_alloc = Some(PREVIEW_MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode()?;
    let size = ImageSize { width: image.width(), height: image.height() };
    let preview = if image.width() > PREVIEW_PIXELS || image.height() > PREVIEW_PIXELS {
        image.thumbnail(PREVIEW_PIXELS, PREVIEW_PIXELS)
    } else {
        image
    };
    let mut out = Cursor::new(Vec::new());
    if preview_type(mime) == "image/png" {
        preview.write_to(&mut out, image::ImageFormat::Png)?;
    } else {
        image::DynamicImage::ImageRgb8(preview.to_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82))?;
    }
    Ok((size, out.into_inner()))
}

/// The type the bytes show; `application/octet-stream` when no signature matches.
fn sniff(head: &[u8]) -> String {
    infer::get(head)
        .map_or_else(|| "application/octet-stream".to_owned(), |t| t.mime_type().to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name shown for a file: its last path component, control characters removed, cut to
/// [`MAX_FILE_NAME_CHARS`] keeping the extension; `file` if nothing is left.
pub fn file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        return "file".to_owned();
    }
    if clean.chars().count() <= MAX_FILE_NAME_CHARS {
        return clean.to_owned();
    }
    let extension: String = match clean.rsplit_once('.') {
        Some((_, ext)) if ext.chars().count() <= 16 => format!(".{ext}"),
        _ => String::new(),
    };
    let keep = MAX_FILE_NAME_CHARS - extension.chars().count();
    clean.chars().take(keep).chain(extension.chars()).collect()
}

fn disk_failure(e: std::io::Error) -> ChatError {
    tracing::error!(error = %e, "upload could not be written");
    ChatError::Internal
}

async fn remove_quietly(path: &std::path::Path) {
    if let Err(e) = tokio::fs::remove_file(path).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, path = %path.display(), "could not remove a partial upload");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_display_names_never_paths() {
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(file_name(".."), "file");
        assert_eq!(file_name("   "), "file");
        let long = format!("{}.png", "x".repeat(500));
        let cut = file_name(&long);
        assert_eq!(cut.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cut.ends_with(".png"));
    }

    #[test]
    fn types_are_matched_exactly_or_by_family() {
        let limits = FileLimits {
            max_file_bytes: 1,
            quota_bytes: 1,
            uploads_per_person: 1,
            types: vec!["image/*".into(), "application/pdf".into()],
            chunk_bytes: 1,
        };
        assert!(limits.allows("image/png"));
        assert!(limits.allows("application/pdf"));
        assert!(!limits.allows("application/octet-stream"));
        assert!(!limits.allows("imagex/png"));
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'>"), "application/octet-stream");
    }
}
