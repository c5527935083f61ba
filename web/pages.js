// The browsing pages: completed matches, the leaderboard, the game library and
// private lobbies.  Each ``show…`` renders its page from the REST API; errors
// go to ``fail`` (the page's alert).

const $ = (id) => document.getElementById(id);
const FLAGS = [["played", "Played"], ["liked", "Liked"], ["backlog", "Backlog"],
               ["wishlist", "Wishlist"]];

function cells(row, values) {
  for (const value of values) {
    const cell = document.createElement("td");
    cell.textContent = value;
    row.append(cell);
  }
  return row;
}

function when(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "";
}

export function pages(api, fail, currentUser) {
  const guard = (work) => async (event) => {
    event?.preventDefault?.();
    try {
      await work(event);
    } catch (error) {
      fail(error);
    }
  };

  // -- results and the leaderboard ---------------------------------------------------

  async function showResults() {
    const query = new URLSearchParams({ ordering: "-completion_timestamp", limit: "50" });
    if ($("results-user").value.trim()) query.set("user", $("results-user").value.trim());
    if ($("results-after").value) query.set("end_timestamp_after", $("results-after").value);
    if ($("results-before").value) query.set("end_timestamp_before", $("results-before").value);
    const results = await api.get(`/api/completed_matches/?${query}`);
    $("results-rows").replaceChildren(...results.map((m) => cells(document.createElement("tr"), [
      m.id, m.game, m.winner, m.loser, `${m.winner_score}–${m.loser_score}`,
      `${m.winner_elo_before_match}→${m.winner_elo_after_match} / `
        + `${m.loser_elo_before_match}→${m.loser_elo_after_match}`,
      when(m.completion_timestamp)])));
  }
  $("results-filters").addEventListener("input", guard(showResults));

  async function showLeaderboard() {
    const users = await api.get("/api/users/?ordering=-elo&limit=100");
    $("leaderboard-rows").replaceChildren(...users.map((u, n) =>
      cells(document.createElement("tr"), [n + 1, u.username, u.elo])));
  }

  // -- the library -----------------------------------------------------------------------

  for (let n = 1; n <= 10; n += 1) {
    const option = document.createElement("option");
    option.value = String(n);
    option.textContent = String(n);
    $("rating").append(option);
  }

  const igdb = () => Number($("igdb").value);

  async function lookUp() {
    const id = igdb();
    const [flags, stats, rating] = await Promise.all([
      api.get(`/api/actions/?igdb=${id}`), api.get(`/api/actions/stats/?igdb=${id}`),
      api.get(`/api/actions/ratings/?game=${id}`)]);
    for (const button of $("library-title").querySelectorAll("button[data-flag]")) {
      button.setAttribute("aria-pressed", String(flags[button.dataset.flag]));
    }
    $("rating").value = rating.rating ? String(rating.rating) : "";
    if (!$("title").value && stats.name) $("title").value = stats.name;
    $("library-stats").textContent = `${stats.name ?? "This title"}: played by ${stats.played}, `
      + `liked by ${stats.liked}, ${stats.ratings} ratings`
      + (stats.rating_avg !== null ? `, average ${stats.rating_avg}` : "");
    $("library-title").hidden = false;
  }

  $("library-form").addEventListener("submit", guard(lookUp));
  for (const button of $("library-title").querySelectorAll("button[data-action]")) {
    button.addEventListener("click", guard(async () => {
      const body = { igdb: igdb() };
      if ($("title").value.trim()) body.name = $("title").value.trim();
      await api.post(`/api/actions/${button.dataset.action}/`, body);
      await Promise.all([lookUp(), showLists()]);
    }));
  }
  $("rate").addEventListener("click", guard(async () => {
    const body = { game: igdb(), rating: Number($("rating").value) };
    if ($("title").value.trim()) body.name = $("title").value.trim();
    await api.post("/api/actions/ratings/", body);
    await lookUp();
  }));

  async function showLists() {
    const lists = await Promise.all(FLAGS.map(([flag]) =>
      api.get(`/api/actions/lists/${flag}/?limit=100`)));
    $("library-lists").replaceChildren(...FLAGS.map(([, label], n) => {
      const box = document.createElement("div");
      const heading = document.createElement("h3");
      heading.textContent = `${label} (${lists[n].total ?? lists[n].length})`;
      const list = document.createElement("ul");
      list.setAttribute("aria-label", label);
      list.append(...lists[n].map((entry) => {
        const item = document.createElement("li");
        item.textContent = entry.name ? `${entry.name} (IGDB ${entry.igdb})` : `IGDB ${entry.igdb}`;
        return item;
      }));
      box.append(heading, list);
      return box;
    }));
  }

  // -- lobbies ---------------------------------------------------------------------------

  const names = new Map(); // user id -> username, learned from lookups

  async function userByName(username) {
    const user = await api.get(`/api/users/${encodeURIComponent(username)}/`);
    names.set(user.id, user.username);
    return user;
  }

  async function nameOf(id) {
    if (!names.has(id)) {
      const users = await api.get("/api/users/?limit=1000");
      for (const user of users) names.set(user.id, user.username);
    }
    return names.get(id) ?? id;
  }

  async function showLobbies() {
    const me = currentUser();
    names.set(me.id, me.username);
    const answer = await api.get(`/games/list?userId=${me.id}`);
    const items = await Promise.all(answer.data.games.map(async (lobby) => {
      const item = document.createElement("li");
      const heading = document.createElement("h3");
      heading.textContent = lobby.game.name;
      const members = document.createElement("ul");
      for (const id of lobby.users) {
        const member = document.createElement("li");
        member.textContent = await nameOf(id);
        if (lobby.game.hostId === me.id && id !== me.id) {
          const remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "Remove";
          remove.setAttribute("aria-label", `Remove ${member.textContent}`);
          remove.addEventListener("click", guard(async () => {
            await api.delete(`/games/users?gameId=${lobby.game.id}&userId=${id}`);
            await showLobbies();
          }));
          member.append(" ", remove);
        }
        members.append(member);
      }
      item.append(heading, members);
      if (lobby.game.hostId === me.id) {
        const form = document.createElement("form");
        form.className = "row wrap";
        const label = document.createElement("label");
        label.textContent = "Invite someone ";
        const input = document.createElement("input");
        input.setAttribute("aria-label", "Invite someone");
        label.append(input);
        const invite = document.createElement("button");
        invite.type = "submit";
        invite.textContent = "Invite";
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Delete lobby";
        remove.addEventListener("click", guard(async () => {
          await api.delete(`/games?id=${lobby.game.id}`);
          await showLobbies();
        }));
        form.append(label, invite, remove);
        form.addEventListener("submit", guard(async () => {
          const user = await userByName(input.value.trim());
          await api.post("/games/users", { gameId: lobby.game.id, userId: user.id });
          await showLobbies();
        }));
        item.append(form);
      }
      return item;
    }));
    $("lobby-list").replaceChildren(...items);
  }

  $("lobby-form").addEventListener("submit", guard(async () => {
    const usernames = $("lobby-invitees").value.split(",").map((n) => n.trim()).filter(Boolean);
    const invitees = await Promise.all(usernames.map(userByName));
    await api.post("/games", { name: $("lobby-name").value, users: invitees.map((u) => u.id) });
    $("lobby-form").reset();
    await showLobbies();
  }));

  return {
    results: showResults,
    leaderboard: showLeaderboard,
    library: showLists,
    lobbies: showLobbies,
  };
}
