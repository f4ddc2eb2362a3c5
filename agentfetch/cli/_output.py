"""What every command shares: the one console, results on stdout, errors and exit codes.

Results go to stdout (pipeable); everything else (progress, traces, errors)
goes to stderr. Exit codes come from the exception tree in
:mod:`agentfetch.errors`, mapped in exactly one place: :func:`run_guarded`.

Import-light: ``agentfetch URL`` loads this module, so rich and typer are
imported only when something is printed through them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._options import CONSENT_CHOICES, CONSENT_ENV, LogSink, consent_from_env
from ..errors import AgentFetchError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "cli_consent",
    "console",
    "guarded",
    "print_error",
    "run_guarded",
    "verbose_sink",
    "write_json",
    "write_text",
]


def console() -> Console:
    """The console for people: stderr, no guessed highlighting, long lines (URLs) left whole."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def write_json(data: Any) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def write_text(text: str) -> None:
    """Text on stdout, ending with exactly the newline it has or one more."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def print_error(error: AgentFetchError, *, as_json: bool, about: str | None = None) -> None:
    """The error as one line on stderr (``about``: what it concerns, such as one URL of several),
    and with ``as_json`` as an ``error`` object on stdout."""
    if as_json:
        write_json({"error": error.to_dict()})
    from rich.markup import escape

    subject = f"{escape(about)}: " if about and about not in str(error) else ""
    console().print(f"[bold red]error:[/] {subject}{escape(str(error))}")


def run_guarded(action: Callable[[], None], *, as_json: bool = False) -> int:
    """Run a CLI action and return its exit code: every failure becomes one
    line on stderr (and an ``error`` object on stdout with ``--json``)."""
    try:
        action()
    except AgentFetchError as error:
        print_error(error, as_json=as_json)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`agentfetch URL | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the user must never see a traceback
        if os.environ.get("AGENTFETCH_DEBUG"):
            raise
        internal = AgentFetchError(f"internal error: {type(error).__name__}: {error}",
                                   hint="set AGENTFETCH_DEBUG=1 for a traceback and report it")
        print_error(internal, as_json=as_json)
        return internal.exit_code
    return 0


def guarded(action: Callable[[], None], *, as_json: bool = False) -> None:
    """:func:`run_guarded` for typer commands: a failure ends the command with its exit code."""
    code = run_guarded(action, as_json=as_json)
    if code:
        import typer

        raise typer.Exit(code)


def verbose_sink(enabled: bool) -> LogSink | None:
    """``-v``: one line on stderr per request and sign-in step; None when off."""
    if not enabled:
        return None

    def log(message: str) -> None:
        sys.stderr.write(f"· {message}\n")
        sys.stderr.flush()

    return log


def cli_consent(value: str | None) -> str:
    """``--consent``, else ``$AGENTFETCH_CONSENT``, else ``ask``; anything else is a usage error
    that names where the bad value came from."""
    consent = consent_from_env(value)
    if consent not in CONSENT_CHOICES:
        source = "--consent" if value else CONSENT_ENV
        raise UsageError(f"{source} must be allow, deny or ask, not {consent!r}")
    return consent
