//! The session: what survives between the requests of one SockJS connection.
//!
//! A session holds the messages waiting for the client, its state (open, closing, closed), and
//! at most one *attached receiver*: the request (or WebSocket) currently carrying frames to the
//! client. Receivers pull frames ([`SessionCore::pull`]) when woken; a frame is taken from the
//! session in the same critical section that decides whether the receiver may carry more, so a
//! receiver that stops (response limit, one-frame polling) never loses a message: what it did
//! not take stays queued for the next request.
//!
//! When no receiver is attached, a timer of `disconnect_delay` runs; when it fires the session
//! is closed and forgotten. Timers are cancelled by a generation counter rather than handles.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

/// The close frame sent when a receiving request is cut off by the network.
pub(crate) const INTERRUPTED: (u16, &str) = (1002, "Connection interrupted");

/// Sessions of one SockJS endpoint, by the client-chosen session id.
pub(crate) type Registry = Mutex<HashMap<String, Arc<SessionCore>>>;

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ready {
    Open,
    /// Closed by the application or interrupted: the close frame is served to every receiving
    /// request until the session times out.
    Closing,
    /// Timed out and forgotten.
    Closed,
}

struct Attached {
    id: u64,
    wake: Arc<Notify>,
}

struct State {
    ready: Ready,
    /// The `o` frame has not been sent yet.
    need_open: bool,
    /// Messages the application sent that no receiver has taken yet.
    queue: Vec<String>,
    close: Option<(u16, String)>,
    attached: Option<Attached>,
    /// Bumped to cancel the pending disconnect timer.
    timer_gen: u64,
    /// Messages from the client to the application; dropped when the session leaves `Open`,
    /// which ends the application's `recv()`.
    incoming: Option<mpsc::UnboundedSender<String>>,
}

/// What a receiver must carry next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Out {
    Open,
    Messages(Vec<String>),
    /// The last frame: the receiver has been detached.
    Close(u16, String),
    /// Nothing yet: wait to be woken.
    Wait,
    /// The receiver is no longer attached (it was replaced, or the session ended).
    Gone,
}

/// How a receiver lets go of its session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detach {
    /// It finished its response (limit reached, one frame delivered): the session waits for the
    /// next request.
    Finished,
    /// Its connection was cut: the session is interrupted (HTTP) or over (WebSocket).
    Aborted,
}

/// Result of attaching a receiver.
pub(crate) enum Register {
    Attached {
        id: u64,
        wake: Arc<Notify>,
    },
    /// Another receiver is attached: answer `c[2010,"Another connection still open"]`.
    Busy,
}

/// The shared core of a session.
pub(crate) struct SessionCore {
    pub(crate) id: String,
    /// The URL session id, `None` for WebSocket sessions (their lifetime is the socket's).
    key: Option<String>,
    registry: Weak<Registry>,
    disconnect_delay: Duration,
    next_attach: AtomicU64,
    state: Mutex<State>,
}

impl SessionCore {
    /// A new open session and the receiving end of its client messages. `framed` is false only
    /// for raw WebSockets, which get no `o` frame.
    pub(crate) fn new(
        key: Option<String>,
        registry: Weak<Registry>,
        disconnect_delay: Duration,
        framed: bool,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let core = Arc::new(SessionCore {
            id: connection_id(),
            key,
            registry,
            disconnect_delay,
            next_attach: AtomicU64::new(1),
            state: Mutex::new(State {
                ready: Ready::Open,
                need_open: framed,
                queue: Vec::new(),
                close: None,
                attached: None,
                timer_gen: 0,
                incoming: Some(tx),
            }),
        });
        (core, rx)
    }

    /// Attaches a receiver unless one is attached already; cancels the disconnect timer.
    pub(crate) fn register(&self) -> Register {
        let mut st = lock(&self.state);
        if st.attached.is_some() || st.ready == Ready::Closed {
            return Register::Busy;
        }
        st.timer_gen += 1;
        let id = self.next_attach.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        st.attached = Some(Attached {
            id,
            wake: wake.clone(),
        });
        Register::Attached { id, wake }
    }

