/* Parley's Socket.IO event API, generated from docs/api/parley-events.schema.json by scripts/publish-api. Do not edit. */

export type ResultOf_AuditPageOr_ChatError =
  | {
      Ok: AuditPage;
    }
  | {
      Err: ChatError;
    };
/**
 * What an administrator did.
 */
export type AdminAction =
  | "ban"
  | "unban"
  | "promote"
  | "demote"
  | "remove_message"
  | "delete_room"
  | "create_webhook"
  | "delete_webhook"
  | "create_bot"
  | "issue_bot_token"
  | "revoke_bot_tokens"
  | "room_remove_message"
  | "remove_member"
  | "add_moderator"
  | "drop_moderator"
  | "end_session";
/**
 * A person's stable id: their lowercased name, so `Ada` and `ada` are one person and a name
 * cannot be registered twice in different case.
 */
export type UserId = string;
/**
 * A person's display name: 1–[`MAX_NAME_CHARS`] characters after trimming, no control
 * characters. Only [`DisplayName::parse`] builds one, so holding a value proves it is valid.
 */
export type DisplayName = string;
/**
 * A typed refusal, sent in an ack as `{"Err": {"code": "...", ...}}`.
 *
 * Each variant says what the client did wrong in terms it can show to a person; server internals
 * are logged on the server and surface only as [`ChatError::Internal`].
 */
export type ChatError =
  | {
      code: "invalid_payload";
      /**
       * What the decoder complained about.
       */
      reason: string;
    }
  | {
      code: "empty_message";
    }
  | {
      code: "message_too_long";
      /**
       * Characters in the refused message.
       */
      len: number;
      /**
       * The configured limit.
       */
      max: number;
    }
  | {
      code: "invalid_name";
      /**
       * Which rule.
       */
      reason: string;
    }
  | {
      code: "invalid_room_name";
      /**
       * Which rule.
       */
      reason: string;
    }
  | {
      code: "room_exists";
      /**
       * The name asked for.
       */
      room: string;
    }
  | {
      code: "not_member";
      /**
       * The room.
       */
      room: string;
    }
  | {
      code: "forbidden";
      /**
       * The room.
       */
      room: string;
    }
  | {
      code: "bad_webhook";
    }
  | {
      code: "unknown_user";
      /**
       * The id that was named.
       */
      user: string;
    }
  | {
      code: "not_author";
      /**
       * The message id that was named.
       */
      id: string;
    }
  | {
      code: "message_id_taken";
      /**
       * The id that was sent.
       */
      id: string;
    }
  | {
      code: "unknown_room";
      /**
       * The room that was named.
       */
      room: string;
    }
  | {
      code: "rate_limited";
      /**
       * When the next request will be accepted.
       */
      retry_after_ms: number;
    }
  | {
      code: "name_taken";
      /**
       * The name asked for.
       */
      name: string;
    }
  | {
      code: "invalid_password";
      /**
       * Most characters.
       */
      max: number;
      /**
       * Fewest characters.
       */
      min: number;
    }
  | {
      code: "bad_credentials";
    }
  | {
      code: "guests_disabled";
    }
  | {
      code: "too_many_rooms";
      /**
       * The configured limit.
       */
      max: number;
    }
  | {
      code: "unknown_message";
      /**
       * The message id that was named.
       */
      id: string;
    }
  | {
      code: "not_a_thread";
      /**
       * The message named as the thread.
       */
      id: string;
    }
  | {
      code: "unknown_reaction";
      /**
       * What was sent.
       */
      emoji: string;
    }
  | {
      code: "too_many_reactions";
      /**
       * The configured limit.
       */
      max: number;
    }
  | {
      code: "room_mention_forbidden";
      /**
       * The configured size up to which every member may.
       */
      max_members: number;
      /**
       * The room.
       */
      room: string;
    }
  | {
      code: "empty_search";
    }
  | {
      code: "search_too_long";
      /**
       * Characters in the refused text.
       */
      len: number;
      /**
       * The limit ([`crate::search::MAX_SEARCH_CHARS`]).
       */
      max: number;
    }
  | {
      code: "file_too_large";
      /**
       * The configured limit.
       */
      max: number;
      /**
       * The file's size.
       */
      size: number;
    }
  | {
      code: "quota_exceeded";
      /**
       * The configured quota.
       */
      quota: number;
      /**
       * Bytes the person's files take already.
       */
      used: number;
    }
  | {
      code: "file_type_refused";
      /**
       * The type the bytes show.
       */
      mime: string;
    }
  | {
      code: "too_many_uploads";
      /**
       * The configured limit.
       */
      max: number;
    }
  | {
      code: "unknown_upload";
      /**
       * The upload named.
       */
      id: string;
    }
  | {
      code: "upload_offset";
      /**
       * Where the next chunk must start.
       */
      expected: number;
    }
  | {
      code: "upload_incomplete";
      /**
       * Bytes received.
       */
      received: number;
      /**
       * The size announced.
       */
      size: number;
    }
  | {
      code: "request";
      /**
       * What failed.
       */
      reason: string;
    }
  | {
      code: "admin_required";
    }
  | {
      code: "cannot_moderate";
      /**
       * Why not, in words.
       */
      reason: string;
      /**
       * The person.
       */
      user: string;
    }
  | {
      code: "banned";
    }
  | {
      code: "internal";
    };
