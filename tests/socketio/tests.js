// The Socket.IO browser tests' scenarios (driven by tests/socketio.rs): each runs `io()` the
// way a page does against the npm socket.io server of tests/socketio/server.cjs, and rejects
// with what went wrong. Every wait is on an event, bounded by a deadline.

function once(s, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out waiting for " + event)), ms);
    s.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

function connected(s, ms = 10000) {
  if (s.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out waiting for connect")), ms);
    const ok = () => {
      clearTimeout(t);
      s.off("connect_error", bad);
      resolve();
    };
    const bad = (e) => {
      if (s.active) return; // still trying (a transport failed, the next one is tried)
      clearTimeout(t);
      s.off("connect", ok);
      reject(new Error("connect_error: " + e.message));
    };
    s.once("connect", ok);
    s.on("connect_error", bad);
  });
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

function eq(a, b, what) {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  if (x !== y) throw new Error(`${what}: expected ${y}, got ${x}`);
}

function bytesOf(v) {
  return Array.from(new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)));
}

// The options of every connection here: quick reconnection, the transports given.
function base(transports, extra) {
  return Object.assign(
    { reconnectionDelay: 100, reconnectionDelayMax: 400, timeout: 5000 },
    transports ? { transports } : {},
    extra || {},
  );
}

function open(io, url, transports, extra) {
  return io(url, base(transports, Object.assign({ forceNew: true }, extra)));
}

function expectThrow(f, kind, text, what) {
  try {
    f();
  } catch (e) {
    check(e.kind === kind, what + ": kind " + e.kind + " (" + e.message + ")");
    check(e.message.includes(text), what + ": message " + e.message);
    return;
  }
  throw new Error(what + ": no error");
}

