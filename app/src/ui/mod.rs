//! The Leptos components of the chat page.
//!
//! [`ChatPage`] is rendered on the server (the welcome form) and hydrated in the browser. The
//! connection is opened only after a person picks a name, so it only ever exists in the browser.

mod people;
mod room;
mod sidebar;
mod state;
mod time;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::events::messages::{MessageUpdated, NewMessage};
use crate::events::presence::{PresenceChanged, Typing};
use crate::events::rooms::{
    DirectOpened, Empty, ListRooms, MemberJoined, MemberLeft, RoomCreated, RoomDeleted,
};
use crate::events::{CHAT_NAMESPACE, Handshake};
use crate::model::DisplayName;
use crate::ssr_state::{Initial, initial_state, remember_name};
use crate::socket::{ConnectOptions, ConnectionStatus, Socket, SocketClient, Transports};

use state::ChatState;

/// Transports chosen by the page's `?transport=` query (`polling` or `websocket`), so a
/// connection can be forced onto one transport for diagnosis and tests.
fn transports_from_query(value: Option<&str>) -> Transports {
    match value {
        Some("polling") => Transports::PollingOnly,
        Some("websocket") => Transports::WebSocketOnly,
        _ => Transports::Default,
    }
}

/// Whether the WASM has taken over the page (false during SSR and the hydrating render).
#[derive(Clone, Copy)]
pub struct Hydrated(pub RwSignal<bool>);

/// The chat page: a name form, then the chat. A returning person (name cookie) gets their rooms
/// and the room's latest messages in the server's HTML.
#[component]
pub fn ChatPage() -> impl IntoView {
    // Interactive controls stay disabled until the WASM has taken over the page: before that a
    // submit would reload the page and lose what was typed.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    provide_context(Hydrated(hydrated));

    let query = use_query_map();
    let transports = transports_from_query(query.read_untracked().get("transport").as_deref());
    let room = query.read_untracked().get("room");
    let initial = Resource::new_blocking(
        move || room.clone(),
        |room| async move { initial_state(room).await.ok().flatten() },
    );

    view! {
        <div class="app">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let initial = initial.await;
                    view! { <Signed initial hydrated transports /> }
                })}
            </Suspense>
        </div>
    }
}

/// The header and either the name form or the chat.
#[component]
fn Signed(initial: Option<Initial>, hydrated: RwSignal<bool>, transports: Transports) -> impl IntoView {
    let me = RwSignal::new(initial.as_ref().map(|i| i.rooms.me.name.clone()));
    let seed = StoredValue::new(initial);
    view! {
        <header class="topbar">
            <h1 class="brand">"Parley"</h1>
            {move || {
                me.get()
                    .map(|name| {
                        view! {
                            <p class="whoami">
                                "You are " <strong>{name.to_string()}</strong>
                            </p>
                        }
                    })
            }}
        </header>
        {move || match me.get() {
            None => {
                view! {
                    <NameForm
                        hydrated
                        on_done=Callback::new(move |n: DisplayName| {
                            remember_name(Some(n.as_str()));
                            me.set(Some(n));
                        })
                    />
                }
                    .into_any()
            }
            Some(name) => {
                view! {
                    <ChatApp
                        name
                        transports
                        seed=seed.get_value()
                        on_leave=Callback::new(move |()| {
                            remember_name(None);
                            seed.set_value(None);
                            me.set(None);
                        })
                    />
                }
                    .into_any()
            }
        }}
    }
}

/// Asks for a display name and validates it with the same rules as the server.
#[component]
fn NameForm(hydrated: RwSignal<bool>, on_done: Callback<DisplayName>) -> impl IntoView {
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match DisplayName::parse(&value.get_untracked()) {
            Ok(name) => on_done.run(name),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <main class="welcome">
            <form class="card name-form" on:submit=submit>
                <h2>"Welcome to Parley"</h2>
                <p class="hint">"Pick the name others will see."</p>
                <label for="display-name">"Display name"</label>
                <input
                    id="display-name"
                    name="name"
                    autocomplete="nickname"
                    bind:value=value
                    aria-invalid=move || error.get().is_some().to_string()
                    aria-describedby="name-error"
                />
                <p id="name-error" class="error" role="alert">
                    {move || error.get()}
                </p>
                <button type="submit" disabled=move || !hydrated.get()>
                    "Join the chat"
                </button>
            </form>
        </main>
    }
}

