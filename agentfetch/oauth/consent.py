"""Asking the human before any browser opens."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .._terminal import escape_controls
from ..errors import ConsentRequired, UsageError

__all__ = ["ConsentRequest", "ConsentCallback", "default_consent", "consent_required_error"]


@dataclass(frozen=True)
class ConsentRequest:
    resource: str
    authorization_server: str
    scopes: list[str] = field(default_factory=list)
    client_name: str = "agentfetch"
    user_hint: str | None = None

    # Every field but the client name comes from a server (PRM, AS metadata):
    # what the human reads is escaped, so ESC sequences and bidi overrides
    # can neither act on the terminal nor disguise the host being approved.
    def prompt_text(self) -> str:
        """``Allow agentfetch to access docs.example.com as you?``"""
        try:
            host = urlsplit(self.resource).netloc or self.resource
        except ValueError:
            host = self.resource
        return escape_controls(f"Allow {self.client_name} to access {host} as you?")

    def details(self) -> str:
        scopes = " ".join(self.scopes) if self.scopes else "(server default)"
        return "\n".join(
            escape_controls(line)
            for line in (
                f"resource: {self.resource}",
                f"authorization server: {self.authorization_server}",
                f"scopes: {scopes}",
            )
        )


ConsentCallback = Callable[[ConsentRequest], "bool | Awaitable[bool]"]


def consent_required_error(resource: str) -> ConsentRequired:
    return ConsentRequired(
        f"authorization for {resource} needs your consent, and nobody can be asked here",
        hint=f"run `agentfetch auth login {resource}` in a terminal, or pass `--consent allow`",
    )


def default_consent(mode: str = "ask") -> Callable[[ConsentRequest], bool]:
    """``allow`` and ``deny`` answer without asking; ``ask`` asks on a TTY
    (rich, on stderr, default No) and raises ConsentRequired when stdin is not one."""
    if mode == "allow":
        return lambda request: True
    if mode == "deny":
        return lambda request: False
    if mode != "ask":
        raise UsageError(f"consent mode must be allow, deny or ask, not {mode!r}")

    def ask(request: ConsentRequest) -> bool:
        stdin = sys.stdin
        if stdin is None or not stdin.isatty():
            raise consent_required_error(request.resource)
        from rich.console import Console
        from rich.text import Text

        console = Console(stderr=True)
        console.print(request.details(), style="dim", highlight=False, markup=False)
        prompt = Text(request.prompt_text(), style="bold") + Text(" [y/N] ")
        try:
            answer = console.input(prompt)
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask
