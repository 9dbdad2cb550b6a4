//! The session: a thin tokio driver over the protocol crate's sans-IO
//! [`ServerSession`](cometkit_protocol::server::ServerSession), which decides everything (what
//! a receiver carries, when a session is interrupted, resumed or over).
//!
//! The driver adds what needs I/O or a clock: a mutex around the machine, a [`Notify`] for the
//! attached receiver (woken after every call that may produce output), the application's
//! message channel (dropped when the session stops being open, which ends its `recv()`), one
//! timer task per session that sleeps until the machine's `poll_timeout` and calls
//! `handle_timeout`, the endpoint's registry (by URL session id and, for resumable sessions,
//! by token) and the endpoint's budget of buffered bytes over all its resumable sessions.
//!
//! Lock order: registry, then a session's state. A session expires, and leaves the registry,
//! with both held, so a request never attaches to a session between the two.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use cometkit_protocol::server::{
    AttachError, Config, Detach, Pull, ReceiverId, Refused, ServerSession,
};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A random `u64` from the process's hash seed (which std draws from the OS) mixed with a
/// counter and the clock: unpredictable to clients, without a dependency.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

/// A fresh public connection id, UUID-shaped (never the URL's session id, which the protocol
/// keeps from the application).
fn connection_id() -> String {
    let (a, b) = (random_u64(), random_u64());
    let hex = format!("{a:016x}{b:016x}");
    [
        &hex[0..8],
        "-",
        &hex[8..12],
        "-",
        &hex[12..16],
        "-",
        &hex[16..20],
        "-",
        &hex[20..32],
    ]
    .concat()
}

/// The bytes of messages all resumable sessions of an endpoint may hold for their clients.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes, unless that would exceed the maximum.
    fn reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.max)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Sessions of one endpoint: by URL session id, and resumable ones by token too. Every session
/// is counted once in `all`, whatever its aliases.
#[derive(Default)]
pub(crate) struct Registry {
    by_key: HashMap<String, Arc<SessionCore>>,
    by_token: HashMap<String, Arc<SessionCore>>,
    all: HashMap<u64, Arc<SessionCore>>,
    /// The URL session id a session is reached by now (a resumed one moves to its new URL).
    key_of: HashMap<u64, String>,
}

impl Registry {
    pub(crate) fn by_key(&self, key: &str) -> Option<&Arc<SessionCore>> {
        self.by_key.get(key)
    }

    /// The open session `token` names.
    pub(crate) fn open_by_token(&self, token: &str) -> Option<&Arc<SessionCore>> {
        self.by_token.get(token).filter(|c| c.is_open())
    }

    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    /// Adds `core`, reached by `key` (if any) and its token (if any).
    pub(crate) fn insert(&mut self, core: &Arc<SessionCore>, key: Option<&str>) {
        self.all.insert(core.serial, core.clone());
        if let Some(token) = &core.token {
            self.by_token.insert(token.clone(), core.clone());
        }
        if let Some(key) = key {
            self.alias(core, key);
        }
    }

    /// `key` now reaches `core`, and the URL session id it was reached by before no longer
    /// does.
    pub(crate) fn alias(&mut self, core: &Arc<SessionCore>, key: &str) {
        if let Some(old) = self.key_of.insert(core.serial, key.to_owned()) {
            if self.by_key.get(&old).is_some_and(|c| Arc::ptr_eq(c, core)) {
                self.by_key.remove(&old);
            }
        }
        self.by_key.insert(key.to_owned(), core.clone());
    }

    /// Drops the URL alias of `core` (it moved to a WebSocket).
    pub(crate) fn unalias(&mut self, core: &Arc<SessionCore>) {
        if let Some(old) = self.key_of.remove(&core.serial) {
            if self.by_key.get(&old).is_some_and(|c| Arc::ptr_eq(c, core)) {
                self.by_key.remove(&old);
            }
        }
    }

    fn remove(&mut self, core: &Arc<SessionCore>) {
        self.unalias(core);
        self.all.remove(&core.serial);
        if let Some(token) = &core.token {
            if self
                .by_token
                .get(token)
                .is_some_and(|c| Arc::ptr_eq(c, core))
            {
                self.by_token.remove(token);
            }
        }
    }
}

