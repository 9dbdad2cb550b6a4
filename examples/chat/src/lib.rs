//! A Leptos (client-side rendered) page using cometkit from Rust, served by `cometkit-server`:
//!
//! - **Chat**: a [`Socket`] on `/sockjs/broadcast`, split into a [`SocketSender`] (used from the
//!   form's submit handler with `send_now`, and as a `futures::Sink` to announce ourselves) and
//!   a [`SocketReceiver`] read by a task that lives as long as the panel;
//! - **Upload**: a [`Request`] POSTing the chosen file as `FormData` to `/upload`, with an upload
//!   progress bar and the server's answer;
//! - **Live feed**: an [`EventSource`] on `/sse`, one event a second.
//!
//! Every failure is shown as the [`cometkit::Error`]'s `Display` text.

use cometkit::{
    Body, EventSource, EventSourceOptions, Request, Socket, SocketEvent, SocketOptions,
    SocketSender, SseEvent,
};
use futures::SinkExt;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::{spawn_local, spawn_local_scoped_with_cancellation};
use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::FormData;

/// Every message sent here goes to every open session: open the page twice to chat.
const CHAT_URL: &str = "/sockjs/broadcast";
/// Reads the whole body and answers `{"received": <bytes>}`.
const UPLOAD_URL: &str = "/upload";
/// Events `1..=1000`, one a second (the fixture's query parameters, see `server/src/fixtures/sse.rs`).
const FEED_URL: &str = "/sse?events=1000&interval=1000";
/// The feed panel keeps this many events.
const FEED_KEEP: usize = 20;

#[wasm_bindgen(start)]
pub fn main() {
    mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <h1>"cometkit + Leptos"</h1>
        <main>
            <Chat />
            <Upload />
            <Feed />
        </main>
    }
}

/// One line of the chat log.
#[derive(Clone)]
struct Line {
    id: usize,
    /// `message` (from the server) or `system` (what happened to the socket).
    class: &'static str,
    text: String,
}

#[component]
fn Chat() -> impl IntoView {
    let nick = format!(
        "guest-{}",
        (web_sys::js_sys::Math::random() * 1000.0) as u32
    );
    let (status, set_status) = signal(String::from("connecting"));
    let (open, set_open) = signal(false);
    let (lines, set_lines) = signal(Vec::<Line>::new());
    let (draft, set_draft) = signal(String::new());
    let push = move |class: &'static str, text: String| {
        set_lines.update(|lines| {
            let id = lines.len();
            lines.push(Line { id, class, text });
        });
    };

    // Connect once, when the panel is created. The receiver goes to a task that the panel owns
    // (cancelled if the panel goes away); the sender stays here for the UI callbacks.
    let sender: Option<SocketSender> = match Socket::connect(CHAT_URL, SocketOptions::new()) {
        Ok(socket) => {
            let (sender, mut receiver) = socket.split();
            let announcer = sender.clone();
            let nick = nick.clone();
            spawn_local_scoped_with_cancellation(async move {
                let mut transport = "";
                while let Some(event) = receiver.next().await {
                    match event {
                        SocketEvent::TransportChanged(kind) => transport = kind.name(),
                        SocketEvent::Open => {
                            set_status.set(format!("open ({transport})"));
                            set_open.set(true);
                            // The sender is also a `futures::Sink<String>`: `send` resolves once
                            // the server has the message. Its own task, so reading goes on.
                            let mut tx = announcer.clone();
                            let hello = format!("{nick} joined");
                            spawn_local(async move {
                                if let Err(err) = tx.send(hello).await {
                                    push("system", format!("could not announce: {err}"));
                                }
                            });
                        }
                        SocketEvent::Message(text) => push("message", text),
                        SocketEvent::Reconnecting {
                            reason, delay_ms, ..
                        } => {
                            set_open.set(false);
                            set_status.set(format!("reconnecting in {delay_ms} ms ({reason})"));
                        }
                        SocketEvent::Error(err) => push("system", format!("error: {err}")),
                        SocketEvent::Close { code, reason, .. } => {
                            set_open.set(false);
                            set_status.set(format!("closed ({code} {reason})"));
                        }
                        _ => {}
                    }
                }
            });
            Some(sender)
        }
        Err(err) => {
            set_status.set(format!("cannot connect: {err}"));
            None
        }
    };

    let send_tx = sender.clone();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let Some(tx) = &send_tx else { return };
        // A UI callback cannot await: `send_now` queues the message at once.
        match tx.send_now(&format!("{nick}: {text}")) {
            Ok(()) => set_draft.set(String::new()),
            Err(err) => push("system", format!("not sent: {err}")),
        }
    };
    let on_leave = move |_| {
        if let Some(tx) = &sender {
            if let Err(err) = tx.close(1000, "left the chat") {
                push("system", format!("close failed: {err}"));
            }
        }
    };

    view! {
        <section id="chat">
            <h2>"Chat"</h2>
            <p>"Socket: " <span id="chat-status">{status}</span></p>
            <ul id="chat-log">
                <For each=move || lines.get() key=|line| line.id let:line>
                    <li class=line.class>{line.text}</li>
                </For>
            </ul>
            <form on:submit=on_submit>
                <input
                    id="chat-input"
                    placeholder="Say something"
                    autocomplete="off"
                    prop:value=draft
                    on:input=move |ev| set_draft.set(event_target_value(&ev))
                />
                <button id="chat-send" type="submit" disabled=move || !open.get()>"Send"</button>
                <button id="chat-leave" type="button" disabled=move || !open.get() on:click=on_leave>
                    "Leave"
                </button>
            </form>
        </section>
    }
}