export type ResultOf_EmptyOr_ChatError =
  | {
      Ok: Empty;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_BotTokenOr_ChatError =
  | {
      Ok: BotToken;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_ConnectionListOr_ChatError =
  | {
      Ok: ConnectionList;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_WebhookCreatedOr_ChatError =
  | {
      Ok: WebhookCreated;
    }
  | {
      Err: ChatError;
    };
/**
 * A room's identifier, as used on the wire and in Socket.IO room names (`room:{id}`).
 */
export type RoomId = string;
export type ResultOf_RoomRefOr_ChatError =
  | {
      Ok: RoomRef;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_NodeListOr_ChatError =
  | {
      Ok: NodeList;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_ChatMessageOr_ChatError =
  | {
      Ok: ChatMessage;
    }
  | {
      Err: ChatError;
    };
/**
 * What kind of room.
 */
export type RoomKind = "public" | "private" | "direct";
export type ResultOf_RoomSummaryOr_ChatError =
  | {
      Ok: RoomSummary;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_UploadProgressOr_ChatError =
  | {
      Ok: UploadProgress;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_HistoryPageOr_ChatError =
  | {
      Ok: HistoryPage;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_SearchResultsOr_ChatError =
  | {
      Ok: SearchResults;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_SyncPageOr_ChatError =
  | {
      Ok: SyncPage;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_ThreadPageOr_ChatError =
  | {
      Ok: ThreadPage;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_RoomViewOr_ChatError =
  | {
      Ok: RoomView;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_RoomListOr_ChatError =
  | {
      Ok: RoomList;
    }
  | {
      Err: ChatError;
    };
export type ResultOf_ReadStateOr_ChatError =
  | {
      Ok: ReadState;
    }
  | {
      Err: ChatError;
    };
export type ResultOfNullOr_ChatError =
  | {
      Ok: null;
    }
  | {
      Err: ChatError;
    };

/**
 * Parley's Socket.IO event API: per namespace, each request's payload and ack and each broadcast's payload. Generated from the Rust types; do not edit.
 */
export interface ParleyEvents {
  handshake: {
    auth: ConnectAuth;
  };
  namespaces: {
    "/admin": {
      requests: {
        "admin:audit": {
          ack: ResultOf_AuditPageOr_ChatError;
          payload: AuditRequest;
        };
        "admin:ban": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: BanPayload;
        };
        "admin:bot_token": {
          ack: ResultOf_BotTokenOr_ChatError;
          payload: PersonPayload;
        };
        "admin:connections": {
          ack: ResultOf_ConnectionListOr_ChatError;
          payload: Empty;
        };
        "admin:create_bot": {
          ack: ResultOf_BotTokenOr_ChatError;
          payload: NewBot;
        };
        "admin:create_webhook": {
          ack: ResultOf_WebhookCreatedOr_ChatError;
          payload: NewWebhook;
        };
        "admin:delete_room": {
          ack: ResultOf_RoomRefOr_ChatError;
          payload: RoomRef;
        };
        "admin:delete_webhook": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: WebhookRef;
        };
        "admin:demote": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: PersonPayload;
        };
        "admin:end_session": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: SessionRef;
        };
        "admin:nodes": {
          ack: ResultOf_NodeListOr_ChatError;
          payload: Empty;
        };
        "admin:promote": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: PersonPayload;
        };
        "admin:remove_message": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: DeleteRequest;
        };
        "admin:revoke_bot_tokens": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: PersonPayload;
        };
        "admin:unban": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: PersonPayload;
        };
      };
    };
    "/chat": {
      broadcasts: {
        "message:new": {
          payload: ChatMessage;
        };
        "message:updated": {
          payload: ChatMessage;
        };
        presence: {
          payload: Presence[];
        };
        "room:added": {
          payload: RoomSummary;
        };
        "room:created": {
          payload: RoomSummary;
        };
        "room:deleted": {
          payload: RoomGone;
        };
        "room:direct": {
          payload: RoomSummary;
        };
        "room:joined": {
          payload: MemberChange;
        };
        "room:left": {
          payload: MemberChange;
        };
        "room:moderator": {
          payload: ModeratorChange;
        };
        "room:read": {
          payload: ReadState;
        };
        "room:removed": {
          payload: RoomGone;
        };
        typing: {
          payload: TypingNotice;
        };
      };
      requests: {
        "dm:open": {
          ack: ResultOf_RoomSummaryOr_ChatError;
          payload: OpenDirectPayload;
        };
        "file:begin": {
          ack: ResultOf_UploadProgressOr_ChatError;
          payload: BeginUploadPayload;
        };
        "file:cancel": {
          ack: ResultOf_EmptyOr_ChatError;
          payload: CancelUploadPayload;
        };
        "file:chunk": {
          ack: ResultOf_UploadProgressOr_ChatError;
          payload: ChunkHeader;
        };
        "file:finish": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: FinishUploadPayload;
        };
        "message:delete": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: DeleteRequest;
        };
        "message:edit": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: EditRequest;
        };
        "message:history": {
          ack: ResultOf_HistoryPageOr_ChatError;
          payload: HistoryRequest;
        };
        "message:react": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: ReactPayload;
        };
        "message:search": {
          ack: ResultOf_SearchResultsOr_ChatError;
          payload: SearchRequest;
        };
        "message:send": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: SendMessagePayload;
        };
        "message:sync": {
          ack: ResultOf_SyncPageOr_ChatError;
          payload: SyncRequest;
        };
        "message:thread": {
          ack: ResultOf_ThreadPageOr_ChatError;
          payload: ThreadRequest;
        };
        "room:create": {
          ack: ResultOf_RoomSummaryOr_ChatError;
          payload: CreateRoomPayload;
        };
        "room:delete": {
          ack: ResultOf_RoomRefOr_ChatError;
          payload: RoomRef;
        };
        "room:invite": {
          ack: ResultOf_RoomViewOr_ChatError;
          payload: InvitePayload;
        };
        "room:join": {
          ack: ResultOf_RoomViewOr_ChatError;
          payload: RoomRef;
        };
        "room:leave": {
          ack: ResultOf_RoomSummaryOr_ChatError;
          payload: RoomRef;
        };
        "room:list": {
          ack: ResultOf_RoomListOr_ChatError;
          payload: Empty;
        };
        "room:mark_read": {
          ack: ResultOf_ReadStateOr_ChatError;
          payload: MarkReadPayload;
        };
        "room:members": {
          ack: ResultOf_RoomViewOr_ChatError;
          payload: RoomRef;
        };
        "room:mute": {
          ack: ResultOf_ReadStateOr_ChatError;
          payload: MutePayload;
        };
        "room:remove_member": {
          ack: ResultOf_RoomViewOr_ChatError;
          payload: MemberPayload;
        };
        "room:remove_message": {
          ack: ResultOf_ChatMessageOr_ChatError;
          payload: DeleteRequest;
        };
        "room:set_moderator": {
          ack: ResultOf_RoomViewOr_ChatError;
          payload: ModeratorPayload;
        };
        "typing:start": {
          ack: ResultOfNullOr_ChatError;
          payload: RoomRef;
        };
      };
    };
  };
}
/**
 * The handshake `auth` of a connection to [`CHAT_NAMESPACE`]. A browser sends none: its
 * session cookie signs it in. A bot sends the token an administrator was given for it
 * ([`admin::CreateBot`]): `io("/chat", { auth: { token } })`. A token, when present, is the only
 * credential looked at (a wrong one is refused even beside a valid cookie).
 */
