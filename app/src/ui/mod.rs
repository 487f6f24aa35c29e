//! The Leptos components of the chat page.
//!
//! [`ChatPage`] is rendered on the server (the sign-in form, or a signed-in person's rooms and
//! latest messages) and hydrated in the browser. The connection is opened only once someone is
//! signed in, so it only ever exists in the browser.

mod admin;
mod composer;
mod message;
mod notify;
mod people;
mod room;
mod rows;
mod saved;
mod search;
mod sidebar;
mod state;
mod switcher;
mod thread;
mod time;
mod timeline;
mod upload;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ChatError;
use crate::events::CHAT_NAMESPACE;
use crate::events::messages::{MessageUpdated, NewMessage};
use crate::events::presence::{PresenceChanged, Typing};
use crate::events::rooms::{
    DirectOpened, MemberJoined, MemberLeft, ModeratorChanged, RemovedFromRoom, RoomAdded,
    RoomCreated, RoomDeleted, RoomRead,
};
use crate::model::UserRef;
use crate::session::{
    Initial, SIGN_IN_REQUIRED, Seed, Welcome, guest, register, sign_in, sign_out, welcome_page,
};
use crate::socket::{ConnectOptions, ConnectionStatus, Socket, SocketClient, Transports};

use state::{ChatState, RoomNews};

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

/// The chat page: the sign-in form, then the chat. A signed-in person gets their rooms and the
/// room's latest messages in the server's HTML.
#[component]
pub fn ChatPage() -> impl IntoView {
    // Interactive controls stay disabled until the WASM has taken over the page: before that a
    // submit would reload the page and lose what was typed.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    provide_context(Hydrated(hydrated));

    let transports = transports_from_query(crate::address::query_param("transport").as_deref());
    let room = crate::address::query_param("room");
    let welcome = Resource::new_blocking(
        move || room.clone(),
        |room| async move {
            // Without the server's answer, the sign-in form is the safe page to show.
            welcome_page(room).await.unwrap_or(Welcome { me: None, initial: None, guests: false })
        },
    );

    view! {
        <div class="app">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let welcome = welcome.await;
                    view! { <Signed welcome hydrated transports /> }
                })}
            </Suspense>
        </div>
    }
}

/// The header and either the sign-in form or the chat.
#[component]
fn Signed(welcome: Welcome, hydrated: RwSignal<bool>, transports: Transports) -> impl IntoView {
    let me = RwSignal::new(welcome.me.clone());
    let notice = RwSignal::new(None::<String>);
    let seed = StoredValue::new(welcome.initial);
    let guests = welcome.guests;
    let signed_out = Callback::new(move |why: Option<String>| {
        seed.set_value(None);
        notice.set(why);
        me.set(None);
    });
    let do_sign_out = move |_| {
        spawn_local(async move {
            // The cookie is cleared by the answer; if the server cannot be reached, the session
            // stays valid and the page says so.
            match sign_out().await {
                Ok(()) => signed_out.run(None),
                Err(e) => notice.set(Some(format!("Could not sign out: {e}"))),
            }
        });
    };
    view! {
        <header class="topbar">
            // The first stop for the keyboard: past the bars and the sidebar, straight to writing.
            {move || me.get().map(|_| view! {
                <a class="skip-link" href="#composer-input"
                    on:click=move |ev| { ev.prevent_default(); message::focus("composer-input"); }>
                    "Skip to the message box"
                </a>
            })}
            <h1 class="brand">"Parley"</h1>
            {move || {
                me.get()
                    .map(|user| {
                        view! {
                            <p class="whoami">
                                <span class="whoami-label">"Signed in as "</span> <strong>{user.name.to_string()}</strong>
                            </p>
                            <button type="button" class="ghost sign-out" on:click=do_sign_out
                                disabled=move || !hydrated.get()>
                                "Sign out"
                            </button>
                        }
                    })
            }}
        </header>
        {move || match me.get() {
            None => {
                view! {
                    <SignInForm
                        hydrated
                        guests
                        notice
                        on_done=Callback::new(move |user: UserRef| {
                            notice.set(None);
                            me.set(Some(user));
                        })
                    />
                }
                    .into_any()
            }
            Some(user) => {
                let props = ChatProps { me: user, transports, seed: seed.get_value(), signed_out };
                view! {
                    <Suspense fallback=|| view! { <p class="loading">"Loading the chat…"</p> }>
                        {Suspend::new(chat_view(props))}
                    </Suspense>
                }
                    .into_any()
            }
        }}
    }
}

/// How the sign-in form is being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SignIn,
    Register,
    Guest,
}

