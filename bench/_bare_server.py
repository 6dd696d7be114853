"""Baseline for bench/webhook.py: a bare aiohttp handler that only checks LINE's HMAC signature."""

import base64
import hashlib
import hmac
import sys

from aiohttp import web

SECRET = b"demo-secret"


async def callback(request: web.Request) -> web.Response:
    raw = await request.read()
    expected = base64.b64encode(hmac.new(SECRET, raw, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, request.headers.get("X-Line-Signature", "")):
        return web.json_response({"message": "invalid signature"}, status=403)
    return web.json_response({"ok": True})


app = web.Application(client_max_size=1024 * 1024)
app.add_routes([web.post("/callback/{tenant}", callback)])
try:  # same event loop as `civicbot serve web`, so the comparison stays fair
    import uvloop

    loop_factory = uvloop.new_event_loop
except ImportError:
    loop_factory = None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, loop=loop_factory() if loop_factory else None)