export interface ConnectAuth {
  /**
   * A bot's token.
   */
  token?: string | null;
}
/**
 * Ack of [`ListAudit`]: newest first.
 */
export interface AuditPage {
  /**
   * The entries.
   */
  entries: AuditEntry[];
  /**
   * Whether older entries exist.
   */
  more: boolean;
}
/**
 * One entry of the audit log: an administrator's action, or a room moderator's in their room.
 */
export interface AuditEntry {
  /**
   * What was done.
   */
  action: AdminAction;
  /**
   * The administrator (or room moderator) who did it.
   */
  actor: UserRef;
  /**
   * When (ms since the epoch).
   */
  at_ms: number;
  /**
   * The reason given, if any; for a removed message, its room and id.
   */
  detail: string;
  /**
   * Increasing: the page before an entry is asked for with its id.
   */
  id: number;
  /**
   * Whom it was done to (a removed message: its author).
   */
  target: UserId;
}
/**
 * A person as others see them.
 */
export interface UserRef {
  /**
   * Stable id.
   */
  id: UserId;
  /**
   * Display name.
   */
  name: DisplayName;
}
/**
 * Payload of [`ListAudit`].
 */
export interface AuditRequest {
  /**
   * Entries older than this id (none: the newest).
   */
  before?: number | null;
}
/**
 * An empty payload, for requests that need no arguments.
 */
