"""``config.toml`` in the config directory (under ``AGENTFETCH_HOME`` when set): read once per
use, with errors that name the file and the line. Standard library only.

Sections: ``[client]`` and ``[issuers."…"]`` (client identity, :mod:`agentfetch.oauth`) and
``[[credentials]]`` (hosts without managed OAuth, :mod:`agentfetch._credentials`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._paths import config_dir
from .errors import UsageError

__all__ = ["config_file", "load_config", "table_line"]


def config_file() -> Path:
    return config_dir() / "config.toml"


def load_config() -> dict[str, Any]:
    """The parsed file, ``{}`` when there is none; :class:`UsageError` naming the file and line
    (tomllib's message carries them) when it is not valid TOML or cannot be read."""
    path = config_file()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return {}  # no file (or no directory where one could be): nothing configured
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    import tomllib  # only when there is a file: most runs have none, and every fetch asks

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


def table_line(header: str, occurrence: int) -> int | None:
    """The line (1-based) of the ``occurrence``-th (1-based) ``[[header]]`` in the file, so that an
    error about an entry's content can point at it; None when it cannot be found."""
    try:
        lines = config_file().read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    seen = 0
    for number, line in enumerate(lines, 1):
        if line.strip().replace(" ", "").startswith(f"[[{header}]]"):
            seen += 1
            if seen == occurrence:
                return number
    return None
