// The pong load: M matches of 2 bots and S spectators, each on its own
// socket, against Arena or the Colyseus peer.  Started by bench/pong.py,
// pinned to its own core:
//
//     node pong-generator.mjs --target arena|colyseus --url http://127.0.0.1:PORT
//         [--matches 250] [--spectators 2] [--tick-rate 30] [--seconds 20]
//         [--warmup 5] [--target-score 99] [--pids 123,456]
//
// Both players follow the ball, deciding at most every 100 ms (so they send a
// few direction changes a second and miss now and then: points happen).
// After a warm-up, one window; one JSON line with: state frames received per
// second against the ideal (every socket one per tick); the gap between
// consecutive state frames on a socket (p50, p99, max; the ideal is
// 1 / tick rate); ticks a socket never saw (a later frame came instead);
// points seen and how late their events came, measured as the time from the
// state frame before the point to the point event, minus one tick; events
// lost or out of order (a gap in seq) and unexpected closes since set-up
// (both must be 0); the server's CPU per match-second and RSS per match.

import { performance } from "node:perf_hooks";
import {
  arenaDriver, colyseusDriver, finish, log, measureWindow, parseOptions, percentile, run,
  setUp, sleep,
} from "./common.mjs";

const {
  opts, target: TARGET, base: URL_BASE, bases: URL_BASES, route: ROUTE, matches: MATCHES,
  spectators: SPECTATORS, sockets: SOCKETS, pids: PIDS,
} = parseOptions({ matches: { type: "string", default: "250" },
                   "tick-rate": { type: "string", default: "30" } });
const TICK_RATE = Number(opts["tick-rate"]);
const PERIOD_MS = 1000 / TICK_RATE;
const DECIDE_EVERY_MS = 100;
const DEADBAND = 0.02;

const stats = { measuring: false, frames: 0, gaps: [], skipped: 0, points: 0, pointLags: [],
                seqGaps: 0, closes: 0, errors: 0, moves: 0 };
let done = false;

const DRIVER = {
  arena: () => arenaDriver({ bases: URL_BASES, route: ROUTE, game: "pong",
                             targetScore: Number(opts["target-score"]), spectators: SPECTATORS,
                             password: "bench-password-1" }),
  colyseus: () => colyseusDriver({ base: URL_BASE, room: "pong",
                                   targetScore: Number(opts["target-score"]) }),
}[TARGET]();

/** One match: two bots and their spectators. */
class Table {
  constructor(index) {
    this.index = index;
    this.seats = ["host", "challenger", ...Array(SPECTATORS).fill(null)];
    this.socks = [];
    this.live = false;
    this.ending = false;
  }

  async open() {
    await DRIVER.open(this);
    for (const sock of this.socks) {
      sock.backlog = [];
      sock.lastFrameAt = null;
      sock.lastTick = null;
      sock.decidedAt = 0;
      sock.direction = "stop";
    }
    this.live = true;
  }

  onClosed(sock, code) {
    if (done) return;
    stats.closes += 1;
    log(`unexpected close ${code} on table ${this.index}`);
  }

  onFrame(sock, frame) {
    const now = performance.now();
    switch (frame.type) {
      case "state": {
        if (stats.measuring) {
          stats.frames += 1;
          if (sock.lastFrameAt !== null) stats.gaps.push(now - sock.lastFrameAt);
          if (sock.lastTick !== null && frame.tick > sock.lastTick + 1) {
            stats.skipped += frame.tick - sock.lastTick - 1;
          }
        }
        sock.lastFrameAt = now;
        sock.lastTick = frame.tick;
        if (sock.seat && this.live) this.steer(sock, frame.state, now);
        break;
      }
      case "event":
        if (sock.lastSeq && frame.seq !== sock.lastSeq + 1) stats.seqGaps += 1;
        sock.lastSeq = frame.seq;
        if (frame.kind === "point" && stats.measuring && sock.lastFrameAt !== null) {
          stats.points += 1;
          stats.pointLags.push(Math.max(0, now - sock.lastFrameAt - PERIOD_MS));
        }
        break;
      case "snapshot":
        sock.lastSeq = frame.seq;
        break;
      case "error":
        stats.errors += 1;
        if (stats.errors <= 5) log(`error on table ${this.index}: ${JSON.stringify(frame)}`);
        break;
      default:
    }
  }

  /** A bot: toward the ball's height, deciding at most every 100 ms. */
  steer(sock, state, now) {
    if (now - sock.decidedAt < DECIDE_EVERY_MS) return;
    sock.decidedAt = now;
    const ball = state.ball.y;
    const paddle = state.paddles[sock.seat].y;
    const wanted = ball > paddle + DEADBAND ? "down" : ball < paddle - DEADBAND ? "up" : "stop";
    if (wanted !== sock.direction) {
      sock.direction = wanted;
      sock.send({ type: "move", move: { paddle: wanted } });
      if (stats.measuring) stats.moves += 1;
    }
  }
}

async function measure() {
  Object.assign(stats, { frames: 0, gaps: [], skipped: 0, points: 0, pointLags: [], moves: 0 });
  const { elapsed, serverSeconds, rss, generatorShare } = await measureWindow(
    stats, Number(opts.seconds), PIDS);
  const gaps = stats.gaps.sort((a, b) => a - b);
  const lags = stats.pointLags.sort((a, b) => a - b);
  const ideal = SOCKETS * TICK_RATE;
  return {
    target: TARGET, window: "steady", matches: MATCHES, spectators: SPECTATORS,
    tick_rate: TICK_RATE, sockets: SOCKETS,
    state_frames_per_s: stats.frames / elapsed, ideal_per_s: ideal,
    delivered: stats.frames / elapsed / ideal,
    gap_p50_ms: percentile(gaps, 0.5), gap_p99_ms: percentile(gaps, 0.99),
    gap_max_ms: gaps.length ? gaps[gaps.length - 1] : 0,
    ticks_skipped: stats.skipped, points: stats.points,
    point_lag_p50_ms: percentile(lags, 0.5), point_lag_p99_ms: percentile(lags, 0.99),
    moves_per_s: stats.moves / elapsed,
    gaps: stats.seqGaps, unexpected_closes: stats.closes, errors: stats.errors,
    server_cpu_ms_per_match_s: serverSeconds * 1000 / MATCHES / elapsed,
    server_cpu_share: serverSeconds / elapsed,
    server_rss_kib_per_match: rss / 1024 / MATCHES,
    generator_cpu_share: generatorShare,
  };
}

async function main() {
  const tables = Array.from({ length: MATCHES }, (_, i) => new Table(i));
  const { usersS, matchesS } = await setUp(tables, DRIVER, Number(opts.concurrency));
  const setup = usersS + matchesS;
  console.log(JSON.stringify({ target: TARGET, window: "setup", setup_s: setup, sockets: SOCKETS }));
  log(`${TARGET}: ${MATCHES} pong matches, ${SOCKETS} sockets set up in ${setup.toFixed(1)} s`);
  await sleep(Number(opts.warmup) * 1000);
  const result = await measure();
  console.log(JSON.stringify(result));
  log(`${TARGET} M=${MATCHES}: ${(result.delivered * 100).toFixed(1)}% of state frames, `
      + `gap p99 ${result.gap_p99_ms.toFixed(1)} ms`);
  done = true;
  await finish(tables);
}

run(main);