export interface Empty {}
/**
 * Payload of [`BanPerson`].
 */
export interface BanPayload {
  /**
   * Why, for the audit log (may be empty; at most [`crate::limits::MAX_REASON_CHARS`]).
   */
  reason?: string;
  /**
   * The person banned.
   */
  user: UserId;
}
/**
 * Ack of [`CreateBot`] and [`IssueBotToken`]: the token, shown this once. The server keeps only
 * its SHA-256.
 */
export interface BotToken {
  /**
   * The bot.
   */
  bot: UserRef;
  /**
   * What the bot connects with: `io("/chat", { auth: { token } })`.
   */
  token: string;
}
/**
 * A person an administrator acts on.
 */
export interface PersonPayload {
  /**
   * The person (their id: the lower-cased name).
   */
  user: UserId;
}
/**
 * Ack of [`ListConnections`].
 */
export interface ConnectionList {
  /**
   * Every node's connections, by person, then connected-since; at most
   * [`crate::limits::MAX_LISTED_CONNECTIONS`].
   */
  connections: ConnectionInfo[];
  /**
   * How many nodes answered (this one included).
   */
  nodes: number;
  /**
   * Whether some node did not answer in time (the list lacks its connections).
   */
  partial: boolean;
  /**
   * How many there are in all.
   */
  total: number;
}
/**
 * One open Socket.IO connection, as its node reports it (see [`ListConnections`]).
 */
export interface ConnectionInfo {
  /**
   * The client's address, as the node sees it (a proxy's, behind one that is not trusted).
   */
  address?: string | null;
  /**
   * A bot's.
   */
  bot: boolean;
  /**
   * `/chat` or `/admin`.
   */
  namespace: string;
  /**
   * The node it is connected to (its Socket.IO server id).
   */
  node: string;
  /**
   * The sign-in it lives on: what [`EndSession`] takes. Not a credential (a digest of one).
   */
  session: string;
  /**
   * The socket's id.
   */
  sid: string;
  /**
   * When it connected (ms since the epoch).
   */
  since_ms: number;
  /**
   * `websocket` or `polling` (long-polling), now.
   */
  transport: string;
  /**
   * Whose it is.
   */
  user: UserRef;
}
/**
 * Payload of [`CreateBot`].
 */
export interface NewBot {
  /**
   * The bot's display name (the same rules and the same name space as people's: a bot cannot
   * take a person's name, nor a person a bot's).
   */
  name: string;
}
/**
 * Ack of [`CreateWebhook`]: the secret, shown this once. The server keeps only its SHA-256.
 */
export interface WebhookCreated {
  /**
   * The bot it posts as.
   */
  bot: UserRef;
  /**
   * The webhook.
   */
  id: string;
  /**
   * Where to `POST`: `/hooks/{id}` on the server's address.
   */
  path: string;
  /**
   * The room it posts in.
   */
  room: RoomId;
  /**
   * What the caller sends as `Authorization: Bearer <secret>`.
   */
  secret: string;
}
/**
 * Payload of [`CreateWebhook`].
 */