#[component]
fn Upload() -> impl IntoView {
    let file_input = NodeRef::<html::Input>::new();
    // (bytes sent, bytes to send) from the upload's progress events.
    let (progress, set_progress) = signal(None::<(f64, f64)>);
    let (answer, set_answer) = signal(None::<Result<String, String>>);
    let (busy, set_busy) = signal(false);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let file = file_input
            .get()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        let Some(file) = file else {
            set_answer.set(Some(Err("choose a file first".into())));
            return;
        };
        let form = FormData::new().expect("FormData");
        form.append_with_blob_and_filename("file", &file, &file.name())
            .expect("FormData.append");
        set_busy.set(true);
        set_progress.set(None);
        set_answer.set(None);
        spawn_local(async move {
            let result = Request::post(UPLOAD_URL)
                .body(Body::FormData(form))
                .on_upload_progress(move |p| {
                    if p.length_computable {
                        set_progress.set(Some((p.loaded, p.total)));
                    }
                })
                .send()
                .await;
            set_answer.set(Some(match result {
                Ok(response) => Ok(response.text().unwrap_or_default()),
                Err(err) => Err(err.to_string()),
            }));
            set_busy.set(false);
        });
    };

    let percent = move || {
        progress
            .get()
            .map_or(0.0, |(sent, total)| (sent / total * 100.0).floor())
    };
    view! {
        <section id="upload">
            <h2>"Upload"</h2>
            <form on:submit=on_submit>
                <input id="upload-file" type="file" node_ref=file_input />
                <button id="upload-send" type="submit" disabled=busy>"Upload"</button>
            </form>
            <p>
                <progress id="upload-bar" max="100" value=percent></progress>
                " " <span id="upload-percent">{move || format!("{}%", percent())}</span>
                " " <span id="upload-bytes">
                    {move || progress.get().map(|(sent, total)| format!("{sent} of {total} bytes"))}
                </span>
            </p>
            <p>
                "Server: "
                <span id="upload-answer">
                    {move || match answer.get() {
                        None => String::new(),
                        Some(Ok(body)) => body,
                        Some(Err(err)) => format!("error: {err}"),
                    }}
                </span>
            </p>
        </section>
    }
}

#[component]
fn Feed() -> impl IntoView {
    let (status, set_status) = signal(String::from("connecting"));
    // (event id, data), newest first.
    let (events, set_events) = signal(Vec::<(String, String)>::new());

    match EventSource::open(FEED_URL, EventSourceOptions::default()) {
        Ok(mut source) => spawn_local_scoped_with_cancellation(async move {
            // Dropping `source` (when the panel goes away) closes the connection.
            while let Some(event) = source.next().await {
                match event {
                    SseEvent::Open => set_status.set("open".into()),
                    SseEvent::Message(message) => set_events.update(|events| {
                        events.insert(0, (message.last_event_id, message.data));
                        events.truncate(FEED_KEEP);
                    }),
                    SseEvent::Error { fatal, error } => {
                        let why = error.map_or_else(|| "connection lost".into(), |e| e.to_string());
                        let next = if fatal { "closed" } else { "reconnecting" };
                        set_status.set(format!("{next}: {why}"));
                    }
                    _ => {}
                }
            }
        }),
        Err(err) => set_status.set(format!("cannot open: {err}")),
    }

    view! {
        <section id="feed">
            <h2>"Live feed"</h2>
            <p>"EventSource: " <span id="feed-status">{status}</span></p>
            <ul id="feed-log">
                <For each=move || events.get() key=|(id, _)| id.clone() let:((id, data))>
                    <li>"#" {id} ": " {data}</li>
                </For>
            </ul>
        </section>
    }
}
