// datachat page: sign-in, conversations, and a turn streamed as AG-UI
// events over server-sent events. Plain JavaScript, no build step. Every
// URL is relative to the page, so it works under a stage path (/Prod/).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "datachat.session";
  const PKCE_KEY = "datachat.pkce";
  const PAGE_SIZE = 20;

  // One place for the page's state: the signed-in session, the sign-in
  // mode the server offers, the open conversation and its turn count.
  const state = {
    config: null,
    session: null, // {token, user, expires}
    conversation: null,
    busy: false,
    cursor: "",
  };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function announce(text) {
    $("status").textContent = text;
  }

  // ---- Sign-in ------------------------------------------------------------

  function pageURL() {
    return location.origin + location.pathname;
  }

  function jwtPayload(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    } catch {
      return {};
    }
  }

  function saveSession(token, user) {
    const claims = jwtPayload(token);
    state.session = { token, user: user || claims.email || claims["cognito:username"] || claims.sub || "", expires: (claims.exp || 0) * 1000 };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(state.session));
  }

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
      if (s && s.token) return s;
    } catch { /* a damaged entry is the same as none */ }
    return null;
  }

  function showSignIn(message) {
    state.session = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true;
    $("who").hidden = true;
    $("sign-out").hidden = true;
    $("signin").hidden = false;
    const m = $("signin-message");
    m.hidden = !message;
    m.textContent = message || "";
    const mode = state.config ? state.config.sign_in : "token";
    $("local-form").hidden = mode !== "local";
    $("cognito-form").hidden = mode !== "cognito";
    $("token-form").hidden = mode !== "token";
    const first = { local: "user-name", token: "bearer-token" }[mode];
    if (first) {
      $(first).focus();
      $(first).select();
    }
    else $("cognito-form").querySelector("button").focus();
  }

  async function localSignIn(ev) {
    ev.preventDefault();
    const user = $("user-name").value.trim();
    const button = ev.submitter || $("local-form").querySelector("button");
    button.disabled = true;
    try {
      const res = await fetch("auth/local-token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        showSignIn(errorMessage(body, res));
        return;
      }
      saveSession(body.token, body.user);
      await start();
    } catch (err) {
      showSignIn("The server could not be reached: " + err.message);
    } finally {
      button.disabled = false;
    }
  }

  function tokenSignIn(ev) {
    ev.preventDefault();
    saveSession($("bearer-token").value.trim());
    $("bearer-token").value = "";
    start();
  }

  function b64url(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Cognito managed login, authorization code flow with PKCE: the page
  // keeps the verifier in sessionStorage for the round trip only.
  async function cognitoSignIn(ev) {
    ev.preventDefault();
    const c = state.config.cognito;
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const st = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state: st, hash: location.hash }));
    const q = new URLSearchParams({
      response_type: "code", client_id: c.client_id, redirect_uri: pageURL(), scope: c.scopes.join(" "),
      state: st, code_challenge: challenge, code_challenge_method: "S256",
    });
    location.assign(c.domain + "/oauth2/authorize?" + q);
  }

  // finishCognito exchanges the code of the callback for tokens and
  // removes code and state from the address bar whatever happens.
  async function finishCognito() {
    const q = new URLSearchParams(location.search);
    if (!q.has("code") && !q.has("error")) return null;
    const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
    sessionStorage.removeItem(PKCE_KEY);
    history.replaceState(null, "", location.pathname + ((saved && saved.hash) || location.hash));
    if (q.has("error")) return "Sign-in failed: " + (q.get("error_description") || q.get("error"));
    if (!saved || saved.state !== q.get("state")) return "Sign-in failed: the answer from the sign-in page does not match this tab; sign in again.";
    const c = state.config.cognito;
    const res = await fetch(c.domain + "/oauth2/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: c.client_id, code: q.get("code"), redirect_uri: pageURL(), code_verifier: saved.verifier }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok || !body || !body.id_token) return "Sign-in failed: " + ((body && (body.error_description || body.error)) || "status " + res.status);
    // API Gateway's authorizer checks the ID token, whose audience is the app client.
    saveSession(body.id_token);
    return "";
  }

  function signOut() {
    const cognito = state.config && state.config.sign_in === "cognito" && state.config.cognito;
    sessionStorage.removeItem(TOKEN_KEY);
    state.session = null;
    history.replaceState(null, "", location.pathname);
    if (cognito) {
      location.assign(cognito.domain + "/logout?" + new URLSearchParams({ client_id: cognito.client_id, logout_uri: pageURL() }));
      return;
    }
    showSignIn("You are signed out.");
  }

  // ---- API ------------------------------------------------------------------

  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function errorMessage(body, res) {
    if (body && body.error && body.error.message) return body.error.message;
    return "The server answered " + res.status + " " + res.statusText;
  }

  // api calls a route with the bearer token. A 401 ends the session: the
  // user goes back to sign-in with the server's reason.
  async function api(path, init = {}) {
    if (!state.session) throw new APIError(401, "unauthorized", "not signed in");
    const headers = Object.assign({ Authorization: "Bearer " + state.session.token }, init.headers || {});
    const res = await fetch(path, Object.assign({}, init, { headers }));
    if (res.status === 401) {
      const body = await res.json().catch(() => null);
      expired(body && body.error ? body.error.message : "");
      throw new APIError(401, "unauthorized", "signed out");
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new APIError(res.status, body && body.error ? body.error.code : "", errorMessage(body, res));
    }
    return res;
  }

  function expired(reason) {
    showSignIn("Your session has expired or was not accepted; sign in again." + (reason ? " (" + reason + ")" : ""));
  }

  // ---- Conversations --------------------------------------------------------

  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  async function loadConversations(more) {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (more && state.cursor) q.set("cursor", state.cursor);
    let body;
    try {
      body = await (await api("conversations?" + q)).json();
    } catch (err) {
      if (err.status !== 401) showPageError("The conversations could not be loaded: " + err.message);
      return;
    }
    const list = $("conversations");
    if (!more) list.replaceChildren();
    for (const c of body.conversations || []) list.append(conversationItem(c));
    state.cursor = body.next_cursor || "";
    $("more-conversations").hidden = !state.cursor;
    $("conversations-empty").hidden = list.children.length > 0;
    markCurrent();
  }

  function conversationItem(c) {
    const title = c.title || "Untitled conversation";
    const when = c.updated_at ? dateTime.format(new Date(c.updated_at)) : "";
    const li = el("li", { "data-id": c.id });
    li.append(
      el("button", { type: "button", class: "open", onclick: () => openConversation(c.id, true) },
        el("span", { class: "title", text: title, title }),
        el("span", { class: "when", text: when + (c.turns ? " · " + c.turns + (c.turns === 1 ? " turn" : " turns") : "") })),
      el("button", { type: "button", class: "delete", "aria-label": "Delete conversation: " + title, title: "Delete", onclick: () => deleteConversation(c.id, li), text: "✕" }),
    );
    return li;
  }

  function markCurrent() {
    for (const li of $("conversations").children) {
      const b = li.querySelector(".open");
      if (li.dataset.id === state.conversation) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
  }

  // upsertConversation moves the conversation of a finished turn to the
  // top of the list, newest first, without reloading the list.
  function upsertConversation(id, title) {
    const list = $("conversations");
    let li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    const turns = state.turnCount;
    const fresh = conversationItem({ id, title: li ? li.querySelector(".title").textContent : title, updated_at: new Date().toISOString(), turns });
    if (li) li.remove();
    list.prepend(fresh);
    $("conversations-empty").hidden = true;
    markCurrent();
  }

  async function deleteConversation(id, li) {
    try {
      // Read the (empty) body: an unread response is cancelled when it is
      // collected, which the browser reports as a failed request.
      await (await api("conversations/" + encodeURIComponent(id), { method: "DELETE" })).text();
    } catch (err) {
      if (err.status !== 401 && err.status !== 404) {
        showPageError("The conversation could not be deleted: " + err.message);
        return;
      }
      if (err.status === 401) return;
    }
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    $("conversations-empty").hidden = $("conversations").children.length > 0;
    announce("Conversation deleted.");
    if (state.conversation === id) newConversation();
    (next ? next.querySelector(".open") : $("new-conversation")).focus();
  }

  function newConversation() {
    state.conversation = null;
    state.turnCount = 0;
    history.replaceState(null, "", location.pathname);
    $("turns").replaceChildren();
    $("empty").hidden = false;
    markCurrent();
    $("message").focus();
  }

  async function openConversation(id, focus) {
    const body = { turns: [] };
    try {
      // A long conversation may come in pages (next_cursor); the turns are
      // shown in their own order whatever the pages' order.
      let cursor = "";
      for (let page = 0; page < 50; page++) {
        const q = cursor ? "?" + new URLSearchParams({ cursor }) : "";
        const part = await (await api("conversations/" + encodeURIComponent(id) + q)).json();
        body.turns.push(...(part.turns || []));
        cursor = part.next_cursor || "";
        if (!cursor) break;
      }
      body.turns.sort((a, b) => (a.turn || 0) - (b.turn || 0));
    } catch (err) {
      if (err.status === 404) {
        showPageError("That conversation no longer exists.");
        newConversation();
      } else if (err.status !== 401) {
        showPageError("The conversation could not be loaded: " + err.message);
      }
      return;
    }
    state.conversation = id;
    history.replaceState(null, "", location.pathname + "#c=" + encodeURIComponent(id));
    const turns = $("turns");
    turns.replaceChildren();
    for (const t of body.turns || []) {
      const view = turnView(t.question);
      turns.append(view.li);
      renderResult(view, t);
    }
    state.turnCount = (body.turns || []).length;
    $("empty").hidden = state.turnCount > 0;
    markCurrent();
    if (focus) $("message").focus();
  }

  function showPageError(message) {
    const e = el("p", { class: "error", role: "alert", text: message });
    $("turns").after(e);
    setTimeout(() => e.remove(), 8000);
  }

  // ---- A turn ---------------------------------------------------------------

  // turnView is the element of one turn and its parts, filled in while the
  // turn streams and replaced by the stored answer when it finishes.
  function turnView(question) {
    const steps = el("ol");
    const stepsBox = el("details", { class: "steps", open: true }, el("summary", { text: "Steps" }), steps);
    stepsBox.hidden = true;
    const answer = el("div", { class: "answer" });
    const notes = el("div", { class: "notes" });
    const tableSlot = el("div", { class: "table-slot" });
    const chartSlot = el("div", { class: "chart-slot" });
    const usage = el("p", { class: "usage" });
    const li = el("li", { class: "turn" }, el("p", { class: "question", text: question }), stepsBox, answer, notes, tableSlot, chartSlot, usage);
    return { li, steps, stepsBox, answer, notes, tableSlot, chartSlot, usage, tools: new Map(), text: "" };
  }

  function addStep(view, text, cls) {
    view.stepsBox.hidden = false;
    const item = el("li", { class: cls, text });
    view.steps.append(item);
    return item;
  }

  function toolLabel(tool) {
    let args = {};
    try { args = JSON.parse(tool.args || "{}"); } catch { /* partial arguments */ }
    const parts = [tool.name];
    if (args.collection) parts.push("on " + args.collection);
    if (tool.rows !== undefined) {
      let r = nf0.format(tool.rows) + (tool.rows === 1 ? " row" : " rows");
      if (tool.total !== undefined && tool.total > tool.rows) r += " of " + nf0.format(tool.total);
      parts.push("· " + r);
    }
    if (tool.error) parts.push("· failed: " + tool.error);
    return parts.join(" ");
  }

  // applyEvent renders one AG-UI event of a streamed turn.
  function applyEvent(view, ev) {
    switch (ev.type) {
      case "STEP_STARTED": {
        view.requests = (view.requests || 0) + 1;
        const n = (ev.metadata && ev.metadata.request) || view.requests;
        view.step = addStep(view, "Model request " + n + "…");
        break;
      }
      case "STEP_FINISHED":
        if (view.step) view.step.textContent = view.step.textContent.replace(/…$/, "");
        break;
      case "TOOL_CALL_START": {
        const tool = { name: ev.toolCallName, args: "" };
        tool.item = addStep(view, toolLabel(tool) + "…");
        view.tools.set(ev.toolCallId, tool);
        break;
      }
      case "TOOL_CALL_ARGS": {
        const tool = view.tools.get(ev.toolCallId);
        if (tool) tool.args += ev.delta || "";
        break;
      }
      case "TOOL_CALL_END": {
        const tool = view.tools.get(ev.toolCallId);
        if (tool) tool.item.textContent = toolLabel(tool) + "…";
        break;
      }
      case "TOOL_CALL_RESULT": {
        const tool = view.tools.get(ev.toolCallId);
        if (!tool) break;
        Object.assign(tool, toolOutcome(ev));
        tool.item.textContent = toolLabel(tool);
        if (tool.error) tool.item.classList.add("failed");
        break;
      }
      case "TEXT_MESSAGE_START":
        view.text = "";
        break;
      case "TEXT_MESSAGE_CONTENT":
        view.text += ev.delta || "";
        view.answer.textContent = view.text;
        break;
      case "CUSTOM":
        customEvent(view, ev.name, ev.value);
        break;
      case "STATE_SNAPSHOT":
        if (ev.snapshot) customEvent(view, "state", ev.snapshot);
        break;
    }
  }

  // toolOutcome reads a tool result's rows, total and error from the
  // event or from the JSON content the model was told.
  function toolOutcome(ev) {
    const out = {};
    let c = ev;
    if (ev.rows === undefined && typeof ev.content === "string") {
      try { c = JSON.parse(ev.content); } catch { c = {}; }
    }
    for (const src of [ev.metadata || {}, ev, c]) {
      if (src && typeof src.rows === "number" && out.rows === undefined) out.rows = src.rows;
      if (src && typeof src.total === "number" && out.total === undefined) out.total = src.total;
      if (src && typeof src.total_rows === "number" && out.total === undefined) out.total = src.total_rows;
      if (src && src.error && !out.error) out.error = typeof src.error === "string" ? src.error : src.error.message;
    }
    return out;
  }

  // customEvent shows the table, chart and usage as soon as they exist.
  function customEvent(view, name, value) {
    if (!value) return;
    if (name === "tool_result" && value.tool_call_id) {
      const tool = view.tools.get(value.tool_call_id);
      if (tool) {
        Object.assign(tool, toolOutcome(value));
        tool.item.textContent = toolLabel(tool);
      }
    }
    if ((name === "table" || value.table) && !view.hasTable) {
      const t = name === "table" ? value : value.table;
      if (t && t.columns) renderTable(view, t, null);
    }
    if ((name === "chart" || value.chart) && !view.hasChart) {
      const c = name === "chart" ? value : value.chart;
      if (c && c.mark) renderChart(view, c);
    }
    if (name === "usage" || value.usage) {
      const u = name === "usage" ? value : value.usage;
      if (u && u.model_requests !== undefined) setUsage(view, u);
    }
  }

  const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const nfSmall = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

  function setUsage(view, u) {
    const req = u.model_requests === 1 ? "1 model request" : nf0.format(u.model_requests) + " model requests";
    view.usage.textContent = `${req} · ${nf0.format(u.total_tokens || 0)} tokens (${nf0.format(u.input_tokens || 0)} in, ${nf0.format(u.output_tokens || 0)} out)`;
  }

  // renderResult replaces the live view with the answer as stored: the
  // object POST /chat answers, RUN_FINISHED carries and GET
  // /conversations/{id} lists.
  function renderResult(view, r) {
    view.answer.replaceChildren(...answerNodes(view, r));
    view.notes.replaceChildren();
    view.tableSlot.replaceChildren();
    view.hasTable = false;
    if (r.table && r.table.columns) renderTable(view, r.table, r);
    // A chart drawn while streaming is the same chart: keep it.
    if (r.chart && !view.hasChart) renderChart(view, r.chart);
    if (r.finish_reason && r.finish_reason !== "stop") {
      const why = { usage_limit: "the turn reached its " + (r.limit ? r.limit.replace(/_/g, " ") : "usage") + " limit", deadline: "the turn ran out of time" }[r.finish_reason] || r.finish_reason;
      view.notes.append(el("p", { class: "notice", text: "This answer is partial: " + why + "." }));
    }
    if (r.verified === false) {
      view.notes.append(el("p", { class: "notice", text: "Some numbers in this answer could not be matched to the data; they are marked." }));
    }
    if (r.usage) setUsage(view, r.usage);
    view.stepsBox.open = false;
    if (!view.steps.children.length) view.stepsBox.hidden = true;
    linkCitations(view);
  }

  // answerNodes is the answer's text with each cited number linked to its
  // table cell and each number that matched nothing marked.
  function answerNodes(view, r) {
    const text = r.answer || "";
    const cites = Array.isArray(r.citations) ? r.citations.filter((c) => c && c.text) : [];
    if (!cites.length) return [document.createTextNode(text)];
    const nodes = [];
    let at = 0;
    for (const c of cites) {
      const i = text.indexOf(c.text, at);
      if (i < 0) continue;
      nodes.push(document.createTextNode(text.slice(at, i)));
      if (c.row !== null && c.row !== undefined && c.column !== null && c.column !== undefined) {
        nodes.push(el("a", { class: "cite", href: "#", "data-row": c.row, "data-column": c.column, title: "Show the cell this number comes from", text: c.text }));
      } else {
        nodes.push(el("mark", { class: "unverified", title: "This number was not found in the data", text: c.text }));
      }
      at = i + c.text.length;
    }
    nodes.push(document.createTextNode(text.slice(at)));
    return nodes;
  }

  function linkCitations(view) {
    for (const a of view.answer.querySelectorAll("a.cite")) {
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        const td = view.cellAt && view.cellAt(a.dataset.row, a.dataset.column);
        if (!td) return;
        td.scrollIntoView({ block: "nearest", inline: "nearest" });
        td.classList.add("cited");
        td.focus();
      });
    }
  }

  // ---- Tables ---------------------------------------------------------------

  const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
  const monthFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", timeZone: "UTC" });

  function formatCell(v, type) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      if (type === "int" || (Number.isInteger(v) && type !== "number")) return nf0.format(v);
      // Two decimals line the column up; tiny values keep three significant digits.
      return v !== 0 && Math.abs(v) < 0.01 ? nfSmall.format(v) : nf2.format(v);
    }
    if (typeof v === "string") {
      if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return dayFmt.format(new Date(v + "T00:00:00Z"));
      if (/^\d{4}-\d{2}$/.test(v)) return monthFmt.format(new Date(v + "-01T00:00:00Z"));
      if (/^\d{4}-\d{2}-\d{2}T/.test(v) && !isNaN(Date.parse(v))) return dateTime.format(new Date(v));
    }
    if (typeof v === "boolean") return v ? "yes" : "no";
    return String(v);
  }

  function compareCells(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1; // nulls last
    if (b === null || b === undefined) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function csvField(v) {
    if (v === null || v === undefined) return "";
    const s = typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function renderTable(view, t, r) {
    const cols = t.columns || [];
    const rows = t.rows || [];
    const numeric = cols.map((c) => c.type === "number" || c.type === "int");
    const box = el("div", { class: "table-block" });
    const caption = el("caption", { class: "visually-hidden", text: "Result table, " + rows.length + " rows" });
    const head = el("tr");
    const body = el("tbody");
    const cells = []; // cells[row][col], in the table's own row order
    rows.forEach((row, ri) => {
      const tr = el("tr");
      cells.push(cols.map((c, ci) => {
        const td = el("td", { class: numeric[ci] ? "num" : null, "data-row": ri, "data-column": c.name, text: formatCell(row[ci], c.type), tabindex: "-1" });
        if (typeof row[ci] === "number") td.title = String(row[ci]);
        tr.append(td);
        return td;
      }));
      body.append(tr);
    });
    const trs = [...body.children];
    let sortCol = -1;
    let dir = 1;
    cols.forEach((c, ci) => {
      const th = el("th", { scope: "col", "aria-sort": "none" });
      const b = el("button", { type: "button", text: c.name, title: "Sort by " + c.name });
      b.addEventListener("click", () => {
        dir = sortCol === ci ? -dir : 1;
        sortCol = ci;
        for (const h of head.children) h.setAttribute("aria-sort", "none");
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
        const order = rows.map((_, i) => i).sort((a, b2) => dir * compareCells(rows[a][ci], rows[b2][ci]) || a - b2);
        body.replaceChildren(...order.map((i) => trs[i]));
      });
      th.append(b);
      head.append(th);
    });
    const table = el("table", {}, caption, el("thead", {}, head), body);
    const tools = el("div", { class: "table-tools" });
    const total = t.total_rows !== undefined ? t.total_rows : rows.length;
    tools.append(el("span", { class: "meta", text: nf0.format(rows.length) + (rows.length === 1 ? " row" : " rows") }));
    if (t.truncated) {
      // A query that asked for N rows (a top 5) was not cut by the server:
      // say which of the two it was.
      const asked = t.source && t.source.limit;
      const why = asked && rows.length >= asked ? `the query asked for ${nf0.format(asked)}` : "the table was cut at the row limit";
      tools.append(el("span", { class: "notice", role: "note", text: `Showing the first ${nf0.format(rows.length)} of ${nf0.format(total)} rows: ${why}.` }));
    }
    const name = "datachat-" + (state.conversation || "table").slice(0, 8) + (r && r.turn ? "-turn" + r.turn : "") + ".csv";
    tools.append(el("button", {
      type: "button", class: "quiet", text: "Download CSV",
      "aria-label": "Download the table as CSV",
      onclick: () => {
        const lines = [cols.map((c) => csvField(c.name)).join(",")].concat(rows.map((row) => row.map(csvField).join(",")));
        const url = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
        const a = el("a", { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      },
    }));
    box.append(el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Result table" }, table), tools);
    const src = t.source || (r && r.source);
    if (src) {
      box.append(el("details", { class: "source" }, el("summary", { text: "How this table was made" }),
        el("pre", { text: typeof src === "string" ? src : JSON.stringify(src, null, 2) })));
    }
    view.cellAt = (row, col) => {
      const ri = Number(row);
      const ci = /^\d+$/.test(String(col)) ? Number(col) : cols.findIndex((c) => c.name === col);
      return cells[ri] && cells[ri][ci];
    };
    view.tableSlot.replaceChildren(box);
    view.hasTable = true;
  }

  // ---- Charts ---------------------------------------------------------------

  function renderChart(view, spec) {
    const box = el("figure", { class: "chart", "aria-label": spec.title ? "Chart: " + spec.title : "Chart" });
    view.chartSlot.replaceChildren(box);
    view.hasChart = true;
    if (typeof window.vegaEmbed !== "function") {
      box.append(el("p", { class: "error", text: "The chart library did not load; the chart cannot be drawn." }));
      return;
    }
    // The expression interpreter (ast) keeps the page free of eval, so the
    // Content-Security-Policy needs no 'unsafe-eval'.
    window.vegaEmbed(box, spec, {
      renderer: "svg", ast: true, actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: "datachat-chart",
    }).catch((err) => {
      box.append(el("p", { class: "error", text: "The chart could not be drawn: " + err.message }));
    });
  }

  // ---- Sending --------------------------------------------------------------

  // readEvents parses a text/event-stream body: events are separated by a
  // blank line, each "data:" line adds to the event's data, and lines
  // starting with ":" are comments (the server's heartbeats).
  async function readEvents(res, onEvent) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let data = [];
    const dispatch = () => {
      if (!data.length) return;
      const raw = data.join("\n");
      data = [];
      let ev;
      try { ev = JSON.parse(raw); } catch { return; }
      onEvent(ev);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") dispatch();
        else if (line.startsWith(":")) continue;
        else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
    }
    if (buf.startsWith("data:")) data.push(buf.slice(buf.startsWith("data: ") ? 6 : 5));
    dispatch();
  }

  async function send(message) {
    if (state.busy || !message.trim()) return;
    state.busy = true;
    $("send").disabled = true;
    $("empty").hidden = true;
    const view = turnView(message);
    view.li.setAttribute("aria-busy", "true");
    $("turns").append(view.li);
    view.answer.textContent = "…";
    view.li.scrollIntoView({ block: "end" });
    announce("Working on the answer…");
    const body = { message };
    if (state.conversation) body.conversation_id = state.conversation;
    let result = null;
    let failure = null;
    try {
      const res = await api("chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
      if ((res.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
        await readEvents(res, (ev) => {
          if (ev.type === "RUN_FINISHED") result = ev.result;
          else if (ev.type === "RUN_ERROR") failure = { code: ev.code, message: ev.message };
          else applyEvent(view, ev);
        });
        if (!result && !failure) failure = { message: "The answer stopped before it was complete; reload the conversation to see whether it was saved." };
      } else {
        result = await res.json();
      }
    } catch (err) {
      if (err.status === 401) {
        state.busy = false;
        $("send").disabled = false;
        return;
      }
      failure = { code: err.code, message: err.message };
    }
    view.li.removeAttribute("aria-busy");
    if (result) {
      state.conversation = result.conversation_id || state.conversation;
      state.turnCount = result.turn || (state.turnCount || 0) + 1;
      history.replaceState(null, "", location.pathname + "#c=" + encodeURIComponent(state.conversation));
      renderResult(view, result);
      upsertConversation(state.conversation, message);
      announce("Answer complete.");
    } else {
      if (view.answer.textContent === "…") view.answer.textContent = "";
      view.stepsBox.open = false;
      view.li.append(el("p", { class: "error", role: "alert", text: failure.message }));
      announce("The question failed: " + failure.message);
    }
    state.busy = false;
    $("send").disabled = false;
  }

  function onComposerKey(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  }

  function onSubmit(ev) {
    ev.preventDefault();
    const m = $("message");
    const text = m.value;
    if (!text.trim() || state.busy) return;
    m.value = "";
    send(text.trim());
  }

  // ---- Start ----------------------------------------------------------------

  async function start() {
    const s = state.session;
    if (!s) return showSignIn("");
    if (s.expires && s.expires <= Date.now()) return expired("");
    $("signin").hidden = true;
    $("app").hidden = false;
    $("who").hidden = false;
    $("who").textContent = s.user ? "Signed in as " + s.user : "";
    $("sign-out").hidden = false;
    const wide = window.matchMedia("(min-width: 701px)").matches;
    $("history").open = wide;
    await loadConversations(false);
    if (!state.session) return;
    const m = /^#c=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
    if (m) await openConversation(decodeURIComponent(m[1]), false);
    else newConversation();
    $("message").focus();
  }

  async function init() {
    $("local-form").addEventListener("submit", localSignIn);
    $("token-form").addEventListener("submit", tokenSignIn);
    $("cognito-form").addEventListener("submit", cognitoSignIn);
    $("sign-out").addEventListener("click", signOut);
    $("new-conversation").addEventListener("click", newConversation);
    $("more-conversations").addEventListener("click", () => loadConversations(true));
    $("composer").addEventListener("submit", onSubmit);
    $("message").addEventListener("keydown", onComposerKey);
    for (const b of document.querySelectorAll(".example")) {
      b.addEventListener("click", () => send(b.textContent.trim()));
    }
    try {
      const res = await fetch("config");
      state.config = await res.json();
    } catch {
      state.config = { sign_in: "token" };
    }
    if (state.config.sign_in === "cognito") {
      const err = await finishCognito().catch((e) => "Sign-in failed: " + e.message);
      if (err) return showSignIn(err);
    }
    state.session = loadSession();
    await start();
  }

  init();
})();