/// Signs in, creates an account, or (where the server allows) joins as a guest.
#[component]
fn SignInForm(
    hydrated: RwSignal<bool>,
    guests: bool,
    notice: RwSignal<Option<String>>,
    on_done: Callback<UserRef>,
) -> impl IntoView {
    let mode = RwSignal::new(Mode::SignIn);
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ChatError>);
    // Point at the field the refusal is about (bad credentials: either could be wrong).
    let name_invalid =
        move || error.with(|e| !matches!(e, None | Some(ChatError::InvalidPassword { .. })));
    let password_invalid = move || {
        error.with(|e| {
            matches!(e, Some(ChatError::InvalidPassword { .. } | ChatError::BadCredentials))
        })
    };
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (n, p, m) = (name.get_untracked(), password.get_untracked(), mode.get_untracked());
        spawn_local(async move {
            let result: Result<UserRef, ChatError> = match m {
                Mode::SignIn => sign_in(n, p).await,
                Mode::Register => register(n, p).await,
                Mode::Guest => guest(n).await,
            };
            busy.set(false);
            match result {
                Ok(user) => {
                    password.set(String::new());
                    on_done.run(user);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let switch = move |to: Mode| {
        move |_| {
            error.set(None);
            mode.set(to);
        }
    };
    let title = move || match mode.get() {
        Mode::SignIn => "Sign in to Parley",
        Mode::Register => "Create your Parley account",
        Mode::Guest => "Join Parley as a guest",
    };
    let action = move || match mode.get() {
        Mode::SignIn => "Sign in",
        Mode::Register => "Create account",
        Mode::Guest => "Join as guest",
    };
    let min_password = crate::limits::MIN_PASSWORD_CHARS;
    view! {
        <main class="welcome">
            // The chat's module loads while the person types (see `chat_view`).
            <form class="card name-form" on:submit=submit on:focusin=move |_| start_loading_chat()>
                <h2>{title}</h2>
                <Show when=move || notice.get().is_some()>
                    <p class="notice" role="status">{move || notice.get()}</p>
                </Show>
                <label for="display-name">"Name"</label>
                <input
                    id="display-name"
                    name="name"
                    autocomplete="username"
                    required
                    bind:value=name
                    aria-invalid=move || name_invalid().to_string()
                    aria-describedby="sign-in-error"
                />
                <Show when=move || mode.get() != Mode::Guest>
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        required
                        minlength=move || (mode.get() == Mode::Register).then_some(min_password)
                        autocomplete=move || {
                            if mode.get() == Mode::Register { "new-password" } else { "current-password" }
                        }
                        bind:value=password
                        aria-invalid=move || password_invalid().to_string()
                        aria-describedby=move || {
                            if mode.get() == Mode::Register { "password-rule sign-in-error" } else { "sign-in-error" }
                        }
                    />
                    // The rule before the first try, not only after a refusal.
                    <Show when=move || mode.get() == Mode::Register>
                        <p id="password-rule" class="hint rule">
                            {format!("{min_password} to {} characters; a passphrase of a few words works well.", crate::limits::MAX_PASSWORD_CHARS)}
                        </p>
                    </Show>
                </Show>
                <p id="sign-in-error" class="error" role="alert">
                    {move || error.with(|e| e.as_ref().map(ToString::to_string))}
                </p>
                <button type="submit" disabled=move || !hydrated.get() || busy.get()>
                    {action}
                </button>
                <p class="hint switch">
                    <Show when=move || mode.get() != Mode::SignIn>
                        <button type="button" class="link" disabled=move || !hydrated.get() on:click=switch(Mode::SignIn)>
                            "I have an account"
                        </button>
                    </Show>
                    <Show when=move || mode.get() != Mode::Register>
                        <button type="button" class="link" disabled=move || !hydrated.get() on:click=switch(Mode::Register)>
                            "Create an account"
                        </button>
                    </Show>
                    <Show when=move || guests && mode.get() != Mode::Guest>
                        <button type="button" class="link" disabled=move || !hydrated.get() on:click=switch(Mode::Guest)>
                            "Join as a guest"
                        </button>
                    </Show>
                </p>
            </form>
        </main>
    }
}

/// What [`ChatApp`] is given, in one value: a lazily loaded function takes its arguments across
/// the boundary between WASM modules.
pub struct ChatProps {
    me: UserRef,
    transports: Transports,
    seed: Option<Seed>,
    signed_out: Callback<Option<String>>,
}

/// The signed-in chat, in a WASM module of its own (`cargo leptos build --split`): the sign-in
/// page does not carry it. A page the server rendered signed in loads it before hydrating (see
/// [`preload_chat`]); the sign-in form starts loading it as soon as someone starts filling it in.
#[lazy]
pub async fn chat_view(props: ChatProps) -> AnyView {
    // A failed load shows as the connection's error (`io` is missing), with its retry.
    #[cfg(feature = "hydrate")]
    let _ = crate::socket::load_client().await;
    let ChatProps { me, transports, seed, signed_out } = props;
    // Unreadable page data only costs the head start: the socket fetches the same.
    let seed = seed.and_then(|seed| seed.read().ok());
    view! { <ChatApp me transports seed signed_out /> }.into_any()
}

/// Loads what the chat needs that the sign-in page does not: its WASM module (see
/// [`chat_view`]) and `socket.io-client`, both at once. The browser's entry point awaits it
/// before hydrating a page the server rendered with the chat in it, so the chat hydrates at
/// once; afterwards it returns at once.
#[cfg(feature = "hydrate")]
pub async fn preload_chat() {
    let client = crate::socket::load_client();
    __preload_chat_view().await;
    // A failure shows when the chat connects.
    let _ = client.await;
}

/// Starts loading the chat's module in the background, once (later calls find it loading or
/// loaded).
fn start_loading_chat() {
    #[cfg(feature = "hydrate")]
    spawn_local(preload_chat());
}

/// Whether the server rendered this page signed in (the chat's root is in it), read before the
/// WASM takes over.
#[cfg(feature = "hydrate")]
pub fn page_has_chat() -> bool {
    document().query_selector(".chat").ok().flatten().is_some()
}

/// The signed-in chat: connects, keeps [`ChatState`] in step with the server, lays out the
/// sidebar, the room and the people panel.
#[component]
fn ChatApp(
    me: UserRef,
    transports: Transports,
    seed: Option<Initial>,
    signed_out: Callback<Option<String>>,
) -> impl IntoView {
    let status = RwSignal::new(ConnectionStatus::Connecting);
    let options = ConnectOptions { namespace: CHAT_NAMESPACE, transports };
    let socket = match Socket::connect(&options) {
        Ok(socket) => Some(socket),
        Err(e) => {
            status.set(ConnectionStatus::Refused { message: e.to_string() });
            None
        }
    };
    // A cheap handle clone in the browser; the server's stand-in socket happens to be `Copy`.
    #[allow(clippy::clone_on_copy)]
    let chat = ChatState::new(socket.clone());
    chat.me.set(Some(me));
    provide_context(chat);
    if let Some(seed) = seed {
        chat.apply_room_list(seed.rooms, Vec::new());
        chat.current.set(seed.history.room.clone());
        chat.apply_history(seed.history, true);
    }
    // Messages an earlier page wrote but never got acknowledged: back as pending, after
    // hydration (the server's HTML has no such lines), before the first connect sends them.
    Effect::new(move |_| chat.restore_outbox());
    // Keep the room in the address, so a reload (or a shared link) opens it again.
    Effect::new(move |_| {
        let room = chat.current.get();
        state::show_room_in_address(&room, transports);
    });

    if let Some(socket) = socket {
        let subs = (
            socket.watch_status(move |s| {
                if matches!(&s, ConnectionStatus::Refused { message } if message == SIGN_IN_REQUIRED) {
                    // The session ended (signed out elsewhere, or expired): back to the form.
                    signed_out.run(Some("Your session has ended. Please sign in again.".to_owned()));
                    return;
                }
                chat.connected.set(s == ConnectionStatus::Connected);
                if s == ConnectionStatus::Connected {
                    chat.catch_up();
                }
                status.set(s);
            }),
            socket.subscribe::<NewMessage>(move |msg| chat.apply_message(msg, true)),
            socket.subscribe::<MessageUpdated>(move |msg| chat.apply_message(msg, false)),
            socket.subscribe::<RoomCreated>(move |room| chat.learn(RoomNews::Listed(room))),
            socket.subscribe::<RoomDeleted>(move |r| chat.room_deleted(&r.room, &r.by)),
            socket.subscribe::<DirectOpened>(move |room| chat.learn(RoomNews::Member(room))),
            socket.subscribe::<RoomAdded>(move |room| chat.learn(RoomNews::Member(room))),
            socket.subscribe::<MemberJoined>(move |change| chat.member_joined(change)),
            socket.subscribe::<MemberLeft>(move |change| chat.member_left(change)),
            socket.subscribe::<RemovedFromRoom>(move |r| chat.removed_from_room(&r.room, &r.by)),
            socket.subscribe::<ModeratorChanged>(move |change| chat.moderator_changed(change)),
            socket.subscribe::<PresenceChanged>(move |changes| {
                chat.online.update(|online| {
                    for p in changes {
                        if p.online {
                            online.insert(p.user.id);
                        } else {
                            online.remove(&p.user.id);
                        }
                    }
                })
            }),
            socket.subscribe::<Typing>(move |t| chat.start_typing(&t.room, t.user)),
            socket.subscribe::<RoomRead>(move |state| chat.apply_read(state)),
        );
        on_cleanup(move || {
            drop(subs);
            socket.disconnect();
            chat.disconnect_admin();
        });
    }

    // A hidden tab reads nothing: its unread counts grow, and coming back marks the room read.
    #[cfg(feature = "hydrate")]
    {
        let check = move || chat.set_visible(!document().hidden());
        Effect::new(move |_| check());
        Effect::new(move |_| chat.permission.set(notify::permission()));
        let listener = window_event_listener_untyped("visibilitychange", move |_| check());
        on_cleanup(move || listener.remove());
    }
    // `(3) Parley`: every unread message, wherever it is.
    let title = move || match chat.unread.with(|u| u.values().sum::<u32>()) {
        0 => "Parley".to_owned(),
        n => format!("({n}) Parley"),
    };

    // Phone layout: the sidebar and the people list open over the room (closed by the room
    // changing, their Close button, the backdrop or Escape).
    let panel = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| {
        chat.current.track();
        panel.set(None);
    });
    let switcher = RwSignal::new(false);
    // Keyboard: Alt+↑/↓ to the previous/next room, Ctrl+K (⌘K) to jump to one by name, Escape
    // closes an open panel.
    #[cfg(feature = "hydrate")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            let key = ev.key();
            if ev.alt_key() && !ev.ctrl_key() && (key == "ArrowUp" || key == "ArrowDown") {
                ev.prevent_default();
                chat.step_room(if key == "ArrowUp" { -1 } else { 1 });
                message::focus("composer-input");
            } else if (ev.ctrl_key() || ev.meta_key()) && key.eq_ignore_ascii_case("k") {
                ev.prevent_default();
                switcher.set(true);
            } else if key == "Escape" && panel.get_untracked().is_some() {
                panel.set(None);
            }
        });
        on_cleanup(move || keys.remove());
    }
    let connected = move || status.get() == ConnectionStatus::Connected;
    let close_panel = Callback::new(move |()| panel.set(None));
    provide_context(PanelClose(close_panel));
    provide_context(Panel(panel));

    view! {
        <leptos_meta::Title text=title />
        // A page rendered signed in needs the Socket.IO client before it hydrates: the browser
        // fetches it beside the WASM (see `preload_chat`).
        <leptos_meta::Link rel="preload" href=crate::SOCKET_IO_CLIENT_URL as_="script" />
        <div class="chat" class:show-rooms=move || panel.get() == Some("rooms")
            class:show-people=move || panel.get() == Some("people")
            class:show-thread=move || {
                chat.thread.get().is_some() || chat.search.get().is_some() || chat.admin_open.get()
            }
            class:connected=connected>
            // The connection state, as a row only when not connected.
            <div class="toolbar">
                <StatusBadge status />
            </div>
            <sidebar::Sidebar />
            <room::RoomPane />
            <thread::ThreadPanel />
            <search::SearchPanel />
            <admin::AdminPanel />
            <people::PeoplePanel />
            <Show when=move || panel.get().is_some()>
                <div class="backdrop" aria-hidden="true" on:click=move |_| panel.set(None)></div>
            </Show>
            <switcher::RoomSwitcher open=switcher />
        </div>
    }
}

