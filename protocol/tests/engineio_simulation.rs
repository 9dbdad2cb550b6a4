//! The Engine.IO machine against a simulated server, with seeded faults (failed polls and
//! POSTs, refused and dying WebSockets, lost probes) and simulated time: no panics, one
//! request of each kind in flight, messages in order without duplicates, confirmed messages
//! received, the heartbeat answered, and a connection again once the faults stop.

use std::collections::{BTreeMap, VecDeque};

use cometkit_protocol::backoff::Backoff;
use cometkit_protocol::engineio::{
    Action, Config, Data, Engine, Event, Packet, Transport, TransportId,
};
use cometkit_protocol::session::Reconnect;
use cometkit_protocol::Error;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    fn chance(&mut self, p: f64) -> bool {
        f64::from(self.next()) / f64::from(u32::MAX) < p
    }
}

#[derive(Default)]
struct ServerSession {
    outbox: VecDeque<Packet>,
    received: Vec<u64>,
    sent: u64,
    last_ping: u64,
    probing: bool,
    ws: Option<TransportId>,
}

fn sid_of(url: &str) -> Option<String> {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("sid="))
        .map(str::to_owned)
}

fn number(m: &Data, prefix: &str) -> u64 {
    match m {
        Data::Text(t) => t.strip_prefix(prefix).and_then(|n| n.parse().ok()).unwrap(),
        Data::Binary(_) => panic!("text only here"),
    }
}

fn open_json(sid: &str, upgrades: &str) -> String {
    format!(
        r#"{{"sid":"{sid}","upgrades":[{upgrades}],"pingInterval":250,"pingTimeout":200,"maxPayload":64}}"#
    )
}

/// What happened in one run, to check the faults were exercised.
#[derive(Default, Debug)]
struct Stats {
    upgrades: u32,
    failed_upgrades: u32,
    drops: u32,
    attempt_errors: u32,
    messages_in: usize,
    confirmed_out: usize,
    ws_first_opens: u32,
}

