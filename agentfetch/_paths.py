"""Where agentfetch keeps its files.

``AGENTFETCH_HOME`` overrides every directory (tests, portable setups); otherwise
platformdirs gives the platform's usual places. platformdirs is imported lazily
because the cached-fetch hot path only needs it when the store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "agentfetch"


def _home_override() -> Path | None:
    home = os.environ.get("AGENTFETCH_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """Store index, file-backed secrets, metadata cache, locks."""
    home = _home_override()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """``config.toml``: per-issuer client ids and other user settings."""
    home = _home_override()
    if home is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """Logs and other state that may be thrown away."""
    home = _home_override()
    if home is not None:
        return home / "state"
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
