// The page at /: accounts, the ongoing matches, creating, joining, playing and
// watching a match.  Built on the public API only (arena-client.js).

import { Api, MatchConnection } from "./arena-client.js";
import { pages } from "./pages.js";

const api = new Api();
const $ = (id) => document.getElementById(id);
const show = (id, visible) => { $(id).hidden = !visible; };
let me = null;
let gameTypes = [];
let live = null; // the MatchConnection of the match on screen
let view = null; // what the match screen shows: { match, state, you, ended }
let lobbyTimer = null;
const PAGES = ["results", "leaderboard", "library", "lobbies"];

// -- messages -----------------------------------------------------------------------------

function fail(error) {
  $("error").textContent = error.message || String(error);
  show("error", true);
}

function clearError() {
  show("error", false);
}

function announce(text) {
  $("status").textContent = text;
  const item = document.createElement("li");
  item.textContent = text;
  $("log").prepend(item);
}

/** Run ``work`` for a button or form: errors become the readable message. */
function act(work) {
  return async (event) => {
    event?.preventDefault?.();
    clearError();
    try {
      await work(event);
    } catch (error) {
      fail(error);
    }
  };
}

// -- accounts -----------------------------------------------------------------------------

function credentials() {
  return [$("username").value.trim(), $("password").value];
}

$("sign-up").addEventListener("click", act(async () => {
  me = await api.signUp(...credentials());
  route();
}));

$("auth-form").addEventListener("submit", act(async () => {
  me = await api.logIn(...credentials());
  route();
}));

$("log-out").addEventListener("click", act(async () => {
  await api.logOut();
  me = null;
  location.hash = "#/";
  route();
}));

function renderMe() {
  show("me", me !== null);
  show("nav", me !== null);
  if (me) {
    $("me-name").textContent = me.username;
    $("me-elo").textContent = `${me.elo} elo`;
  }
  // a way back into the user's own match from anywhere but that match itself
  const [, page, id] = location.hash.split("/");
  const own = me?.ongoing_match ?? null;
  show("back-to-match", own !== null && !(page === "match" && Number(id) === own));
}

$("back-to-match").addEventListener("click", () => {
  if (me?.ongoing_match != null) location.hash = `#/match/${me.ongoing_match}`;
});

// -- the lobby ------------------------------------------------------------------------------

$("new-match").addEventListener("click", () => {
  show("create-form", $("create-form").hidden);
});

$("game").addEventListener("change", () => {
  const chosen = gameTypes.find((g) => g.name === $("game").value);
  if (!chosen) return;
  $("target").value = chosen.default_target_score;
  fitPlayers("players", chosen);
  $("game-options").replaceChildren(...Object.entries(chosen.options || {}).map(optionField));
});

$("ranked-game").addEventListener("change", () => {
  fitPlayers("ranked-players", gameTypes.find((g) => g.name === $("ranked-game").value));
});

/** The ``Players`` field ``id``: shown for a game of more than two players, within its bounds. */
function fitPlayers(id, game) {
  const many = Boolean(game) && game.max_players > 2;
  show(`${id}-field`, many);
  if (!many) return;
  Object.assign($(id), { min: game.min_players, max: game.max_players,
                         value: game.default_players });
}

/** The players a form asks for, when its game takes more than two. */
function chosenPlayers(id) {
  return $(`${id}-field`).hidden || !$(id).value ? {} : { players: Number($(id).value) };
}

/** A field for one of the game's options, labelled with its name, fitting its declaration. */
function optionField([name, declaration]) {
  const label = document.createElement("label");
  let input;
  if (declaration.enum) {
    input = document.createElement("select");
    input.append(...declaration.enum.map((value) => new Option(String(value), String(value))));
  } else {
    input = document.createElement("input");
    input.type = { integer: "number", boolean: "checkbox" }[declaration.type] || "text";
    if (declaration.minimum !== undefined) input.min = declaration.minimum;
    if (declaration.maximum !== undefined) input.max = declaration.maximum;
  }
  if (input.type === "checkbox") input.checked = Boolean(declaration.default);
  else input.value = String(declaration.default);
  Object.assign(input.dataset, { option: name, kind: declaration.type });
  input.setAttribute("aria-label", name);
  label.append(`${name} `, input);
  return label;
}

