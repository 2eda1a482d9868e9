//! The browser's end of the stream: one WebSocket, reopened with `since=<seq>` after any drop
//! with a capped backoff, so a tablet on a flaky network resumes with nothing lost or doubled.
//!
//! A socket's three handlers live exactly as long as the socket: they are kept with it and
//! dropped (after being detached) when the next socket replaces it, so a page that reconnects
//! all day holds one set, not one per reconnect.

use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::{Link, LiveRoom, Mode};
use vigie_domain::wire::ServerMessage;

const MAX_BACKOFF_MS: u64 = 8_000;
/// The close code of a stream whose session or token ended (the server's `CLOSE_SIGNED_OUT`).
const CLOSE_SIGNED_OUT: u16 = 4401;

/// The open socket and the handlers it calls.
struct Connection {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Detach first: the handlers are freed with this value and must never be called after.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

#[derive(Clone)]
struct Stream {
    room: LiveRoom,
    mode: Rc<Mode>,
    attempt: Rc<Cell<u32>>,
    current: Rc<RefCell<Option<Connection>>>,
}

pub fn keep_connected(room: LiveRoom, mode: Mode) {
    // The page's clock: staleness and timers move even when the room is quiet.
    let _ = set_interval_with_handle(move || room.tick_wall(js_sys::Date::now() as i64), mode.tick_every());
    let link = Stream { room, mode: Rc::new(mode), attempt: Rc::default(), current: Rc::default() };
    open(link);
}

fn open(link: Stream) {
    let location = window().location();
    let secure = location.protocol().as_deref() == Ok("https:");
    let host = location.host().unwrap_or_default();
    let url = crate::api::stream_url(secure, &host, link.mode.session(), link.room.seq.get_untracked());
    let Ok(ws) = WebSocket::new(&url) else {
        retry(link);
        return;
    };
    let room = link.room;
    let on_message = {
        let (ws, attempt) = (ws.clone(), link.attempt.clone());
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
        let link = link.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            // The server ended the stream because the session ended: sign in again.
            if e.code() == CLOSE_SIGNED_OUT {
                crate::api::to_sign_in();
                return;
            }
            link.room.link.set(Link::Reconnecting);
            retry(link.clone());
        })
    };
    // Live as soon as the server accepted the stream: it then sends the catch-up (or a snapshot)
    // first, so nothing the room did while we were away is missed.
    let on_open = Closure::<dyn FnMut()>::new(move || room.link.set(Link::Live));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // Replaces (and so frees) the previous socket's handlers; this runs from a timer, never from
    // inside one of them.
    *link.current.borrow_mut() =
        Some(Connection { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close });
}

fn retry(link: Stream) {
    let n = link.attempt.get();
    link.attempt.set(n + 1);
    // A reopen refused before it is a socket (401: the session ended while away) shows only as a
    // close: after two in a row, ask who we are (a 401 there goes to sign-in).
    if n >= 2 {
        wasm_bindgen_futures::spawn_local(async {
            let _ = crate::api::whoami().await;
        });
    }
    let delay_ms = (250u64 << n.min(5)).min(MAX_BACKOFF_MS);
    set_timeout(move || open(link), Duration::from_millis(delay_ms));
}