/// What every session of an endpoint shares.
pub(crate) struct Sessions {
    pub(crate) registry: Arc<Mutex<Registry>>,
    pub(crate) budget: Arc<Budget>,
    /// Time zero of the machines' clocks (tokio's clock, so paused time in tests moves it).
    epoch: Instant,
}

impl Sessions {
    pub(crate) fn new(max_total_bytes: usize) -> Self {
        Sessions {
            registry: Arc::default(),
            budget: Arc::new(Budget::new(max_total_bytes)),
            epoch: Instant::now(),
        }
    }
}

struct State {
    machine: ServerSession,
    /// The attached receiver and its wake-up.
    wake: Option<(ReceiverId, Arc<Notify>)>,
    /// Messages from the client to the application; dropped when the session stops being
    /// open, which ends the application's `recv()`.
    incoming: Option<mpsc::UnboundedSender<String>>,
    /// The machine's buffered bytes as counted in the endpoint's budget.
    counted: usize,
}

/// The shared core of a session.
pub(crate) struct SessionCore {
    pub(crate) id: String,
    serial: u64,
    token: Option<String>,
    registry: Weak<Mutex<Registry>>,
    budget: Arc<Budget>,
    epoch: Instant,
    state: Mutex<State>,
    /// Re-arms the timer task after a call that may move the deadline.
    timer: Notify,
}

impl SessionCore {
    /// A new open session with its first receiver attached, the receiving end of its client
    /// messages, and its timer task running. `token` makes it resumable (then `config.resume`
    /// is set). The receiver attaches before the timer starts, so a short delay cannot expire
    /// the session before it had one.
    pub(crate) fn new(
        sessions: &Sessions,
        config: Config,
        token: Option<String>,
    ) -> (
        Arc<Self>,
        mpsc::UnboundedReceiver<String>,
        (ReceiverId, Arc<Notify>),
    ) {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let (tx, rx) = mpsc::unbounded_channel();
        let now = ms_since(sessions.epoch);
        let core = Arc::new(SessionCore {
            id: connection_id(),
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            token: token.clone(),
            registry: Arc::downgrade(&sessions.registry),
            budget: sessions.budget.clone(),
            epoch: sessions.epoch,
            state: Mutex::new(State {
                machine: ServerSession::new(now, config, token),
                wake: None,
                incoming: Some(tx),
                counted: 0,
            }),
            timer: Notify::new(),
        });
        let wake = Arc::new(Notify::new());
        let first = {
            let mut st = lock(&core.state);
            let id = match st.machine.attach(now, None) {
                Ok(id) => id,
                // A new session takes any first receiver.
                Err(_) => unreachable!("a new session refused its first receiver"),
            };
            st.wake = Some((id, wake.clone()));
            id
        };
        tokio::spawn(run_timer(core.clone()));
        (core, rx, (first, wake))
    }