function chosenOptions() {
  const options = {};
  for (const input of $("game-options").querySelectorAll("[data-option]")) {
    const { option, kind } = input.dataset;
    options[option] = kind === "boolean" ? input.checked
      : kind === "integer" ? Number(input.value) : input.value;
  }
  return options;
}

$("create-form").addEventListener("submit", act(async () => {
  const body = { game: $("game").value, options: chosenOptions(), ...chosenPlayers("players") };
  if ($("target").value) body.target_score = Number($("target").value);
  const match = await api.post("/api/ongoing_matches/", body);
  location.hash = `#/match/${match.id}`;
}));

$("filters").addEventListener("input", () => loadMatches().catch(fail));

// -- the ranked queue -------------------------------------------------------------------------

let searchTimer = null;

$("ranked-form").addEventListener("submit", act(async () => {
  showTicket(await api.post("/api/matchmaking/", { game: $("ranked-game").value,
                                                  ...chosenPlayers("ranked-players") }));
  watchTicket();
}));

$("cancel-search").addEventListener("click", act(async () => {
  stopWatchingTicket();
  try {
    await api.delete("/api/matchmaking/");
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  showTicket(null);
  announce("Search cancelled");
}));

/** Show the caller's ticket: searching (with its elo window) or not. */
function showTicket(ticket) {
  const waiting = ticket !== null && ticket.status === "waiting";
  show("searching", waiting);
  show("ranked-form", !waiting);
  show("ranked-hint", !waiting);
  if (waiting) {
    const since = Math.max(0, Math.round((Date.now() - Date.parse(ticket.created)) / 1000));
    const clock = `${Math.floor(since / 60)}:${String(since % 60).padStart(2, "0")}`;
    $("search-text").textContent = `Searching: ${ticket.game}, an opponent near ${ticket.elo} `
      + `elo (±${ticket.window}) · ${clock}`;
  }
}

/** Follow the ticket once a second; when it is paired, go to the match. */
function watchTicket() {
  stopWatchingTicket();
  searchTimer = setInterval(() => checkTicket(true).catch(() => {}), 1000);
}

function stopWatchingTicket() {
  clearInterval(searchTimer);
  searchTimer = null;
}

/** Show the ticket as it is now; ``follow``: a search has just been paired, so go
 *  to the match (on a later visit the lobby only offers the way back to it). */
async function checkTicket(follow = false) {
  let ticket = null;
  try {
    ticket = await api.get("/api/matchmaking/");
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const paired = ticket && ticket.status === "matched" && ticket.match !== null;
  show("back-to-match", Boolean(paired));
  if (paired) {
    stopWatchingTicket();
    $("back-to-match").href = `#/match/${ticket.match}`;
    if (follow) {
      announce("Opponent found");
      location.hash = `#/match/${ticket.match}`;
    }
  }
  showTicket(paired ? null : ticket);
  if (ticket === null) stopWatchingTicket();
}

async function loadGameTypes() {
  gameTypes = await api.get("/api/game_types/");
  $("game").replaceChildren(...gameTypes.map((g) => {
    const option = document.createElement("option");
    option.value = g.name;
    option.textContent = g.name;
    return option;
  }));
  $("game").dispatchEvent(new Event("change"));
  $("ranked-game").replaceChildren(...[...$("game").options].map((o) => o.cloneNode(true)));
  $("ranked-game").dispatchEvent(new Event("change"));
}

async function loadMatches() {
  const query = new URLSearchParams();
  if ($("min-elo").value) query.set("min_elo", $("min-elo").value);
  if ($("max-elo").value) query.set("max_elo", $("max-elo").value);
  if ($("full").value) query.set("is_full", $("full").value);
  const [matches, fresh] = await Promise.all([api.get(`/api/ongoing_matches/?${query}`),
                                              api.me()]);
  me = fresh ?? me;  // in a match or not any more: the list and the way back follow
  renderMe();
  $("matches").replaceChildren(...matches.map(matchItem));
  show("no-matches", matches.length === 0);
}

function matchItem(match) {
  const item = document.createElement("li");
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = `${match.game} to ${match.target_score}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = `${match.host.username} (${match.host.elo})`;
  const seats = document.createElement("span");
  seats.className = "muted";
  const others = match.seats.slice(1);
  const taken = others.filter((seat) => seat.user).length;
  seats.textContent = others.length > 1 ? `${taken + 1} of ${match.seats.length} seats taken`
    : match.challenger ? `vs ${match.challenger.username}` : "waiting for a challenger";
  if (me?.ongoing_match === match.id) {  // the user's own: back in, whatever their role
    item.append(what, who, seats, button("Open", () => { location.hash = `#/match/${match.id}`; }));
    return item;
  }
  const join = button("Join", () => { location.hash = `#/match/${match.id}/join`; });
  join.disabled = taken === others.length || match.is_started;
  const watch = button("Watch", () => { location.hash = `#/match/${match.id}/watch`; });
  item.append(what, who, seats, join, watch);
  return item;
}

function button(label, onClick, className = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  if (className) element.className = className;
  element.addEventListener("click", act(onClick));
  return element;
}

// -- a match ---------------------------------------------------------------------------------

function openMatch(matchId, intent) {
  if (live && live.matchId === matchId) return;
  closeMatch();
  view = { match: null, state: null, you: null, ended: null, clock: null, intent, out: [],
           presence: {} };
  $("log").replaceChildren();
  $("status").textContent = "";
  live = new MatchConnection(matchId, {
    onStatus: (status) => {
      $("connection").textContent = status === "open" ? "connected" : status;
      $("connection").dataset.status = status;
    },
    onSnapshot: (snapshot) => {
      Object.assign(view, { match: snapshot.match, state: snapshot.state, you: snapshot.you,
                            clock: deadline(snapshot.clock),
                            out: snapshot.match.seats.filter((s) => s.out).map((s) => s.seat) });
      renderMatch();
      takeSeat().catch(fail);
    },
    onEvent: (event) => {
      apply(event);
      renderMatch();
    },
    onState: (frame) => {
      view.state = frame.state;
      drawCourt();
      drawCycles();
    },
    onError: fail,
    onClose: (code) => {
      if (!view.ended) announce(code === 4409 ? "Opened in another tab." : "The match is over.");
    },
  });
}

function closeMatch() {
  live?.close();
  live = null;
}

async function takeSeat() {
  if (view.you !== null || !view.intent) return;
  const intent = view.intent;
  view.intent = null;
  await live.command("join", { role: intent === "join" ? "player" : "spectator" });
}

const name = (user) => (user ? user.username : "—");

function apply(event) {
  const match = view.match;
  view.state = event.state ?? view.state;
  if (event.clock !== undefined) view.clock = deadline(event.clock);
  switch (event.kind) {
    case "joined":
      if (event.seat) seatUp(event.seat, { user: event.user, ready: false });
      else match.spectators = [...match.spectators, event.user];
      if (event.user.username === me?.username) view.you = event.seat || "spectator";
      announce(`${name(event.user)} joined as ${event.seat || "spectator"}`);
      break;
    case "left":
      if (event.seat) seatUp(event.seat, { user: null, ready: false });
      else match.spectators = match.spectators.filter((s) => s.id !== event.user.id);
      if (event.user.username === me?.username) view.you = null;
      announce(`${name(event.user)} left`);
      break;
    case "ready":
    case "unready":
      seatUp(event.seat || "challenger", { ready: event.kind === "ready" });
      announce(`${name(event.user)} is ${event.kind === "ready" ? "ready" : "not ready"}`);
      break;
    case "out":
      seatUp(event.seat, { out: true });
      announce(`${name(event.user)} is out (${event.reason})`);
      break;
    case "started":
      match.is_started = true;
      announce("The match has started");
      break;
    case "moved":
      announce(`${seatName(event.seat)} moved`);
      break;
    case "round_over":
      match.score = event.score;
      announce(event.winner ? `${seatName(event.winner)} won round ${event.round}`
        : `Round ${event.round} is a draw`);
      break;
    case "point":
      match.score = event.score;
      announce(`Point to ${seatName(event.scorer)}`);
      break;
    case "disconnected":
      setPresence(event.seat, "disconnected");
      announce(`${name(event.user)} lost the connection`);
      break;
    case "reconnected":
      setPresence(event.seat, "");
      announce(`${name(event.user)} is back`);
      break;
    case "ended":
      view.ended = event.result;
      view.clock = null;
      announce(event.result.winner ? `${event.result.winner} won` : "Draw");
      break;
    case "cancelled":
      view.ended = { cancelled: true };
      view.clock = null;
      announce("The match was cancelled");
      break;
    case "crashed":
      announce(`${seatName(event.seat)} crashed`);
      break;
    default:
      announce(event.kind.replaceAll("_", " "));
  }
}

function seatName(seat) {
  return name(view.match.seats.find((s) => s.seat === seat)?.user);
}

/** Change what the match shows of one seat; the REST fields derived from the seats follow. */
function seatUp(seat, change) {
  const match = view.match;
  match.seats = match.seats.map((s) => (s.seat === seat ? { ...s, ...change } : s));
  if (change.out) view.out = [...view.out, seat];
  match.challenger = match.seats[1].user;
  match.is_challenger_ready = match.seats.every((s) => s.user && s.ready);
}

function setPresence(seat, text) {
  if (seat) view.presence[seat] = text;
}

/** Every seat with its player (or ``free``), who is ready, who is out, who is away. */
function renderSeats(match) {
  const scores = match.score || {};
  $("seats").replaceChildren(...match.seats.map((seat) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "seat-name";
    label.textContent = seat.seat;
    const who = document.createElement("b");
    who.textContent = seat.user ? seat.user.username : "free";
    const notes = [];
    if (seat.seat in scores) notes.push(String(scores[seat.seat]));
    if (!match.is_started && seat.user && seat.seat !== "host") {
      notes.push(seat.ready ? "ready" : "not ready");
    }
    if (view.out.includes(seat.seat)) notes.push("out");
    if (view.presence[seat.seat]) notes.push(view.presence[seat.seat]);
    const detail = document.createElement("span");
    detail.className = "muted";
    detail.textContent = notes.join(" · ");
    item.dataset.out = String(view.out.includes(seat.seat));
    item.append(label, " ", who, " ", detail);
    return item;
  }));
}