/// The signed-in chat: connects, keeps [`ChatState`] in step with the server, lays out the
/// sidebar, the room and the people panel.
#[component]
fn ChatApp(
    name: DisplayName,
    transports: Transports,
    seed: Option<Initial>,
    on_leave: Callback<()>,
) -> impl IntoView {
    let status = RwSignal::new(ConnectionStatus::Connecting);
    let options = ConnectOptions {
        namespace: CHAT_NAMESPACE,
        auth: Handshake { name: name.to_string() },
        transports,
    };
    let socket = match Socket::connect(&options) {
        Ok(socket) => Some(socket),
        Err(e) => {
            status.set(ConnectionStatus::Refused { message: e.to_string() });
            None
        }
    };
    let chat = ChatState::new(socket.clone());
    provide_context(chat);
    if let Some(seed) = seed {
        chat.apply_room_list(seed.rooms);
        chat.current.set(seed.history.room.clone());
        chat.apply_history(seed.history, true);
    }
    // Keep the room in the address, so a reload (or a shared link) opens it again.
    Effect::new(move |_| {
        let room = chat.current.get();
        state::show_room_in_address(&room, transports);
    });

    if let Some(socket) = socket {
        let subs = (
            socket.watch_status(move |s| {
                if s == ConnectionStatus::Connected {
                    // On every (re)connect: the server's view of rooms and memberships wins.
                    chat.request_or_report::<ListRooms>(Empty {}, move |list| {
                        chat.apply_room_list(list);
                        chat.open(chat.current.get_untracked());
                        chat.resume();
                    });
                }
                status.set(s);
            }),
            socket.subscribe::<NewMessage>(move |msg| chat.apply_message(msg, true)),
            socket.subscribe::<MessageUpdated>(move |msg| chat.apply_message(msg, false)),
            socket.subscribe::<RoomCreated>(move |room| chat.upsert_room(room)),
            socket.subscribe::<RoomDeleted>(move |r| chat.remove_room(&r.room)),
            socket.subscribe::<DirectOpened>(move |room| {
                chat.joined.update(|j| {
                    j.insert(room.id.clone());
                });
                chat.upsert_room(room);
            }),
            socket.subscribe::<MemberJoined>(move |change| chat.member_joined(change)),
            socket.subscribe::<MemberLeft>(move |change| chat.member_left(change)),
            socket.subscribe::<PresenceChanged>(move |p| {
                chat.online.update(|online| {
                    if p.online {
                        online.insert(p.user.id);
                    } else {
                        online.remove(&p.user.id);
                    }
                })
            }),
            socket.subscribe::<Typing>(move |t| chat.start_typing(&t.room, t.user)),
        );
        on_cleanup(move || {
            drop(subs);
            socket.disconnect();
        });
    }

    // Phone layout: the sidebar and the people list open over the room.
    let panel = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| {
        chat.current.track();
        panel.set(None);
    });

    view! {
        <div class="chat" class:show-rooms=move || panel.get() == Some("rooms")
            class:show-people=move || panel.get() == Some("people")>
            <div class="toolbar">
                <button type="button" class="ghost" aria-controls="sidebar"
                    aria-expanded=move || (panel.get() == Some("rooms")).to_string()
                    on:click=move |_| panel.update(|p| *p = if *p == Some("rooms") { None } else { Some("rooms") })>
                    "Rooms"
                    <UnreadTotal />
                </button>
                <StatusBadge status on_leave />
                <button type="button" class="ghost" aria-controls="people"
                    aria-expanded=move || (panel.get() == Some("people")).to_string()
                    on:click=move |_| panel.update(|p| *p = if *p == Some("people") { None } else { Some("people") })>
                    "People"
                </button>
            </div>
            <sidebar::Sidebar />
            <room::RoomPane />
            <people::PeoplePanel />
        </div>
    }
}

/// The number of unread messages outside the room on screen (for the phone's Rooms button).
#[component]
fn UnreadTotal() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let total = move || chat.unread.with(|u| u.values().sum::<u32>());
    view! {
        <Show when=move || { total() > 0 }>
            <span class="badge" aria-label=move || format!("{} unread", total())>{total}</span>
        </Show>
    }
}

/// The connection state in words, with a way out when the server refuses us.
#[component]
fn StatusBadge(status: RwSignal<ConnectionStatus>, on_leave: Callback<()>) -> impl IntoView {
    let text = move || match status.get() {
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Connected => "Connected".to_owned(),
        ConnectionStatus::Reconnecting { .. } => "Offline, reconnecting…".to_owned(),
        ConnectionStatus::Refused { message } => format!("Refused: {message}"),
    };
    let class = move || match status.get() {
        ConnectionStatus::Connected => "status online",
        ConnectionStatus::Refused { .. } => "status refused",
        _ => "status offline",
    };
    view! {
        <p class=class role="status" aria-label="Connection">
            {text}
        </p>
        <Show when=move || matches!(status.get(), ConnectionStatus::Refused { .. })>
            <button type="button" class="link" on:click=move |_| on_leave.run(())>
                "Choose another name"
            </button>
        </Show>
    }
}
