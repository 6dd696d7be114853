// Counsellor console: renders with textContent only (resident text is never parsed as HTML),
// changes go through CSRF-checked POSTs, live updates arrive over a read-only WebSocket.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let state = null;        // /console/api/state
  let current = null;      // id of the conversation on screen
  let detail = null;       // /console/api/conversations/{id}
  let ws = null;
  let lastTyping = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function minutes(seconds) {
    const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    return m >= 60 ? `${Math.floor(m / 60)}時間${m % 60}分` : `${m}分${String(s).padStart(2, "0")}秒`;
  }

  // background: the page asked by itself (live refresh) — not counsellor activity, so it must not defer idle logout
  async function api(path, body, background) {
    const headers = body === undefined ? { Accept: "application/json" }
      : { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" };
    if (background) headers["X-Background"] = "1";
    const opts = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
    const res = await fetch(path, { credentials: "same-origin", ...opts });
    if (res.status === 401) { location.href = "/staff/login?next=/console"; throw new Error("logged out"); }
    let data = null;
    try { data = await res.json(); } catch (e) { data = { ok: false, error: await res.text().catch(() => "") }; }
    if (!res.ok) throw Object.assign(new Error((data && data.error) || res.statusText), { status: res.status });
    return data;
  }

  function showAlert(text) {
    const a = $("alert");
    a.textContent = text;
    a.hidden = !text;
  }

  function item(c, buttons) {
    const li = el("li", { class: `${c.risk}${c.id === current ? " selected" : ""}`, "data-id": c.id },
      el("div", { class: "row" },
        el("span", { class: "risk" }, `危険度:${c.risk_label}`),
        el("span", {}, c.category),
        el("span", {}, `待ち ${minutes(c.waited_seconds)}`),
        c.emergency ? el("strong", {}, "緊急") : "",
        c.unread ? el("span", {}, `未読${c.unread}`) : ""),
      el("div", {}, c.name),
      el("div", { class: "summary" }, c.summary || "（要約なし）"),
      el("div", { class: "row" }, ...buttons));
    return li;
  }

  function renderLists() {
    const q = $("queue"); q.replaceChildren();
    for (const c of state.queue) {
      q.append(item(c, [el("button", { type: "button", class: "take", onclick: () => take(c.id) }, "担当する")]));
    }
    $("queue-count").textContent = state.queue.length;
    const mine = $("mine"); mine.replaceChildren();
    for (const c of state.mine) mine.append(item(c, [el("button", { type: "button", onclick: () => openConv(c.id) }, "開く")]));
    $("supervisor").hidden = state.me.role !== "supervisor";
    const live = $("live"); live.replaceChildren();
    for (const c of state.live) {
      live.append(item(c, [el("span", {}, `担当: ${c.holder}`), el("button", { type: "button", onclick: () => openConv(c.id) }, "見る")]));
    }
    const sel = $("transfer-to"); sel.replaceChildren();
    for (const p of state.colleagues) sel.append(el("option", { value: p.username }, `${p.display_name}（${p.role}）`));
    const canned = $("canned");
    if (canned.options.length === 1) for (const c of state.canned) canned.append(el("option", { value: c.text }, c.title));
    const labels = $("labels");
    if (labels.querySelectorAll("input").length === 0) {
      for (const l of state.labels) labels.append(el("label", {}, el("input", { type: "checkbox", value: l }), l));
      for (const c of state.categories) $("category").append(el("option", { value: c }, c));
    }
  }

  let refreshSeq = 0;
  async function refresh(background) {
    const seq = ++refreshSeq;
    const fresh = await api("/console/api/state", undefined, background);
    if (seq !== refreshSeq) return; // a newer refresh started meanwhile: never paint older state over it
    state = fresh;
    renderLists();
    if (current) await loadDetail(background);
  }

  function messageNode(m) {
    const who = m.sender === "resident" ? "相談者" : m.sender === "counsellor" ? `相談員 ${m.author}` : "";
    return el("div", { class: `msg ${m.sender}`, "data-id": m.id },
      who ? el("span", { class: "who" }, `${who} ${new Date(m.ts * 1000).toLocaleTimeString("ja-JP")}`) : "", m.text);
  }

  // A live message of the conversation on screen. It may come before that conversation's first load (just taken,
  // just opened): the transcript becomes that conversation's here, so the load keeps the node and what is being
  // done on it, instead of finding a transcript of no conversation and rebuilding it.
  function renderMessage(m, cid) {
    const t = $("transcript");
    if (t.dataset.cid !== cid) { t.replaceChildren(); t.dataset.cid = cid; }
    t.append(messageNode(m));
  }

  // Bring the transcript on screen up to date without rebuilding it: a message already shown keeps its node, so
  // whatever the counsellor is doing on it (a crisis mark opened, a category chosen, its status) survives the
  // reloads live updates cause — a crisis signal in this very conversation is one. Missing ones go in order.
  function syncTranscript(cid, messages) {
    const t = $("transcript");
    if (t.dataset.cid !== cid) { t.replaceChildren(); t.dataset.cid = cid; } // crisis_mark.js marks messages of this conversation
    const shown = new Map(Array.from(t.children, (n) => [n.dataset.id, n]));
    let prev = null, added = false;
    for (const m of messages) {
      let node = shown.get(m.id);
      if (!node) {
        node = messageNode(m);
        if (prev) prev.after(node); else t.prepend(node);
        added = true;
      }
      prev = node;
    }
    return added;
  }

  let detailSeq = 0;
  async function loadDetail(background) {
    const seq = ++detailSeq;
    let fresh;
    try { fresh = await api(`/console/api/conversations/${current}`, undefined, background); } catch (e) { if (seq === detailSeq) { detail = null; current = null; } return; }
    if (seq !== detailSeq) return; // an older answer must not overwrite a newer one
    detail = fresh;
    const c = detail.conversation;
    setUnread(c.id, c.unread); // opening it may have marked it read
    $("conv-name").textContent = `${c.name}（${c.risk_label}・${c.category}）`;
    $("conv-meta").textContent = `${c.summary || ""}${c.crisis_text ? " ／ 本人の言葉: " + c.crisis_text : ""} ／ 状態: ${c.status}${c.holder ? " ／ 担当: " + c.holder : ""}`;
    const t = $("transcript");
    const opened = t.dataset.cid !== c.id;
    if (syncTranscript(c.id, detail.transcript) || opened) t.scrollTop = t.scrollHeight;
    $("send-form").hidden = !detail.can_write;
    $("actions").hidden = !detail.can_write && state.me.role !== "supervisor";
    $("transfer-box").hidden = c.holder !== state.me.username;
    $("join-box").hidden = !(state.me.role === "supervisor" && !detail.can_write && c.status === "active");
    const notes = $("notes"); notes.replaceChildren();
    for (const n of detail.notes) notes.append(el("li", {}, `${n.author}: ${n.text}`));
    const past = $("past"); past.replaceChildren();
    for (const p of detail.past) past.append(el("li", {}, `${new Date(p.created_at * 1000).toLocaleDateString("ja-JP")} ${p.category} ${p.labels.join("・")} ${p.closing_category}`));
    renderChecklist(detail.checklist);
    document.querySelectorAll("li[data-id]").forEach((li) => li.classList.toggle("selected", li.dataset.id === current));
    // a resident message that arrived while this was loading found no writable detail to mark it read: do it now
    if (c.unread && detail.can_write && document.visibilityState === "visible") await markRead();
  }

  function setUnread(id, n) {
    if (!state) return;
    let changed = false;
    for (const list of [state.queue, state.mine, state.live]) {
      for (const x of list || []) if (x.id === id && x.unread !== n) { x.unread = n; changed = true; }
    }
    if (changed) renderLists();
  }

  async function markRead() {
    const id = current;
    const r = await act("read", {}, true);
    if (r && r.marked) setUnread(id, 0);
  }

  function renderChecklist(items) {
    $("checklist").hidden = !items.length;
    const ul = $("checklist-items"); ul.replaceChildren();
    for (const r of items) {
      ul.append(el("li", {}, el("label", {}, el("input", { type: "checkbox" }), `${r.name} ${r.contact}${r.note ? "（" + r.note + "）" : ""}`)));
    }
  }

  async function take(id) {
    try {
      await api(`/console/api/conversations/${id}/take`, {});
      current = id;
      await refresh();
      $("reply").focus();
    } catch (e) {
      showAlert(e.status === 409 ? "この相談は他の相談員が担当しました。" : `担当できませんでした: ${e.message}`);
      await refresh();
    }
  }

  async function openConv(id) {
    current = id;
    await loadDetail();
  }

  async function act(action, body, background) {
    if (!current) return null;
    try { return await api(`/console/api/conversations/${current}/${action}`, body || {}, background); } catch (e) { showAlert(e.message); return null; }
  }

  async function send(text, clientId) {
    $("send-status").textContent = "送信中…";
    try {
      await api(`/console/api/conversations/${current}/send`, { text, client_id: clientId });
      $("send-status").textContent = "";
      $("reply").value = "";
      $("reply").dataset.clientId = "";
    } catch (e) {
      $("send-status").textContent = `送れませんでした。もう一度「送信」を押してください（${e.message}）`;
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/console/ws?csrf=${encodeURIComponent(csrf)}`);
    ws.onopen = () => refresh(true);
    ws.onmessage = async (ev) => {
      const e = JSON.parse(ev.data);
      if (e.type === "message" && e.cid === current) {
        if (!document.querySelector(`.msg[data-id="${CSS.escape(e.message.id)}"]`)) renderMessage(e.message, e.cid);
        $("transcript").scrollTop = $("transcript").scrollHeight;
        if (e.message.sender === "resident" && document.visibilityState === "visible" && detail && detail.can_write) await markRead();
      } else if (e.type === "emergency") {
        if (state && state.me.role === "supervisor") showAlert("緊急対応が必要な相談があります。全ての対応中の相談を確認してください。");
        await refresh(true);
      } else if (e.type === "logout") {
        location.href = "/staff/login?next=/console";
      } else if (e.type === "queue" || e.type === "conversation" || e.type === "message") {
        await refresh(true);
      }
    };
    ws.onclose = () => setTimeout(connect, 2000);
  }

  function tick() {
    if (detail && detail.conversation.taken_at && detail.conversation.status === "active") {
      $("conv-timer").textContent = `経過 ${minutes(Date.now() / 1000 - detail.conversation.taken_at)}`;
    } else $("conv-timer").textContent = "";
    if (state) {
      document.querySelectorAll("#queue li").forEach((li, i) => {
        const c = state.queue[i];
        if (c) li.querySelectorAll(".row span")[2].textContent = `待ち ${minutes(Date.now() / 1000 - c.created_at)}`;
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("alert").addEventListener("click", () => showAlert(""));
    $("send-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("reply").value.trim();
      if (!text || !current) return;
      const clientId = $("reply").dataset.clientId || uuid();
      $("reply").dataset.clientId = clientId; // a retry after a failure reuses it: same LINE retry key
      send(text, clientId);
    });
    $("reply").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("send-form").requestSubmit(); }
    });
    $("reply").addEventListener("input", () => {
      $("reply").dataset.clientId = "";
      if (Date.now() - lastTyping > 5000) { lastTyping = Date.now(); act("typing"); }
    });
    $("canned").addEventListener("change", () => {
      if ($("canned").value) { $("reply").value = ($("reply").value ? $("reply").value + "\n" : "") + $("canned").value; $("reply").dataset.clientId = ""; }
      $("canned").value = ""; $("reply").focus();
    });
    $("emergency-btn").addEventListener("click", async () => {
      const r = await act("emergency");
      if (r) { renderChecklist(r.checklist); await refresh(); }
    });
    $("note-btn").addEventListener("click", async () => {
      const text = $("note").value.trim();
      if (text && await act("note", { text })) { $("note").value = ""; await loadDetail(); }
    });
    $("transfer-btn").addEventListener("click", async () => {
      if (await act("transfer", { to: $("transfer-to").value })) { current = null; clear(); await refresh(); }
    });
    $("join-btn").addEventListener("click", async () => { if (await act("join")) await refresh(); });
    $("handback-btn").addEventListener("click", async () => {
      if (confirm("自動応答に戻しますか？") && await act("handback")) { current = null; clear(); await refresh(); }
    });
    $("close-btn").addEventListener("click", async () => {
      const labels = Array.from(document.querySelectorAll("#labels input:checked"), (i) => i.value);
      if (await act("close", { labels, category: $("category").value, message: $("closing").value })) { current = null; clear(); await refresh(); }
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.altKey && ev.key.toLowerCase() === "q") { ev.preventDefault(); const b = document.querySelector("#queue button"); (b || $("queue")).focus(); }
      if (ev.altKey && ev.key.toLowerCase() === "m") { ev.preventDefault(); $("reply").focus(); }
    });
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && detail && detail.can_write) markRead(); });
    setInterval(tick, 1000);
    connect();
  });

  function clear() {
    detail = null;
    $("transcript").replaceChildren(); delete $("transcript").dataset.cid; $("conv-name").textContent = ""; $("conv-meta").textContent = "";
    $("send-form").hidden = true; $("actions").hidden = true; $("join-box").hidden = true; $("past").replaceChildren();
  }
})();