export interface NewWebhook {
  /**
   * The bot it posts as.
   */
  bot: UserId;
  /**
   * The room it posts in (public or private; the bot is added to it).
   */
  room: RoomId;
}
/**
 * A payload naming one room.
 */
export interface RoomRef {
  /**
   * The room.
   */
  room: RoomId;
}
/**
 * Payload of [`DeleteWebhook`].
 */
export interface WebhookRef {
  /**
   * The webhook.
   */
  id: string;
}
/**
 * Payload of [`EndSession`].
 */
export interface SessionRef {
  /**
   * [`ConnectionInfo::session`].
   */
  session: string;
}
/**
 * Ack of [`NodeFigures`].
 */
export interface NodeList {
  /**
   * Every node that answered, by id.
   */
  nodes: NodeStats[];
  /**
   * Whether some node did not answer in time.
   */
  partial: boolean;
}
/**
 * One node's live figures (see [`NodeFigures`]).
 */
export interface NodeStats {
  /**
   * Open connections on `/chat` and `/admin`.
   */
  connections: number;
  /**
   * Messages posted on this node per second, over the last 10 s.
   */
  messages_per_second: number;
  /**
   * The node (its Socket.IO server id).
   */
  node: string;
  /**
   * Requests answered per second, over the last 10 s.
   */
  requests_per_second: number;
  /**
   * One probe query's round trip to the store, in ms (`None`: the store did not answer).
   */
  store_ms?: number | null;
  /**
   * Seconds since the node started.
   */
  uptime_secs: number;
  /**
   * Of which over WebSocket.
   */
  websocket: number;
}
/**
 * A message as stored and delivered.
 */
export interface ChatMessage {
  /**
   * A file shared with the message (the body is then its caption, possibly empty); `None`
   * once the message is deleted.
   */
  attachment?: Attachment | null;
  /**
   * Who wrote it.
   */
  author: UserRef;
  /**
   * The text; rendered as text, never as HTML.
   */
  body: string;
  /**
   * Deleted by its author: the body is empty and the UI shows a placeholder.
   */
  deleted: boolean;
  /**
   * When it was last edited, if ever.
   */
  edited_at_ms?: number | null;
  /**
   * Client-chosen id (UUID v7); unique.
   */
  id: string;
  /**
   * When its last reply was sent (ms since the epoch).
   */
  last_reply_at_ms?: number | null;
  /**
   * The people (and `@room`) the body mentions, where it mentions them; resolved by the
   * server against the room's members when the text was sent or last edited.
   */
  mentions?: Mention[];
  /**
   * Deleted by a moderator rather than its author (`deleted` is set too): the placeholder
   * says so.
   */
  moderated?: boolean;
  /**
   * Reactions, in the order they were first added (empty once deleted).
   */
  reactions?: Reaction[];
  /**
   * For a message that started a thread: how many replies it has (deleted ones included:
   * they keep their place as a placeholder).
   */
  replies?: number;
  /**
   * The room's revision at this message's last change (insert, edit or delete). Revisions
   * increase by one per change in a room; a client resumes from the last one it holds.
   */
  rev: number;
  /**
   * The room it was posted in.
   */
  room: RoomId;
  /**
   * When the server accepted it, in milliseconds since the Unix epoch.
   */
  sent_at_ms: number;
  /**
   * Position in the room, strictly increasing from 1.
   */
  seq: number;
  /**
   * For a reply in a thread, the message it answers (same room); `None` for a message of the
   * room's own timeline.
   */
  thread?: string | null;
}
/**
 * A file shared in a message. The bytes are served over HTTP at [`Attachment::url`] to the
 * room's members only.
 */
export interface Attachment {
  /**
   * The SHA-256 of the bytes (hex): what the server stores them under, once however often
   * they are shared.
   */
  file: string;
  /**
   * For an image the server could read: its size in pixels, and a preview exists at
   * [`Attachment::preview_url`].
   */
  image?: ImageSize | null;
  /**
   * The type its bytes show (sniffed by the server, not taken from the name).
   */
  mime: string;
  /**
   * The file's name as its uploader gave it (a display name: never used as a path).
   */
  name: string;
  /**
   * Size in bytes.
   */
  size: number;
}
/**
 * Width and height of an image, in pixels.
 */
