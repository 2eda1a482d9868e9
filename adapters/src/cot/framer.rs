//! TAK's streaming protocol (version 0, "XML"): events follow one another on a TCP stream with
//! nothing between them but, at times, whitespace and XML declarations. [`Framer`] cuts the bytes
//! as they arrive into one event's bytes at a time, each ending at `</event>`.
//!
//! Bounds: at most [`MAX_EVENT_BYTES`] are held waiting for an end; past it the stream is
//! refused (a peer that never closes an event cannot grow memory), and the connection is closed by
//! its owner. Each event's bytes then go to [`crate::cot::CotEvent::parse`], which refuses what is not
//! an event; a bad event costs that event, never the stream.

use crate::cot::event::MAX_EVENT_BYTES;

const END: &[u8] = b"</event>";

#[derive(Debug, Default)]
pub struct Framer {
    buffer: Vec<u8>,
    /// Where the search for the next end resumes (the bytes before it hold no end).
    scanned: usize,
}

/// The stream sent more than [`MAX_EVENT_BYTES`] without ending an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no event ended within {MAX_EVENT_BYTES} bytes")]
pub struct Overlong;

impl Framer {
    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event's bytes (its XML declaration included, whitespace before it not), if one has
    /// arrived; [`Overlong`] when the bytes held already exceed an event's bound without an end.
    pub fn next_event(&mut self) -> Result<Option<Vec<u8>>, Overlong> {
        let from = self.scanned.saturating_sub(END.len() - 1);
        match self.buffer[from..].windows(END.len()).position(|w| w == END) {
            Some(at) => {
                let end = from + at + END.len();
                if end > MAX_EVENT_BYTES + 1024 {
                    return Err(Overlong);
                }
                let mut event: Vec<u8> = self.buffer.drain(..end).collect();
                self.scanned = 0;
                // An XML declaration must open the document: the newline before it is not part of it.
                let blank = event.iter().take_while(|b| b.is_ascii_whitespace()).count();
                event.drain(..blank);
                Ok(Some(event))
            }
            None => {
                self.scanned = self.buffer.len();
                // Whitespace between events is not an event in waiting.
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    self.buffer.clear();
                    self.scanned = 0;
                }
                if self.buffer.len() > MAX_EVENT_BYTES + 1024 {
                    Err(Overlong)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Bytes held waiting for an event's end.
    pub fn held(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(uid: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><event version="2.0" uid="{uid}" type="a-f-G" time="2026-11-30T05:00:00Z" start="2026-11-30T05:00:00Z" stale="2026-11-30T05:01:00Z"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail/></event>"#
        )
    }

    fn drain(f: &mut Framer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(e) = f.next_event().unwrap() {
            out.push(String::from_utf8(e).unwrap().trim().to_owned());
        }
        out
    }

    #[test]
    fn events_back_to_back_come_out_one_by_one() {
        let mut f = Framer::default();
        f.push(format!("{}\n{}  {}", event("a"), event("b"), event("c")).as_bytes());
        assert_eq!(drain(&mut f), [event("a"), event("b"), event("c")]);
        f.push(b"\n  \r\n");
        assert_eq!(f.next_event(), Ok(None));
        assert_eq!(f.held(), 0, "whitespace between events is dropped");
        f.push(b"<event uid=");
        assert_eq!(f.next_event(), Ok(None));
        assert_eq!(f.held(), 11, "a started event waits for its end");
    }

    #[test]
    fn a_stream_that_never_ends_an_event_is_refused_at_the_bound() {
        let mut f = Framer::default();
        f.push(b"<event uid=\"x\">");
        let chunk = vec![b'a'; 4096];
        let mut refused = false;
        for _ in 0..40 {
            f.push(&chunk);
            if f.next_event() == Err(Overlong) {
                refused = true;
                break;
            }
        }
        assert!(refused);
        assert!(f.held() <= MAX_EVENT_BYTES + 1024 + chunk.len());
    }

    proptest! {
        /// However the stream is cut into reads, the same events come out.
        #[test]
        fn any_cutting_of_the_stream_gives_the_same_events(cuts in proptest::collection::vec(1usize..300, 1..40)) {
            let stream = format!("{}{}\r\n{}", event("one"), event("two"), event("three"));
            let bytes = stream.as_bytes();
            let mut f = Framer::default();
            let (mut at, mut got) = (0, Vec::new());
            for cut in cuts.iter().cycle() {
                if at >= bytes.len() {
                    break;
                }
                let end = (at + cut).min(bytes.len());
                f.push(&bytes[at..end]);
                at = end;
                got.extend(drain(&mut f));
            }
            prop_assert_eq!(got, vec![event("one"), event("two"), event("three")]);
        }

        /// Fuzzing: arbitrary bytes never panic, and what the framer holds stays bounded.
        #[test]
        fn arbitrary_bytes_stay_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4096), 0..40)) {
            let mut f = Framer::default();
            for chunk in chunks {
                f.push(&chunk);
                loop {
                    match f.next_event() {
                        Ok(Some(e)) => { let _ = crate::cot::event::CotEvent::parse(&e); }
                        Ok(None) => break,
                        Err(Overlong) => { f = Framer::default(); break; }
                    }
                }
                prop_assert!(f.held() <= MAX_EVENT_BYTES + 1024 + 4096);
            }
        }
    }
}
