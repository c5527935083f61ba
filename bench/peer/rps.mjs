// Rock-paper-scissors, the same rules and JSON shapes as Arena's
// actors/games/rps.py: both throw each round, in any order; first to the
// target wins.  Pure: no I/O.  Used by the Colyseus room (colyseus-server.mjs).

import { IllegalMove } from "./rules.mjs";

export const THROWS = ["rock", "paper", "scissors"];
const BEATS = { rock: "scissors", paper: "rock", scissors: "paper" };

export function newState(target) {
  return { target, round: 1, score: { host: 0, challenger: 0 },
           throws: { host: null, challenger: null }, last_round: null };
}

/** The next state and the events it causes, or IllegalMove. */
export function apply(state, seat, move) {
  const thrown = move && typeof move === "object" ? move.throw : undefined;
  if (!THROWS.includes(thrown)) {
    throw new IllegalMove('A move is {"throw": "rock" | "paper" | "scissors"}.');
  }
  if (state.throws[seat] !== null) throw new IllegalMove("You have already thrown this round.");
  const throws = { ...state.throws, [seat]: thrown };
  if (throws.host === null || throws.challenger === null) {
    return [{ ...state, throws }, [["moved", { seat }]]];
  }
  let winner = null;
  if (BEATS[throws.host] === throws.challenger) winner = "host";
  else if (BEATS[throws.challenger] === throws.host) winner = "challenger";
  const score = { ...state.score };
  if (winner !== null) score[winner] += 1;
  const finished = { round: state.round, throws, winner };
  const next = { ...state, round: state.round + 1, score,
                 throws: { host: null, challenger: null }, last_round: finished };
  return [next, [["round_over", { ...finished, score }]]];
}

/** What everyone but the thrower sees (the view a spectator gets). */
export function view(state) {
  return { round: state.round, target_score: state.target, score: { ...state.score },
           thrown: { host: state.throws.host !== null, challenger: state.throws.challenger !== null },
           your_throw: null, last_round: state.last_round };
}
