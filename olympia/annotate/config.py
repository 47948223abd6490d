"""Where the Label Studio server is and how to authenticate, read from the environment or from a
config file OUTSIDE the repository. The token is never logged, printed or written anywhere by
Olympia: `LabelStudioConfig.__repr__` masks it.

Precedence (first set wins):
  url:   explicit argument > $OLYMPIA_LS_URL > `url` in the config file > http://127.0.0.1:8080
  token: explicit argument > $OLYMPIA_LS_TOKEN > `token` in the config file

Config file: $OLYMPIA_LS_CONFIG, else $XDG_CONFIG_HOME/olympia/labelstudio.toml
(default ~/.config/olympia/labelstudio.toml), TOML:

    url = "http://127.0.0.1:8080"
    token = "<legacy API token or personal access token>"

The file must not live inside the repository (it would be one `git add` away from being
published) and must not be readable by other users (chmod 600).
"""
from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from olympia.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "http://127.0.0.1:8080"
ENV_URL = "OLYMPIA_LS_URL"
ENV_TOKEN = "OLYMPIA_LS_TOKEN"
ENV_CONFIG = "OLYMPIA_LS_CONFIG"
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class LabelStudioConfig:
    url: str                                   # server base URL, http(s)://host:port, no trailing slash
    token: str = field(repr=False)             # legacy API token or personal access token (JWT)
    source: str = ""                           # where the token came from (for messages; never the value)

    def __repr__(self) -> str:
        return f"LabelStudioConfig(url={self.url!r}, token=<hidden, from {self.source or 'argument'}>)"


def default_config_path() -> Path:
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "olympia" / "labelstudio.toml"


def _inside_repo(path: Path) -> bool:
    try:
        path.resolve().relative_to(REPO_ROOT)
        return True
    except ValueError:
        return False


def read_config_file(path: Path) -> dict:
    """Parsed TOML of the config file, or {} when it does not exist."""
    if not path.is_file():
        return {}
    if _inside_repo(path):
        raise ConfigError(f"{path}: the Label Studio config file lies inside the repository "
                          f"({REPO_ROOT}); move it to {Path.home() / '.config/olympia/labelstudio.toml'} "
                          "so the token can never be committed")
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        raise ConfigError(f"{path}: readable by other users (mode {stat.filemode(mode)}); "
                          f"it holds an API token: run `chmod 600 {path}`")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); expected lines like url = \"...\" "
                          "and token = \"...\"") from None
    for key in ("url", "token"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: `{key}` must be a string, got {type(data[key]).__name__}")
    return data


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Label Studio URL {url!r} is not an http(s)://host:port URL; "
                          f"set --url or ${ENV_URL}, e.g. {DEFAULT_URL}")
    return url.strip().rstrip("/")


def check_token(token: str, source: str) -> str:
    token = token.strip()
    if not token:
        raise ConfigError(f"no Label Studio API token: set ${ENV_TOKEN} or `token` in "
                          f"{default_config_path()} (Label Studio > Account & Settings > "
                          "Personal Access Token)")
    if len(token) > MAX_TOKEN_CHARS or any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(f"the Label Studio token from {source} is malformed (whitespace, control "
                          "characters or too long); copy it again from Account & Settings")
    return token


def load_config(url: str | None = None, token: str | None = None,
                config_path: Path | None = None) -> LabelStudioConfig:
    """Resolve the server URL and token (see the module docstring for precedence)."""
    path = Path(config_path) if config_path else default_config_path()
    file_data = read_config_file(path)
    resolved_url = url or os.environ.get(ENV_URL) or file_data.get("url") or DEFAULT_URL
    if token:
        resolved_token, source = token, "argument"
    elif os.environ.get(ENV_TOKEN):
        resolved_token, source = os.environ[ENV_TOKEN], f"${ENV_TOKEN}"
    else:
        resolved_token, source = file_data.get("token", ""), str(path)
    return LabelStudioConfig(check_url(resolved_url), check_token(resolved_token, source), source)
