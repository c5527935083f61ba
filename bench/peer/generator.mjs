// The load generator: one scenario, three targets (Arena, the Tornado relay,
// Colyseus).  Started by bench/compare.py, pinned to its own core:
//
//     node generator.mjs --target arena|relay|colyseus --url http://127.0.0.1:PORT
//         [--matches 1000] [--spectators 2] [--rates 1,2,4,8] [--seconds 20]
//         [--warmup 5] [--storm 0] [--target-score 99] [--pids 123,456]
//
// M tables of 2 players and S spectators, each on its own socket.  Each table
// plays a match (Arena: created over REST, joined, readied and started over
// the protocol; relay: a match id in the URL; Colyseus: a room created by the
// host and joined by id); players throw at rate R with a random phase, and a
// match that ends is replaced by a new one for the same table.  For each rate,
// after a warm-up, it measures one window and prints one JSON line:
// accepted throws per second; latency from a throw being sent to the opponent
// receiving the event it caused (`moved`, or `round_over` for the round's
// second throw): p50, p99, max; events lost or out of order (a gap in `seq`)
// and sockets closed unexpectedly, counted since set-up; the server's CPU
// seconds per 1,000 throws and RSS (the processes in --pids, read from /proc);
// how bunched the throws were sent: the 99th percentile of throws sent in a
// 10 ms slot over the mean (`burst_p99`; independent random phases give about
// 1.5 at 2,000 throws a second).
// With --storm N (Arena only) a second window runs during N sign-ups a second
// (sign_ups_per_s: how many of them were answered within it), once the
// sign-ups still unanswered from an earlier storm have been answered.

import { performance } from "node:perf_hooks";
import {
  arenaDriver, colyseusDriver, finish, http as httpTo, JsonSock, log, measureWindow, parseOptions,
  percentile, run, setUp, sleep,
} from "./common.mjs";

const {
  opts, target: TARGET, base: URL_BASE, bases: URL_BASES, route: ROUTE, matches: MATCHES,
  spectators: SPECTATORS, sockets: SOCKETS, pids: PIDS,
} = parseOptions({ rates: { type: "string", default: "1" },
                   storm: { type: "string", default: "0" } });
const WS_BASE = URL_BASE.replace(/^http/, "ws");
const TARGET_SCORE = Number(opts["target-score"]);
const PASSWORD = "bench-password-1";
const THROWS = ["rock", "paper", "scissors"];

const stats = { measuring: false, acks: 0, latencies: [], gaps: 0, closes: 0, errors: 0,
                replaced: 0, replaceFailures: 0, signUps: 0, slots: new Map() };
let rate = 1;
let done = false;

const http = (path, body, token) => httpTo(URL_BASE, path, body, token);
const opponent = (seat) => (seat === "host" ? "challenger" : "host");

// -- the targets -----------------------------------------------------------------------

const relay = {
  async prepare() {},

  async open(table) {
    const match = `${table.index}-${table.generation}`;
    table.socks = await Promise.all(table.seats.map(async (seat) => {
      const sock = await JsonSock.open(
        table, seat, `${WS_BASE}/relay/${match}?role=${seat ?? "spectator"}&target=${TARGET_SCORE}`);
      return sock;
    }));
  },
};

const DRIVER = {
  arena: () => arenaDriver({ bases: URL_BASES, route: ROUTE, game: "rps",
                             targetScore: TARGET_SCORE, spectators: SPECTATORS, password: PASSWORD }),
  relay: () => relay,
  colyseus: () => colyseusDriver({ base: URL_BASE, room: "rps", targetScore: TARGET_SCORE }),
}[TARGET]();

// -- the scenario ----------------------------------------------------------------------

/** One table of 2 + S users: plays a match, and another when it ends. */
class Table {
  constructor(index) {
    this.index = index;
    this.generation = 0;
    this.seats = ["host", "challenger", ...Array(SPECTATORS).fill(null)];
    this.socks = [];
    this.live = false;
    this.ending = false;
    this.sent = { host: null, challenger: null };
    this.thrown = { host: false, challenger: false };
  }