export interface ImageSize {
  /**
   * Pixels down.
   */
  height: number;
  /**
   * Pixels across.
   */
  width: number;
}
/**
 * One mention in a message body.
 */
export interface Mention {
  /**
   * Byte offset just past the mention's text.
   */
  end: number;
  /**
   * Byte offset of the `@` in the body.
   */
  start: number;
  /**
   * The person mentioned; `None` for `@room` / `@here` (everyone in the room).
   */
  user?: UserId | null;
}
/**
 * One emoji's reactions to a message.
 */
export interface Reaction {
  /**
   * Who, in the order they reacted: the first [`crate::limits::REACTORS_LISTED`] of them.
   */
  by: UserRef[];
  /**
   * How many people reacted with it.
   */
  count: number;
  /**
   * One of [`REACTIONS`].
   */
  emoji: string;
}
/**
 * Payload of [`DeleteMessage`].
 */
export interface DeleteRequest {
  /**
   * The message (the caller must be its author).
   */
  id: string;
}
/**
 * One entry of [`PresenceChanged`]'s list.
 */
export interface Presence {
  /**
   * Whether any of their tabs is connected now.
   */
  online: boolean;
  /**
   * Who.
   */
  user: UserRef;
}
/**
 * A room as listed in the sidebar.
 */
export interface RoomSummary {
  /**
   * Who created it (`None` for the lobby).
   */
  created_by?: UserId | null;
  /**
   * Id (for public rooms, also the name).
   */
  id: RoomId;
  /**
   * Public, private or direct.
   */
  kind: RoomKind;
  /**
   * Number of members.
   */
  members: number;
  /**
   * For a direct room, its two people.
   */
  peers: UserRef[];
}
/**
 * Payload of [`RoomDeleted`]: the room, and who deleted it (so its members can be told why it
 * vanished).
 */
export interface RoomGone {
  /**
   * Who deleted it (its creator).
   */
  by: UserRef;
  /**
   * The room.
   */
  room: RoomId;
}
/**
 * Someone joined or left a room: payload of [`MemberJoined`] and [`MemberLeft`].
 */
export interface MemberChange {
  /**
   * Whether `user` is a bot.
   */
  bot?: boolean;
  /**
   * The room's member count afterwards.
   */
  members: number;
  /**
   * The room.
   */
  room: RoomId;
  /**
   * Who.
   */
  user: UserRef;
}
/**
 * Payload of [`ModeratorChanged`].
 */
export interface ModeratorChange {
  /**
   * The moderator who changed it.
   */
  by: UserRef;
  /**
   * Whether they moderate it now.
   */
  moderator: boolean;
  /**
   * The room.
   */
  room: RoomId;
  /**
   * The member.
   */
  user: UserRef;
}
/**
 * Where someone has read up to in a room, and what is left: ack of [`MarkRead`] and payload of
 * [`RoomRead`].
 */
export interface ReadState {
  /**
   * How many of those mention the person (by name or through `@room`), same cap.
   */
  mentions?: number;
  /**
   * The person muted the room: no notifications from it (counts and badges stay).
   */
  muted?: boolean;
  /**
   * The last sequence number read (0: nothing yet).
   */
  read_seq: number;
  /**
   * The room.
   */
  room: RoomId;
  /**
   * Messages after it written by others and not deleted, counted up to
   * [`crate::limits::UNREAD_COUNT_CAP`].
   */
  unread: number;
}
/**
 * Payload of [`Typing`].
 */
export interface TypingNotice {
  /**
   * Where.
   */
  room: RoomId;
  /**
   * Who is typing.
   */
  user: UserRef;
}
/**
 * Payload of [`OpenDirect`].
 */
export interface OpenDirectPayload {
  /**
   * The other person.
   */
  user: UserId;
}
/**
 * Ack of [`BeginUpload`] and of [`UploadChunk`]: where the upload stands.
 */
export interface UploadProgress {
  /**
   * Most bytes one chunk may carry on this server.
   */
  chunk_bytes: number;
  /**
   * The upload.
   */
  id: string;
  /**
   * Bytes the server holds; the next chunk starts here.
   */
  received: number;
}
/**
 * Payload of [`BeginUpload`].
 */
