// Resident simulator: plays a LINE user against the emulator (POST /_emulator/send) and shows what the bot
// delivers, live, over the WebSocket /_emulator/ws. Vanilla JS, no dependencies; all text goes through textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const STORE = { tenant: "civicbot.sim.tenant", user: "civicbot.sim.user" };
const OSAKA_PLACES = [
  { title: "大阪府庁", address: "大阪府大阪市中央区大手前2丁目", lat: 34.6864, lng: 135.5200 },
  { title: "大阪駅", address: "大阪府大阪市北区梅田3丁目", lat: 34.7025, lng: 135.4959 },
  { title: "なんば駅", address: "大阪府大阪市中央区難波", lat: 34.6663, lng: 135.5003 },
  { title: "天王寺駅", address: "大阪府大阪市天王寺区悲田院町", lat: 34.6466, lng: 135.5136 },
  { title: "吹田市役所", address: "大阪府吹田市泉町1丁目", lat: 34.7596, lng: 135.5169 },
  { title: "堺市役所", address: "大阪府堺市堺区南瓦町", lat: 34.5733, lng: 135.4830 },
  { title: "万博記念公園", address: "大阪府吹田市千里万博公園", lat: 34.8093, lng: 135.5325 },
  { title: "岸和田駅", address: "大阪府岸和田市宮本町", lat: 34.4615, lng: 135.3716 },
];
const FLEX_SIZES = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };

const state = { tenants: {}, tenant: "", user: "", ws: null, wsTimer: null, rendered: new Set(), loadingRow: null, loadingTimer: null };

function randomUserId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function system(text, isError = false) {
  $("messages").append(el("div", { class: "system" + (isError ? " error" : ""), "data-testid": isError ? "system-error" : "system-note", text }));
  scrollDown();
}

// ---- talking to the emulator ------------------------------------------------------------------------------------

