// What the peer's game rules share (rps.mjs, pong.mjs): the seats, the
// refusal of a move, and the first to the target winning.

export const SEATS = ["host", "challenger"];

export class IllegalMove extends Error {
  constructor(message) {
    super(message);
    this.code = "illegal_move";
  }
}

/** The seat that has reached the target, or null. */
export function winner(state) {
  return SEATS.find((seat) => state.score[seat] >= state.target) ?? null;
}
