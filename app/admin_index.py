"""`/admin`: the staff landing page linking the rooms' pages (each page checks login and role itself)."""

from __future__ import annotations

from aiohttp import web

PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>civicbot 管理</title>
<style>body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.7}
a{display:block;padding:.8rem 1rem;margin:.5rem 0;border:1px solid #ccd;border-radius:.5rem;text-decoration:none;color:#064}
a:focus,a:hover{background:#eef8f1}small{color:#555}</style></head><body>
<h1>civicbot 管理メニュー</h1>
<a href="/console">相談コンソール <small>（相談員・スーパーバイザー）</small></a>
<a href="/admin/faq/">よくある質問（FAQ）の編集 <small>（編集者・管理者）</small></a>
<a href="/admin/garbage/">ごみ分別・収集日の編集 <small>（編集者・管理者）</small></a>
<a href="/admin/broadcasts/">配信の作成・予約 <small>（管理者・スーパーバイザー）</small></a>
<a href="/admin/alerts/">気象庁の訓練・受信できなかった電文 <small>（管理者・スーパーバイザー）</small></a>
<a href="/admin/notices/">防犯・不審者情報の確認 <small>（管理者・スーパーバイザー）</small></a>
<a href="/admin/crisis-review/">危険の見逃し・誤報の確認 <small>（管理者・スーパーバイザー）</small></a>
<a href="/admin/disaster/">災害時モード・避難所の開設状況 <small>（編集者・相談員・管理者・スーパーバイザー）</small></a>
<a href="/admin/reports/">住民からの通報（道路・街灯・公園など） <small>（編集者・管理者・スーパーバイザー・閲覧者）</small></a>
<a href="/staff/audit">監査ログ <small>（管理者・スーパーバイザー）</small></a>
<a href="/dashboard">公開ダッシュボード <small>（どなたでも）</small></a>
</body></html>"""


async def admin_index(request: web.Request) -> web.Response:
    return web.Response(
        text=PAGE, content_type="text/html", headers={"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"}
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/admin", admin_index), web.get("/admin/", admin_index)]
