//! Deterministic simulation of the resume extension: the client [`Session`] and the server's
//! [`ServerSession`]s, driven as the browser driver and `cometkit-server` drive them, over a
//! simulated network that delays, cuts (noticed at once, late, or never), loses and duplicates
//! requests, goes down for longer than the grace period, and restarts the server, all in
//! simulated time from one seed.
//!
//! Invariants checked for every seed:
//! * each side's application receives the other's messages in the order sent, never twice;
//! * once the network heals, everything is delivered: every client message except those a
//!   `ResumeFailed` event handed back as unconfirmed, and every message the server's last
//!   session sent;
//! * a session is only lost (a `ResumeFailed` event) when the server restarted, the client
//!   was away longer than the grace period, or a resume buffer overflowed;
//! * the client's queue and the server's resume buffers never exceed their bounds;
//! * the socket never closes.
//!
//! `SIM_SEEDS=n` sets how many seeds run (default 10,000), `SIM_SEED=s` replays one seed with
//! a trace. A failing seed prints itself.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use cometkit_protocol::backoff::Backoff;
use cometkit_protocol::ladder::{Capabilities, TransportKind};
use cometkit_protocol::resume;
use cometkit_protocol::server::{self, AttachError, Detach, Pull, ReceiverId, ServerSession};
use cometkit_protocol::session::{Action, Config, Event, OpId, Reconnect, Session};
use cometkit_protocol::Error;

const INFO: &str =
    r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1,"resume":1}"#;
const GRACE_MS: u64 = 120_000;
const HEARTBEAT_MS: u64 = 25_000;
const MAX_QUEUED_MESSAGES: usize = 64;
const MAX_QUEUED_BYTES: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Randomness

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario of one seed

#[derive(Debug, Clone)]
struct Faults {
    /// Mean life of a connection before the network cuts it (0: never).
    cut_every_ms: u64,
    /// One-way delay range.
    delay: (u64, u64),
    /// A cut the client learns of only by heartbeat silence.
    silent_cut: u64,
    /// An HTTP send lost before the server.
    send_lost_before: u64,
    /// An HTTP send processed by the server whose answer is lost.
    send_lost_after: u64,
    /// An HTTP send the network delivers twice.
    send_duplicated: u64,
    /// A response lost without the client seeing an error: the browser sends the request
    /// again by itself, with its old URL (as on a reused connection that died).
    hidden_loss: u64,
    /// The network goes down for longer than the grace period, at this time.
    long_outage_at: Option<u64>,
    /// The server restarts at this time.
    restart_at: Option<u64>,
    /// Server resume buffer bounds (small ones overflow).
    server_max_messages: usize,
    /// Transports the client may use, in order.
    transports: Vec<TransportKind>,
    /// Messages each side's application sends.
    client_messages: usize,
    server_messages: usize,
    /// How long faults last.
    fault_phase_ms: u64,
}

impl Faults {
    fn draw(rng: &mut Rng) -> Faults {
        let all = [
            TransportKind::WebSocket,
            TransportKind::XhrStreaming,
            TransportKind::EventSource,
            TransportKind::XhrPolling,
            TransportKind::JsonpPolling,
            TransportKind::XdrStreaming,
            TransportKind::XdrPolling,
        ];
        let mut transports: Vec<TransportKind> = Vec::new();
        for _ in 0..rng.range(1, 3) {
            let k = all[rng.below(all.len() as u64) as usize];
            if !transports.contains(&k) {
                transports.push(k);
            }
        }
        let special = rng.below(10);
        Faults {
            cut_every_ms: [0, 300, 1_000, 3_000, 10_000][rng.below(5) as usize],
            delay: {
                let lo = rng.range(0, 20);
                (lo, lo + rng.range(0, 60))
            },
            silent_cut: [0, 0, 100, 300][rng.below(4) as usize],
            send_lost_before: [0, 50, 200][rng.below(3) as usize],
            send_lost_after: [0, 50, 200][rng.below(3) as usize],
            send_duplicated: [0, 50, 300][rng.below(3) as usize],
            hidden_loss: [0, 0, 50, 200][rng.below(4) as usize],
            long_outage_at: (special == 0).then(|| rng.range(5_000, 40_000)),
            restart_at: (special == 1).then(|| rng.range(2_000, 40_000)),
            server_max_messages: if special == 2 { 4 } else { 1_024 },
            transports,
            client_messages: rng.range(5, 60) as usize,
            server_messages: rng.range(5, 60) as usize,
            fault_phase_ms: rng.range(10_000, 60_000),
        }
    }