    /// The next thing receiver `attach` must carry. Taking the close frame detaches it.
    pub(crate) fn pull(self: &Arc<Self>, attach: u64) -> Out {
        let mut st = lock(&self.state);
        if st.attached.as_ref().map(|a| a.id) != Some(attach) {
            return Out::Gone;
        }
        if st.need_open {
            st.need_open = false;
            return Out::Open;
        }
        if !st.queue.is_empty() {
            return Out::Messages(std::mem::take(&mut st.queue));
        }
        if st.ready != Ready::Open {
            let (code, reason) = st
                .close
                .clone()
                .unwrap_or((INTERRUPTED.0, INTERRUPTED.1.into()));
            self.detach_locked(&mut st, Detach::Finished);
            return Out::Close(code, reason);
        }
        Out::Wait
    }

    /// Lets go of receiver `attach` (no-op if it is not the attached one).
    pub(crate) fn detach(self: &Arc<Self>, attach: u64, how: Detach) {
        let mut st = lock(&self.state);
        if st.attached.as_ref().map(|a| a.id) == Some(attach) {
            self.detach_locked(&mut st, how);
        }
    }

    fn detach_locked(self: &Arc<Self>, st: &mut State, how: Detach) {
        st.attached = None;
        if self.key.is_none() {
            // A WebSocket session lives exactly as long as its socket.
            Self::end(st);
            return;
        }
        if how == Detach::Aborted && st.ready == Ready::Open {
            st.ready = Ready::Closing;
            st.close = Some((INTERRUPTED.0, INTERRUPTED.1.into()));
            st.incoming = None;
        }
        self.arm_timer(st);
    }

    fn end(st: &mut State) {
        st.ready = Ready::Closed;
        st.incoming = None;
        st.queue.clear();
    }

