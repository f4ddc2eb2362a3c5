"""A framework-free definition of the agentfetch tool: a JSON schema and a callable.

Every integration (the MCP server, the Python agent-framework adapters) is
built from this one definition, so a model sees the same name, description,
arguments and answer text wherever agentfetch is plugged in. Nothing heavy is
imported here: the SDK is loaded on the first call.

>>> spec = tool_spec()
>>> spec.openai_tool()["function"]["name"]
'fetch'
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._options import CONSENT_CHOICES, consent_from_env
from ..errors import (
    AgentFetchError,
    AuthorizationError,
    AuthorizationTimeout,
    ConsentRequired,
    UsageError,
)

if TYPE_CHECKING:
    from ..api import AsyncFetcher, Fetcher, FetchResult

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "PARAMETERS",
    "PARAMETER_DOCS",
    "RESULT_FIELDS",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "ToolCallError",
    "ToolOutput",
    "ToolSpec",
    "check_arguments",
    "render_error",
    "consent_setting",
    "render_result",
    "resolve_spec",
    "tool_spec",
]

#: Characters per answer by default: about 5,000 tokens, enough for most pages
#: while leaving room in a model's context for several of them.
DEFAULT_MAX_LENGTH = 20_000
TOOL_NAME = "fetch"
TOOL_DESCRIPTION = (
    "Fetch a web page or any http(s) URL and return its main content as clean Markdown. "
    "Long pages come in pieces: when the answer ends with a note that the content was cut, "
    "call again with the start_index the note gives. "
    "Pages behind a company sign-in (an identity-aware proxy) work too: agentfetch asks the "
    "human for consent and signs in on their behalf through their browser (OAuth)."
)

#: One line per argument; the MCP server's signature reuses these texts.
PARAMETER_DOCS: dict[str, str] = {
    "url": "The absolute http(s) URL to fetch.",
    "max_length": "Return at most this many characters of content.",
    "start_index": "Start at this character: use the start_index given by a previous, cut answer.",
    "raw": "Return the content as the server sent it (HTML, JSON, text) instead of Markdown.",
}

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        # No "format": "uri": some model APIs (Gemini) reject string formats they do not list.
        "url": {"type": "string", "description": PARAMETER_DOCS["url"]},
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_MAX_LENGTH,
            "description": PARAMETER_DOCS["max_length"],
        },
        "start_index": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": PARAMETER_DOCS["start_index"],
        },
        "raw": {"type": "boolean", "default": False, "description": PARAMETER_DOCS["raw"]},
    },
    "required": ["url"],
    "additionalProperties": False,
}


def render_result(result: FetchResult, *, tool_name: str = TOOL_NAME) -> str:
    """The answer a model reads: the CLI's Markdown, then how to read on when it was cut."""
    text = result.markdown.rstrip("\n")
    if result.truncated and result.next_start_index is not None:
        text += (
            f"\n\n[Content cut at character {result.next_start_index} of {result.total_length}. "
            f"Call {tool_name} again with start_index={result.next_start_index} to read on.]"
        )
    return text


#: What a structured answer carries besides the Markdown (MCP ``structuredContent``).
RESULT_FIELDS = ("url", "final_url", "status", "title", "truncated", "next_start_index", "tokens", "content_type")


def _sdk_hint(error: AgentFetchError, url: str) -> str | None:
    """The next step in terms of this tool's own options: the error's hint names the CLI's flags
    (``--consent``, ``--auth-timeout``), which mean nothing to a program that built the tool."""
    if isinstance(error, ConsentRequired):
        return (
            f"run `agentfetch auth login {url}` in a terminal, or build the tool with consent=\"allow\" "
            "(for example fetch_tool(consent=\"allow\")) to sign in without asking"
        )
    if isinstance(error, AuthorizationTimeout):
        return "finish signing in in the browser sooner, or build the tool with a longer auth_timeout (seconds)"
    return error.hint


