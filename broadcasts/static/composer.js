// Audience preview of the broadcast composer: asks the server how many people the segment in the form reaches.
// A file, not an inline script: every staff page runs under a CSP without 'unsafe-inline' scripts.
document.getElementById("preview")?.addEventListener("click", async () => {
  const form = document.getElementById("compose");
  const out = document.getElementById("audience-size");
  out.textContent = "確認中…";
  const body = new URLSearchParams(new FormData(form));
  const resp = await fetch(form.dataset.preview, {method: "POST", body, headers: {"X-CSRF-Token": body.get("csrf_token")}});
  if (!resp.ok) { out.textContent = "確認できませんでした"; return; }
  const data = await resp.json();
  out.textContent = data.size + "人に届きます" + (data.needs_approval ? "（承認が必要です）" : "");
});