    fn arm_timer(self: &Arc<Self>, st: &mut State) {
        st.timer_gen += 1;
        let gen = st.timer_gen;
        let weak = Arc::downgrade(self);
        let delay = self.disconnect_delay;
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(delay).await;
                    if let Some(core) = weak.upgrade() {
                        core.expire(gen);
                    }
                });
            }
            // No runtime: it is shutting down and nothing can come back for the session. (Not
            // removed from the registry here: that would take its lock inside the state's.)
            Err(_) => Self::end(st),
        }
    }

    /// The disconnect timer of generation `gen` fired.
    fn expire(self: &Arc<Self>, gen: u64) {
        // Lock order: registry, then state (as `Shared::register` does), so a request cannot
        // attach to a session between its expiry and its removal.
        let registry = self.registry.upgrade();
        let mut map = registry.as_deref().map(lock);
        let mut st = lock(&self.state);
        if st.timer_gen != gen || st.attached.is_some() {
            return;
        }
        Self::end(&mut st);
        if let (Some(map), Some(key)) = (map.as_mut(), self.key.as_ref()) {
            if map.get(key).is_some_and(|s| Arc::ptr_eq(s, self)) {
                map.remove(key);
            }
        }
    }

    /// Client messages arrived. False, and nothing is taken, unless the session is open (an
    /// interrupted or closing session): the sender must be told, or a client that saw its
    /// POST succeed would count them delivered when the application never got them.
    #[must_use = "refused messages must be reported to the client"]
    pub(crate) fn deliver(&self, messages: Vec<String>) -> bool {
        let st = lock(&self.state);
        let (Ready::Open, Some(tx)) = (st.ready, st.incoming.as_ref()) else {
            return false;
        };
        for m in messages {
            let _ = tx.send(m);
        }
        true
    }

    pub(crate) fn send(&self, message: String) -> bool {
        let mut st = lock(&self.state);
        if st.ready != Ready::Open {
            return false;
        }
        st.queue.push(message);
        if let Some(a) = &st.attached {
            a.wake.notify_one();
        }
        true
    }

    pub(crate) fn close(&self, code: u16, reason: &str) -> bool {
        let mut st = lock(&self.state);
        if st.ready != Ready::Open {
            return false;
        }
        st.ready = Ready::Closing;
        st.close = Some((code, reason.to_owned()));
        st.incoming = None;
        if let Some(a) = &st.attached {
            a.wake.notify_one();
        }
        true
    }

    pub(crate) fn is_open(&self) -> bool {
        lock(&self.state).ready == Ready::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> (Arc<SessionCore>, mpsc::UnboundedReceiver<String>) {
        SessionCore::new(Some("k".into()), Weak::new(), Duration::from_secs(60), true)
    }

    fn attach(s: &SessionCore) -> u64 {
        match s.register() {
            Register::Attached { id, .. } => id,
            Register::Busy => panic!("busy"),
        }
    }

    #[tokio::test]
    async fn open_then_batched_messages_then_close() {
        let (s, _rx) = session();
        let r = attach(&s);
        assert_eq!(s.pull(r), Out::Open);
        assert_eq!(s.pull(r), Out::Wait);
        assert!(s.send("a".into()));
        assert!(s.send("b".into()));
        assert_eq!(s.pull(r), Out::Messages(vec!["a".into(), "b".into()]));
        assert!(s.close(3000, "Go away!"));
        assert!(!s.send("late".into()));
        assert!(!s.close(3001, "again"));
        assert_eq!(s.pull(r), Out::Close(3000, "Go away!".into()));
        // The close frame detached the receiver; the next one gets the close frame again.
        assert_eq!(s.pull(r), Out::Gone);
        let r2 = attach(&s);
        assert_eq!(s.pull(r2), Out::Close(3000, "Go away!".into()));
    }

    #[tokio::test]
    async fn one_receiver_at_a_time_and_nothing_lost_on_detach() {
        let (s, _rx) = session();
        let r = attach(&s);
        assert!(matches!(s.register(), Register::Busy));
        assert_eq!(s.pull(r), Out::Open);
        s.send("kept".into());
        s.detach(r, Detach::Finished);
        assert_eq!(s.pull(r), Out::Gone);
        let r2 = attach(&s);
        assert_eq!(s.pull(r2), Out::Messages(vec!["kept".into()]));
    }

    #[tokio::test]
    async fn abort_interrupts_and_ends_app_stream() {
        let (s, mut rx) = session();
        let r = attach(&s);
        assert!(s.deliver(vec!["x".into()]));
        s.detach(r, Detach::Aborted);
        assert!(!s.is_open());
        // An interrupted session takes nothing more, and says so.
        assert!(!s.deliver(vec!["lost?".into()]));
        assert_eq!(rx.recv().await.as_deref(), Some("x"));
        assert_eq!(rx.recv().await, None);
        let r2 = attach(&s);
        assert_eq!(s.pull(r2), Out::Open);
        assert_eq!(
            s.pull(r2),
            Out::Close(1002, "Connection interrupted".into())
        );
    }

    #[tokio::test]
    async fn websocket_session_ends_with_its_socket() {
        let (s, mut rx) = SessionCore::new(None, Weak::new(), Duration::from_secs(60), false);
        let r = attach(&s);
        assert_eq!(s.pull(r), Out::Wait);
        s.detach(r, Detach::Finished);
        assert!(!s.is_open());
        assert_eq!(rx.recv().await, None);
        assert!(matches!(s.register(), Register::Busy));
    }

    #[tokio::test]
    async fn expires_after_disconnect_delay() {
        let registry: Arc<Registry> = Arc::default();
        let (s, mut rx) = SessionCore::new(
            Some("k".into()),
            Arc::downgrade(&registry),
            Duration::from_millis(20),
            true,
        );
        lock(&registry).insert("k".into(), s.clone());
        let r = attach(&s);
        s.detach(r, Detach::Finished);
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), rx.recv()).await,
            Ok(None)
        );
        assert!(lock(&registry).is_empty());
        assert!(!s.is_open());
    }

    #[test]
    fn connection_ids_are_uuid_shaped_and_distinct() {
        let (a, b) = (connection_id(), connection_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
