"""docs/DEPLOY.md followed: its nginx site (basic auth, WebSocket upgrade, upload size) in front of
`streamlit run app.py` on 127.0.0.1 with AVLAB_RESTRICT=1, driven through the proxy with plain HTTP and
Debian's Chromium. Skips where nginx is not installed (`apt-get install nginx`)."""
from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import _free_port, streamlit_server, wait_idle

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER, PASSWORD = "alice", "correct horse battery staple"


def site_from_docs(port: int, upstream: int, users: Path) -> str:
    """The ```nginx block of docs/DEPLOY.md with this test's ports and password file."""
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    block = re.search(r"```nginx\n(.*?)```", text, re.S).group(1)
    block = block.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    block = block.replace("http://127.0.0.1:8501", f"http://127.0.0.1:{upstream}")
    assert "/etc/nginx/avlab.htpasswd" in block
    return block.replace("/etc/nginx/avlab.htpasswd", str(users))


@pytest.fixture()
def proxied(tmp_path):
    """(proxy URL, streamlit URL): nginx as DEPLOY.md configures it, in front of a restricted dashboard."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx); docs/DEPLOY.md's proxy is not tested")
    hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True,
                            check=True).stdout.strip()  # the command DEPLOY.md gives
    users = tmp_path / "avlab.htpasswd"
    users.write_text(f"{USER}:{hashed}\n")
    port = _free_port()
    with streamlit_server(tmp_path / "streamlit.log", env={"AVLAB_RESTRICT": "1"}) as upstream:
        conf = tmp_path / "nginx.conf"
        temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for folder in temp.values():
            folder.mkdir()
        conf.write_text(
            f"daemon off;\nmaster_process off;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
            "events {}\nhttp {\n"
            f"  access_log {tmp_path / 'access.log'};\n  client_body_temp_path {temp['body']};\n"
            f"  proxy_temp_path {temp['proxy']};\n  fastcgi_temp_path {temp['fastcgi']};\n"
            f"  uwsgi_temp_path {temp['uwsgi']};\n  scgi_temp_path {temp['scgi']};\n"
            + site_from_docs(port, int(upstream.rsplit(":", 1)[1]), users) + "}\n")
        proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            for _ in range(100):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)  # polling the port until nginx listens
                assert proc.poll() is None, (tmp_path / "error.log").read_text()
            yield f"http://127.0.0.1:{port}", upstream
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _get(url: str, auth: bool) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _websocket_handshake(url: str) -> str:
    """The status line nginx answers to a WebSocket upgrade of /_stcore/stream (with the password)."""
    host, port = url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {url}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n"
                   f"Authorization: Basic {auth}\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_deploy_md_proxy_with_password_websocket_and_restricted_data(proxied, browser, tmp_path):
    url, _ = proxied
    assert _get(url + "/", auth=False)[0] == 401  # nothing without the password
    assert _get(url + "/_stcore/health", auth=False)[0] == 401
    status, body = _get(url + "/", auth=True)
    assert status == 200 and b"id=\"root\"" in body
    assert _get(url + "/_stcore/health", auth=True) == (200, b"ok")
    assert _websocket_handshake(url) == "HTTP/1.1 101 Switching Protocols"

    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  http_credentials={"username": USER, "password": PASSWORD})
    try:
        page = context.new_page()
        page.goto(url)
        wait_idle(page, timeout_ms=120_000)  # the script runs over the WebSocket, through nginx
        page.get_by_role("heading", name="avlab").first.wait_for(timeout=60_000)
        # restricted: a folder outside the roots is one sentence that shows nothing of it
        box = page.get_by_label(re.compile("^Data source"))
        box.fill("/etc")
        box.press("Enter")
        wait_idle(page)
        page.get_by_text("This server reads data only from its allowed folders").wait_for(timeout=60_000)
        assert "passwd" not in page.content()
        # an upload through the proxy (multipart POST to /_stcore/upload_file), then one over the limit
        page.locator("[data-testid='stSidebarNav']").get_by_text("Predict", exact=True).click()
        page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
        wait_idle(page)
        clip = next(p for p in sorted((ROOT / "sample_data").rglob("*.mp4")) if "long" not in p.name)
        page.locator("[class*='st-key-predict_upload'] input[type='file']").set_input_files(str(clip))
        page.get_by_text(f"Current clip: {clip.name}").wait_for(timeout=120_000)
        wait_idle(page)
        big = tmp_path / "big.mp4"
        with open(big, "wb") as f:
            f.truncate(50 * 2**20 + 1)
        page.locator("[class*='st-key-predict_upload'] input[type='file']").set_input_files(str(big))
        page.get_by_text("File must be 50.0MB or smaller.").wait_for(timeout=60_000)
    finally:
        context.close()