/** How a finished match placed everyone, with each player's elo change. */
function renderStandings(result) {
  const rows = result?.standings || [];
  show("standings", rows.length > 0);
  $("standings-rows").replaceChildren(...rows.map((entry) => {
    const row = document.createElement("tr");
    const change = entry.elo_after_match - entry.elo_before_match;
    for (const text of [String(entry.place), entry.username, String(entry.score),
                        `${change >= 0 ? "+" : ""}${change}`]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

function renderMatch() {
  const { match, you, ended, state } = view;
  if (!match) return;
  $("match-title").textContent = `${match.game} to ${match.target_score}`;
  const pair = match.seats.length === 2;
  show("pair", pair);
  if (pair) {
    $("host-name").textContent = name(match.host);
    $("challenger-name").textContent = name(match.challenger);
    $("host-state").textContent = view.presence.host || "";
    $("challenger-state").textContent = view.presence.challenger || "";
    $("score").textContent = `${match.score.host} – ${match.score.challenger}`;
  }
  renderSeats(match);
  renderStandings(ended && !ended.cancelled ? ended : null);
  const mine = match.seats.find((s) => s.seat === you);
  const playing = Boolean(mine) && !view.out.includes(you) && !ended;
  show("ready", Boolean(mine) && you !== "host" && !match.is_started && !mine.ready && !ended);
  show("start", you === "host" && !match.is_started && !ended);
  $("start").disabled = !match.is_challenger_ready;
  show("resign", playing && match.is_started);
  show("leave", you !== null && !ended);
  $("turn").textContent = turnText(match, state, you, ended);
  renderClock();
  renderBoard(match, state, playing && match.is_started);
}

/** When a turn clock the server sent runs out, on this browser's clock. */
function deadline(clock) {
  return clock ? Date.now() + clock.left * 1000 : null;
}

/** The turn clock: the time left in the turn in play, m:ss. */
function renderClock() {
  const ends = view?.clock;
  show("clock", Boolean(ends));
  if (!ends) return;
  const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
  $("clock").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  $("clock").dataset.low = String(left <= 10);
}

setInterval(() => { if (live) renderClock(); }, 500);

function turnText(match, state, you, ended) {
  if (ended) {
    if (ended.cancelled) return "Cancelled.";
    if (!ended.winner) return "Draw.";
    return match.seats.length === 2 ? `${ended.winner} won ${ended.winner_score}–${ended.loser_score}.`
      : `${ended.winner} won.`;
  }
  if (!match.is_started) {
    const pair = match.seats.length === 2;
    if (match.seats.some((s) => !s.user)) {
      return pair ? "Waiting for a challenger." : "Waiting for players.";
    }
    if (match.is_challenger_ready) return pair ? "The challenger is ready." : "Everyone is ready.";
    return pair ? "Waiting for the challenger to be ready." : "Waiting for everyone to be ready.";
  }
  if (match.game === "connect4" && state) {
    const mine = state.turn === you;
    return mine ? "Your turn." : `${seatName(state.turn)}'s turn.`;
  }
  if (match.game === "rps" && state && you && state.thrown) {
    return state.thrown[you] ? "Thrown: waiting for the other player." : "Your throw.";
  }
  return "";
}

// -- boards ---------------------------------------------------------------------------------

let boardGame = null;

function renderBoard(match, state, canPlay) {
  const board = $("board");
  if (boardGame !== match.game) {
    boardGame = match.game;
    board.replaceChildren();
    if (match.game === "rps") {
      board.className = "rps";
      for (const hand of ["Rock", "Paper", "Scissors"]) {
        board.append(button(hand, () => live.command("move", { move: { throw: hand.toLowerCase() } }),
                            "hand"));
      }
    } else if (match.game === "connect4") {
      board.className = "connect4";
      const columns = document.createElement("div");
      columns.className = "columns";
      for (let c = 0; c < 7; c += 1) {
        const drop = button(`${c + 1}`, () => live.command("move", { move: { column: c } }),
                            "column");
        drop.setAttribute("aria-label", `Column ${c + 1}`);
        columns.append(drop);
      }
      const grid = document.createElement("div");
      grid.id = "grid";
      grid.className = "grid";
      board.append(columns, grid);
    } else if (match.game === "pong") {
      board.className = "pong";
      steer(board.appendChild(canvasNamed("court", "Court", 640, 400)));
    } else if (match.game === "cycles") {
      board.className = "cycles";
      ride(board.appendChild(canvasNamed("cycles-grid", "Grid", 480, 480)));
    }
  }
  for (const element of board.querySelectorAll("button")) element.disabled = !canPlay;
  if (match.game === "connect4" && state) {
    // once it is over, the board of the last round rather than the fresh one
    drawGrid(view.ended && state.last_round ? state.last_round.board : state.board);
  }
  if (match.game === "pong") drawCourt();
  if (match.game === "cycles") drawCycles();
}

const RIDER_COLOURS = ["#4cc9f0", "#f72585", "#b5e48c", "#ffd166"];

function drawCycles() {
  const canvas = $("cycles-grid");
  if (!canvas || !view || !view.state || !view.state.grid) return;
  const context = canvas.getContext("2d");
  const { size, grid, cycles } = view.state;
  const step = canvas.width / size;
  context.fillStyle = "#10141c";
  context.fillRect(0, 0, canvas.width, canvas.height);
  for (let index = 0; index < grid.length; index += 1) {
    if (grid[index] === ".") continue;
    context.fillStyle = RIDER_COLOURS[Number(grid[index])] || "#e8edf5";
    context.fillRect((index % size) * step, Math.floor(index / size) * step, step, step);
  }
  context.fillStyle = "#ffffff";
  for (const cycle of Object.values(cycles)) {
    if (cycle.riding) context.fillRect(cycle.x * step + step / 4, cycle.y * step + step / 4,
                                       step / 2, step / 2);
  }
  // what is drawn, in words too, for assistive technology and tests
  canvas.dataset.size = String(size);
  canvas.dataset.round = String(view.state.round);
  canvas.dataset.tick = String(view.state.tick);
  canvas.dataset.riding = Object.entries(cycles).filter(([, c]) => c.riding)
    .map(([seat]) => seat).join(" ");
}

function ride(canvas) {
  const turn = (direction) => live && live.send("move", { move: { turn: direction } });
  const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" };
  document.addEventListener("keydown", (event) => {
    if (!$("cycles-grid") || !(event.key in keys)) return;
    event.preventDefault();
    turn(keys[event.key]);
  });
  let from = null;
  canvas.addEventListener("pointerdown", (event) => { from = [event.clientX, event.clientY]; });
  canvas.addEventListener("pointerup", (event) => {
    if (!from) return;
    const dx = event.clientX - from[0];
    const dy = event.clientY - from[1];
    from = null;
    if (Math.max(Math.abs(dx), Math.abs(dy)) < 12) return;
    turn(Math.abs(dx) > Math.abs(dy) ? (dx > 0 ? "right" : "left") : (dy > 0 ? "down" : "up"));
  });
}

/** A focusable canvas that assistive technology reads as an image named ``label``. */
function canvasNamed(id, label, width, height) {
  const canvas = document.createElement("canvas");
  Object.assign(canvas, { id, width, height, tabIndex: 0 });
  canvas.setAttribute("aria-label", label);
  canvas.setAttribute("role", "img");
  return canvas;
}

function drawGrid(columns) {
  const grid = $("grid");
  if (!grid) return;
  const cells = [];
  for (let row = 5; row >= 0; row -= 1) {
    for (let c = 0; c < 7; c += 1) {
      const cell = document.createElement("span");
      const disc = columns[c][row];
      cell.className = `cell ${disc === "h" ? "host" : disc === "c" ? "challenger" : ""}`;
      cells.push(cell);
    }
  }
  grid.replaceChildren(...cells);
}

function drawCourt() {
  const canvas = $("court");
  if (!canvas || !view || !view.state || !view.state.ball) return;
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const { ball, paddles } = view.state;
  context.fillStyle = "#10141c";
  context.fillRect(0, 0, width, height);
  context.fillStyle = "#2b3445";
  for (let y = 0; y < height; y += 24) context.fillRect(width / 2 - 1, y, 2, 12);
  context.fillStyle = "#e8edf5";
  const paddleHeight = 0.2 * height;
  context.fillRect(0.03 * width - 6, paddles.host.y * height - paddleHeight / 2, 6, paddleHeight);
  context.fillRect(0.97 * width, paddles.challenger.y * height - paddleHeight / 2, 6, paddleHeight);
  context.beginPath();
  context.arc(ball.x * width, ball.y * height, 6, 0, 2 * Math.PI);
  context.fill();
  // what is drawn, in words too, for assistive technology and tests
  canvas.dataset.host = paddles.host.y.toFixed(3);
  canvas.dataset.challenger = paddles.challenger.y.toFixed(3);
  canvas.dataset.tick = String(view.state.tick);
}

function steer(canvas) {
  let direction = "stop";
  const go = (wanted) => {
    if (wanted === direction || !live) return;
    direction = wanted;
    live.send("move", { move: { paddle: wanted } });
  };
  const keys = { ArrowUp: "up", ArrowDown: "down" };
  document.addEventListener("keydown", (event) => {
    if (!$("court") || !(event.key in keys)) return;
    event.preventDefault();
    go(keys[event.key]);
  });
  document.addEventListener("keyup", (event) => {
    if (event.key in keys && keys[event.key] === direction) go("stop");
  });
  canvas.addEventListener("pointerdown", (event) => {
    const box = canvas.getBoundingClientRect();
    go(event.clientY - box.top < box.height / 2 ? "up" : "down");
  });
  canvas.addEventListener("pointerup", () => go("stop"));
  canvas.addEventListener("pointerleave", () => go("stop"));
}

$("ready").addEventListener("click", act(() => live.command("ready")));
$("start").addEventListener("click", act(() => live.command("start")));
$("resign").addEventListener("click", act(() => live.command("resign")));
$("leave").addEventListener("click", act(async () => {
  if (view?.you) await live.command("leave");
  closeMatch();
  location.hash = "#/";
}));

// -- routing ---------------------------------------------------------------------------------

const browse = pages(api, fail, () => me);

async function route() {
  clearInterval(lobbyTimer);
  stopWatchingTicket();
  const [, page, id, intent] = location.hash.split("/");
  if (me !== null && page !== "match") me = await api.me();  // in a match since?
  renderMe();
  const lobby = page !== "match" && !PAGES.includes(page);
  show("auth", me === null);
  show("lobby", me !== null && lobby);
  show("match", me !== null && page === "match");
  for (const name of PAGES) show(name, me !== null && page === name);
  if (me === null) {
    closeMatch();
    return;
  }
  if (PAGES.includes(page)) {
    closeMatch();
    boardGame = null;
    await browse[page]();
    return;
  }
  if (page === "match") {
    openMatch(Number(id), intent);
    return;
  }
  closeMatch();
  boardGame = null;
  if (!gameTypes.length) await loadGameTypes();
  await checkTicket();
  if (searchTimer === null && !$("searching").hidden) watchTicket();
  await loadMatches();
  lobbyTimer = setInterval(() => loadMatches().catch(() => {}), 3000);
}

window.addEventListener("hashchange", () => route().catch(fail));
(async () => {
  me = await api.me();
  await route();
})().catch(fail);