const scenarios = {
  // Echo, acks both ways, unicode, binary both ways, on the transport(s) given.
  async basic(io, url, transports) {
    const s = open(io, url, transports);
    try {
      await connected(s);
      check(typeof s.id === "string" && s.id.length > 0, "id after connect");
      const expected = transports && transports.length === 1 ? transports[0] : null;
      if (expected) {
        const [name] = await new Promise((r) => s.emit("transport", (...a) => r(a)));
        eq(name, expected === "websocket" ? "websocket" : "polling", "server-side transport");
        eq(s.io.transport, expected, "client transport");
      }
      const text = "héllo, wörld ✓ 😀 \u2028 \n \x1e end";
      const echoed = once(s, "echo");
      const [acked] = await new Promise((r) => s.emit("echo", text, { n: 1, a: [null, true] }, (...a) => r(a)));
      eq(acked, text, "ack argument");
      const [e1, e2] = await echoed;
      eq([e1, e2], [text, { n: 1, a: [null, true] }], "echoed event");
      eq(await s.emitWithAck("ack", 42), 42, "emitWithAck");
      // Binary out (ArrayBuffer, typed array, Blob, nested) and back.
      const buf = new Uint8Array([0, 1, 2, 250, 255]).buffer;
      const view = new Uint16Array([1, 65535]);
      const blob = new Blob([new Uint8Array([9, 8, 7])]);
      const [b1, b2] = await new Promise((r) =>
        s.emit("ack", buf, { inner: [view, blob], s: "x" }, (...a) => r(a)),
      );
      eq(bytesOf(b1), [0, 1, 2, 250, 255], "binary arg");
      eq(bytesOf(b2.inner[0]), [1, 0, 255, 255], "typed array arg");
      eq(bytesOf(b2.inner[1]), [9, 8, 7], "blob arg");
      eq(b2.s, "x", "text beside binary");
      // Binary in.
      const got = once(s, "bytes");
      s.emit("bytes", 300);
      const [obj, after] = await got;
      check(obj.data instanceof ArrayBuffer, "server binary is an ArrayBuffer");
      eq(obj.data.byteLength, 300, "binary length");
      eq(bytesOf(obj.data).slice(254, 258), [254, 255, 0, 1], "binary content");
      eq(bytesOf(obj.list[0]), [0, 1], "nested binary");
      eq(after, "after", "argument after binary");
      // The server asks; the client answers.
      s.once("question", (v, answer) => answer(v + "!"));
      const answered = once(s, "answered");
      s.emit("ask", "q");
      eq((await answered)[0], "q!", "server's ack");
      // Leaving.
      const gone = once(s, "disconnect");
      s.disconnect();
      eq((await gone)[0], "io client disconnect", "disconnect reason");
      check(!s.connected && s.disconnected, "disconnected flags");
    } finally {
      s.io.free();
    }
  },

  // auto mode: polling first, then upgraded to WebSocket by probe.
  async upgrade(io, url) {
    const s = open(io, url, null);
    try {
      await connected(s);
      if (s.io.transport !== "websocket") await once(s.io, "upgrade");
      eq(s.io.transport, "websocket", "upgraded transport");
      const [name] = await new Promise((r) => s.emit("transport", (...a) => r(a)));
      eq(name, "websocket", "server-side transport after upgrade");
      eq(await s.emitWithAck("ack", "still here"), "still here", "ack after upgrade");
    } finally {
      s.io.free();
    }
  },

  async acks(io, url, transports) {
    // With cookies on the polling requests (the server's CORS allows credentials).
    const s = open(io, url, transports, { withCredentials: true });
    try {
      await connected(s);
      const [err] = await new Promise((r) => s.timeout(150).emit("silent", (...a) => r(a)));
      check(err instanceof Error && err.kind === "timeout", "timeout error: " + err);
      let rejected = null;
      try {
        await s.timeout(150).emitWithAck("silent");
      } catch (e) {
        rejected = e;
      }
      check(rejected && rejected.kind === "timeout", "emitWithAck rejects on timeout");
      const [e2, v] = await new Promise((r) => s.timeout(5000).emit("ack", "ok", (...a) => r(a)));
      eq([e2, v], [null, "ok"], "timeout ack that answers in time");
      // volatile: sent when connected.
      const echoed = once(s, "echo");
      s.volatile.emit("echo", "volatile");
      eq((await echoed)[0], "volatile", "volatile emit while connected");
    } finally {
      s.io.free();
    }
  },

  // `retries`: emits acknowledged one after another, failed tries sent again (also across a
  // reconnection), the error only once the retries are spent.
  async retries(io, url, transports) {
    const key = Math.random().toString(36).slice(2);
    const s = open(io, url, transports, { retries: 2, ackTimeout: 300 });
    try {
      await connected(s);
      const answers = [];
      const done = new Promise((resolve) => {
        // The third delivery of `a` is acknowledged; `b` is sent only after that.
        s.emit("flaky", key + "a", 3, false, (...args) => answers.push(["a", ...args]));
        s.emit("ack", "b", (...args) => {
          answers.push(["b", ...args]);
          resolve();
        });
      });
      await done;
      eq(answers, [["a", null, key + "a", 3], ["b", null, "b"]], "in order, error first, after retries");
      // Two retries are not enough for a fourth delivery: the error, once.
      let failures = 0;
      const [err] = await new Promise((r) =>
        s.emit("flaky", key + "c", 4, false, (...a) => {
          failures++;
          r(a);
        }),
      );
      check(err instanceof Error && err.kind === "timeout", "error after the retries: " + err);
      eq(failures, 1, "the callback runs once");
      // A delivery that cuts the connection is sent again once connected again.
      const gone = once(s, "disconnect");
      const answer = s.emitWithAck("flaky", key + "d", 2, true);
      await gone;
      eq(await answer, key + "d", "retried after reconnecting");
      // Arguments JSON cannot hold fail at once, not at their first try.
      let thrown = null;
      try {
        s.emit("ack", 1n);
      } catch (e) {
        thrown = e;
      }
      check(thrown && thrown.kind === "invalid", "a BigInt argument throws");
    } finally {
      s.io.free();
    }
  },

  async namespaces(io, url, transports) {
    // Not forceNew: the namespaces below share this manager.
    const root = open(io, url, transports, { forceNew: false });
    try {
      await connected(root);
      const bad = io(url + "/admin", { auth: { token: "wrong" } });
      check(bad.io === root.io, "namespaces share the manager");
      const [err] = await once(bad, "connect_error");
      eq(err.message, "not authorized", "server's refusal message");
      eq(err.data, { code: 401 }, "server's refusal data");
      check(!bad.connected, "refused namespace not connected");
      const admin = io(url + "/admin", { forceNew: true, transports, auth: { token: "secret" } });
      try {
        const welcome = once(admin, "welcome");
        await connected(admin);
        eq((await welcome)[0], "secret", "auth reached the server");
        eq(await admin.emitWithAck("ack", "admin"), "admin", "ack on /admin");
      } finally {
        admin.io.free();
      }
      eq(await root.emitWithAck("ack", "root"), "root", "root still works");
    } finally {
      root.io.free();
    }
  },

  async order(io, url, transports) {
    const s = open(io, url, transports);
    try {
      await connected(s);
      const seen = [];
      const done = new Promise((resolve) =>
        s.on("seq", (i) => {
          seen.push(i);
          if (seen.length === 1000) resolve();
        }),
      );
      s.emit("burst", 1000);
      await Promise.race([done, once(s, "never", 30000)]);
      for (let i = 0; i < 1000; i++) if (seen[i] !== i) throw new Error(`event ${i} came as ${seen[i]}`);
      // And 1,000 emits out, answered in order.
      const answers = [];
      await new Promise((resolve) => {
        for (let i = 0; i < 1000; i++)
          s.emit("ack", i, (v) => {
            answers.push(v);
            if (answers.length === 1000) resolve();
          });
      });
      for (let i = 0; i < 1000; i++) if (answers[i] !== i) throw new Error(`ack ${i} came as ${answers[i]}`);
    } finally {
      s.io.free();
    }
  },

  async reconnect(io, url, transports) {
    const s = open(io, url, transports);
    try {
      await connected(s);
      const firstId = s.id;
      const gone = once(s, "disconnect");
      const back = once(s, "connect", 15000);
      s.emit("cut");
      const [reason] = await gone;
      check(reason === "transport close" || reason === "transport error" || reason === "ping timeout", "reason " + reason);
      // Emitted while disconnected: buffered, sent on reconnect.
      const late = s.emitWithAck("ack", "buffered");
      await back;
      check(s.connected, "connected again");
      eq(await late, "buffered", "buffered emit delivered after reconnect");
      check(typeof s.id === "string" && s.id !== "", "id " + firstId + " -> " + s.id);
    } finally {
      s.io.free();
    }
  },

  async recovery(io, url, transports) {
    const s = open(io, url, transports);
    try {
      await connected(s);
      check(!s.recovered, "first connection is not a recovery");
      // An event from the server gives the client an offset to recover from.
      const echoed = once(s, "echo");
      s.emit("echo", "before");
      await echoed;
      const missed = [];
      s.on("missed", (i) => missed.push(i));
      const back = once(s, "connect", 15000);
      s.emit("cut", 3);
      await back;
      check(s.recovered, "recovered after a short cut");
      if (missed.length < 3) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error("missed events: " + JSON.stringify(missed))), 5000);
          s.on("missed", () => {
            if (missed.length >= 3) {
              clearTimeout(t);
              resolve();
            }
          });
        });
      }
      eq(missed, [0, 1, 2], "missed events delivered in order");
    } finally {
      s.io.free();
    }
  },

  // Emits before the connection are buffered, up to the bound; volatile ones are dropped.
  async buffering(io, url, transports) {
    const s = open(io, url, transports, { maxBufferedPackets: 3 });
    try {
      check(!s.connected, "not connected yet");
      s.volatile.emit("echo", "dropped");
      const acks = [1, 2, 3].map((i) => s.emitWithAck("ack", i));
      let full = null;
      try {
        s.emit("ack", 4);
      } catch (e) {
        full = e;
      }
      check(full && full.kind === "invalid" && /buffer is full/.test(full.message), "bound error: " + full);
      eq(await Promise.all(acks), [1, 2, 3], "buffered emits delivered in order");
      const echoed = once(s, "echo");
      s.emit("echo", "live");
      eq((await echoed)[0], "live", "the volatile emit was dropped, not delayed");
    } finally {
      s.io.free();
    }
  },

  // The buffer's byte bound counts UTF-8 bytes (what the server counts), not UTF-16 units nor
  // their 3-bytes-a-unit bound: the count is made only when that bound would break it.
  async buffered_bytes_are_utf8(io, url, transports) {
    const s = open(io, url, transports, { maxBufferedBytes: 100 });
    try {
      check(!s.connected, "not connected yet");
      const full = (f, what) => {
        let e = null;
        try {
          f();
        } catch (err) {
          e = err;
        }
        check(e && e.kind === "invalid" && /buffer is full/.test(e.message), what + ": " + e);
      };
      // ["ack","é…"] is 10 bytes of JSON around the string; é is 2 bytes and 1 unit.
      const acks = [s.emitWithAck("ack", "é".repeat(30))]; // 70 bytes
      // 50 more bytes (30 units): over 100 in UTF-8, though not in units.
      full(() => s.emit("ack", "é".repeat(20)), "120 bytes");
      // 30 more (bounded by 90): exactly 100.
      acks.push(s.emitWithAck("ack", "x".repeat(20)));
      full(() => s.emit("ack", "x"), "101 bytes");
      eq(await Promise.all(acks), ["é".repeat(30), "x".repeat(20)], "the two buffered emits delivered");
    } finally {
      s.io.free();
    }
  },

  // The server disconnects the namespace: no reconnection.
  async kicked(io, url, transports) {
    const s = open(io, url, transports);
    try {
      await connected(s);
      const gone = once(s, "disconnect");
      const closed = once(s.io, "close");
      s.emit("kick");
      eq((await gone)[0], "io server disconnect", "reason");
      check(!s.active && !s.connected, "not active after a server disconnect");
      // With no namespace left the connection closes, as socket.io-client's does.
      await closed;
      eq(s.io.transport, null, "no transport once the last namespace was ended by the server");
      // Reconnecting by hand works.
      s.connect();
      await connected(s);
      eq(await s.emitWithAck("ack", "again"), "again", "usable after connect()");
    } finally {
      s.io.free();
    }
  },

  // A socket the page no longer references, only its listeners, keeps delivering across
  // garbage collections (forced where the browser exposes gc(), as Chromium does here).
  async unreferenced(io, url, transports) {
    let connectedNow;
    const up = new Promise((r) => (connectedNow = r));
    let got;
    const later = new Promise((r) => (got = r));
    (() => {
      const s = io(url, Object.assign({ forceNew: true }, transports ? { transports } : {}));
      s.on("connect", function () {
        this.emit("later", 400, "still here");
        connectedNow();
      });
      s.on("later", (v) => got(v));
    })();
    await up;
    for (let i = 0; i < 3; i++) {
      if (typeof globalThis.gc === "function") globalThis.gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no event after GC")), 5000));
    eq(await Promise.race([later, timeout]), "still here", "event after garbage collection");
  },

  // `new Manager(url, { autoConnect: false })` opens nothing until a socket connects; two
  // namespaces on one manager, one of them made with `new SocketIO(manager, nsp, { auth })`.
  async manager_lazy(io, url, transports, { Manager, SocketIO }) {
    const key = Math.random().toString(36).slice(2);
    const m = new Manager(url, base(transports, { autoConnect: false, query: { probe: key } }));
    const helper = open(io, url, transports);
    try {
      const seen = [];
      for (const e of ["open", "error", "reconnect_attempt", "close"]) m.on(e, () => seen.push(e));
      const root = m.socket("/");
      check(m.socket("/") === root, "one socket per namespace");
      check(root.io === m && !root.active && !root.connected, "autoConnect false: the socket waits");
      // The server, asked over another connection, saw nothing of this manager.
      await connected(helper);
      eq(await helper.emitWithAck("probed", key), false, "a connection before connect()");
      eq(seen, [], "manager events before connect()");
      eq(m.transport, null, "transport before connect()");
      // A socket's connect() opens the manager.
      const opened = once(m, "open");
      root.connect();
      await connected(root);
      await opened;
      eq(await helper.emitWithAck("probed", key), true, "the manager connected");
      // A second namespace, made with the constructor, on the same connection.
      const admin = new SocketIO(m, "/admin", { auth: { token: "secret" } });
      check(m.socket("/admin") === admin, "the constructed socket is the manager's");
      check(!admin.active, "autoConnect false: the constructor does not connect");
      const welcome = once(admin, "welcome");
      admin.connect();
      await connected(admin);
      eq((await welcome)[0], "secret", "auth of the constructed socket");
      eq(await admin.emitWithAck("conn"), await root.emitWithAck("conn"), "one Engine.IO connection for both");
      // Bad input.
      expectThrow(() => new SocketIO(m, "/admin"), "invalid", "manager.socket", "a second socket for a namespace");
      expectThrow(() => new SocketIO({ opts: {} }, "/x"), "invalid", "Manager", "not a manager");
      expectThrow(() => m.socket("admin"), "invalid", "'/'", "a namespace without '/'");
      expectThrow(() => new Manager("http://[", {}), "invalid", "URL", "a bad URL");
    } finally {
      m.free();
      helper.io.free();
    }
  },

  // `new Manager(url)` opens at once (autoConnect) and connects the sockets it makes; the
  // reconnection setters take effect on a running connection; `manager.open(fn)`.
  async manager_open(io, url, transports, { Manager }) {
    const m = new Manager(url, base(transports));
    try {
      const [transport] = await once(m, "open");
      eq(m.transport, transport, "transport once open");
      const s = m.socket("/");
      check(s.active, "a socket of an autoConnect manager connects at once");
      await connected(s);
      eq(await s.emitWithAck("ack", "up"), "up", "ack");
      // Getters and setters (socket.io-client's), checked like the options.
      eq(m.reconnectionDelay(), 100, "reconnectionDelay() reads the option");
      check(m.reconnectionDelay(150) === m, "a setter returns the manager");
      eq([m.reconnectionDelay(), m.reconnectionAttempts(), m.timeout()], [150, Infinity, 5000], "values");
      expectThrow(() => m.randomizationFactor(2), "invalid", "randomizationFactor", "a bad value");
      eq(m.randomizationFactor(), 0.5, "a refused value is not kept");
      // reconnection(false) on the open connection: a cut closes it for good.
      m.reconnection(false);
      eq(m.reconnection(), false, "reconnection()");
      const attempts = [];
      m.on("reconnect_attempt", (n) => attempts.push(n));
      const closed = once(m, "close");
      s.emit("cut");
      const [reason] = await closed;
      check(reason === "transport close" || reason === "transport error" || reason === "ping timeout", "reason " + reason);
      eq(attempts, [], "reconnection attempts after reconnection(false)");
      check(!s.active && m.transport === null, "closed");
    } finally {
      m.free();
    }
    // autoConnect false: open(fn) opens, fn called without an error; then at once.
    const lazy = new Manager(url, base(transports, { autoConnect: false }));
    try {
      eq(await new Promise((r) => lazy.open(r)), undefined, "open callback");
      check(lazy.transport !== null, "open");
      let now = false;
      lazy.open(() => (now = true));
      check(now, "open(fn) on an open manager calls back at once");
      const s = lazy.socket("/");
      check(!s.active, "autoConnect false: manager.socket() does not connect");
      s.connect();
      await connected(s);
      eq(await s.emitWithAck("ack", 1), 1, "ack after open()");
    } finally {
      lazy.free();
    }
    // Nothing listens on port 1: open(fn) gets the error.
    const dead = new Manager("http://127.0.0.1:1", { autoConnect: false, reconnection: false, transports: ["polling"] });
    try {
      const err = await Promise.race([new Promise((r) => dead.open(r)), once(dead, "never")]);
      check(err instanceof Error && err.kind === "network", "open callback error: " + err);
    } finally {
      dead.free();
    }
  },

  // extraHeaders on every XHR polling request (the handshake, then each GET and POST).
  async headers(io, url, transports) {
    const value = "cometkit " + Math.random().toString(36).slice(2);
    const s = open(io, url, transports, { extraHeaders: { "X-Cometkit-Test": value } });
    try {
      await connected(s);
      for (let i = 0; i < 3; i++) eq(await s.emitWithAck("ack", i), i, "ack " + i);
      const seen = await s.emitWithAck("headers");
      eq(seen.handshake, value, "the header on the handshake");
      const n = seen.requests || {};
      check(n.GET >= 1 && n.POST >= 3, "polling requests seen: " + JSON.stringify(n));
      eq(n.missing, 0, "requests without the header");
    } finally {
      s.io.free();
    }
    const bad = (headers, text, what, extra) =>
      expectThrow(() => io(url, Object.assign({ forceNew: true, extraHeaders: headers }, extra)), "invalid", text, what);
    bad({ "bad name": "x" }, "extraHeaders", "a name that is no token");
    bad({ "x-a": "a\r\nb" }, "extraHeaders", "CR LF in a value");
    bad({ "x-a": "\u{1f600}" }, "extraHeaders", "a value above U+00FF");
    bad("x-a: 1", "extraHeaders", "not an object");
    bad({ "x-a": "1" }, "jsonp-polling", "only transports without headers", { transports: ["jsonp-polling", "xdr-polling"] });
  },

  async bad_input(io, url) {
    expectThrow(() => io(url, { forceNew: true, transports: ["flashsocket"] }), "invalid", "flashsocket", "unknown transport");
    // socket.io-client's reconnection defaults.
    const plain = io(url, { forceNew: true, autoConnect: false });
    eq([plain.io.reconnectionDelay(), plain.io.reconnectionDelayMax(), plain.io.randomizationFactor()], [1000, 5000, 0.5], "defaults");
    plain.io.free();
    // A connect() refused for its `auth` leaves the socket inactive: a second one can succeed.
    const cyclicAuth = { token: "t" };
    cyclicAuth.self = cyclicAuth;
    const lazy = open(io, url, ["websocket"], { autoConnect: false, auth: cyclicAuth });
    try {
      expectThrow(() => lazy.connect(), "invalid", "auth", "cyclic auth");
      eq(lazy.active, false, "active after a refused connect()");
      lazy.auth = { token: "t" };
      lazy.connect();
      eq(lazy.active, true, "active after connect()");
      await connected(lazy);
    } finally {
      lazy.io.free();
    }
    const s = open(io, url, ["websocket"]);
    try {
      await connected(s);
      expectThrow(() => s.emit("x", 10n), "invalid", "serialised", "BigInt argument");
      const cyclic = { a: 1 };
      cyclic.self = cyclic;
      expectThrow(() => s.emit("x", cyclic), "invalid", "cycle", "cyclic argument");
      expectThrow(() => s.emit("connect"), "invalid", "reserved", "reserved event name");
      expectThrow(() => s.emit("x", "y".repeat(200000)), "invalid", "maxPayload", "oversize payload");
      // maxPayload counts UTF-8 bytes: 60,000 "é" are 120,000 bytes (over the server's 100,000),
      // 40,000 are 80,000 (under it).
      expectThrow(() => s.emit("x", "é".repeat(60000)), "invalid", "maxPayload", "oversize in UTF-8 bytes");
      const wide = "é".repeat(40000);
      eq(await s.emitWithAck("ack", wide), wide, "under maxPayload in UTF-8 bytes");
      eq(await s.emitWithAck("ack", "fine"), "fine", "still usable after refused emits");
    } finally {
      s.io.free();
    }
  },
};

// `classes`: { Manager, SocketIO }.
export async function run(io, classes, url, name, transports) {
  const scenario = scenarios[name];
  if (!scenario) throw new Error("no scenario " + name);
  await scenario(io, url, transports === undefined || transports === null ? null : transports, classes);
}