export interface BeginUploadPayload {
  /**
   * Chosen by the client (UUID v7); also the id of the message the finished upload becomes.
   * Scoped to the person: someone else's id is another upload.
   */
  id: string;
  /**
   * The file's name (shown, never used as a path; cut to
   * [`crate::limits::MAX_FILE_NAME_CHARS`]).
   */
  name: string;
  /**
   * The room the file is for (the uploader must be a member).
   */
  room: RoomId;
  /**
   * Its size in bytes.
   */
  size: number;
}
/**
 * Payload of [`CancelUpload`].
 */
export interface CancelUploadPayload {
  /**
   * The upload.
   */
  id: string;
}
/**
 * First argument of [`UploadChunk`]; the second is the bytes (a binary attachment).
 */
export interface ChunkHeader {
  /**
   * The upload.
   */
  id: string;
  /**
   * Where in the file these bytes start: the `received` of the last ack.
   */
  offset: number;
}
/**
 * Payload of [`FinishUpload`].
 */
export interface FinishUploadPayload {
  /**
   * Text sent with the file (may be empty).
   */
  caption?: string;
  /**
   * The upload (all of its bytes received).
   */
  id: string;
  /**
   * To share the file as a reply in a thread: the message answered.
   */
  thread?: string | null;
}
/**
 * Payload of [`EditMessage`].
 */
export interface EditRequest {
  /**
   * The new text (same rules as a new message).
   */
  body: string;
  /**
   * The message (the caller must be its author).
   */
  id: string;
}
/**
 * Ack of [`LoadHistory`]: one page of a room's messages, oldest first.
 */
export interface HistoryPage {
  /**
   * Whether older messages exist.
   */
  has_more: boolean;
  /**
   * At most [`crate::limits::HISTORY_PAGE`] messages, oldest first.
   */
  messages: ChatMessage[];
  /**
   * The room's revision when the page was read: resume from here.
   */
  rev: number;
  /**
   * The room.
   */
  room: RoomId;
}
/**
 * Payload of [`LoadHistory`].
 */
export interface HistoryRequest {
  /**
   * With `before`: also every message back to this sequence number, in one page of at most
   * [`crate::limits::MAX_HISTORY_SPAN`] messages (to open a room at an older message, such
   * as a search result, with everything after it). `None`: one ordinary page.
   */
  back_to?: number | null;
  /**
   * Only messages with a sequence number below this one (the oldest the client holds);
   * `None` for the newest page.
   */
  before?: number | null;
  /**
   * The room (the caller must be a member).
   */
  room: RoomId;
}
/**
 * Payload of [`ReactToMessage`].
 */
export interface ReactPayload {
  /**
   * One of [`crate::model::REACTIONS`].
   */
  emoji: string;
  /**
   * The message (in a room the caller is a member of, not deleted).
   */
  id: string;
  /**
   * Add (`true`) or remove the caller's reaction. Not a toggle: asking for what holds
   * already changes nothing, so a retried request is harmless.
   */
  on: boolean;
}
/**
 * Ack of [`crate::events::messages::SearchMessages`].
 */
export interface SearchResults {
  /**
   * Matching messages, newest first, at most [`SEARCH_RESULTS`]; only from rooms the caller
   * is a member of now, never deleted ones, edited ones by their current text.
   */
  hits: ChatMessage[];
  /**
   * More messages matched than were returned (narrow the search to see them).
   */
  more: boolean;
  /**
   * The words searched for, as the server understood them (for highlighting).
   */
  terms: string[];
}
/**
 * Payload of [`crate::events::messages::SearchMessages`].
 */
export interface SearchRequest {
  /**
   * Only messages by this person.
   */
  from?: UserId | null;
  /**
   * Only in this room (which the caller must be a member of).
   */
  room?: RoomId | null;
  /**
   * The words to find (at most [`MAX_SEARCH_CHARS`]); anything but letters and digits
   * separates words.
   */
  text: string;
}
/**
 * Payload of [`SendMessage`].
 */
export interface SendMessagePayload {
  /**
   * The text, as typed. Trimmed by the server; see [`crate::limits::MAX_MESSAGE_CHARS`].
   */
  body: string;
  /**
   * Id chosen by the client (UUID v7), so a retried send can be recognised.
   */
  id: string;
  /**
   * Target room (public or direct); the sender must be a member.
   */
  room: RoomId;
  /**
   * To reply in a thread: the message answered (in `room`, not deleted, not itself a reply).
   */
  thread?: string | null;
}
/**
 * Ack of [`SyncRoom`]: changes after a revision, in revision order.
 */