  async open() {
    this.live = false;
    this.ending = false;
    this.sent = { host: null, challenger: null };
    this.thrown = { host: false, challenger: false };
    await DRIVER.open(this);
    for (const sock of this.socks) sock.backlog = [];
    this.live = true;
  }

  onClosed(sock, code) {
    if (done || this.ending) return;
    stats.closes += 1;
    log(`unexpected close ${code} on table ${this.index}`);
  }

  throwFor(seat) {
    if (!this.live || this.ending || this.thrown[seat]) return;
    this.thrown[seat] = true;
    this.sent[seat] = performance.now();
    if (stats.measuring) {
      const slot = Math.floor(this.sent[seat] / 10); // throws sent per 10 ms
      stats.slots.set(slot, (stats.slots.get(slot) ?? 0) + 1);
    }
    const hand = THROWS[Math.floor(Math.random() * 3)];
    this.socks[seat === "host" ? 0 : 1].send({ type: "move", move: { throw: hand }, id: "m" });
  }

  record(thrower) {
    const sent = this.sent[thrower];
    if (sent === null) return;
    this.sent[thrower] = null;
    if (stats.measuring) stats.latencies.push(performance.now() - sent);
  }

  onFrame(sock, frame) {
    switch (frame.type) {
      case "event":
        if (sock.lastSeq && frame.seq !== sock.lastSeq + 1) stats.gaps += 1;
        sock.lastSeq = frame.seq;
        if (frame.kind === "moved" && sock.seat && frame.seat !== sock.seat) {
          this.record(frame.seat);
        } else if (frame.kind === "round_over" && sock.seat) {
          this.record(opponent(sock.seat)); // the round's second throw, if it was theirs
          this.thrown[sock.seat] = false;
        } else if (frame.kind === "ended" || frame.kind === "cancelled") {
          if (!this.ending) this.replace();
        }
        break;
      case "snapshot":
        sock.lastSeq = frame.seq;
        break;
      case "ack":
        if (frame.id === "m" && stats.measuring) stats.acks += 1;
        break;
      case "error":
        stats.errors += 1;
        if (stats.errors <= 5) log(`error on table ${this.index}: ${JSON.stringify(frame)}`);
        break;
      default:
    }
  }

  /** The match ended: retire its sockets and play a new one. */
  async replace() {
    this.ending = true;
    this.live = false;
    const old = this.socks;
    await sleep(50); // let the last frames and the server's close arrive
    for (const sock of old) sock.retired = true;
    for (const sock of old) sock.close();
    if (done) return;
    this.generation += 1;
    try {
      await this.open();
      stats.replaced += 1;
    } catch (error) {
      if (done) return; // the run is over and the generator closed the sockets itself
      stats.replaceFailures += 1;
      log(`table ${this.index}: replacement failed: ${error.message}`);
    }
  }
}

/**
 * A player's throws, R a second, at a random phase of the period kept for the
 * whole run: its ticks are due at (k + phase) periods since the clock's origin,
 * whatever R is, so the players' throws stay spread evenly over the period.
 *
 * Two ways this went wrong before (`burst_p99` shows both): setting each
 * timer a period after the tick *ran* (Node starts a timer set in a callback
 * from the loop's cached time, so players whose ticks ran in one turn shared
 * a phase from then on), and carrying the old schedule into a new R (the
 * phases, spread over the old period, crowded part of a shorter new one).
 */
function player(table, seat) {
  const phase = Math.random();
  let due = 0;
  const schedule = () => {
    const period = 1000 / rate;
    const now = performance.now();
    // the first time at this phase at least half a period after the last tick
    // was due (a timer may fire a little early), or after now when behind
    const after = Math.max(due + period / 2, now);
    due = (Math.ceil(after / period - phase) + phase) * period;
    setTimeout(tick, Math.max(1, Math.round(due - now)));
  };
  const tick = () => {
    if (done) return;
    table.throwFor(seat);
    schedule();
  };
  schedule();
}

