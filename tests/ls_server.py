"""A real Label Studio server for the tests, one per session: started from the server venv
(`make labelstudio`) on 127.0.0.1, a free port, a temporary data dir, an admin user with a
legacy API token enabled for the test organization; plus tiny 25 fps test videos.

Missing server venv is a FAILURE naming the fix, never a silent skip: `make test` builds it."""
from __future__ import annotations

import secrets
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from olympia.annotate.config import LabelStudioConfig
from olympia.annotate.server import LabelStudioServer, ServerSettings, server_venv


@dataclass
class LiveServer:
    url: str
    token: str
    videos_root: Path          # served through local-files storage (document root = its parent)
    log: Path

    def config(self, token: str | None = None, url: str | None = None) -> LabelStudioConfig:
        return LabelStudioConfig(url or self.url, token or self.token, "test")

    def client(self):
        from label_studio_sdk import LabelStudio
        return LabelStudio(base_url=self.url, api_key=self.token)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_test_video(dst: Path, seconds: float, src_fps: int = 30) -> Path:
    """A synthetic `src_fps` clip (ffmpeg testsrc) normalized to 25 fps by the video pipeline."""
    from olympia.video.ffmpeg_ops import normalize_video

    raw = dst.with_suffix(".raw.mp4")
    raw.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=160x120:rate={src_fps}", "-t", str(seconds),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(raw)], check=True)
    normalize_video(raw, dst)
    raw.unlink()
    return dst


def start_live_server(root: Path):
    exe = server_venv() / "bin" / "label-studio"
    if not exe.exists():
        pytest.fail(f"Label Studio server venv missing ({exe}): run `make labelstudio` "
                    "(`make test` builds it) or set OLYMPIA_LABEL_STUDIO_VENV", pytrace=False)
    token = secrets.token_hex(20)
    settings = ServerSettings(data_dir=root / "data", videos_root=root / "videos", port=free_port(),
                              username="admin@olympia.test", password=secrets.token_urlsafe(16),
                              user_token=token, enable_legacy_token=True)
    server = LabelStudioServer(settings, root / "server.log").start(timeout=300)
    return server, LiveServer(server.url, token, settings.videos_root, root / "server.log")
