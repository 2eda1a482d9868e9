//! The browser's end of the stream: one WebSocket, reopened with `since=<seq>` after any drop
//! with a capped backoff, so a tablet on a flaky network resumes with nothing lost or doubled.

use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::{Link, LiveRoom};
use vigie_domain::wire::ServerMessage;

const MAX_BACKOFF_MS: u64 = 8_000;

pub fn keep_connected(room: LiveRoom) {
    let attempt = Rc::new(Cell::new(0u32));
    open(room, attempt);
    // The page's clock: staleness and timers move even when the room is quiet.
    // A replay page ticks faster: at 60× a second is a minute of replay.
    let every = if room.is_replay() { Duration::from_millis(250) } else { Duration::from_secs(1) };
    let _ = set_interval_with_handle(move || room.tick_wall(js_sys::Date::now() as i64), every);
}

/// The live stream resumes after `seq`; a replay stream always starts from the session's room.
fn stream_url(room: &LiveRoom) -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    match room.replay_id() {
        Some(id) => format!("{scheme}://{host}/api/v1/replays/{id}/stream"),
        None => format!("{scheme}://{host}/api/v1/stream?since={}", room.seq.get_untracked()),
    }
}

fn open(room: LiveRoom, attempt: Rc<Cell<u32>>) {
    let Ok(ws) = WebSocket::new(&stream_url(&room)) else {
        retry(room, attempt);
        return;
    };
    let on_message = {
        let ws = ws.clone();
        let attempt = attempt.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else { return };
            let Ok(message) = serde_json::from_str::<ServerMessage>(&text) else { return };
            room.link.set(Link::Live);
            attempt.set(0);
            if !room.receive(message) {
                let _ = ws.close(); // a gap: reconnect from the last good seq
            }
        })
    };
    let on_close = {
        let attempt = attempt.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            room.link.set(Link::Reconnecting);
            retry(room, attempt.clone());
        })
    };
    // Live as soon as the server accepted the stream: it then sends the catch-up (or a snapshot)
    // first, so nothing the room did while we were away is missed.
    let on_open = Closure::<dyn FnMut()>::new(move || room.link.set(Link::Live));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The socket owns its handlers for the page's life; reconnects make a new socket.
    on_message.forget();
    on_close.forget();
}

fn retry(room: LiveRoom, attempt: Rc<Cell<u32>>) {
    let n = attempt.get();
    attempt.set(n + 1);
    let delay_ms = (250u64 << n.min(5)).min(MAX_BACKOFF_MS);
    set_timeout(move || open(room, attempt), Duration::from_millis(delay_ms));
}
