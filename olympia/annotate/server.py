"""Start and stop a local Label Studio server from its own virtual environment.

The server package pins many dependencies of its own (Django, numpy 2, ...), so it lives in a
separate venv (`make labelstudio` builds `.venv-ls` from annotations/label-studio.lock);
$OLYMPIA_LABEL_STUDIO_VENV points at it, default <repo>/.venv-ls.

Videos are served by Label Studio's local-files storage: LOCAL_FILES_DOCUMENT_ROOT is the
*parent* of the videos folder because Label Studio refuses a storage path equal to the root;
the project's storage then covers exactly the videos folder, and nothing else is served.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from olympia.annotate.config import ENV_TOKEN, REPO_ROOT
from olympia.errors import ConfigError

ENV_VENV = "OLYMPIA_LABEL_STUDIO_VENV"
DEFAULT_DATA_DIR = REPO_ROOT / "work" / "labelstudio"
DEFAULT_VIDEOS_ROOT = REPO_ROOT / "work" / "videos" / "normalized"
_BARE_LS_VARS = {"HOST", "PORT", "USERNAME", "PASSWORD", "USER_TOKEN", "LABEL_STUDIO_USERNAME",
                 "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"}
_STARTED = re.compile(r"Starting development server at https?://[^:/\s]+:(\d+)/")


def server_venv() -> Path:
    return Path(os.environ.get(ENV_VENV) or REPO_ROOT / ".venv-ls")


def label_studio_executable() -> Path:
    """The `label-studio` script of the server venv; ConfigError naming the fix when absent."""
    exe = server_venv() / "bin" / "label-studio"
    if not os.access(exe, os.X_OK):
        raise ConfigError(f"Label Studio server not installed: {exe} is missing; run "
                          f"`make labelstudio` (builds {server_venv()} from "
                          f"annotations/label-studio.lock) or set ${ENV_VENV}")
    return exe


@dataclass
class ServerSettings:
    data_dir: Path = DEFAULT_DATA_DIR        # Label Studio database + uploads (under work/)
    videos_root: Path = DEFAULT_VIDEOS_ROOT  # normalized videos, served via local-files storage
    host: str = "127.0.0.1"                  # bind address; loopback unless you mean to share it
    port: int = 8080
    username: str | None = None              # bootstrap admin e-mail (tests, scripted setups)
    password: str | None = None
    user_token: str | None = None            # legacy API token given to that admin
    enable_legacy_token: bool = False        # LS >= 1.20 disables legacy tokens by default


def document_root(videos_root: Path) -> Path:
    return Path(videos_root).resolve().parent


def server_command(settings: ServerSettings) -> list[str]:
    cmd = [str(label_studio_executable()), "start", "--no-browser",
           "--data-dir", str(Path(settings.data_dir).resolve()),
           "--internal-host", settings.host, "--port", str(int(settings.port))]
    if settings.enable_legacy_token:
        cmd.append("--enable-legacy-api-token")
    return cmd


def server_env(settings: ServerSettings) -> dict[str, str]:
    """Environment for the server: local-files serving of the videos' folder, no phoning home.
    Credentials go through the environment, not argv, so `ps` does not show them."""
    # Label Studio also reads bare HOST/PORT/USERNAME/PASSWORD (zsh sets HOST): drop those, and
    # our own API token, which the server has no business seeing.
    env = {k: v for k, v in os.environ.items() if k not in _BARE_LS_VARS and k != ENV_TOKEN}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(Path(settings.data_dir).resolve()),
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(document_root(settings.videos_root)),
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",
    })
    for key, value in (("USERNAME", settings.username), ("PASSWORD", settings.password),
                       ("USER_TOKEN", settings.user_token)):
        if value:
            env[f"LABEL_STUDIO_{key}"] = value
    return env


def prepare_dirs(settings: ServerSettings) -> None:
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)  # the database holds users and tokens
    Path(settings.videos_root).mkdir(parents=True, exist_ok=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stopped(Exception):
    def __init__(self, signum: int):
        self.signum = signum


def _raise_stopped(signum, frame):
    raise _Stopped(signum)


def stop_process_group(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGINT to the server's process group (the dev server and its children), SIGKILL if it
    has not exited after `timeout` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_server(settings: ServerSettings) -> int:
    """Run Label Studio in the foreground until it exits or this process gets SIGINT (Ctrl-C),
    SIGTERM or SIGHUP, which stop the server's whole process group: no orphaned server keeps
    the port and the database. Returns the server's exit code, or 128 + the signal number."""
    prepare_dirs(settings)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in STOP_SIGNALS}
    proc = None
    try:
        # its own session: a terminal's Ctrl-C reaches us, and we stop the server's group
        proc = subprocess.Popen(server_command(settings), env=server_env(settings),
                                start_new_session=True)
        return proc.wait()
    except _Stopped as stop:
        return 128 + stop.signum
    finally:
        for sig in STOP_SIGNALS:        # a second signal during the stop must not interrupt it
            signal.signal(sig, signal.SIG_IGN)
        if proc is not None:
            stop_process_group(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class LabelStudioServer:
    """A background Label Studio process (tests, scripts). Use as a context manager."""

    def __init__(self, settings: ServerSettings, log_path: Path):
        self.settings, self.log_path = settings, Path(log_path)
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self, timeout: float = 180.0) -> "LabelStudioServer":
        prepare_dirs(self.settings)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(server_command(self.settings), env=server_env(self.settings),
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ConfigError(f"Label Studio exited with code {self.proc.returncode} while "
                                  f"starting; log {self.log_path}:\n{self._log_tail()}")
            if self.url is None:
                # Label Studio silently moves to the next free port when the asked one is taken:
                # trust the port it reports, not the one we asked for.
                found = _STARTED.search(self.log_path.read_text(errors="replace"))
                if found:
                    self.url = f"http://{self.settings.host}:{found.group(1)}"
            if self.url and is_healthy(self.url):
                return
            time.sleep(0.5)
        raise ConfigError(f"Label Studio did not answer within {timeout:.0f} s; log "
                          f"{self.log_path}:\n{self._log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False
