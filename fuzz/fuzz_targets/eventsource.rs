//! The EventSource polyfill's state machine (`eventsource::Machine`) driven by what a server
//! and the network can do: any status, any `Content-Type`, any response text (with `id:` and
//! `retry:` fields), ends and errors at any time, for the current request or a stale one.
//!
//! Input, as `0xFF`-separated pieces: the config (bytes: retry time, maximum delay, retry
//! limit, random numbers), the URL, the last-event-ID query parameter name (empty: use the
//! header), the starting last event ID (empty: none), then one piece per step, whose first
//! byte is the operation, the second the request it concerns (or a time step), and the rest
//! its argument.
//!
//! Checked after every step: the `readyState` and timer agree; nothing is opened or reported
//! after the source closed; a reconnection waits between the retry time in force and the
//! largest delay allowed (the configured maximum, raised by every `retry:`); the messages and
//! last event ID are those of an `sse::Parser` fed only the text of the open response; requests
//! carry the last event ID as configured (as a header, its UTF-8 bytes, only when not empty).
#![no_main]

use cometkit_fuzz::{all_fields, raw_fields, Bytes};
use cometkit_protocol::eventsource::{Action, Config, Event, Machine, ReadyState, RequestId};
use cometkit_protocol::headers::Headers;
use cometkit_protocol::sse::{Event as SseEvent, Output, Parser};
use cometkit_protocol::{Error, HttpResponse};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;

fuzz_target!(|data: &[u8]| {
    let pieces = raw_fields(data, 5);
    let [config, url, param, start_id, steps] =
        [0, 1, 2, 3, 4].map(|i| pieces.get(i).copied().unwrap_or_default());
    let mut c = Bytes::new(config);
    let retry_ms = u32::from(c.u16());
    let max_retry_delay_ms = c.u32();
    let max_retries = match c.u8() {
        0 => None,
        n => Some(u32::from(n % 8)),
    };
    // Uniform-ish numbers, plus the odd values a broken `Math.random` could return.
    let randoms: Vec<f64> = c
        .rest()
        .iter()
        .map(|&b| match b {
            0xF0 => f64::NAN,
            0xF1 => -1.0,
            0xF2 => 1.0,
            0xF3 => f64::INFINITY,
            b => f64::from(b) / 256.0,
        })
        .collect();
    let mut k = 0;
    let random = Box::new(move || {
        k += 1;
        randoms
            .get(k % randoms.len().max(1))
            .copied()
            .unwrap_or(0.5)
    });
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut cfg = Config::new(text(url));
    cfg.retry_ms = retry_ms;
    cfg.max_retry_delay_ms = max_retry_delay_ms;
    cfg.max_retries = max_retries;
    cfg.last_event_id_param = Some(text(param)).filter(|p| !p.is_empty());
    cfg.last_event_id = Some(text(start_id)).filter(|p| !p.is_empty());
    let url = cfg.url.clone();
    let mut shadow = Parser::for_text();
    if let Some(id) = &cfg.last_event_id {
        shadow.set_last_event_id(id);
    }
    let uses_param = cfg.last_event_id_param.is_some();
    let mut es = Machine::new(cfg, random);

    let mut sim = Sim {
        ids: Vec::new(),
        now: 0,
        bound: max_retry_delay_ms.max(retry_ms),
        url,
        uses_param,
        shadow,
    };
    for step in all_fields(steps, 64).iter().map(String::as_bytes) {
        sim.step(&mut es, step);
    }
});

struct Sim {
    /// Every request the machine opened, oldest first.
    ids: Vec<RequestId>,
    now: u64,
    /// The largest delay a reconnection may wait: the configured bounds and every `retry`.
    bound: u32,
    url: String,
    uses_param: bool,
    /// A parser fed what the machine accepted, to predict its messages, IDs and retry times.
    shadow: Parser,
}