    /// Whether this scenario may lose a session.
    fn may_lose_sessions(&self) -> bool {
        self.long_outage_at.is_some() || self.restart_at.is_some() || self.server_max_messages < 64
    }
}

// ---------------------------------------------------------------------------------------------
// The world

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Ws,
    Stream,
    Poll,
}

fn shape(kind: TransportKind) -> Shape {
    match kind {
        TransportKind::WebSocket => Shape::Ws,
        TransportKind::XhrStreaming | TransportKind::XdrStreaming | TransportKind::EventSource => {
            Shape::Stream
        }
        _ => Shape::Poll,
    }
}

/// One client transport (for HTTP: its current receiving request).
struct Conn {
    op: OpId,
    shape: Shape,
    key: String,
    query: String,
    /// Cut by the network or closed by the client: nothing more goes through.
    broken: bool,
    /// Request generation: a response end or a frame for an older request is dropped.
    request: u64,
    /// The server session and receiver serving the current request.
    server: Option<(usize, ReceiverId)>,
    /// Frames left in this streaming response before it ends.
    frames_left: u32,
    /// Server-to-client deliveries stay in order.
    last_down: u64,
    /// Client-to-server WebSocket messages stay in order.
    last_up: u64,
}

struct Srv {
    m: ServerSession,
    epoch: usize,
    dead: bool,
    app_sent: Vec<String>,
    app_recv: Vec<String>,
    armed: Option<u64>,
}

#[derive(Debug)]
enum Ev {
    InfoReply {
        id: OpId,
        ok: bool,
    },
    /// The server gets a receiving request (or WebSocket) of connection `conn`.
    Request {
        conn: usize,
        request: u64,
    },
    /// A frame reaches the client.
    Frame {
        conn: usize,
        request: u64,
        frame: String,
    },
    /// A response ends normally (streaming limit, one poll).
    ResponseEnd {
        conn: usize,
        request: u64,
    },
    /// The client learns that its connection failed.
    ClientFail {
        conn: usize,
        reason: &'static str,
    },
    /// The server learns that a receiving connection was cut.
    ServerAbort {
        sess: usize,
        rid: ReceiverId,
    },
    /// A payload reaches the server: over a WebSocket (`conn`) or as an HTTP send on `key`.
    Upload {
        conn: usize,
        ws: bool,
        key: String,
        payload: String,
        answer: bool,
        op: OpId,
    },
    SendResult {
        op: OpId,
        ok: bool,
    },
    Cut {
        conn: usize,
        request: u64,
    },
    ClientTimer {
        at: u64,
    },
    ServerTimer {
        sess: usize,
        at: u64,
    },
    ClientApp,
    ServerApp,
    Heartbeats,
    Restart,
    Outage,
}

/// Totals over the seeds of a run, printed at the end.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    seeds: u64,
    events: u64,
    cuts: u64,
    reconnections: u64,
    resumed: u64,
    resume_failures: u64,
    http_sends_duplicated: u64,
    http_answers_lost: u64,
    hidden_losses: u64,
    client_messages: u64,
    server_messages: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.seeds += 1;
        self.events += o.events;
        self.cuts += o.cuts;
        self.reconnections += o.reconnections;
        self.resumed += o.resumed;
        self.resume_failures += o.resume_failures;
        self.http_sends_duplicated += o.http_sends_duplicated;
        self.http_answers_lost += o.http_answers_lost;
        self.hidden_losses += o.hidden_losses;
        self.client_messages += o.client_messages;
        self.server_messages += o.server_messages;
    }
}

struct World {
    rng: Rng,
    faults: Faults,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    trace: bool,

    client: Session,
    client_armed: Option<u64>,
    client_sent: Vec<String>,
    client_next: usize,
    client_recv: Vec<String>,
    unconfirmed: Vec<String>,
    resume_failures: usize,
    client_closed: Option<String>,

    conns: Vec<Conn>,
    by_op: HashMap<OpId, usize>,
    srv: Vec<Srv>,
    by_key: HashMap<String, usize>,
    by_token: HashMap<String, usize>,
    epochs: usize,
    server_next: usize,
    down_until: u64,
    healed: bool,
    opened: bool,
    stats: Stats,
    violations: Vec<String>,
}

