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
import { apply, IllegalMove, newState, view, winner } from "./rps.mjs";

const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TICK_RATE = option("--tick-rate", 30);

/** The first client asking for a seat gets it; everyone else watches. */
function seat(room, client, options) {
  const taken = new Set(room.seats.values());
  const wanted = options.role;
  room.seats.set(client.sessionId,
    (wanted === "host" || wanted === "challenger") && !taken.has(wanted) ? wanted : null);
  return room.seats.get(client.sessionId);
}

class RpsRoom extends Room {
  onCreate(options) {
    this.autoDispose = true;
    this.rps = newState(Number(options.target_score) || 99);
    this.seq = 0;
    this.seats = new Map(); // client.sessionId -> seat
    this.onMessage("move", (client, frame) => this.move(client, frame));
  }

  onJoin(client, options) {
    const you = seat(this, client, options);
    client.send("snapshot", { seq: this.seq, you: you ?? "spectator", state: view(this.rps) });
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
      [this.rps, events] = apply(this.rps, seat, frame.move);
    } catch (error) {
      if (!(error instanceof IllegalMove)) throw error;
      client.send("error", { id, code: error.code, message: error.message });
      return;
    }
    const won = winner(this.rps);
    if (won !== null) events.push(["ended", { result: { winner: won, score: this.rps.score } }]);
    const state = view(this.rps);
    for (const [kind, fields] of events) {
      this.seq += 1;
      this.broadcast("event", { seq: this.seq, kind, ...fields, state });
    }
    client.send("ack", { id, seq: this.seq });
    if (won !== null) this.disconnect(4410);
  }
}

class PongRoom extends Room {
  onCreate(options) {
    this.autoDispose = true;
    this.pong = pong.newState(Number(options.target_score) || 99);
    this.seq = 0;
    this.seats = new Map();
    this.onMessage("move", (client, frame) => this.move(client, frame));
    this.setSimulationInterval(() => this.step(), 1000 / TICK_RATE);
  }

  onJoin(client, options) {
    const you = seat(this, client, options);
    client.send("snapshot", { seq: this.seq, you: you ?? "spectator", state: pong.view(this.pong) });
  }

  onLeave(client) {
    this.seats.delete(client.sessionId);
  }

  move(client, frame) {
    const you = this.seats.get(client.sessionId);
    const id = frame?.id ?? null;
    if (!you) {
      client.send("error", { id, code: "forbidden", message: "Only players move." });
      return;
    }
    try {
      pong.apply(this.pong, you, frame.move);
    } catch (error) {
      if (!(error instanceof pong.IllegalMove)) throw error;
      client.send("error", { id, code: error.code, message: error.message });
      return;
    }
    client.send("ack", { id, seq: this.seq });
  }

  step() {
    const events = pong.tick(this.pong, 1 / TICK_RATE);
    const state = pong.view(this.pong);
    for (const [kind, fields] of events) {
      this.seq += 1;
      this.broadcast("event", { seq: this.seq, kind, ...fields, state });
    }
    this.broadcast("state", { seq: this.seq, tick: this.pong.tick, state });
    if (pong.winner(this.pong) !== null) this.disconnect(4410);
  }
}

const port = option("--port", 2567);
const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("rps", RpsRoom);
server.define("pong", PongRoom);
await server.listen(port, "127.0.0.1");
console.log(`Colyseus listening on http://127.0.0.1:${port}/`);