fn run(seed: u64, stats: &mut Stats) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut config = Config {
        transports: vec![Transport::XhrPolling, Transport::WebSocket],
        websocket_first: seed % 3 == 0,
        reconnect: Some(Reconnect {
            backoff: Backoff {
                min: 50,
                max: 400,
                factor: 2.0,
                jitter: 0.5,
            },
            max_attempts: None,
        }),
        ..Config::default()
    };
    config.open_timeout_ms = 500;
    config.upgrade_timeout_ms = 300;
    let mut seed_random = seed as u32;
    let mut e: Engine = Engine::new(
        "http://sim/engine.io/",
        config,
        Box::new(move || {
            seed_random = seed_random.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            seed_random
        }),
    )
    .unwrap();
    let mut sessions: BTreeMap<String, ServerSession> = BTreeMap::new();
    let mut link_sid: BTreeMap<u32, String> = BTreeMap::new();
    let mut polls: BTreeMap<u32, TransportId> = BTreeMap::new(); // pending GETs
    let mut posts: BTreeMap<u32, (TransportId, Vec<Packet>)> = BTreeMap::new();
    let mut sockets: BTreeMap<u32, TransportId> = BTreeMap::new(); // open WebSockets
    let mut next_sid = 0u32;
    let mut next_out = 0u64;
    let mut confirmed: Vec<(String, u64)> = Vec::new();
    let mut got: Vec<(String, u64)> = Vec::new();
    let mut current_sid: Option<String> = None;
    let mut opens = 0;
    let mut faults = true;

    let mut now = 0u64;
    e.connect(now);
    while now < 60_000 {
        now += 10;
        if now == 40_000 {
            faults = false;
        }
        let fault = |rng: &mut Rng, p: f64| faults && rng.chance(p);

        // The driver carries out the engine's actions.
        while let Some(action) = e.poll_action() {
            match action {
                Action::Poll { id, url, .. } => {
                    assert!(!polls.contains_key(&id.get()), "two GETs on one transport");
                    if fault(&mut rng, 0.03) {
                        e.handle_poll_failed(now, id, Error::network("sim: GET failed"));
                        continue;
                    }
                    match sid_of(&url) {
                        None => {
                            next_sid += 1;
                            let sid = format!("S{next_sid}");
                            sessions.insert(
                                sid.clone(),
                                ServerSession {
                                    last_ping: now,
                                    ..Default::default()
                                },
                            );
                            link_sid.insert(id.get(), sid.clone());
                            let open = open_json(&sid, "\"websocket\"");
                            e.handle_poll(now, id, vec![Packet::Open(open)]);
                        }
                        Some(sid) => {
                            link_sid.insert(id.get(), sid);
                            polls.insert(id.get(), id);
                        }
                    }
                }
                Action::OpenWebSocket { id, url } => {
                    if fault(&mut rng, 0.3) {
                        e.handle_transport_closed(now, id, Some(Error::network("sim: refused")));
                        continue;
                    }
                    match sid_of(&url) {
                        Some(sid) => {
                            link_sid.insert(id.get(), sid);
                            sockets.insert(id.get(), id);
                            e.handle_ws_open(now, id);
                        }
                        None => {
                            next_sid += 1;
                            let sid = format!("S{next_sid}");
                            let mut s = ServerSession {
                                last_ping: now,
                                ..Default::default()
                            };
                            s.ws = Some(id);
                            sessions.insert(sid.clone(), s);
                            link_sid.insert(id.get(), sid.clone());
                            sockets.insert(id.get(), id);
                            e.handle_ws_open(now, id);
                            let open = open_json(&sid, "");
                            e.handle_packet(now, id, Packet::Open(open));
                        }
                    }
                }
                Action::Send {
                    id,
                    transport,
                    url,
                    packets,
                } => {
                    assert!(!posts.contains_key(&id.get()), "two sends on one transport");
                    assert_eq!(url.is_some(), transport.is_polling());
                    if transport.is_polling() {
                        let body = cometkit_protocol::engineio::encode_payload(&packets);
                        assert!(body.len() <= 64, "POST over maxPayload: {}", body.len());
                    }
                    posts.insert(id.get(), (id, packets));
                }
                Action::CloseTransport { id } => {
                    polls.remove(&id.get());
                    posts.remove(&id.get());
                    sockets.remove(&id.get());
                }
            }
        }

        // The server takes POSTs and WebSocket frames.
        for (_, (id, packets)) in std::mem::take(&mut posts) {
            let Some(sid) = link_sid.get(&id.get()).cloned() else {
                continue;
            };
            let Some(s) = sessions.get_mut(&sid) else {
                continue;
            };
            let lost_answer = fault(&mut rng, 0.03);
            let mut ours = Vec::new();
            for packet in packets {
                match packet {
                    Packet::Message(m) => {
                        let n = number(&m, "c");
                        s.received.push(n);
                        ours.push(n);
                    }
                    Packet::Ping(true) => {
                        s.probing = true;
                        if !fault(&mut rng, 0.2) {
                            e.handle_packet(now, id, Packet::Pong(true));
                        }
                    }
                    Packet::Upgrade => {
                        s.ws = Some(id);
                        s.probing = false;
                    }
                    Packet::Pong(false) | Packet::Close => {}
                    other => panic!("client sent {other:?}"),
                }
            }
            if lost_answer {
                e.handle_send_done(now, id, Err(Error::network("sim: POST failed")));
            } else {
                confirmed.extend(ours.into_iter().map(|n| (sid.clone(), n)));
                e.handle_send_done(now, id, Ok(()));
            }
        }

        // The server pings, talks, and answers held polls.
        for (sid, s) in sessions.iter_mut() {
            if now - s.last_ping >= 250 {
                s.last_ping = now;
                s.outbox.push_back(Packet::Ping(false));
            }
            if rng.chance(0.05) {
                next_out += 1;
                s.outbox
                    .push_back(Packet::Message(Data::Text(format!("s{next_out}"))));
                s.sent += 1;
            }
            // As engine.io's server: the noops that release polls during a probe stop when the
            // probe's WebSocket goes away.
            if s.probing && !sockets.keys().any(|key| link_sid.get(key) == Some(sid)) {
                s.probing = false;
            }
            if let Some(ws) = s.ws.filter(|ws| sockets.contains_key(&ws.get())) {
                while let Some(p) = s.outbox.pop_front() {
                    e.handle_packet(now, ws, p);
                }
                continue;
            }
            let held: Vec<TransportId> = polls
                .iter()
                .filter(|(key, _)| link_sid.get(key) == Some(sid))
                .map(|(_, id)| *id)
                .collect();
            for id in held {
                if s.probing {
                    polls.remove(&id.get());
                    e.handle_poll(now, id, vec![Packet::Noop]);
                } else if !s.outbox.is_empty() {
                    polls.remove(&id.get());
                    let batch: Vec<Packet> = s.outbox.drain(..).collect();
                    if fault(&mut rng, 0.02) {
                        e.handle_poll_failed(now, id, Error::network("sim: GET cut"));
                    } else {
                        e.handle_poll(now, id, batch);
                    }
                }
            }
        }

        // Random deaths of open WebSockets.
        let ws_ids: Vec<TransportId> = sockets.values().copied().collect();
        for id in ws_ids {
            if fault(&mut rng, 0.002) {
                sockets.remove(&id.get());
                e.handle_transport_closed(now, id, None);
            }
        }

        // The user sends while open.
        if e.is_open() && rng.chance(0.2) {
            next_out += 1;
            let _ = e.send(Data::Text(format!("c{next_out}")));
        }

        if e.poll_timeout().is_some_and(|t| t <= now) {
            e.handle_timeout(now);
        }

        while let Some(event) = e.poll_event() {
            match event {
                Event::Open {
                    handshake,
                    transport,
                } => {
                    if transport == Transport::WebSocket {
                        stats.ws_first_opens += 1;
                    }
                    opens += 1;
                    current_sid = Some(handshake.sid);
                }
                Event::Message(m) => {
                    let sid = current_sid.clone().unwrap();
                    got.push((sid, number(&m, "s")));
                }
                Event::Closed { .. } => panic!("seed {seed}: gave up with unlimited retries"),
                Event::Upgraded(_) => stats.upgrades += 1,
                Event::UpgradeFailed(_) => stats.failed_upgrades += 1,
                Event::Disconnected { .. } => stats.drops += 1,
                Event::Error(_) => stats.attempt_errors += 1,
                _ => {}
            }
        }
    }

    assert!(opens >= 1, "seed {seed}: never opened");
    stats.messages_in += got.len();
    stats.confirmed_out += confirmed.len();
    assert!(
        e.is_open(),
        "seed {seed}: not open 20 s after the faults stopped"
    );
    // Per session: what the client got and what the server received are in order, no
    // duplicates; every confirmed message was received.
    for list in [&got, &confirmed] {
        let mut last: BTreeMap<&str, u64> = BTreeMap::new();
        for (sid, n) in list.iter() {
            let prev = last.insert(sid.as_str(), *n);
            assert!(
                prev.map_or(true, |p| p < *n),
                "seed {seed}: {sid} out of order"
            );
        }
    }
    for (sid, n) in &confirmed {
        assert!(
            sessions[sid].received.contains(n),
            "seed {seed}: confirmed c{n} lost"
        );
    }
    for s in sessions.values() {
        assert!(
            s.received.windows(2).all(|w| w[0] < w[1]),
            "seed {seed}: server order"
        );
    }
    // Without faults the last connection stayed up: no ping timeout once they stopped.
    let last = current_sid.unwrap();
    assert!(
        got.iter().any(|(sid, _)| *sid == last) || sessions[&last].sent == 0,
        "seed {seed}: {last} sent {} got {} opens {opens} stats {stats:?}",
        sessions[&last].sent,
        got.iter().filter(|(s, _)| *s == last).count()
    );
}

#[test]
fn seeded_faults_keep_order_and_recover() {
    let mut stats = Stats::default();
    for seed in 1..=40 {
        run(seed, &mut stats);
    }
    println!("{stats:?}");
    // The faults were exercised, and the traffic flowed.
    assert!(
        stats.upgrades > 40 && stats.failed_upgrades > 10,
        "{stats:?}"
    );
    assert!(stats.drops > 40 && stats.attempt_errors > 10, "{stats:?}");
    assert!(stats.ws_first_opens > 5, "{stats:?}");
    assert!(
        stats.messages_in > 10_000 && stats.confirmed_out > 10_000,
        "{stats:?}"
    );
}