def render_error(error: AgentFetchError, url: str, *, sdk_hints: bool = True) -> str:
    """An error as a model (and the human reading over its shoulder) should see it:
    what went wrong, and the one thing to do next. ``sdk_hints`` phrases that step with
    the tool's options (``consent="allow"``) instead of the command line's flags."""
    lines = [f"Error ({error.kind}): {error.message}"]
    hint = _sdk_hint(error, url) if sdk_hints else error.hint
    if hint:
        lines.append(f"Next step: {hint}")
    if isinstance(error, AuthorizationError) and "agentfetch auth login" not in (hint or ""):
        lines.append(
            f"To sign in by hand, the human can run `agentfetch auth login {url}` in a terminal; then call again."
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ToolOutput:
    """What one tool call produced: the text for the model, and whether it is an error."""

    text: str
    is_error: bool = False
    result: FetchResult | None = field(default=None, repr=False, compare=False)
    error: AgentFetchError | None = field(default=None, repr=False, compare=False)

    def structured(self) -> dict[str, Any] | None:
        """The result's :data:`RESULT_FIELDS` as JSON-ready data (``None`` for an error)."""
        if self.result is None:
            return None
        return {name: getattr(self.result, name) for name in RESULT_FIELDS}

    def raise_for_error(self, exception: type[Exception] | None = None) -> str:
        """The text, or (for an error) raise ``exception(text)`` (default :class:`ToolCallError`)
        from the :class:`~agentfetch.errors.AgentFetchError`: for frameworks whose tools raise."""
        if not self.is_error:
            return self.text
        raise (exception or ToolCallError)(self.text if exception else self) from self.error


class ToolCallError(Exception):
    """A failed tool call as an exception: ``str()`` is the text the model reads (what went wrong
    and what to do next), ``error`` the :class:`~agentfetch.errors.AgentFetchError` behind it."""

    def __init__(self, output: ToolOutput) -> None:
        super().__init__(output.text)
        self.output = output
        self.error = output.error


def consent_setting() -> str:
    """``$AGENTFETCH_CONSENT`` as the tools read it: ``allow``, ``deny``, else ``ask``.

    The same switch the CLI honours, so that a host can pre-approve sign-ins for
    its tools (``AGENTFETCH_CONSENT=allow``) without code; a value the CLI would
    refuse means ``ask`` here, where there is nobody to show a usage error to."""
    consent = consent_from_env()
    return consent if consent in CONSENT_CHOICES else "ask"


def check_arguments(arguments: Mapping[str, Any], parameters: Mapping[str, Any] = PARAMETERS) -> dict[str, Any]:
    """A model's arguments checked against the tool's JSON schema, defaults filled in;
    :class:`~agentfetch.errors.UsageError` says which one is wrong and why."""
    unknown = set(arguments) - set(parameters["properties"])
    if unknown:
        raise UsageError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    if "url" not in arguments:
        raise UsageError("the url argument is required")
    checked: dict[str, Any] = {}
    for name, schema in parameters["properties"].items():
        value = arguments.get(name, schema.get("default"))
        if schema["type"] == "string" and not isinstance(value, str):
            raise UsageError(f"{name} must be a string")
        if schema["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{name} must be an integer")
            if value < schema["minimum"]:
                raise UsageError(f"{name} must be at least {schema['minimum']}")
        if schema["type"] == "boolean" and not isinstance(value, bool):
            raise UsageError(f"{name} must be true or false")
        checked[name] = value
    return checked


@dataclass(frozen=True)
class ToolSpec:
    """The agentfetch tool, ready for any framework: ``name``, ``description``,
    ``parameters`` (JSON Schema) and the call itself.

    Calling it returns text for the model. A failure is text as well (see
    :func:`render_error`), because a model can act on "run agentfetch auth
    login URL" but not on a traceback; :meth:`invoke` says which it was.
    """

    name: str = TOOL_NAME
    description: str = TOOL_DESCRIPTION
    # A copy each: frameworks are free to annotate the schema they are handed.
    parameters: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(PARAMETERS))
    fetcher: Fetcher | AsyncFetcher | None = field(default=None, repr=False)
    fetcher_options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __call__(
        self, url: str, max_length: int = DEFAULT_MAX_LENGTH, start_index: int = 0, raw: bool = False
    ) -> str:
        return self.invoke({"url": url, "max_length": max_length, "start_index": start_index, "raw": raw}).text

    async def acall(
        self, url: str, max_length: int = DEFAULT_MAX_LENGTH, start_index: int = 0, raw: bool = False
    ) -> str:
        output = await self.ainvoke({"url": url, "max_length": max_length, "start_index": start_index, "raw": raw})
        return output.text

    def run(self, **arguments: Any) -> str:
        """:meth:`invoke` for frameworks that call a tool with keyword arguments."""
        return self.invoke(arguments).text

    async def arun(self, **arguments: Any) -> str:
        """:meth:`ainvoke` for frameworks that call a tool with keyword arguments."""
        return (await self.ainvoke(arguments)).text

    def invoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        """Run one call from a model's JSON arguments (synchronously)."""
        url = str(arguments.get("url", ""))
        try:
            checked = check_arguments(arguments, self.parameters)
            url = checked.pop("url")
            result = self._fetch(url, checked)
        except AgentFetchError as error:
            return ToolOutput(render_error(error, url), is_error=True, error=error)
        return ToolOutput(render_result(result, tool_name=self.name), result=result)

    async def ainvoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        """Run one call from a model's JSON arguments (asyncio)."""
        url = str(arguments.get("url", ""))
        try:
            checked = check_arguments(arguments, self.parameters)
            url = checked.pop("url")
            result = await self._afetch(url, checked)
        except AgentFetchError as error:
            return ToolOutput(render_error(error, url), is_error=True, error=error)
        return ToolOutput(render_result(result, tool_name=self.name), result=result)

    def _options(self) -> dict[str, Any]:
        return {"consent": consent_setting(), **self.fetcher_options}

    def _fetch(self, url: str, arguments: dict[str, Any]) -> FetchResult:
        from ..api import Fetcher

        if isinstance(self.fetcher, Fetcher):
            return self.fetcher.fetch(url, **arguments)
        if self.fetcher is not None:
            raise UsageError("this tool holds an AsyncFetcher: call it with acall() or ainvoke()")
        with Fetcher(**self._options()) as fetcher:
            return fetcher.fetch(url, **arguments)

    async def _afetch(self, url: str, arguments: dict[str, Any]) -> FetchResult:
        from ..api import AsyncFetcher, Fetcher

        if isinstance(self.fetcher, AsyncFetcher):
            return await self.fetcher.fetch(url, **arguments)
        if isinstance(self.fetcher, Fetcher):
            import anyio.to_thread

            sync_fetcher = self.fetcher
            return await anyio.to_thread.run_sync(lambda: sync_fetcher.fetch(url, **arguments))
        async with AsyncFetcher(**self._options()) as fetcher:
            return await fetcher.fetch(url, **arguments)

    def openai_tool(self) -> dict[str, Any]:
        """The OpenAI Chat Completions ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def anthropic_tool(self) -> dict[str, Any]:
        """The Anthropic Messages API ``tools`` entry."""
        return {"name": self.name, "description": self.description, "input_schema": self.parameters}


def tool_spec(
    fetcher: Fetcher | AsyncFetcher | None = None,
    *,
    name: str = TOOL_NAME,
    description: str = TOOL_DESCRIPTION,
    **fetcher_options: Any,
) -> ToolSpec:
    """The agentfetch tool as a framework-free definition.

    ``fetcher`` reuses one :class:`~agentfetch.Fetcher` (or ``AsyncFetcher``)
    for every call; otherwise each call builds one from ``fetcher_options``
    (``consent``, ``timeout``, ``headers``, ``open_browser``, ``interactive``...).
    ``consent`` defaults to ``$AGENTFETCH_CONSENT``, else ``"ask"``.
    """
    if fetcher is not None and fetcher_options:
        raise UsageError("pass either a fetcher or fetcher options, not both")
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise UsageError(f"tool name must be letters, digits, '_' or '-', not {name!r}")
    return ToolSpec(name=name, description=description, fetcher=fetcher, fetcher_options=dict(fetcher_options))


def resolve_spec(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> ToolSpec:
    """What an adapter's ``fetch_tool(spec_or_fetcher, **options)`` is built on: a ready
    :class:`ToolSpec`, or :func:`tool_spec` of a fetcher and/or options
    (``fetch_tool(consent="allow")``)."""
    if isinstance(spec, ToolSpec):
        if options:
            raise UsageError("pass either a ToolSpec or tool_spec() options, not both")
        return spec
    return tool_spec(spec, **options)
