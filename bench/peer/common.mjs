// What the load generators share (generator.mjs: rps; realtime-generator.mjs):
// sockets for each target, the HTTP helper, reading the server's CPU and RSS
// from /proc, percentiles, a bounded pool.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client as ColyseusClient } from "@colyseus/sdk";
import WebSocket from "ws";

/**
 * The command line every generator takes (the target, the server, the load's
 * size, the window, the server's pids), with ``extra`` options of its own
 * (which may also change a shared option's default).
 */
export function parseOptions(extra = {}) {
  const shared = {
    target: { type: "string" },
    url: { type: "string" }, // several, comma-separated: the nodes of one cluster
    route: { type: "string", default: "spread" }, // or "owner": see arenaDriver
    matches: { type: "string", default: "1000" },
    spectators: { type: "string", default: "2" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "5" },
    "target-score": { type: "string", default: "99" },
    players: { type: "string", default: "2" },
    concurrency: { type: "string", default: "32" },
    pids: { type: "string", default: "" },
  };
  const { values } = parseArgs({ options: { ...shared, ...extra } });
  const bases = values.url.split(",").map((url) => url.replace(/\/$/, ""));
  return {
    opts: values,
    target: values.target,
    base: bases[0],
    bases,
    route: values.route,
    matches: Number(values.matches),
    spectators: Number(values.spectators),
    players: Number(values.players),
    sockets: Number(values.matches) * (Number(values.players) + Number(values.spectators)),
    pids: values.pids ? values.pids.split(",").map(Number) : [],
  };
}

export const log = (...parts) => process.stderr.write(parts.join(" ") + "\n");
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const TICKS = 100; // USER_HZ on Linux

// -- one socket, whatever the target --------------------------------------------------

/** A participant's connection: frames in as objects, waiters for set-up replies. */
export class Sock {
  constructor(table, seat) {
    this.table = table;
    this.seat = seat; // "host", "challenger" or null (a spectator)
    this.lastSeq = 0;
    this.waiters = [];
    this.backlog = []; // frames no waiter took, kept while the table is being set up
    this.retired = false; // closed on purpose (its match ended or the run is over)
  }

  deliver(frame) {
    const waiter = this.waiters.find((w) => w.match(frame));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    } else if (!this.table.live) {
      this.backlog.push(frame);
    }
    this.table.onFrame(this, frame);
  }

  /** The next frame that ``match``es, including one that came before the call. */
  next(match, what) {
    const early = this.backlog.findIndex(match);
    if (early >= 0) return Promise.resolve(this.backlog.splice(early, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 120000);
      this.waiters.push({ match, resolve: (frame) => { clearTimeout(timer); resolve(frame); } });
    });
  }

  closed(code) {
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ type: "closed", code });
    if (!this.retired) this.table.onClosed(this, code);
  }
}

/** A socket speaking JSON text frames over `ws` (Arena and the relay). */
export class JsonSock extends Sock {
  static async open(table, seat, url, headers = {}) {
    const sock = new JsonSock(table, seat);
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    sock.ws = ws;
    ws.on("message", (data) => sock.deliver(JSON.parse(data)));
    ws.on("close", (code) => sock.closed(code));
    ws.on("error", (error) => log(`socket error on table ${table.index}: ${error.message}`));
    await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
    return sock;
  }

  send(frame) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close() {
    this.retired = true;
    this.ws.close();
  }
}

/** A Colyseus room connection: messages by type, sent with room.send. */
export class ColyseusSock extends Sock {
  static async open(table, seat, join) {
    const sock = new ColyseusSock(table, seat);
    sock.room = await join();
    sock.room.onMessage("*", (type, payload) => sock.deliver({ type, ...payload }));
    sock.room.onLeave((code) => sock.closed(code));
    return sock;
  }

  send(frame) {
    const { type, ...payload } = frame;
    this.room.send(type, payload);
  }

  close() {
    this.retired = true;
    this.room.leave().catch(() => {});
  }
}

// -- HTTP, measuring, pools -----------------------------------------------------------