/// Which panel is open over the room on a phone (`"rooms"`, `"people"`), for the buttons in the
/// room's header that open them.
#[derive(Clone, Copy)]
pub(crate) struct Panel(pub RwSignal<Option<&'static str>>);

/// The phone's button that opens (or closes) the panel `which` (`"rooms"`: the sidebar, with the
/// unread total on it; `"people"`: the member list). Hidden on wide screens, where both show.
#[component]
pub(crate) fn PanelToggle(which: &'static str) -> impl IntoView {
    let panel = expect_context::<Panel>().0;
    let (controls, label) =
        if which == "rooms" { ("sidebar", "Rooms") } else { ("people", "People") };
    view! {
        <button type="button" class="ghost small panel-toggle" aria-controls=controls
            aria-expanded=move || (panel.get() == Some(which)).to_string()
            on:click=move |_| panel.update(|p| *p = if *p == Some(which) { None } else { Some(which) })>
            {label}
            {(which == "rooms").then(|| view! { <UnreadTotal /> })}
        </button>
    }
}

/// Closes the phone's Rooms or People panel (for their Close buttons).
#[derive(Clone, Copy)]
pub(crate) struct PanelClose(pub Callback<()>);

/// The Close button of a panel that opens over the room on a phone (hidden on wide screens).
#[component]
pub(crate) fn ClosePanel(label: &'static str) -> impl IntoView {
    let close = use_context::<PanelClose>();
    view! {
        <button type="button" class="ghost small close-panel" aria-label=label
            on:click=move |_| if let Some(c) = close { c.0.run(()) }>"Close"</button>
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

/// The connection state in words.
#[component]
fn StatusBadge(status: RwSignal<ConnectionStatus>) -> impl IntoView {
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
    }
}