    /// A resumable session's token.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn now(&self) -> u64 {
        ms_since(self.epoch)
    }

    /// Runs `f` on the machine, then brings the driver in line with it: budget, the
    /// application's channel, the timer, and (when `wake`) the attached receiver.
    fn with<R>(&self, wake: bool, f: impl FnOnce(&mut State, u64) -> R) -> R {
        let mut st = lock(&self.state);
        let r = f(&mut st, self.now());
        self.settle(&mut st, wake);
        r
    }

    fn settle(&self, st: &mut State, wake: bool) {
        if self.token.is_some() {
            let now = st.machine.buffered_bytes();
            if now > st.counted {
                // Only `send` adds bytes, and it reserves them first.
                self.budget
                    .used
                    .fetch_add(now - st.counted, Ordering::AcqRel);
            } else {
                self.budget.release(st.counted - now);
            }
            st.counted = now;
        }
        if !st.machine.is_open() {
            st.incoming = None;
        }
        if wake {
            if let Some((_, w)) = &st.wake {
                w.notify_one();
            }
        }
        self.timer.notify_one();
    }

    /// Attaches a receiver (see [`ServerSession::attach`]): a receiver it replaces is woken to
    /// find itself gone.
    pub(crate) fn attach(
        &self,
        resume_ack: Option<u64>,
    ) -> Result<(ReceiverId, Arc<Notify>), AttachError> {
        self.attach_with(|m, now| m.attach(now, resume_ack))
    }

    /// The next receiving request of the current transport connection of a resumable
    /// session, the client having received up to `ack` ([`ServerSession::attach_next`]).
    pub(crate) fn attach_next(&self, ack: u64) -> Result<(ReceiverId, Arc<Notify>), AttachError> {
        self.attach_with(|m, now| m.attach_next(now, ack))
    }

    /// Attaches the receiver `attach` makes, with a fresh wake-up; a replaced one is woken to
    /// find itself gone.
    fn attach_with(
        &self,
        attach: impl FnOnce(&mut ServerSession, u64) -> Result<ReceiverId, AttachError>,
    ) -> Result<(ReceiverId, Arc<Notify>), AttachError> {
        self.with(false, |st, now| {
            let id = attach(&mut st.machine, now)?;
            let wake = Arc::new(Notify::new());
            if let Some((_, old)) = st.wake.replace((id, wake.clone())) {
                old.notify_one();
            }
            Ok((id, wake))
        })
    }

    /// What receiver `rid` carries next.
    pub(crate) fn pull(&self, rid: ReceiverId) -> Pull {
        self.with(false, |st, now| {
            let pull = st.machine.pull(now, rid);
            if !st.machine.is_attached() {
                st.wake = None;
            }
            pull
        })
    }

    /// Lets go of receiver `rid` (no-op if it is not the attached one).
    pub(crate) fn detach(&self, rid: ReceiverId, how: Detach) {
        self.with(false, |st, now| {
            st.machine.detach(now, rid, how);
            if !st.machine.is_attached() {
                st.wake = None;
            }
        });
    }

    /// A client payload: its new messages go to the application, in order.
    pub(crate) fn deliver(&self, payload: &str, websocket: bool) -> Result<(), Refused> {
        self.with(true, |st, now| {
            let messages = st.machine.receive(now, payload, websocket)?;
            if let Some(tx) = &st.incoming {
                for m in messages {
                    let _ = tx.send(m);
                }
            }
            Ok(())
        })
    }

    /// Queues `message`; false if the session is not open, or closed by it overflowing its
    /// own buffer or the endpoint's budget.
    pub(crate) fn send(&self, message: String) -> bool {
        if self.token.is_none() {
            return self.with(true, |st, _| st.machine.send(message).is_ok());
        }
        let len = message.len();
        if !self.budget.reserve(len) {
            self.with(true, |st, _| st.machine.overflow());
            return false;
        }
        self.with(true, |st, _| match st.machine.send(message) {
            Ok(()) => {
                // The reservation becomes the session's count.
                st.counted += len;
                true
            }
            Err(_) => {
                self.budget.release(len);
                false
            }
        })
    }

    pub(crate) fn close(&self, code: u16, reason: &str) -> bool {
        self.with(true, |st, _| st.machine.close(code, reason))
    }

    pub(crate) fn is_open(&self) -> bool {
        lock(&self.state).machine.is_open()
    }

    /// The close code and reason once closing (for a raw WebSocket's close frame).
    pub(crate) fn close_status(&self) -> Option<(u16, String)> {
        lock(&self.state)
            .machine
            .close_status()
            .map(|(c, r)| (c, r.to_owned()))
    }

    /// The timer fired: expiry (then the session leaves the registry, under its lock) or a
    /// delayed ack.
    fn on_timeout(self: &Arc<Self>) {
        let registry = self.registry.upgrade();
        let mut map = registry.as_deref().map(lock);
        self.with(true, |st, now| st.machine.handle_timeout(now));
        if lock(&self.state).machine.is_expired() {
            if let Some(map) = map.as_mut() {
                map.remove(self);
            }
        }
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The session's one timer: sleeps until the machine's next deadline, re-armed by every call.
async fn run_timer(core: Arc<SessionCore>) {
    loop {
        let deadline = {
            let st = lock(&core.state);
            if st.machine.is_expired() {
                break;
            }
            st.machine.poll_timeout()
        };
        match deadline {
            Some(at) => {
                let at = core.epoch + Duration::from_millis(at);
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => core.on_timeout(),
                    _ = core.timer.notified() => {}
                }
            }
            None => core.timer.notified().await,
        }
    }
    // A session that ended with its socket (never registered) has nothing more to do; one that
    // expired left the registry in `on_timeout`.
    let registry = core.registry.upgrade();
    if let Some(registry) = registry {
        lock(&registry).remove(&core);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cometkit_protocol::server::ResumeConfig;

    fn plain(
        sessions: &Sessions,
    ) -> (
        Arc<SessionCore>,
        mpsc::UnboundedReceiver<String>,
        ReceiverId,
    ) {
        let (core, rx, (r, _)) = SessionCore::new(sessions, Config::http(60_000), None);
        (core, rx, r)
    }

    #[tokio::test(start_paused = true)]
    async fn open_then_batched_messages_then_close() {
        let sessions = Sessions::new(1 << 20);
        let (s, _rx, r) = plain(&sessions);
        assert_eq!(s.attach(None).err(), Some(AttachError::Busy));
        assert_eq!(s.pull(r), Pull::Frame("o".into()));
        assert_eq!(s.pull(r), Pull::Wait);
        assert!(s.send("a".into()));
        assert!(s.send("b".into()));
        assert_eq!(s.pull(r), Pull::Frame(r#"a["a","b"]"#.into()));
        assert!(s.close(3000, "Go away!"));
        assert!(!s.send("late".into()));
        assert_eq!(s.pull(r), Pull::Last(r#"c[3000,"Go away!"]"#.into()));
        assert_eq!(s.pull(r), Pull::Gone);
    }

    #[tokio::test(start_paused = true)]
    async fn abort_interrupts_and_ends_app_stream() {
        let sessions = Sessions::new(1 << 20);
        let (s, mut rx, r) = plain(&sessions);
        assert_eq!(s.deliver(r#"["x"]"#, false), Ok(()));
        s.detach(r, Detach::Aborted);
        assert!(!s.is_open());
        assert_eq!(s.deliver(r#"["lost?"]"#, false), Err(Refused::NotOpen));
        assert_eq!(rx.recv().await.as_deref(), Some("x"));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn expires_after_disconnect_delay_and_leaves_the_registry() {
        let sessions = Sessions::new(1 << 20);
        let (s, mut rx, (r, _)) = SessionCore::new(&sessions, Config::http(20), None);
        lock(&sessions.registry).insert(&s, Some("k"));
        s.detach(r, Detach::Finished);
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), rx.recv()).await,
            Ok(None)
        );
        tokio::task::yield_now().await;
        assert_eq!(lock(&sessions.registry).len(), 0);
        assert!(!s.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn resumable_sessions_share_the_endpoint_budget() {
        let sessions = Sessions::new(10);
        let config = Config::http(0).with_resume(ResumeConfig::default());
        let (a, _ra, (r, _)) = SessionCore::new(&sessions, config.clone(), Some("a".into()));
        let (b, _rb, _) = SessionCore::new(&sessions, config, Some("b".into()));
        assert!(a.send("12345678".into()));
        assert_eq!(sessions.budget.used(), 8);
        // b would take the total to 11: b overflows, a is untouched.
        assert!(!b.send("123".into()));
        assert!(!b.is_open());
        assert_eq!(
            b.close_status(),
            Some((2011, "Resume buffer overflow".into()))
        );
        assert!(a.is_open());
        assert_eq!(sessions.budget.used(), 8);
        // a's client acknowledges: the bytes are free again.
        while let Pull::Frame(_) = a.pull(r) {}
        assert_eq!(a.deliver("[1]", false), Ok(()));
        assert_eq!(sessions.budget.used(), 0);
    }

    #[test]
    fn connection_ids_are_uuid_shaped_and_distinct() {
        let (a, b) = (connection_id(), connection_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
