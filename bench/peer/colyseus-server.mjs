// The peer: Colyseus 0.18 running an rps room and a pong room with Arena's
// rules and JSON shapes.  Started by bench/compare.py and bench/pong.py:
//
//     node colyseus-server.mjs --port 2567
//
// Each match is a room.  The first client to join as host and the first as
// challenger play; everyone else watches.  Events go out as Colyseus
// messages (not state patches, which would add the patch interval to every
// event's latency), each broadcast encoded once for all of the room's
// clients, as Arena and the relay do.  Nothing is stored or authenticated.
// The pong room simulates at --tick-rate with setSimulationInterval and
// broadcasts the view after every tick, as Arena sends its state frames.

import { Room, Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import * as pong from "./pong.mjs";
import * as rps from "./rps.mjs";
import { IllegalMove, winner } from "./rules.mjs";

const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TICK_RATE = option("--tick-rate", 30);

/**
 * One match: two seats (the first client asking for each gets it), everyone
 * else watching, events numbered and broadcast with the view after them, and
 * the protocol's ack and error replies.  A game's room supplies ``create``,
 * ``view`` and ``play`` (which returns the move's events).
 */
class MatchRoom extends Room {
  onCreate(options) {
    this.autoDispose = true;
    this.game = this.create(Number(options.target_score) || 99);
    this.seq = 0;
    this.seats = new Map(); // client.sessionId -> seat
    this.onMessage("move", (client, frame) => this.move(client, frame));
  }

  onJoin(client, options) {
    const taken = new Set(this.seats.values());
    const wanted = options.role;
    const you = (wanted === "host" || wanted === "challenger") && !taken.has(wanted) ? wanted : null;
    this.seats.set(client.sessionId, you);
    client.send("snapshot", { seq: this.seq, you: you ?? "spectator", state: this.view() });
  }

  onLeave(client) {
    this.seats.delete(client.sessionId);
  }

  move(client, frame) {
    const seat = this.seats.get(client.sessionId);
    const id = frame?.id ?? null;
    if (!seat) {
      client.send("error", { id, code: "forbidden", message: "Only players move." });
      return;
    }
    let events;
    try {
      events = this.play(seat, frame.move);
    } catch (error) {
      if (!(error instanceof IllegalMove)) throw error;
      client.send("error", { id, code: error.code, message: error.message });
      return;
    }
    this.announce(events);
    client.send("ack", { id, seq: this.seq });
    if (winner(this.game) !== null) this.disconnect(4410);
  }

  /** Number and broadcast ``events``, each with the view after them; that view. */
  announce(events) {
    const state = this.view();
    for (const [kind, fields] of events) {
      this.seq += 1;
      this.broadcast("event", { seq: this.seq, kind, ...fields, state });
    }
    return state;
  }
}

class RpsRoom extends MatchRoom {
  create(target) {
    return rps.newState(target);
  }

  view() {
    return rps.view(this.game);
  }

  play(seat, move) {
    let events;
    [this.game, events] = rps.apply(this.game, seat, move);
    const won = winner(this.game);
    if (won !== null) events.push(["ended", { result: { winner: won, score: this.game.score } }]);
    return events;
  }
}

class PongRoom extends MatchRoom {
  onCreate(options) {
    super.onCreate(options);
    this.setSimulationInterval(() => this.step(), 1000 / TICK_RATE);
  }

  create(target) {
    return pong.newState(target);
  }

  view() {
    return pong.view(this.game);
  }

  play(seat, move) {
    pong.apply(this.game, seat, move);
    return [];
  }

  step() {
    const state = this.announce(pong.tick(this.game, 1 / TICK_RATE));
    this.broadcast("state", { seq: this.seq, tick: this.game.tick, state });
    if (winner(this.game) !== null) this.disconnect(4410);
  }
}

const port = option("--port", 2567);
const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("rps", RpsRoom);
server.define("pong", PongRoom);
await server.listen(port, "127.0.0.1");
console.log(`Colyseus listening on http://127.0.0.1:${port}/`);
