// Arena's JavaScript client: the REST API with the cookie session, and the
// match socket.  The page at / is built on it; a game's own client can start
// from it too.  Plain ES module, no dependencies:
//
//   import { Api, MatchConnection } from "/static/arena-client.js";
//   const api = new Api();                    // same origin, cookie session
//   await api.logIn("marta", "correct-horse-battery");
//   const match = await api.post("/api/ongoing_matches/", { game: "rps" });
//   const live = new MatchConnection(match.id, {
//     onSnapshot: (snapshot) => …,            // on every (re)connect: start over from it
//     onEvent: (event) => …,                  // every event, in seq order, once
//     onState: (frame) => …,                  // realtime state frames, newest only
//     onStatus: (status) => …,                // "connecting" | "open" | "reconnecting" | "closed"
//   });
//   await live.command("join", { role: "challenger" });   // resolves with the ack
//
// Errors the server answers (REST 4xx, a socket `error` frame) reject with an
// ArenaError whose message is the server's, readable as it is.

/** A refusal from the server: ``message`` is for people, ``code``/``status`` for code. */
export class ArenaError extends Error {
  constructor(message, { status = null, code = null, body = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The readable sentence in any of Arena's error shapes. */
export function describeError(body, status) {
  if (body == null) return `The server answered ${status}.`;
  if (typeof body === "string") return body;
  if (Array.isArray(body)) return body.join(" ");
  if (body.error && body.error.message) return body.error.message; // the lobby envelope
  if (body.detail) return body.detail;
  const parts = Object.entries(body).map(([field, messages]) => {
    const text = [].concat(messages).join(" ");
    return field === "non_field_errors" ? text : `${field.replaceAll("_", " ")}: ${text}`;
  });
  return parts.length ? parts.join(" ") : `The server answered ${status}.`;
}

function cookie(name) {
  const found = document.cookie.split("; ").find((pair) => pair.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

/** The REST API on this origin, authenticated by the session cookie (with CSRF). */
export class Api {
  constructor(base = "") {
    this.base = base;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const csrf = cookie("csrftoken");
    if (csrf && method !== "GET") headers["X-CSRFToken"] = csrf;
    const response = await fetch(this.base + path, {
      method, headers, credentials: "same-origin", redirect: "manual",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.type === "opaqueredirect") return { redirected: true };
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      throw new ArenaError(describeError(parsed, response.status), {
        status: response.status, body: parsed,
        code: parsed && parsed.error ? parsed.error.code : null,
      });
    }
    const total = response.headers.get("X-Total-Count");
    if (Array.isArray(parsed) && total !== null) parsed.total = Number(total);
    return parsed;
  }

  get(path) { return this.request("GET", path); }
  post(path, body = {}) { return this.request("POST", path, body); }
  delete(path) { return this.request("DELETE", path); }

  async signUp(username, password) {
    await this.post("/api/users/sign_up/", { username, password });
    return this.logIn(username, password);
  }

  /** Log in with the cookie session; the user's own view. */
  async logIn(username, password) {
    await this.post("/api/login/", { username, password });
    return this.me();
  }

  async logOut() {
    await this.post("/api/logout/");
  }

  /** The logged-in user, or null. */
  async me() {
    try {
      return await this.get("/api/users/me/");
    } catch (error) {
      if (error.status === 401) return null;
      throw error;
    }
  }
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

/**
 * One match's socket, kept open: it reconnects by itself after a drop or a
 * server restart (the status says so), and starts over from the snapshot the
 * server sends on every attach, so events are delivered once and in order.
 */
export class MatchConnection {
  constructor(matchId, handlers = {}, { base = location.origin } = {}) {
    this.matchId = matchId;
    this.handlers = handlers;
    this.url = `${base.replace(/^http/, "ws")}/ws/matches/${matchId}`;
    this.pending = new Map(); // command id -> { resolve, reject }
    this.nextId = 1;
    this.seq = 0;
    this.attempt = 0;
    this.closedForGood = false;
    this.open();
  }

  status(value) {
    this.handlers.onStatus?.(value);
  }

  open() {
    this.status(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", (closing) => this.dropped(closing.code, closing.reason));
  }

  receive(frame) {
    switch (frame.type) {
      case "snapshot":
        this.attempt = 0;
        this.seq = frame.seq;
        this.status("open");
        this.handlers.onSnapshot?.(frame);
        break;
      case "event":
        if (frame.seq <= this.seq) return; // already part of a snapshot
        this.seq = frame.seq;
        this.handlers.onEvent?.(frame);
        break;
      case "state":
        this.handlers.onState?.(frame);
        break;
      case "ack":
      case "pong":
      case "error": {
        const waiter = this.pending.get(frame.id);
        if (waiter) {
          this.pending.delete(frame.id);
          if (frame.type === "error") {
            waiter.reject(new ArenaError(frame.message, { code: frame.code }));
          } else {
            waiter.resolve(frame);
          }
        } else if (frame.type === "error") {
          this.handlers.onError?.(new ArenaError(frame.message, { code: frame.code }));
        }
        break;
      }
      default:
    }
  }

  /** Send ``type`` with ``fields``; resolves with the ack, rejects with the error. */
  command(type, fields = {}) {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(new ArenaError("Not connected to the match; try again in a moment.",
                              { code: "not_connected" }));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  /** A fire-and-forget input (a realtime game's steering): no ack awaited. */
  send(type, fields = {}) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type, ...fields }));
    }
  }

  dropped(code, reason) {
    for (const waiter of this.pending.values()) {
      waiter.reject(new ArenaError("The connection dropped before the server answered.",
                                   { code: "dropped" }));
    }
    this.pending.clear();
    // 4404: no such match (over); 4410: over; 4409: replaced by another tab;
    // 4401: not logged in.  Anything else (a drop, a restart): try again.
    if (this.closedForGood || [4401, 4404, 4409, 4410].includes(code)) {
      this.status("closed");
      this.handlers.onClose?.(code, reason);
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.status("reconnecting");
    setTimeout(() => { if (!this.closedForGood) this.open(); }, delay);
  }

  close() {
    this.closedForGood = true;
    this.socket?.close(1000, "bye");
  }
}