async function send(payload) {
  const body = { tenant: state.tenant, user_id: state.user, ...payload };
  let response;
  try {
    response = await fetch("/_emulator/send", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (err) {
    system("エミュレーターに接続できません。", true);
    return;
  }
  const result = await response.json().catch(() => ({}));
  if (response.status === 502) system("ボットに接続できません。ボットが起動しているか確認してください。", true);
  else if (response.status === 409) system("ブロック中です。設定の「友だち追加」を押してください。", true);
  else if (!response.ok) system(`送信できませんでした（${response.status}: ${result.error || ""}）`, true);
  else if (result.status !== 200) system(`ボットが ${result.status} を返しました。`, true);
  if (result.webhookEventId && !state.rendered.has("in:" + result.webhookEventId)) await loadHistory(false);
}

function sendText(text) {
  if (!text.trim()) return;
  clearQuickReplies();
  send({ type: "text", text });
}

function sendPostback(action) {
  clearQuickReplies();
  const payload = { type: "postback", data: action.data || "" };
  const shown = action.displayText || action.text;
  if (shown) payload.display_text = shown;
  if (action.params) payload.params = action.params;
  send(payload);
}

function sendLocation(place) {
  clearQuickReplies();
  $("location-panel").hidden = true;
  send({ type: "location", lat: place.lat, lng: place.lng, title: place.title, address: place.address });
}

function runAction(action) {
  if (!action) return;
  switch (action.type) {
    case "message": sendText(action.text || action.label || ""); break;
    case "postback": sendPostback(action); break;
    case "uri": window.open(action.uri, "_blank", "noopener"); break;
    case "location": $("location-panel").hidden = false; break;
    case "datetimepicker": {
      const mode = action.mode || "datetime";
      const example = mode === "date" ? "2026-12-01" : mode === "time" ? "10:00" : "2026-12-01T10:00";
      const value = window.prompt(`${action.label || "日時"}（${example} の形式）`, action.initial || example);
      if (value) sendPostback({ data: action.data, params: { [mode]: value } });
      break;
    }
    case "clipboard": navigator.clipboard?.writeText(action.clipboardText || ""); system("コピーしました。"); break;
    default: system(`「${action.label || action.type}」はシミュレーターでは使えません。`);
  }
}

// ---- rendering ----------------------------------------------------------------------------------------------------

function row(side, content, ms, testid) {
  const meta = el("div", { class: "meta" }, [
    side === "user" ? el("span", { class: "read", "data-testid": "read-mark" }) : null,
    el("time", { "data-testid": "timestamp", text: hhmm(ms) }),
  ]);
  const stack = el("div", { class: "stack" }, content);
  const avatarText = (state.tenants[state.tenant]?.display_name || "B").slice(0, 1);
  const children = side === "bot" ? [el("div", { class: "avatar", text: avatarText }), stack, meta] : [stack, meta];
  const node = el("div", { class: `row ${side}`, "data-testid": testid }, children);
  $("messages").append(node);
  return node;
}

function renderInbound(frame) {
  const event = frame.event;
  const key = "in:" + event.webhookEventId;
  if (state.rendered.has(key)) return;
  state.rendered.add(key);
  const ms = event.timestamp;
  if (event.type === "follow") return system("友だち追加しました。");
  if (event.type === "unfollow") return system("ブロックしました。");
  if (event.type === "postback") {
    if (frame.display) row("user", el("div", { class: "bubble", "data-testid": "bubble-user", text: frame.display }), ms, "row-user");
    return scrollDown();
  }
  const message = event.message || {};
  let bubble;
  if (message.type === "text") bubble = el("div", { class: "bubble", "data-testid": "bubble-user", text: message.text });
  else if (message.type === "location") bubble = locationBubble(message, "bubble-user");
  else if (message.type === "image") {
    const src = `/_emulator/content/${encodeURIComponent(state.tenant)}/${encodeURIComponent(message.id)}`;
    bubble = el("div", { class: "bubble image", "data-testid": "bubble-user" }, el("img", { src, alt: "送信した画像" }));
  }
  else bubble = el("div", { class: "bubble", "data-testid": "bubble-user", text: `［${message.type}］` });
  row("user", bubble, ms, "row-user");
  scrollDown();
}

function locationBubble(m, testid) {
  return el("div", { class: "bubble location", "data-testid": testid }, [
    el("div", { class: "title", text: m.title || "位置情報" }),
    m.address ? el("div", { text: m.address }) : null,
    el("div", { class: "coords", text: `${Number(m.latitude).toFixed(4)}, ${Number(m.longitude).toFixed(4)}` }),
  ]);
}

function renderDelivery(frame) {
  const key = `out:${frame.request_id}:${frame.to}`;
  if (state.rendered.has(key)) return;
  state.rendered.add(key);
  hideLoading();
  const parts = frame.messages.map(renderMessage);
  const node = row("bot", parts, frame.timestamp, "row-bot");
  node.dataset.endpoint = frame.endpoint;
  const last = frame.messages[frame.messages.length - 1];
  if (last && last.quickReply) showQuickReplies(last.quickReply.items || []);
  else clearQuickReplies();
  scrollDown();
}

function renderMessage(m) {
  switch (m.type) {
    case "text":
    case "textV2":
      return el("div", { class: "bubble", "data-testid": "bubble-bot", text: m.text });
    case "image":
      return el("div", { class: "bubble image", "data-testid": "bubble-bot" }, el("img", { src: m.previewImageUrl || m.originalContentUrl, alt: "画像", loading: "lazy" }));
    case "sticker":
      return el("div", { class: "bubble", "data-testid": "bubble-bot", text: "［スタンプ］" });
    case "location":
      return locationBubble(m, "bubble-bot");
    case "template":
      return renderTemplate(m.template || {}, m.altText);
    case "flex":
      return renderFlex(m.contents || {}, m.altText);
    default:
      return el("div", { class: "bubble", "data-testid": "bubble-bot", text: m.altText || `［${m.type}］` });
  }
}

function actionButton(action, cls = "") {
  return el("button", { type: "button", class: cls, "data-testid": "action-button", text: action.label || action.text || "開く", onclick: () => runAction(action) });
}

function templateCard(t) {
  return el("div", { class: "card", "data-testid": "template-card" }, [
    t.thumbnailImageUrl ? el("img", { class: "flex-image", src: t.thumbnailImageUrl, alt: "" }) : null,
    el("div", { class: "card-body" }, [
      t.title ? el("div", { class: "card-title", text: t.title }) : null,
      el("div", { class: "card-text", text: t.text || "" }),
    ]),
    el("div", { class: "actions" }, (t.actions || []).map((a) => actionButton(a))),
  ]);
}

function renderTemplate(t, altText) {
  if (t.type === "buttons" || t.type === "confirm") return templateCard(t);
  if (t.type === "carousel") return el("div", { class: "carousel", "data-testid": "bubble-bot" }, (t.columns || []).map(templateCard));
  if (t.type === "image_carousel") {
    return el("div", { class: "carousel", "data-testid": "bubble-bot" }, (t.columns || []).map((c) =>
      el("div", { class: "card" }, [el("img", { class: "flex-image", src: c.imageUrl, alt: "" }), el("div", { class: "actions" }, actionButton(c.action))])));
  }
  return el("div", { class: "bubble", "data-testid": "bubble-bot", text: altText || "［テンプレート］" });
}

function renderFlex(c, altText) {
  if (c.type === "carousel") return el("div", { class: "carousel", "data-testid": "bubble-bot" }, (c.contents || []).map((b) => flexBubble(b)));
  if (c.type === "bubble") return flexBubble(c);
  return el("div", { class: "bubble", "data-testid": "bubble-bot", text: altText || "［Flex］" });
}

function flexBubble(b) {
  const styles = b.styles || {};
  const section = (name) => {
    const part = b[name];
    if (!part) return null;
    const node = el("div", { class: "flex-section", style: { backgroundColor: styles[name]?.backgroundColor || "" } }, flexComponent(part));
    if (name === "hero" && part.type === "image") node.style.padding = "0";
    return node;
  };
  return el("div", { class: "card", "data-testid": "flex-bubble" }, ["header", "hero", "body", "footer"].map(section));
}

function flexComponent(c) {
  if (!c) return null;
  const spacing = (v) => (v ? { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 }[v] ?? parseInt(v, 10) : undefined);
  switch (c.type) {
    case "box": {
      const node = el("div", {
        class: `flex-box ${c.layout || "vertical"}`,
        style: {
          gap: c.spacing ? `${spacing(c.spacing)}px` : "",
          backgroundColor: c.backgroundColor || "",
          padding: c.paddingAll ? `${spacing(c.paddingAll)}px` : "",
          borderRadius: c.cornerRadius ? `${spacing(c.cornerRadius)}px` : "",
          marginTop: c.margin ? `${spacing(c.margin)}px` : "",
          flex: c.flex !== undefined ? String(c.flex) : "",
          cursor: c.action ? "pointer" : "",
        },
      }, (c.contents || []).map(flexComponent));
      if (c.action) node.addEventListener("click", () => runAction(c.action));
      return node;
    }
    case "text": {
      const node = el("div", {
        class: "flex-text" + (c.wrap ? "" : " nowrap"),
        style: {
          fontSize: `${FLEX_SIZES[c.size] || (parseInt(c.size, 10) || 14)}px`,
          fontWeight: c.weight === "bold" ? "700" : "",
          color: c.color || "",
          textAlign: c.align || "",
          marginTop: c.margin ? `${spacing(c.margin)}px` : "",
          flex: c.flex !== undefined ? String(c.flex) : "",
          whiteSpace: c.wrap ? "pre-wrap" : "",
        },
      });
      if (c.contents && c.contents.length) {
        for (const span of c.contents) node.append(el("span", { text: span.text, style: { fontWeight: span.weight === "bold" ? "700" : "", color: span.color || "" } }));
      } else node.textContent = c.text || "";
      if (c.action) node.addEventListener("click", () => runAction(c.action));
      return node;
    }
    case "button": {
      const node = actionButton(c.action || {}, `flex-button ${c.style || "link"}`);
      if (c.color && c.style !== "link") node.style.background = c.color;
      else if (c.color) node.style.color = c.color;
      return node;
    }
    case "image":
      return el("img", { class: "flex-image", src: c.url, alt: "", style: { aspectRatio: (c.aspectRatio || "").replace(":", "/") } });
    case "icon":
      return el("img", { src: c.url, alt: "", style: { width: "1em", height: "1em" } });
    case "separator":
      return el("hr", { class: "flex-separator" });
    case "filler":
    case "spacer":
      return el("div", { style: { flex: "1", minHeight: "4px" } });
    default:
      return null;
  }
}

function showQuickReplies(items) {
  const box = $("quick-replies");
  box.replaceChildren(...items.map((item) => {
    const action = item.action || {};
    const unsupported = ["camera", "cameraRoll"].includes(action.type);
    const label = action.type === "location" && !action.label ? "位置情報" : action.label || action.text || action.type;
    return el("button", { type: "button", class: "chip", "data-testid": "quick-reply", disabled: unsupported ? "" : null, text: label, onclick: () => runAction(action) });
  }));
  box.hidden = items.length === 0;
}

function clearQuickReplies() {
  const box = $("quick-replies");
  box.replaceChildren();
  box.hidden = true;
}

function showLoading(seconds) {
  hideLoading();
  state.loadingRow = row("bot", el("div", { class: "bubble loading", "data-testid": "loading", "aria-label": "入力中" }, [el("span"), el("span"), el("span")]), Date.now(), "row-loading");
  state.loadingTimer = setTimeout(hideLoading, Math.max(5, seconds || 20) * 1000);
  scrollDown();
}

function hideLoading() {
  if (state.loadingTimer) clearTimeout(state.loadingTimer);
  state.loadingTimer = null;
  if (state.loadingRow) state.loadingRow.remove();
  state.loadingRow = null;
}

function markRead() {
  for (const mark of document.querySelectorAll(".row.user .read")) mark.textContent = "既読";
}

function onFrame(frame) {
  if (frame.kind === "delivery") renderDelivery(frame);
  else if (frame.kind === "inbound") renderInbound(frame);
  else if (frame.kind === "loading") showLoading(frame.seconds);
  else if (frame.kind === "read") markRead();
}

// ---- rich menu (what LINE shows under the chat: the user's linked menu, else the default) --------------------------

function toggleRichMenu(open) {
  const panel = $("rich-menu");
  panel.hidden = open === undefined ? !panel.hidden : !open;
  $("rich-menu-bar").setAttribute("aria-expanded", String(!panel.hidden));
}

function renderRichMenu(data) {
  const menu = data && data.menu;
  const id = menu ? menu.richMenuId : "";
  if (id === state.richMenuId) return;
  state.richMenuId = id;
  document.body.dataset.richMenu = id;
  if (!menu) {
    $("rich-menu").hidden = true;
    $("rich-menu-bar").hidden = true;
    $("rich-menu-areas").replaceChildren();
    return;
  }
  $("rich-menu-image").src = data.image;
  $("rich-menu-image").alt = menu.name || "";
  const { width, height } = menu.size;
  $("rich-menu-panel").style.aspectRatio = `${width} / ${height}`;
  const areas = menu.areas.map((area) => {
    const b = area.bounds;
    const label = area.action.label || area.action.displayText || area.action.text || area.action.type;
    return el("button", {
      type: "button", class: "rich-menu-area", "data-testid": "rich-menu-area", "aria-label": label, title: label,
      style: { left: `${(100 * b.x) / width}%`, top: `${(100 * b.y) / height}%`, width: `${(100 * b.width) / width}%`, height: `${(100 * b.height) / height}%` },
      onclick: () => runAction(area.action),
    });
  });
  $("rich-menu-areas").replaceChildren(...areas);
  $("rich-menu-bar").hidden = false;
  $("rich-menu-bar").textContent = `${menu.chatBarText} ▾`;
  toggleRichMenu(Boolean(menu.selected));
}

async function refreshRichMenu() {
  if (!state.tenant || !state.user) return;
  const url = `/_emulator/richmenu?tenant=${encodeURIComponent(state.tenant)}&user=${encodeURIComponent(state.user)}`;
  const data = await fetch(url).then((r) => r.json()).catch(() => null);
  if (data) renderRichMenu(data);
}

// ---- session ------------------------------------------------------------------------------------------------------

async function loadHistory(reset = true) {
  if (reset) {
    $("messages").replaceChildren();
    state.rendered.clear();
    clearQuickReplies();
    hideLoading();
  }
  const url = `/_emulator/conversation?tenant=${encodeURIComponent(state.tenant)}&user=${encodeURIComponent(state.user)}`;
  const frames = await fetch(url).then((r) => r.json()).catch(() => []);
  for (const frame of frames) onFrame(frame);
}

function connect() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  clearTimeout(state.wsTimer);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/_emulator/ws?tenant=${encodeURIComponent(state.tenant)}&user=${encodeURIComponent(state.user)}`);
  state.ws = ws;
  ws.onopen = () => { $("connection").classList.add("on"); document.body.dataset.connected = "true"; loadHistory(false); };
  ws.onmessage = (msg) => onFrame(JSON.parse(msg.data));
  ws.onclose = () => {
    $("connection").classList.remove("on");
    document.body.dataset.connected = "false";
    state.wsTimer = setTimeout(connect, 1000);
  };
}

function selectChat(tenant, user) {
  state.tenant = tenant;
  state.user = user;
  localStorage.setItem(STORE.tenant, tenant);
  localStorage.setItem(STORE.user, user);
  $("tenant").value = tenant;
  $("user").value = user;
  $("title").textContent = state.tenants[tenant]?.display_name || tenant;
  document.title = `${$("title").textContent} — LINE シミュレーター`;
  loadHistory(true);
  connect();
  state.richMenuId = undefined;
  refreshRichMenu();
}

async function init() {
  const list = await fetch("/_emulator/tenants").then((r) => r.json());
  for (const t of list) {
    state.tenants[t.id] = t;
    $("tenant").append(el("option", { value: t.id, text: `${t.display_name}（${t.id}）` }));
  }
  const params = new URLSearchParams(location.search);
  let tenant = params.get("tenant") || localStorage.getItem(STORE.tenant) || (list[0] && list[0].id) || "";
  if (!state.tenants[tenant] && list[0]) tenant = list[0].id;
  const user = params.get("user") || localStorage.getItem(STORE.user) || randomUserId();

  for (const place of OSAKA_PLACES) {
    $("presets").append(el("button", { type: "button", "data-testid": "location-preset", text: place.title, onclick: () => sendLocation(place) }));
  }
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value;
    $("text").value = "";
    sendText(text);
  });
  $("location-button").addEventListener("click", () => { $("location-panel").hidden = !$("location-panel").hidden; });
  $("location-close").addEventListener("click", () => { $("location-panel").hidden = true; });
  $("location-send").addEventListener("click", () => {
    const lat = parseFloat($("lat").value), lng = parseFloat($("lng").value);
    if (Number.isNaN(lat) || Number.isNaN(lng)) return system("緯度と経度を数字で入力してください。", true);
    sendLocation({ lat, lng, title: "指定した地点", address: "" });
  });
  $("image-input").addEventListener("change", () => {
    const file = $("image-input").files[0];
    $("image-input").value = "";
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) return system("画像は 5MB までです。", true);
    const reader = new FileReader();
    reader.onload = () => {
      $("location-panel").hidden = true;
      clearQuickReplies();
      send({ type: "image", data_base64: String(reader.result).split(",")[1] || "", content_type: file.type || "image/jpeg" });
    };
    reader.readAsDataURL(file);
  });
  $("tenant").addEventListener("change", () => selectChat($("tenant").value, state.user));
  $("user").addEventListener("change", () => { const u = $("user").value.trim(); if (u) selectChat(state.tenant, u); });
  $("new-user").addEventListener("click", () => selectChat(state.tenant, randomUserId()));
  $("follow").addEventListener("click", () => send({ type: "follow" }));
  $("unfollow").addEventListener("click", () => send({ type: "unfollow" }));
  $("rich-menu-bar").addEventListener("click", () => toggleRichMenu());
  setInterval(refreshRichMenu, 1500);  // the bot switches menus (disaster mode, language) without a message
  selectChat(tenant, user);
}

init();