impl World {
    fn new(seed: u64, trace: bool) -> World {
        let mut rng = Rng(seed);
        let faults = Faults::draw(&mut rng);
        let mut config = Config::new(Capabilities::modern(false, true));
        config.transports = faults.transports.clone();
        config.max_queued_messages = MAX_QUEUED_MESSAGES;
        config.max_queued_bytes = MAX_QUEUED_BYTES;
        config.reconnect = Some(Reconnect {
            backoff: Backoff::default(),
            max_attempts: None,
        });
        let mut client_rng = Rng(seed ^ 0x5eed);
        let client = Session::new(
            "http://sim/echo",
            config,
            Box::new(move || client_rng.next() as u32),
        )
        .expect("valid session");
        World {
            rng,
            faults,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            trace,
            client,
            client_armed: None,
            client_sent: Vec::new(),
            client_next: 0,
            client_recv: Vec::new(),
            unconfirmed: Vec::new(),
            resume_failures: 0,
            client_closed: None,
            conns: Vec::new(),
            by_op: HashMap::new(),
            srv: Vec::new(),
            by_key: HashMap::new(),
            by_token: HashMap::new(),
            epochs: 0,
            server_next: 0,
            down_until: 0,
            healed: false,
            opened: false,
            stats: Stats::default(),
            violations: Vec::new(),
        }
    }

    fn at(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.events.insert(self.seq, ev);
    }

    fn delay(&mut self) -> u64 {
        let (lo, hi) = self.faults.delay;
        self.rng.range(lo, hi)
    }

    /// Faults apply once the socket has opened (a first connection that fails is final, by
    /// design) and until the network heals.
    fn faulty(&self) -> bool {
        self.opened && !self.healed
    }