export interface SyncPage {
  /**
   * At most [`crate::limits::SYNC_PAGE`] new, edited or deleted messages, by revision.
   */
  changes: ChatMessage[];
  /**
   * Whether more changes follow: ask again after the last one's revision.
   */
  more: boolean;
  /**
   * The room.
   */
  room: RoomId;
}
/**
 * Payload of [`SyncRoom`].
 */
export interface SyncRequest {
  /**
   * The last revision the client holds.
   */
  after_rev: number;
  /**
   * The room (the caller must be a member).
   */
  room: RoomId;
}
/**
 * Ack of [`LoadThread`]: the message answered and one page of its replies, oldest first.
 */
export interface ThreadPage {
  /**
   * At most [`crate::limits::HISTORY_PAGE`] replies, oldest first; `room` is the parent's
   * room, `has_more` says whether older replies exist, `rev` is the room's revision when
   * read (replies are changes of the room, replayed by [`SyncRoom`]).
   */
  page: HistoryPage;
  /**
   * The message that started the thread, as it stands.
   */
  parent: ChatMessage;
}
/**
 * Payload of [`LoadThread`].
 */
export interface ThreadRequest {
  /**
   * Only replies with a sequence number below this one; `None` for the newest page.
   */
  before?: number | null;
  /**
   * The message that started the thread (in a room the caller is a member of).
   */
  parent: string;
}
/**
 * Payload of [`CreateRoom`].
 */
export interface CreateRoomPayload {
  /**
   * The name; see [`crate::model::parse_room_name`].
   */
  name: string;
  /**
   * A private room: listed and joinable only for the people its members invite.
   */
  private?: boolean;
}
/**
 * A room with its members: ack of [`JoinRoom`] and [`RoomMembers`].
 */
export interface RoomView {
  /**
   * Its members, online first, then by name.
   */
  members: Member[];
  /**
   * The room.
   */
  room: RoomSummary;
}
/**
 * A room member and whether any of their tabs is connected.
 */
export interface Member {
  /**
   * A bot's account (a script an administrator created), shown as such.
   */
  bot?: boolean;
  /**
   * Moderates the room: its creator, or made a moderator by one (see
   * [`crate::events::rooms::SetModerator`]).
   */
  moderator?: boolean;
  /**
   * Connected in at least one tab.
   */
  online: boolean;
  /**
   * Who.
   */
  user: UserRef;
}
/**
 * Payload of [`InviteToRoom`].
 */
export interface InvitePayload {
  /**
   * The private room.
   */
  room: RoomId;
  /**
   * Who to add.
   */
  user: UserId;
}
/**
 * Ack of [`ListRooms`]: every public room, the caller's private and direct rooms, and which
 * they joined.
 */
export interface RoomList {
  /**
   * Whether the caller is an administrator: the UI then offers moderation (which `/admin`
   * checks again for itself).
   */
  admin?: boolean;
  /**
   * The rooms the caller is a member of.
   */
  joined: RoomId[];
  /**
   * Who the server says the caller is.
   */
  me: UserRef;
  /**
   * The caller's read state in each of those rooms.
   */
  read?: ReadState[];
  /**
   * The rooms, sorted by id.
   */
  rooms: RoomSummary[];
}
/**
 * Payload of [`MarkRead`].
 */
export interface MarkReadPayload {
  /**
   * The room.
   */
  room: RoomId;
  /**
   * The newest sequence number the person has seen; a marker never moves back, and never
   * past the room's last message.
   */
  seq: number;
}
/**
 * Payload of [`MuteRoom`].
 */
export interface MutePayload {
  /**
   * Mute (`true`) or unmute; setting what is set already changes nothing.
   */
  muted: boolean;
  /**
   * The room (the caller must be a member).
   */
  room: RoomId;
}
/**
 * Payload of [`RemoveMember`].
 */
export interface MemberPayload {
  /**
   * The room.
   */
  room: RoomId;
  /**
   * The member.
   */
  user: UserId;
}
/**
 * Payload of [`SetModerator`].
 */
export interface ModeratorPayload {
  /**
   * Whether they moderate it from now on.
   */
  moderator: boolean;
  /**
   * The room.
   */
  room: RoomId;
  /**
   * The member.
   */
  user: UserId;
}