// -- measuring -------------------------------------------------------------------------

async function measure(label) {
  stats.acks = 0;
  stats.signUps = 0;
  stats.latencies = [];
  stats.slots = new Map();
  const { elapsed, serverSeconds, rss, generatorShare } = await measureWindow(
    stats, Number(opts.seconds), PIDS);
  const sorted = stats.latencies.sort((a, b) => a - b);
  const slots = Math.ceil(elapsed * 100); // 10 ms slots, the empty ones counted as 0
  const counts = [...stats.slots.values(), ...Array(Math.max(0, slots - stats.slots.size)).fill(0)]
    .sort((a, b) => a - b);
  const meanPerSlot = counts.reduce((a, b) => a + b, 0) / slots;
  return {
    target: TARGET, window: label, rate, matches: MATCHES, spectators: SPECTATORS,
    throws_per_s: stats.acks / elapsed,
    p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99),
    max_ms: sorted.length ? sorted[sorted.length - 1] : 0,
    gaps: stats.gaps, unexpected_closes: stats.closes, errors: stats.errors,
    matches_replaced: stats.replaced, replace_failures: stats.replaceFailures,
    server_cpu_s_per_1k_throws: stats.acks ? serverSeconds / stats.acks * 1000 : null,
    server_cpu_share: serverSeconds / elapsed,
    server_rss_kib_per_socket: rss / 1024 / SOCKETS,
    server_rss_kib_per_match: rss / 1024 / MATCHES,
    generator_cpu_share: generatorShare,
    sign_ups_per_s: stats.signUps / elapsed,
    burst_p99: meanPerSlot ? percentile(counts, 0.99) / meanPerSlot : null,
  };
}

let stormSignUps = 0;  // names stay unique across windows and rates

async function signUpStorm(perSecond, until) {
  const pending = new Set();
  while (!until()) {
    stormSignUps += 1;
    const request = http("/api/users/sign_up/",
      { username: `storm${process.pid}_${stormSignUps}`, password: PASSWORD })
      .then(() => { if (stats.measuring) stats.signUps += 1; })
      .catch((error) => log(`storm sign-up failed: ${error.message}`));
    pending.add(request);
    request.finally(() => pending.delete(request));
    await sleep(1000 / perSecond);
  }
  await Promise.all(pending);
}

async function measureStorm() {
  let stormDone = false;
  const storm = signUpStorm(Number(opts.storm), () => stormDone);
  const result = await measure("storm");
  stormDone = true;
  await storm;
  return result;
}

async function main() {
  const tables = Array.from({ length: MATCHES }, (_, i) => new Table(i));
  const { usersS, matchesS } = await setUp(tables, DRIVER, Number(opts.concurrency));
  console.log(JSON.stringify({ target: TARGET, window: "setup", users_s: usersS,
                               matches_s: matchesS, sockets: SOCKETS }));
  log(`${TARGET}: ${MATCHES} matches, ${SOCKETS} sockets set up in `
      + `${(usersS + matchesS).toFixed(1)} s`);
  const rates = opts.rates.split(",").map(Number);
  rate = rates[0];
  for (const table of tables) {
    player(table, "host");
    player(table, "challenger");
  }
  for (const r of rates) {
    rate = r;
    await sleep(Number(opts.warmup) * 1000);
    const result = await measure("steady");
    console.log(JSON.stringify(result));
    log(`${TARGET} R=${r}: ${result.throws_per_s.toFixed(0)} throws/s, `
        + `p99 ${result.p99_ms.toFixed(1)} ms`);
    if (Number(opts.storm) > 0 && TARGET === "arena") {
      console.log(JSON.stringify(await measureStorm()));
    }
  }
  done = true;
  await finish(tables);
}

run(main);
