// Crisis marks (issue 14): under each resident message of the open conversation, a counsellor can record
// 「危険を見逃した」 (with a category) or 「危険ではない」. The server takes the text from the transcript; this
// page only sends the verdict. Renders with textContent only; POSTs carry the CSRF token.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let categories = null; // [[id, label], ...] or [] when marks are not enabled

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  async function loadCategories() {
    try {
      const res = await fetch("/console/api/crisis-marks", { credentials: "same-origin", headers: { Accept: "application/json" } });
      categories = res.ok ? (await res.json()).categories : [];
    } catch (e) { categories = []; }
  }

  async function send(cid, mid, verdict, category, status) {
    status.textContent = "記録中…";
    try {
      const res = await fetch(`/console/api/conversations/${encodeURIComponent(cid)}/messages/${encodeURIComponent(mid)}/crisis-mark`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
        body: JSON.stringify({ verdict, category }),
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = { error: res.statusText }; }
      if (!res.ok) { status.textContent = `記録できませんでした: ${(data && data.error) || res.statusText}`; return; }
      const label = verdict === "missed" ? `危険の見逃し（${(categories.find((c) => c[0] === category) || [, category])[1]}）` : "危険ではない";
      status.textContent = `記録しました: ${label}。スーパーバイザーが確認します。`;
    } catch (e) {
      status.textContent = `記録できませんでした: ${e.message}`;
    }
  }

  function decorate(node) {
    if (!categories || !categories.length || !node.classList || !node.classList.contains("resident") || node.querySelector(".crisis-mark")) return;
    const mid = node.dataset.id;
    const select = el("select", { class: "crisis-category", "aria-label": "見逃した危険のカテゴリ" },
      el("option", { value: "" }, "カテゴリを選ぶ…"), ...categories.map(([id, label]) => el("option", { value: id }, label)));
    const status = el("span", { class: "crisis-status", role: "status" });
    const cid = () => document.getElementById("transcript").dataset.cid;
    const missed = el("button", { type: "button", class: "crisis-missed", onclick: () => {
      if (!select.value) { status.textContent = "カテゴリを選んでください。"; select.focus(); return; }
      send(cid(), mid, "missed", select.value, status);
    } }, "危険を見逃した");
    const fine = el("button", { type: "button", class: "crisis-none", onclick: () => send(cid(), mid, "not_crisis", null, status) }, "危険ではない");
    node.append(el("details", { class: "crisis-mark" }, el("summary", {}, "危険の判定を記録"), select, missed, fine, status));
  }

  function decorateAll() {
    document.querySelectorAll("#transcript .msg.resident").forEach(decorate);
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await loadCategories();
    const transcript = document.getElementById("transcript");
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) decorate(n);
    }).observe(transcript, { childList: true });
    decorateAll();
  });
})();