/** ``body`` (JSON) to ``base + path`` (a GET without one); the JSON answer, or throws. */
export async function http(base, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Token ${token}`;
  const response = await fetch(base + path, {
    method: body === undefined ? "GET" : "POST", headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** CPU seconds the processes ``pids`` have used (user and system). */
export function serverCpu(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* gone */ }
  }
  return ticks / TICKS;
}

export function serverRss(pids) {
  let bytes = 0;
  for (const pid of pids) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n")
        .find((l) => l.startsWith("VmRSS:"));
      bytes += Number(line.split(/\s+/)[1]) * 1024;
    } catch { /* gone */ }
  }
  return bytes;
}

export function percentile(sorted, fraction) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] : 0;
}

export async function pool(items, limit, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  });
  await Promise.all(runners);
}

// -- setting a table up on each target ---------------------------------------------------

/**
 * Arena: each table's users signed up once (``prepare``); ``open`` creates a
 * match of ``game`` over REST, attaches every seat's socket, and joins,
 * readies and starts it over the protocol.  Given several ``bases`` (the
 * nodes of a cluster), table i is set up through node i mod N and its n-th
 * socket opened on node (i + n) mod N: the sockets spread over the nodes the
 * way a proxy with no notion of matches would spread them, most of them on a
 * node other than the match's; with ``route`` "owner", every socket on the
 * node the table's matches are created through (which holds them), as a
 * proxy routing sockets by match would place them.
 */
export function arenaDriver({ bases, route = "spread", game, targetScore, spectators, password,
                              players = 2, options = {} }) {
  const step = route === "owner" ? 0 : 1;
  const baseOf = (table, n = 0) => bases[(table.index + n * step) % bases.length];
  return {
    async prepare(table) {
      const base = baseOf(table);
      table.tokens = [];
      for (let n = 0; n < players + spectators; n += 1) {
        const credentials = { username: `g${process.pid}_${table.index}_${n}`, password };
        await http(base, "/api/users/sign_up/", credentials);
        table.tokens.push((await http(base, "/api/token/", credentials)).token);
      }
    },

    async open(table) {
      const created = await http(baseOf(table), "/api/ongoing_matches/",
                                 { game, target_score: targetScore, options,
                                   ...(players > 2 ? { players } : {}) }, table.tokens[0]);
      const path = `/ws/matches/${created.id}`;
      const socks = await Promise.all(table.seats.map((seat, n) => JsonSock.open(
        table, seat, baseOf(table, n).replace(/^http/, "ws") + path,
        { Authorization: `Token ${table.tokens[n]}` })));
      table.socks = socks;
      await Promise.all(socks.map((sock) => sock.next((f) => f.type === "snapshot", "snapshot")));
      const seated = socks.slice(1, players);
      const steps = [...seated.flatMap((s) => [[s, { type: "join", role: "challenger" }],
                                               [s, { type: "ready" }]]),
                     ...socks.slice(players).map((s) => [s, { type: "join", role: "spectator" }]),
                     [socks[0], { type: "start" }]];
      let id = 0;
      for (const [sock, frame] of steps) {
        id += 1;
        const stepId = `s${id}`;
        const reply = sock.next((f) => (f.type === "ack" || f.type === "error") && f.id === stepId
                                || f.type === "closed", frame.type);
        sock.send({ ...frame, id: stepId });
        const answer = await reply;
        if (answer.type !== "ack") throw new Error(`${frame.type}: ${JSON.stringify(answer)}`);
      }
    },
  };
}

/** Colyseus: a room of ``room`` created by the host and joined by id by the others. */
export function colyseusDriver({ base, room, targetScore }) {
  const client = new ColyseusClient(base);
  return {
    async prepare() {},

    async open(table) {
      const options = { target_score: targetScore };
      const host = await ColyseusSock.open(table, "host",
        () => client.create(room, { ...options, role: "host" }));
      const roomId = host.room.roomId;
      const others = await Promise.all(table.seats.slice(1).map((seat) => ColyseusSock.open(
        table, seat, () => client.joinById(roomId, { role: seat ?? "spectator" }))));
      table.socks = [host, ...others];
    },
  };
}

// -- a run ---------------------------------------------------------------------------------

/** Prepare (sign up) then open every table, ``concurrency`` at a time; seconds each took. */
export async function setUp(tables, driver, concurrency) {
  const began = performance.now();
  await pool(tables, concurrency, (table) => driver.prepare(table));
  const prepared = performance.now();
  await pool(tables, concurrency, (table) => table.open());
  return { usersS: (prepared - began) / 1000, matchesS: (performance.now() - prepared) / 1000 };
}

/**
 * One measuring window of ``seconds``: ``stats.measuring`` is true during it.
 * Its length, the CPU seconds the server (``pids``) used in it, the server's
 * RSS at its end, and the share of a core the generator itself used.
 */
export async function measureWindow(stats, seconds, pids) {
  const cpuBefore = serverCpu(pids);
  const ownBefore = process.cpuUsage();
  const began = performance.now();
  stats.measuring = true;
  await sleep(seconds * 1000);
  stats.measuring = false;
  const elapsed = (performance.now() - began) / 1000;
  const own = process.cpuUsage(ownBefore);
  return { elapsed, serverSeconds: serverCpu(pids) - cpuBefore, rss: serverRss(pids),
           generatorShare: (own.user + own.system) / 1e6 / elapsed };
}

/** Close every table's sockets and exit once the last frames have gone. */
export async function finish(tables) {
  for (const table of tables) for (const sock of table.socks) sock.close();
  await sleep(200);
  process.exit(0);
}

/** Run ``main``; a failure prints its stack and exits 1. */
export function run(main) {
  main().catch((error) => {
    log(error.stack);
    process.exit(1);
  });
}
