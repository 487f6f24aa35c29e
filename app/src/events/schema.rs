//! The event API as a JSON Schema, generated from the Rust types (feature `schema`).
//!
//! A client in any language is written against `docs/api/parley-events.schema.json` (and the
//! TypeScript declarations generated from it, `docs/api/parley-events.d.ts`). Both are produced
//! from the types in this module's parent, so they cannot say something the server does not do:
//! the server's integration tests regenerate the schema and fail when the published copy
//! differs (`scripts/publish-api` writes it afresh), and the same tests check that every event
//! the `client_event!`/`server_event!` macros declare is listed in [`EVENTS`].
//!
//! The document's root lists every event by namespace and direction: a request's `payload` and
//! `ack` (always `{"Ok": …}` or `{"Err": ChatError}`), a broadcast's `payload`. The types
//! themselves are under `definitions`. Draft-07, which every code generator reads.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::{Ack, ClientEvent, ServerEvent, admin, files, messages, presence, rooms};
use super::{CHAT_NAMESPACE, ConnectAuth};

/// Who sends an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A request from a client, answered with an ack.
    Request,
    /// Pushed by the server.
    Broadcast,
}

/// One event of the published API.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The namespace it lives on.
    pub namespace: &'static str,
    /// Its wire name.
    pub name: &'static str,
    /// Who sends it.
    pub direction: Direction,
    payload: fn(&mut SchemaGenerator) -> Schema,
    ack: Option<fn(&mut SchemaGenerator) -> Schema>,
}

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

const fn request<E: ClientEvent>(namespace: &'static str) -> Entry
where
    E::Payload: JsonSchema,
    Ack<E>: JsonSchema,
{
    Entry {
        namespace,
        name: E::NAME,
        direction: Direction::Request,
        payload: schema_of::<E::Payload>,
        ack: Some(schema_of::<Ack<E>>),
    }
}

const fn broadcast<E: ServerEvent>(namespace: &'static str) -> Entry
where
    E::Payload: JsonSchema,
{
    Entry {
        namespace,
        name: E::NAME,
        direction: Direction::Broadcast,
        payload: schema_of::<E::Payload>,
        ack: None,
    }
}

const CHAT: &str = CHAT_NAMESPACE;
const ADMIN: &str = admin::ADMIN_NAMESPACE;

/// Every event, as published.
pub const EVENTS: &[Entry] = &[
    request::<rooms::ListRooms>(CHAT),
    request::<rooms::CreateRoom>(CHAT),
    request::<rooms::JoinRoom>(CHAT),
    request::<rooms::InviteToRoom>(CHAT),
    request::<rooms::LeaveRoom>(CHAT),
    request::<rooms::DeleteRoom>(CHAT),
    request::<rooms::RoomMembers>(CHAT),
    request::<rooms::RemoveRoomMessage>(CHAT),
    request::<rooms::RemoveMember>(CHAT),
    request::<rooms::SetModerator>(CHAT),
    request::<rooms::MarkRead>(CHAT),
    request::<rooms::MuteRoom>(CHAT),
    request::<rooms::OpenDirect>(CHAT),
    broadcast::<rooms::RoomCreated>(CHAT),
    broadcast::<rooms::RoomAdded>(CHAT),
    broadcast::<rooms::RoomDeleted>(CHAT),
    broadcast::<rooms::DirectOpened>(CHAT),
    broadcast::<rooms::MemberJoined>(CHAT),
    broadcast::<rooms::MemberLeft>(CHAT),
    broadcast::<rooms::RemovedFromRoom>(CHAT),
    broadcast::<rooms::ModeratorChanged>(CHAT),
    broadcast::<rooms::RoomRead>(CHAT),
    request::<messages::SendMessage>(CHAT),
    request::<messages::LoadThread>(CHAT),
    request::<messages::LoadHistory>(CHAT),
    request::<messages::SyncRoom>(CHAT),
    request::<messages::EditMessage>(CHAT),
    request::<messages::DeleteMessage>(CHAT),
    request::<messages::ReactToMessage>(CHAT),
    request::<messages::SearchMessages>(CHAT),
    broadcast::<messages::NewMessage>(CHAT),
    broadcast::<messages::MessageUpdated>(CHAT),
    request::<presence::StartTyping>(CHAT),
    broadcast::<presence::PresenceChanged>(CHAT),
    broadcast::<presence::Typing>(CHAT),
    request::<files::BeginUpload>(CHAT),
    request::<files::UploadChunk>(CHAT),
    request::<files::FinishUpload>(CHAT),
    request::<files::CancelUpload>(CHAT),
    request::<admin::BanPerson>(ADMIN),
    request::<admin::UnbanPerson>(ADMIN),
    request::<admin::Promote>(ADMIN),
    request::<admin::Demote>(ADMIN),
    request::<admin::RemoveMessage>(ADMIN),
    request::<admin::DeleteAnyRoom>(ADMIN),
    request::<admin::CreateBot>(ADMIN),
    request::<admin::IssueBotToken>(ADMIN),
    request::<admin::RevokeBotTokens>(ADMIN),
    request::<admin::CreateWebhook>(ADMIN),
    request::<admin::DeleteWebhook>(ADMIN),
    request::<admin::ListAudit>(ADMIN),
    request::<admin::ListConnections>(ADMIN),
    request::<admin::EndSession>(ADMIN),
    request::<admin::NodeFigures>(ADMIN),
];

/// The published document (see the module docs), keys sorted so that it is stable.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft07().into_generator();
    let mut namespaces = Map::new();
    for entry in EVENTS {
        let mut event = Map::new();
        event.insert("payload".into(), (entry.payload)(&mut generator).to_value());
        let mut required = vec![json!("payload")];
        if let Some(ack) = entry.ack {
            event.insert("ack".into(), ack(&mut generator).to_value());
            required.push(json!("ack"));
        }
        let direction = match entry.direction {
            Direction::Request => "requests",
            Direction::Broadcast => "broadcasts",
        };
        let events = namespaces
            .entry(entry.namespace)
            .or_insert_with(|| json!({ "type": "object", "properties": {}, "required": [] }));
        let group = events["properties"]
            .as_object_mut()
            .expect("an object")
            .entry(direction)
            .or_insert_with(|| json!({ "type": "object", "properties": {}, "required": [] }));
        group["properties"][entry.name] = json!({
            "type": "object",
            "properties": Value::Object(event),
            "required": required,
            "additionalProperties": false,
        });
        group["required"].as_array_mut().expect("an array").push(json!(entry.name));
        let listed = events["required"].as_array_mut().expect("an array");
        if !listed.contains(&json!(direction)) {
            listed.push(json!(direction));
        }
    }
    let auth = schema_of::<ConnectAuth>(&mut generator).to_value();
    let mut root = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "ParleyEvents",
        "description": "Parley's Socket.IO event API: per namespace, each request's payload and ack and each broadcast's payload. Generated from the Rust types; do not edit.",
        "type": "object",
        "properties": {
            "handshake": { "type": "object", "properties": { "auth": auth }, "required": ["auth"] },
            "namespaces": {
                "type": "object",
                "required": namespaces.keys().cloned().collect::<Vec<_>>(),
                "properties": Value::Object(namespaces),
            },
        },
        "required": ["handshake", "namespaces"],
    });
    root["definitions"] = Value::Object(generator.take_definitions(true));
    sort_keys(&mut root);
    root
}

/// `serde_json` keeps insertion order only with its `preserve_order` feature, which another
/// crate of the build may turn on: sort explicitly so that the file never churns.
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut value) in entries {
                sort_keys(&mut value);
                map.insert(key, value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}
