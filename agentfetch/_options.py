"""The fetcher settings that the SDK, the tool adapters and the CLI share: defaults,
their types and the ``AGENTFETCH_CONSENT`` switch.

Standard library only, so that the CLI can build its argument parser and an
adapter its tool definition without importing httpx.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .oauth import ConsentRequest

__all__ = [
    "CONSENT_CHOICES",
    "CONSENT_ENV",
    "DEFAULT_AUTH_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "ConsentOption",
    "HeadersOption",
    "LogSink",
    "consent_from_env",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 10_000_000
#: Seconds to wait for the human to finish the browser sign-in.
DEFAULT_AUTH_TIMEOUT = 300.0

CONSENT_CHOICES = ("allow", "deny", "ask")
#: Lets a human (or a host configuring its tools) answer consent in advance, without code.
CONSENT_ENV = "AGENTFETCH_CONSENT"

#: ``"allow"``, ``"deny"``, ``"ask"`` (a terminal prompt) or a callback that decides.
ConsentOption = str | Callable[["ConsentRequest"], "bool | Awaitable[bool]"]
#: Receives one line per request and per sign-in step (never a token).
LogSink = Callable[[str], None]
HeadersOption = Mapping[str, str] | Iterable[tuple[str, str]] | None


def consent_from_env(value: str | None = None) -> str:
    """The consent setting: ``value`` when given, else ``$AGENTFETCH_CONSENT``, else
    ``"ask"``, lower-cased and stripped. It is not checked: the CLI refuses a value
    outside :data:`CONSENT_CHOICES`, the tool adapters read it as ``"ask"``."""
    return (value or os.environ.get(CONSENT_ENV) or "ask").strip().lower()
