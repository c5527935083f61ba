// Pong, the same rules and JSON shapes as Arena's actors/games/pong.py (the
// court is the unit square; paddles steer, the server moves the ball one
// fixed step per tick).  Pure: no I/O.  Used by the Colyseus room
// (colyseus-server.mjs).  Randomness from Math.random: the peer need not
// replay a match.

import { IllegalMove, SEATS } from "./rules.mjs";

const PADDLE_X = { host: 0.03, challenger: 0.97 };
const HALF = 0.1;
const SPEED = 1.5;
const SERVE_SPEED = 0.6;
const SERVE_DELAY = 1.0;
const DIRECTIONS = { up: -1, down: 1, stop: 0 };
const other = (seat) => (seat === "host" ? "challenger" : "host");
const centre = () => ({ x: 0.5, y: 0.5, vx: 0, vy: 0 });

export function newState(target) {
  return { target, score: { host: 0, challenger: 0 }, tick: 0, ball: centre(),
           paddles: { host: { y: 0.5, dir: "stop" }, challenger: { y: 0.5, dir: "stop" } },
           serve_in: SERVE_DELAY, serve_to: Math.random() < 0.5 ? "host" : "challenger" };
}

export function apply(state, seat, move) {
  const dir = move && typeof move === "object" ? move.paddle : undefined;
  if (!(dir in DIRECTIONS)) throw new IllegalMove('A move is {"paddle": "up" | "down" | "stop"}.');
  state.paddles[seat].dir = dir;
}

function reflect(y, vy) {
  while (y < 0 || y > 1) {
    if (y < 0) [y, vy] = [-y, -vy];
    else [y, vy] = [2 - y, -vy];
  }
  return [y, vy];
}

function newPoint(state, serveTo) {
  state.ball = centre();
  state.serve_in = SERVE_DELAY;
  state.serve_to = serveTo;
  for (const seat of SEATS) state.paddles[seat].y = 0.5;
}

/** One step of ``dt`` seconds (in place, as a room's state is); the events it caused. */
export function tick(state, dt) {
  for (const seat of SEATS) {
    const p = state.paddles[seat];
    p.y = Math.min(0.9, Math.max(0.1, p.y + DIRECTIONS[p.dir] * SPEED * dt));
  }
  state.tick += 1;
  const ball = state.ball;
  if (state.serve_in > 0) {
    state.serve_in -= dt;
    if (state.serve_in < 1e-9) state.serve_in = 0;
    if (state.serve_in === 0 && ball.vx === 0 && ball.vy === 0) {
      const angle = (15 + Math.random() * 30) * Math.PI / 180 * (Math.random() < 0.5 ? -1 : 1);
      ball.vx = (state.serve_to === "host" ? -1 : 1) * SERVE_SPEED * Math.cos(angle);
      ball.vy = SERVE_SPEED * Math.sin(angle);
    }
    return [];
  }
  let { x, y, vx, vy } = ball;
  let nx = x + vx * dt;
  let ny = y + vy * dt;
  const toward = vx < 0 ? "host" : "challenger";
  const line = PADDLE_X[toward];
  const crossed = toward === "host" ? x >= line && line > nx : x <= line && line < nx;
  if (crossed) {
    const part = (line - x) / (nx - x);
    const [cy] = reflect(y + vy * dt * part, vy);
    const paddle = state.paddles[toward].y;
    if (Math.abs(cy - paddle) <= HALF) {
      const offset = Math.max(-1, Math.min(1, (cy - paddle) / HALF));
      const angle = 45 * offset * Math.PI / 180;
      const speed = Math.min(Math.hypot(vx, vy) * 1.05, 1.2);
      vx = (toward === "host" ? 1 : -1) * speed * Math.cos(angle);
      vy = speed * Math.sin(angle);
      const rest = dt * (1 - part);
      nx = line + vx * rest;
      ny = cy + vy * rest;
    }
  }
  [ny, vy] = reflect(ny, vy);
  if (nx < 0 || nx > 1) {
    const scorer = nx < 0 ? "challenger" : "host";
    state.score[scorer] += 1;
    newPoint(state, other(scorer));
    return [["point", { scorer, score: { ...state.score } }]];
  }
  Object.assign(ball, { x: nx, y: ny, vx, vy });
  return [];
}

export function view(state) {
  return { tick: state.tick, ball: { ...state.ball },
           paddles: { host: { ...state.paddles.host }, challenger: { ...state.paddles.challenger } },
           score: { ...state.score }, target_score: state.target,
           serve_in: Math.round(state.serve_in * 1000) / 1000 };
}