impl Sim {
    fn step(&mut self, es: &mut Machine, step: &[u8]) {
        let mut b = Bytes::new(step);
        let op = b.u8();
        let which = b.u8();
        let arg = b.rest();
        let before = es.ready_state();
        // The request this step concerns: usually the newest one, sometimes a stale one.
        let id = match self.ids.len() {
            0 => None,
            n if which.is_multiple_of(4) => self.ids.get(usize::from(which / 4) % n).copied(),
            n => self.ids.get(n - 1).copied(),
        };
        self.now += u64::from(which);
        let mut expected = VecDeque::new();
        match op % 8 {
            0 => es.connect(self.now),
            1 => {
                let Some(id) = id else { return };
                // Status: mostly 200, else from the argument.
                let (status, ct) = match arg.split_first() {
                    Some((&s, ct)) if s % 2 == 0 => (200, ct),
                    Some((&s, ct)) => (u16::from(s) * 3, ct),
                    None => (200, arg),
                };
                let mut headers = Headers::new();
                if !ct.is_empty() {
                    headers.append("Content-Type", &String::from_utf8_lossy(ct));
                }
                es.handle_response(
                    self.now,
                    id,
                    HttpResponse::new(status, "x", headers, "", None),
                );
            }
            2 | 3 => {
                let Some(id) = id else { return };
                let text = String::from_utf8_lossy(arg);
                es.handle_chunk(self.now, id, &text);
                // Only the open request's text counts.
                if before == ReadyState::Open && self.ids.last() == Some(&id) {
                    self.shadow.feed_str(&text);
                    while let Some(output) = self.shadow.poll() {
                        match output {
                            Output::Retry(ms) => self.bound = self.bound.max(ms),
                            Output::Event(e) => expected.push_back(e),
                        }
                    }
                }
            }
            4 => {
                let Some(id) = id else { return };
                es.handle_end(self.now, id);
            }
            5 => {
                let Some(id) = id else { return };
                let error = match arg.first().map(|b| b % 3) {
                    Some(0) | None => Error::network("reset"),
                    Some(1) => Error::timeout("slow"),
                    _ => Error::protocol("odd"),
                };
                es.handle_error(self.now, id, error);
            }
            6 => {
                // The timer, usually on time.
                if let Some(at) = es.poll_timeout() {
                    if which.is_multiple_of(2) {
                        self.now = self.now.max(at);
                    }
                }
                es.handle_timeout(self.now);
            }
            _ => es.close(),
        }
        self.check(es, before, expected);
    }

    fn check(&mut self, es: &mut Machine, before: ReadyState, mut expected: VecDeque<SseEvent>) {
        let state = es.ready_state();
        assert!(!(es.poll_timeout().is_some() && state == ReadyState::Closed));
        if before == ReadyState::Closed {
            assert_eq!(state, ReadyState::Closed);
        }
        while let Some(action) = es.poll_action() {
            match action {
                Action::Open {
                    id: rid,
                    url,
                    last_event_id_header,
                } => {
                    assert_ne!(before, ReadyState::Closed);
                    assert!(!self.ids.contains(&rid));
                    self.ids.push(rid);
                    let id = es.last_event_id();
                    if self.uses_param {
                        assert!(last_event_id_header.is_none());
                    } else {
                        assert_eq!(url, self.url);
                        match last_event_id_header {
                            Some(h) => {
                                let wire: Vec<u8> = h.chars().map(|c| c as u32 as u8).collect();
                                assert!(h.chars().all(|c| u32::from(c) <= 0xff));
                                assert_eq!(wire, id.as_bytes());
                                assert!(!id.is_empty());
                            }
                            None => assert!(id.is_empty()),
                        }
                    }
                }
                Action::Abort { id: rid } => assert!(self.ids.contains(&rid)),
            }
        }
        let mut reconnecting = false;
        while let Some(event) = es.poll_event() {
            assert_ne!(before, ReadyState::Closed);
            match event {
                Event::Open => {}
                Event::Message(m) => assert_eq!(Some(m), expected.pop_front()),
                Event::Error { fatal, .. } => {
                    // The machine ends the stream's parse: so does the shadow.
                    self.shadow.finish();
                    if fatal {
                        assert_eq!(state, ReadyState::Closed);
                    } else {
                        reconnecting = true;
                    }
                }
            }
        }
        assert!(expected.is_empty(), "messages not delivered: {expected:?}");
        assert_eq!(es.last_event_id(), self.shadow.last_event_id());
        assert!(!es.last_event_id().contains('\0'));
        self.bound = self.bound.max(es.retry_ms());
        if reconnecting && state == ReadyState::Connecting {
            if let Some(until) = es.poll_timeout() {
                let delay = until - self.now;
                assert!(
                    delay >= u64::from(es.retry_ms()),
                    "delay {delay} < {}",
                    es.retry_ms()
                );
                assert!(
                    delay <= u64::from(self.bound),
                    "delay {delay} > {}",
                    self.bound
                );
            }
        }
    }
}