    fn down(&self) -> bool {
        self.now < self.down_until
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("{:>7} {}", self.now, what());
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running

    fn run(&mut self) {
        self.client.connect(0);
        self.after_client();
        let gap = self.faults.fault_phase_ms / (self.faults.client_messages as u64 + 1);
        for i in 0..self.faults.client_messages as u64 {
            self.seq += 1;
            let t = i * gap + self.rng.below(gap.max(1));
            self.queue.push(Reverse((t, self.seq)));
            self.events.insert(self.seq, Ev::ClientApp);
        }
        let gap = self.faults.fault_phase_ms / (self.faults.server_messages as u64 + 1);
        for i in 0..self.faults.server_messages as u64 {
            self.seq += 1;
            let t = 500 + i * gap + self.rng.below(gap.max(1));
            self.queue.push(Reverse((t, self.seq)));
            self.events.insert(self.seq, Ev::ServerApp);
        }
        self.at(HEARTBEAT_MS, Ev::Heartbeats);
        if let Some(t) = self.faults.restart_at {
            self.at(t, Ev::Restart);
        }
        if let Some(t) = self.faults.long_outage_at {
            self.at(t, Ev::Outage);
        }
        let heal_at = self.faults.fault_phase_ms;
        let give_up = heal_at + 15 * 60_000;
        let mut steps = 0u32;
        while let Some(Reverse((t, seq))) = self.queue.pop() {
            steps += 1;
            self.stats.events += 1;
            if steps > 2_000_000 {
                self.violations
                    .push("runaway: more than 2,000,000 events".into());
                return;
            }
            if t >= heal_at && !self.healed {
                self.healed = true;
                self.log(|| "-- network healed".into());
            }
            if t > give_up {
                break;
            }
            self.now = t;
            let Some(ev) = self.events.remove(&seq) else {
                continue;
            };
            self.handle(ev);
            self.check_bounds();
            if self.healed && self.done() {
                break;
            }
        }
    }

    /// Every message that must arrive has arrived, and nothing is waiting to be sent.
    fn done(&self) -> bool {
        if self.client_next < self.faults.client_messages
            || self.server_next < self.faults.server_messages
        {
            return false;
        }
        let delivered: usize = self.srv.iter().map(|s| s.app_recv.len()).sum();
        let owed = self.client_sent.len() - self.unconfirmed.len();
        if delivered < owed {
            return false;
        }
        match self.srv.iter().rev().find(|s| !s.dead) {
            Some(last) => {
                let got = self
                    .client_recv
                    .iter()
                    .filter(|m| epoch_of(m) == last.epoch)
                    .count();
                got >= last.app_sent.len() && self.client.buffered_amount() == 0
            }
            None => false,
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::InfoReply { id, ok } => {
                if ok {
                    self.client.handle_info(self.now, id, INFO);
                } else {
                    self.client
                        .handle_info_failed(self.now, id, Error::network("/info failed"));
                }
                self.after_client();
            }
            Ev::Request { conn, request } => self.server_request(conn, request),
            Ev::Frame {
                conn,
                request,
                frame,
            } => {
                let c = &self.conns[conn];
                if c.broken || c.request != request {
                    return;
                }
                let op = c.op;
                self.log(|| format!("client <- {frame}"));
                self.client.handle_text(self.now, op, &frame);
                self.after_client();
            }
            Ev::ResponseEnd { conn, request } => {
                let c = &self.conns[conn];
                if c.broken || c.request != request {
                    return;
                }
                // The driver issues the next receiving request at the URL the session gives.
                let op = c.op;
                let Some(url) = self.client.receive_url(op) else {
                    return;
                };
                let c = &mut self.conns[conn];
                c.query = split_url(&url).1;
                c.request += 1;
                let request = c.request;
                let d = self.delay();
                self.at(d, Ev::Request { conn, request });
            }
            Ev::ClientFail { conn, reason } => {
                let op = self.conns[conn].op;
                self.log(|| format!("client: transport failed ({reason})"));
                self.client
                    .handle_transport_failed(self.now, op, Error::network(reason));
                self.after_client();
            }
            Ev::ServerAbort { sess, rid } => {
                if !self.srv[sess].dead {
                    self.srv[sess].m.detach(self.now, rid, Detach::Aborted);
                    self.after_server(sess);
                }
            }
            Ev::Upload {
                conn,
                ws,
                key,
                payload,
                answer,
                op,
            } => self.server_upload(conn, ws, &key, &payload, answer, op),
            Ev::SendResult { op, ok } => {
                self.client.handle_send_done(self.now, op, ok);
                self.after_client();
            }
            Ev::Cut { conn, request } => {
                let c = &self.conns[conn];
                if c.broken || c.request != request || !self.faulty() {
                    return;
                }
                self.cut(conn);
            }
            Ev::ClientTimer { at } => {
                if self.client_armed == Some(at) {
                    self.client_armed = None;
                    self.client.handle_timeout(self.now);
                    self.after_client();
                }
            }
            Ev::ServerTimer { sess, at } => {
                if self.srv[sess].armed == Some(at) && !self.srv[sess].dead {
                    self.srv[sess].armed = None;
                    self.srv[sess].m.handle_timeout(self.now);
                    self.after_server(sess);
                }
            }
            Ev::ClientApp => {
                if self.client_next >= self.faults.client_messages {
                    return;
                }
                let m = format!("c{}", self.client_next);
                match self.client.send(m.clone()) {
                    Ok(()) => {
                        self.client_sent.push(m);
                        self.client_next += 1;
                    }
                    // A full queue: the application tries again later.
                    Err(_) => self.at(200, Ev::ClientApp),
                }
                self.after_client();
            }
            Ev::ServerApp => {
                if self.server_next >= self.faults.server_messages {
                    return;
                }
                // The application sends on its newest session (one per client epoch).
                let Some(sess) = (0..self.srv.len()).rev().find(|&i| !self.srv[i].dead) else {
                    self.at(500, Ev::ServerApp);
                    return;
                };
                let s = &mut self.srv[sess];
                let m = format!("e{}:{}", s.epoch, self.server_next);
                match s.m.send(m.clone()) {
                    Ok(()) => {
                        s.app_sent.push(m);
                        self.server_next += 1;
                    }
                    // Closed or overflowed: nothing was sent; the message goes on the next
                    // session.
                    Err(_) => self.at(500, Ev::ServerApp),
                }
                self.after_server(sess);
            }
            Ev::Heartbeats => {
                for sess in 0..self.srv.len() {
                    if self.srv[sess].dead {
                        continue;
                    }
                    for conn in 0..self.conns.len() {
                        let c = &self.conns[conn];
                        if !c.broken
                            && c.shape != Shape::Poll
                            && c.server.is_some_and(|(s, _)| s == sess)
                        {
                            self.down_frame(conn, "h".into());
                        }
                    }
                }
                self.at(HEARTBEAT_MS, Ev::Heartbeats);
            }
            Ev::Restart => {
                self.log(|| "-- server restart".into());
                for s in &mut self.srv {
                    s.dead = true;
                }
                self.by_key.clear();
                self.by_token.clear();
                for conn in 0..self.conns.len() {
                    if !self.conns[conn].broken {
                        self.cut(conn);
                    }
                }
            }
            Ev::Outage => {
                let length = GRACE_MS + self.rng.range(5_000, 20_000);
                self.log(|| format!("-- network down for {length} ms"));
                self.down_until = self.now + length;
                for conn in 0..self.conns.len() {
                    if !self.conns[conn].broken {
                        self.cut(conn);
                    }
                }
            }
        }
    }

    /// The network cuts connection `conn`: the client learns of it soon (or never, relying on
    /// heartbeats), the server too.
    fn cut(&mut self, conn: usize) {
        self.log(|| format!("-- cut conn {conn}"));
        self.stats.cuts += 1;
        self.conns[conn].broken = true;
        let silent = self.rng.chance(self.faults.silent_cut);
        if !silent {
            let d = self.delay();
            self.at(
                d,
                Ev::ClientFail {
                    conn,
                    reason: "connection cut",
                },
            );
        }
        if let Some((sess, rid)) = self.conns[conn].server.take() {
            let d = self.delay();
            self.at(d, Ev::ServerAbort { sess, rid });
        }
    }

    // -----------------------------------------------------------------------------------------
    // Client side: the driver

    fn after_client(&mut self) {
        while let Some(action) = self.client.poll_action() {
            self.client_action(action);
        }
        while let Some(event) = self.client.poll_event() {
            match event {
                Event::Messages(batch) => {
                    self.log(|| format!("client app <- {batch:?}"));
                    self.client_recv.extend(batch);
                }
                Event::ResumeFailed { unconfirmed, .. } => {
                    self.log(|| format!("client: resume failed, unconfirmed {unconfirmed:?}"));
                    self.resume_failures += 1;
                    self.stats.resume_failures += 1;
                    self.unconfirmed.extend(unconfirmed);
                }
                Event::Open => {
                    self.opened = true;
                    if self.client.recovered() {
                        self.stats.resumed += 1;
                    }
                    self.log(|| "client event Open".into());
                }
                Event::Close { code, reason, .. } => {
                    self.client_closed = Some(format!("{code} {reason}"));
                }
                Event::Reconnecting { code, reason, .. } => {
                    self.stats.reconnections += 1;
                    self.log(|| format!("client: reconnecting after {code} {reason}"));
                }
                other => self.log(|| format!("client event {other:?}")),
            }
        }
        let due = self.client.poll_timeout();
        if due != self.client_armed {
            self.client_armed = due;
            if let Some(at) = due {
                let delay = at.saturating_sub(self.now);
                self.at(delay, Ev::ClientTimer { at });
            }
        }
    }

    fn client_action(&mut self, action: Action) {
        self.log(|| format!("client action {action:?}"));
        match action {
            Action::FetchInfo { id, .. } => {
                let lost = self.faulty() && self.rng.chance(30);
                let ok = !self.down() && !lost;
                let d = self.delay() * 2 + 1;
                self.at(d, Ev::InfoReply { id, ok });
            }
            Action::CancelInfo { .. } => {}
            Action::OpenTransport {
                id, transport, url, ..
            } => {
                let (key, query) = split_url(&url);
                let conn = self.conns.len();
                self.conns.push(Conn {
                    op: id,
                    shape: shape(transport),
                    key,
                    query,
                    broken: false,
                    request: 0,
                    server: None,
                    frames_left: 0,
                    last_down: 0,
                    last_up: 0,
                });
                self.by_op.insert(id, conn);
                let d = self.delay();
                if self.down() {
                    self.conns[conn].broken = true;
                    self.at(
                        d,
                        Ev::ClientFail {
                            conn,
                            reason: "network down",
                        },
                    );
                } else {
                    self.at(d, Ev::Request { conn, request: 0 });
                    if self.faults.cut_every_ms > 0 {
                        let life = self.rng.range(1, 2 * self.faults.cut_every_ms);
                        self.at(life, Ev::Cut { conn, request: 0 });
                    }
                }
            }
            Action::CloseTransport { id } => {
                let Some(&conn) = self.by_op.get(&id) else {
                    return;
                };
                let c = &mut self.conns[conn];
                c.broken = true;
                if let Some((sess, rid)) = c.server.take() {
                    let d = self.delay();
                    self.at(d, Ev::ServerAbort { sess, rid });
                }
            }
            Action::Send { id, payload } => {
                let Some(&conn) = self.by_op.get(&id) else {
                    return;
                };
                let (shape, key, broken) = {
                    let c = &self.conns[conn];
                    (c.shape, c.key.clone(), c.broken)
                };
                if shape == Shape::Ws {
                    // The browser accepts the message at once; the network may lose it.
                    if !broken {
                        let d = self.delay();
                        let t = (self.now + d).max(self.conns[conn].last_up + 1);
                        self.conns[conn].last_up = t;
                        let delay = t - self.now;
                        self.at(
                            delay,
                            Ev::Upload {
                                conn,
                                ws: true,
                                key,
                                payload,
                                answer: false,
                                op: id,
                            },
                        );
                    }
                    self.client.handle_send_done(self.now, id, true);
                    self.after_client();
                    return;
                }
                let d = self.delay();
                if self.down() || (self.faulty() && self.rng.chance(self.faults.send_lost_before)) {
                    self.at(2 * d + 1, Ev::SendResult { op: id, ok: false });
                    return;
                }
                if self.faulty() && self.rng.chance(self.faults.send_duplicated) {
                    self.stats.http_sends_duplicated += 1;
                    let d2 = d + self.rng.range(0, 3_000);
                    self.at(
                        d2,
                        Ev::Upload {
                            conn,
                            ws: false,
                            key: key.clone(),
                            payload: payload.clone(),
                            answer: false,
                            op: id,
                        },
                    );
                }
                self.at(
                    d,
                    Ev::Upload {
                        conn,
                        ws: false,
                        key,
                        payload,
                        answer: true,
                        op: id,
                    },
                );
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Server side: what cometkit-server's registry and receivers do

    fn new_session(&mut self, resumable: bool) -> usize {
        let token = resumable
            .then(|| resume::token_from([self.rng.next(), self.rng.next(), self.rng.next()]));
        let mut config = server::Config::http(5_000);
        if resumable {
            config = config.with_resume(server::ResumeConfig {
                grace_ms: GRACE_MS,
                max_messages: self.faults.server_max_messages,
                max_bytes: 64 * 1024,
                ack_delay_ms: 50,
            });
        }
        let m = ServerSession::new(self.now, config, token.clone());
        let sess = self.srv.len();
        self.srv.push(Srv {
            m,
            epoch: self.epochs,
            dead: false,
            app_sent: Vec::new(),
            app_recv: Vec::new(),
            armed: None,
        });
        self.epochs += 1;
        if let Some(token) = token {
            self.by_token.insert(token, sess);
        }
        sess
    }

    fn server_request(&mut self, conn: usize, request: u64) {
        let c = &self.conns[conn];
        if c.broken || c.request != request {
            return;
        }
        let key = c.key.clone();
        let query = c.query.clone();
        let known = self.by_key.get(&key).copied();
        if let Some(sess) = known {
            // The next request of the same connection; a resumable one carries its ack.
            let next_ack = match resume::parse_query(&query) {
                Some(Ok(resume::Request::Resume { token, ack }))
                    if self.srv[sess].m.token() == Some(token.as_str()) =>
                {
                    Some(ack)
                }
                _ => None,
            };
            let attached = match next_ack {
                Some(ack) => self.srv[sess].m.attach_next(self.now, ack),
                None => self.srv[sess].m.attach(self.now, None),
            };
            return self.attached(conn, sess, attached);
        }
        let (sess, resume_ack) = match known {
            Some(_) => unreachable!(),
            None => match resume::parse_query(&query) {
                Some(Ok(resume::Request::Resume { token, ack })) => {
                    match self.by_token.get(&token).copied() {
                        Some(sess) if self.srv[sess].m.is_open() => (sess, Some(ack)),
                        _ => (self.new_session(true), None),
                    }
                }
                Some(Ok(resume::Request::New)) => (self.new_session(true), None),
                None => (self.new_session(false), None),
                Some(Err(e)) => {
                    self.violations
                        .push(format!("client sent a bad resume query: {e}"));
                    return;
                }
            },
        };
        self.by_key.insert(key, sess);
        let attached = self.srv[sess].m.attach(self.now, resume_ack);
        self.attached(conn, sess, attached);
    }

    fn attached(&mut self, conn: usize, sess: usize, attached: Result<ReceiverId, AttachError>) {
        let rid = match attached {
            Ok(rid) => rid,
            Err(AttachError::Busy) => {
                self.down_frame(conn, resume_close(2010, "Another connection still open"));
                self.end_response(conn);
                return;
            }
            Err(e) => {
                self.log(|| format!("server: attach refused {e:?}"));
                let d = self.delay();
                self.conns[conn].broken = true;
                self.at(
                    d,
                    Ev::ClientFail {
                        conn,
                        reason: "request refused",
                    },
                );
                return;
            }
        };
        let c = &mut self.conns[conn];
        c.server = Some((sess, rid));
        c.frames_left = match c.shape {
            Shape::Stream => self.rng.range(1, 12) as u32,
            _ => u32::MAX,
        };
        self.after_server(sess);
    }

    fn server_upload(
        &mut self,
        conn: usize,
        ws: bool,
        key: &str,
        payload: &str,
        answer: bool,
        op: OpId,
    ) {
        let sess = if ws {
            if self.conns[conn].broken {
                return;
            }
            self.conns[conn].server.map(|(s, _)| s)
        } else {
            self.by_key.get(key).copied()
        };
        let ok = match sess {
            Some(sess) if !self.srv[sess].dead => {
                match self.srv[sess].m.receive(self.now, payload, ws) {
                    Ok(messages) => {
                        self.log(|| format!("server app <- {messages:?}"));
                        self.srv[sess].app_recv.extend(messages);
                        self.after_server(sess);
                        true
                    }
                    Err(e) => {
                        self.log(|| format!("server: payload refused {e:?}"));
                        if ws {
                            self.cut(conn);
                        }
                        false
                    }
                }
            }
            _ => false,
        };
        if answer {
            let lost = self.faulty() && self.rng.chance(self.faults.send_lost_after);
            self.stats.http_answers_lost += u64::from(lost && ok);
            let d = self.delay();
            self.at(
                d,
                Ev::SendResult {
                    op,
                    ok: ok && !lost,
                },
            );
        }
    }

    /// Lets the receiver attached to `sess` carry what the session has for it; arms its timer.
    fn after_server(&mut self, sess: usize) {
        if self.srv[sess].dead {
            return;
        }
        if self.srv[sess].m.is_expired() {
            self.srv[sess].dead = true;
            self.by_key.retain(|_, s| *s != sess);
            self.by_token.retain(|_, s| *s != sess);
            return;
        }
        let attached = self
            .conns
            .iter()
            .position(|c| !c.broken && c.server.is_some_and(|(s, _)| s == sess));
        if let Some(conn) = attached {
            let Some((_, rid)) = self.conns[conn].server else {
                return;
            };
            loop {
                match self.srv[sess].m.pull(self.now, rid) {
                    Pull::Frame(frame) => {
                        self.down_frame(conn, frame);
                        let c = &mut self.conns[conn];
                        let end = match c.shape {
                            Shape::Poll => true,
                            Shape::Stream => {
                                c.frames_left -= 1;
                                c.frames_left == 0
                            }
                            Shape::Ws => false,
                        };
                        if end {
                            self.srv[sess].m.detach(self.now, rid, Detach::Finished);
                            if self.faulty() && self.rng.chance(self.faults.hidden_loss) {
                                self.hidden_loss(conn);
                            } else {
                                self.end_response(conn);
                            }
                            break;
                        }
                    }
                    Pull::Last(frame) => {
                        self.down_frame(conn, frame);
                        self.end_response(conn);
                        break;
                    }
                    Pull::Raw(_) => {
                        self.violations
                            .push("raw messages on a framed session".into());
                        break;
                    }
                    Pull::Wait => break,
                    Pull::Gone => {
                        self.conns[conn].server = None;
                        self.end_response(conn);
                        break;
                    }
                }
            }
        }
        let due = self.srv[sess].m.poll_timeout();
        if due != self.srv[sess].armed {
            self.srv[sess].armed = due;
            if let Some(at) = due {
                let delay = at.saturating_sub(self.now);
                self.at(delay, Ev::ServerTimer { sess, at });
            }
        }
    }

    fn down_frame(&mut self, conn: usize, frame: String) {
        let d = self.delay();
        let c = &mut self.conns[conn];
        let t = (self.now + d).max(c.last_down + 1);
        c.last_down = t;
        let request = c.request;
        let delay = t - self.now;
        self.at(
            delay,
            Ev::Frame {
                conn,
                request,
                frame,
            },
        );
    }

    /// The response of `conn`'s current request is lost on the way, and the browser sends the
    /// same request again by itself: the client sees nothing.
    fn hidden_loss(&mut self, conn: usize) {
        self.log(|| format!("-- response on conn {conn} lost, request sent again"));
        self.stats.hidden_losses += 1;
        let c = &mut self.conns[conn];
        c.server = None;
        // The frames already scheduled for this request are dropped with it.
        c.request += 1;
        let request = c.request;
        let d = self.delay() * 2 + 1;
        self.at(d, Ev::Request { conn, request });
    }

    /// The current response of `conn` ends (HTTP: the driver asks again; WebSocket: closed).
    fn end_response(&mut self, conn: usize) {
        let c = &mut self.conns[conn];
        c.server = None;
        if c.shape == Shape::Ws {
            c.last_down += 1;
            let t = c.last_down;
            let delay = t - self.now;
            c.broken = true;
            self.at(
                delay,
                Ev::ClientFail {
                    conn,
                    reason: "websocket closed",
                },
            );
            return;
        }
        c.last_down += 1;
        let (t, request) = (c.last_down, c.request);
        self.at(t - self.now, Ev::ResponseEnd { conn, request });
        if self.faults.cut_every_ms > 0 {
            let life = self.rng.range(1, 2 * self.faults.cut_every_ms);
            self.at(
                life,
                Ev::Cut {
                    conn,
                    request: request + 1,
                },
            );
        }
    }

    fn check_bounds(&mut self) {
        if self.client.buffered_amount() > MAX_QUEUED_BYTES {
            self.violations.push(format!(
                "client buffer {} > {MAX_QUEUED_BYTES}",
                self.client.buffered_amount()
            ));
        }
        for s in &self.srv {
            if !s.dead && s.m.buffered_bytes() > 64 * 1024 {
                self.violations.push("server buffer over its bound".into());
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Invariants

    fn check(&mut self) {
        if let Some(close) = &self.client_closed {
            self.violations.push(format!("the socket closed: {close}"));
        }
        // Client -> server: in order, never twice; everything but the unconfirmed arrived.
        let mut all_recv: Vec<&String> = Vec::new();
        let mut epochs: Vec<&Srv> = self.srv.iter().collect();
        epochs.sort_by_key(|s| s.epoch);
        for s in &epochs {
            all_recv.extend(s.app_recv.iter());
        }
        let index = |m: &str| {
            m.trim_start_matches('c')
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        };
        let mut last = None;
        for m in &all_recv {
            let i = index(m);
            if last.is_some_and(|l| i <= l) {
                self.violations
                    .push(format!("server received {m} out of order or twice"));
            }
            last = Some(i);
        }
        for m in &self.client_sent {
            let n = all_recv.iter().filter(|r| **r == m).count();
            let unconfirmed = self.unconfirmed.contains(m);
            if n == 0 && !unconfirmed {
                self.violations.push(format!("client message {m} lost"));
            }
        }
        // Server -> client: per session, a prefix of what its application sent, in order;
        // all of it for the last one.
        for s in &epochs {
            let got: Vec<&String> = self
                .client_recv
                .iter()
                .filter(|m| epoch_of(m) == s.epoch)
                .collect();
            let sent: Vec<&String> = s.app_sent.iter().collect();
            if got.len() > sent.len() || got[..] != sent[..got.len()] {
                self.violations.push(format!(
                    "epoch {}: client received {got:?}, server sent {sent:?}",
                    s.epoch
                ));
            }
            let last = Some(s.epoch) == epochs.iter().filter(|s| !s.dead).map(|s| s.epoch).max();
            if last && got.len() != sent.len() {
                self.violations.push(format!(
                    "epoch {}: {} of {} server messages arrived",
                    s.epoch,
                    got.len(),
                    sent.len()
                ));
            }
        }
        let mut last_epoch = 0;
        for m in &self.client_recv {
            let e = epoch_of(m);
            if e < last_epoch {
                self.violations
                    .push(format!("{m} arrived after a later session's message"));
            }
            last_epoch = e;
        }
        if self.client_next < self.faults.client_messages {
            self.violations.push(format!(
                "the client sent only {} of {} messages",
                self.client_next, self.faults.client_messages
            ));
        }
        if self.resume_failures > 0 && !self.faults.may_lose_sessions() {
            self.violations.push(format!(
                "{} resume failures without a restart, an outage beyond the grace period or an overflow",
                self.resume_failures
            ));
        }
    }
}

fn epoch_of(m: &str) -> usize {
    m.trim_start_matches('e')
        .split(':')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(usize::MAX)
}

fn resume_close(code: u16, reason: &str) -> String {
    cometkit_protocol::sockjs::encode_close_frame(code, reason)
}

/// The session id (the registry key) and the query of a transport URL
/// `http://sim/echo/<server>/<session>/<transport>?query`.
fn split_url(url: &str) -> (String, String) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut parts = path.rsplit('/');
    let _transport = parts.next();
    let session = parts.next().unwrap_or("");
    (session.to_owned(), query.to_owned())
}

fn run_seed(seed: u64, trace: bool) -> Result<Stats, String> {
    let mut w = World::new(seed, trace);
    w.run();
    w.check();
    w.stats.client_messages = w.client_sent.len() as u64;
    w.stats.server_messages = w.srv.iter().map(|s| s.app_sent.len() as u64).sum();
    if w.violations.is_empty() {
        Ok(w.stats)
    } else {
        Err(format!(
            "seed {seed} failed (replay: SIM_SEED={seed} cargo test -p cometkit-protocol --test resume_simulation -- --nocapture)\n  faults: {:?}\n  {}",
            w.faults,
            w.violations.join("\n  ")
        ))
    }
}

#[test]
fn exactly_once_across_cuts_losses_duplicates_outages_and_restarts() {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        match run_seed(seed, true) {
            Ok(stats) => eprintln!("{stats:?}"),
            Err(e) => panic!("{e}"),
        }
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut failures = Vec::new();
    let mut total = Stats::default();
    for seed in 0..seeds {
        match run_seed(seed, false) {
            Ok(stats) => total.add(&stats),
            Err(e) => {
                failures.push(e);
                if failures.len() >= 5 {
                    break;
                }
            }
        }
    }
    eprintln!("resume simulation: {total:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
