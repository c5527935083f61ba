// The load of a realtime game: M matches of P bots and S spectators, each
// on its own socket, against Arena (pong, cycles) or the Colyseus peer
// (pong).  Started by bench/pong.py, pinned to its own core:
//
//     node realtime-generator.mjs --target arena|colyseus --url http://127.0.0.1:PORT
//         [--game pong|cycles] [--players 2] [--matches 250] [--spectators 2]
//         [--tick-rate 30] [--seconds 20] [--warmup 5] [--target-score 99]
//         [--size 24] [--pids 123,456]
//
// pong: both players follow the ball, deciding at most every 100 ms (so they
// send a few direction changes a second and miss now and then: points
// happen).  cycles: each rider looks one cell ahead on every state frame and
// turns (left or right, whichever has more room) before a wall, a trail or
// another rider's reach, and now and then for more room; rounds end as
// riders box each other in, and a round's end counts as the "point".
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
  spectators: SPECTATORS, sockets: SOCKETS, pids: PIDS, players: PLAYERS,
} = parseOptions({ matches: { type: "string", default: "250" },
                   "tick-rate": { type: "string", default: "30" },
                   game: { type: "string", default: "pong" },
                   size: { type: "string", default: "24" } });
const GAME = opts.game;
const SEATS = ["host", "challenger", "p3", "p4", "p5", "p6", "p7", "p8"].slice(0, PLAYERS);
/** The event counted as a point: one that the rules score. */
const POINT = { pong: "point", cycles: "round_over" }[GAME];
const TICK_RATE = Number(opts["tick-rate"]);
const PERIOD_MS = 1000 / TICK_RATE;
const DECIDE_EVERY_MS = 100;
const DEADBAND = 0.02;

const stats = { measuring: false, frames: 0, gaps: [], skipped: 0, points: 0, pointLags: [],
                seqGaps: 0, closes: 0, errors: 0, moves: 0 };
let done = false;

const DRIVER = {
  arena: () => arenaDriver({ bases: URL_BASES, route: ROUTE, game: GAME,
                             targetScore: Number(opts["target-score"]), spectators: SPECTATORS,
                             password: "bench-password-1", players: PLAYERS,
                             options: GAME === "cycles" ? { size: Number(opts.size) } : {} }),
  colyseus: () => colyseusDriver({ base: URL_BASE, room: "pong",
                                   targetScore: Number(opts["target-score"]) }),
}[TARGET]();

/** One match: its bots and their spectators. */
class Table {
  constructor(index) {
    this.index = index;
    this.seats = [...SEATS, ...Array(SPECTATORS).fill(null)];
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
        if (sock.seat && this.live) STEER[GAME](sock, frame.state, now);
        break;
      }
      case "event":
        if (sock.lastSeq && frame.seq !== sock.lastSeq + 1) stats.seqGaps += 1;
        sock.lastSeq = frame.seq;
        if (frame.kind === POINT && stats.measuring && sock.lastFrameAt !== null) {
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

}

/** A pong bot: toward the ball's height, deciding at most every 100 ms. */
function steerPong(sock, state, now) {
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

const AHEAD = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };
const SIDES = { up: ["left", "right"], down: ["right", "left"], left: ["down", "up"],
                right: ["up", "down"] };

/** A cycles bot: on each frame, if the cell ahead is a wall, a trail or a
 *  cell another rider may reach next, turn to the side with the longer free
 *  run; now and then (one frame in ten) turn anyway when a side is longer. */
function steerCycles(sock, state) {
  const me = state.cycles[sock.seat];
  if (!me || !me.riding || state.start_in > 0 || sock.turnedAt === state.tick) return;
  const others = Object.entries(state.cycles)
    .filter(([seat, c]) => seat !== sock.seat && c.riding);
  const free = (x, y) => x >= 0 && y >= 0 && x < state.size && y < state.size
    && state.grid[y * state.size + x] === "."
    && !others.some(([, c]) => Math.abs(c.x - x) + Math.abs(c.y - y) <= 1);
  const run = (direction) => {
    const [dx, dy] = AHEAD[direction];
    let n = 0;
    while (n < state.size && free(me.x + dx * (n + 1), me.y + dy * (n + 1))) n += 1;
    return n;
  };
  const ahead = run(me.dir);
  const [a, b] = SIDES[me.dir];
  const side = run(a) >= run(b) ? a : b;
  if (ahead > 0 && !(Math.random() < 0.1 && run(side) > ahead)) return;
  sock.turnedAt = state.tick;
  sock.send({ type: "move", move: { turn: side } });
  if (stats.measuring) stats.moves += 1;
}

const STEER = { pong: steerPong, cycles: steerCycles };

async function measure() {
  Object.assign(stats, { frames: 0, gaps: [], skipped: 0, points: 0, pointLags: [], moves: 0 });
  const { elapsed, serverSeconds, rss, generatorShare } = await measureWindow(
    stats, Number(opts.seconds), PIDS);
  const gaps = stats.gaps.sort((a, b) => a - b);
  const lags = stats.pointLags.sort((a, b) => a - b);
  const ideal = SOCKETS * TICK_RATE;
  return {
    target: TARGET, game: GAME, window: "steady", matches: MATCHES, players: PLAYERS,
    spectators: SPECTATORS,
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
  log(`${TARGET}: ${MATCHES} ${GAME} matches, ${SOCKETS} sockets set up in ${setup.toFixed(1)} s`);
  await sleep(Number(opts.warmup) * 1000);
  const result = await measure();
  console.log(JSON.stringify(result));
  log(`${TARGET} M=${MATCHES}: ${(result.delivered * 100).toFixed(1)}% of state frames, `
      + `gap p99 ${result.gap_p99_ms.toFixed(1)} ms`);
  done = true;
  await finish(tables);
}

run(main);
