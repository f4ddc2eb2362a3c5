"""A framework-free definition of the agentfetch tools: a JSON schema and a callable each.

Three tools: ``fetch`` (read a page as Markdown), ``http_request`` (a method,
headers and a body, as the human: an action hosts should confirm) and
``discover_apis`` (the APIs a host lists, RFC 9727). Every integration (the MCP
server, the Python agent-framework adapters) is built from these definitions,
so a model sees the same names, descriptions, arguments and answer texts
wherever agentfetch is plugged in. Nothing heavy is imported here: the SDK is
loaded on the first call.

>>> spec = tool_spec()
>>> spec.openai_tool()["function"]["name"]
'fetch'
>>> tool_spec(tool="http_request").parameters["required"]
['method', 'url']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
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
    "DISCOVER_APIS_DESCRIPTION",
    "DISCOVER_APIS_NAME",
    "DISCOVER_APIS_PARAMETERS",
    "HTTP_REQUEST_DESCRIPTION",
    "HTTP_REQUEST_NAME",
    "HTTP_REQUEST_PARAMETERS",
    "TOOLS",
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
    "tool_specs",
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


HTTP_REQUEST_NAME = "http_request"
HTTP_REQUEST_DESCRIPTION = (
    "Send an HTTP request (GET, POST, PUT, PATCH, DELETE...) with optional headers and a body to an http(s) "
    "URL, typically an internal API, and return the status, the main response headers and the body (JSON "
    "pretty-printed). It acts as the human, with their sign-in: a POST, PUT or DELETE changes things in their "
    "name, so ask before each call that does. A sign-in challenge is handled as by fetch (consent, browser) "
    "and the same request is sent once more; nothing else is retried. Use discover_apis first to learn a "
    "host's API and the scopes each operation needs."
)
DISCOVER_APIS_NAME = "discover_apis"
DISCOVER_APIS_DESCRIPTION = (
    "List the APIs a host offers, from its RFC 9727 API catalog (/.well-known/api-catalog, or the one a page "
    "links): each API's URL, title, machine-readable description (OpenAPI), documentation and status links. "
    "With describe=true, also summarise each OpenAPI description: servers, then every operation with its "
    "method, path, parameters, request body and the scopes it needs. Then call the API with http_request."
)

#: The arguments of ``http_request`` and ``discover_apis`` beyond those of ``fetch``.
PARAMETER_DOCS.update({
    "method": "The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or another.",
    "headers": "Request headers, name to value (for example Content-Type). Never put credentials here: "
               "agentfetch signs in as the human itself.",
    "body": "The request body as text; sent as application/json when it is valid JSON and headers name no "
            "Content-Type.",
    "describe": "Also fetch and summarise each API's OpenAPI description.",
})

_PAGING = {name: PARAMETERS["properties"][name] for name in ("max_length", "start_index")}

HTTP_REQUEST_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "description": PARAMETER_DOCS["method"]},
        "url": {"type": "string", "description": "The absolute http(s) URL to send the request to."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": PARAMETER_DOCS["headers"]},
        "body": {"type": "string", "description": PARAMETER_DOCS["body"]},
        **_PAGING,
        "raw": {"type": "boolean", "default": False, "description": "Return the body exactly as the server sent it."},
    },
    "required": ["method", "url"],
    "additionalProperties": False,
}

DISCOVER_APIS_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "description": "The host (https://host/), one of its pages, or its catalog's URL."},
        "describe": {"type": "boolean", "default": False, "description": PARAMETER_DOCS["describe"]},
        **_PAGING,
    },
    "required": ["url"],
    "additionalProperties": False,
}

#: Every tool by name: its description and its arguments' JSON schema.
TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    TOOL_NAME: (TOOL_DESCRIPTION, PARAMETERS),
    HTTP_REQUEST_NAME: (HTTP_REQUEST_DESCRIPTION, HTTP_REQUEST_PARAMETERS),
    DISCOVER_APIS_NAME: (DISCOVER_APIS_DESCRIPTION, DISCOVER_APIS_PARAMETERS),
}

#: The response headers an ``http_request`` answer shows (all of them are in ``ToolOutput.result``).
SHOWN_HEADERS = ("content-type", "location", "etag", "last-modified", "retry-after", "www-authenticate")


def _with_note(text: str, truncated: bool, next_start_index: int | None, total_length: int, tool_name: str) -> str:
    text = text.rstrip("\n")
    if truncated and next_start_index is not None:
        text += (
            f"\n\n[Content cut at character {next_start_index} of {total_length}. "
            f"Call {tool_name} again with start_index={next_start_index} to read on.]"
        )
    return text


def render_result(result: FetchResult, *, tool_name: str = TOOL_NAME) -> str:
    """The answer a model reads: the CLI's Markdown, then how to read on when it was cut."""
    return _with_note(result.markdown, result.truncated, result.next_start_index, result.total_length, tool_name)


def render_response(result: FetchResult, *, tool_name: str = HTTP_REQUEST_NAME) -> str:
    """An ``http_request`` answer: the status line, the headers that matter, then the body."""
    from http import HTTPStatus

    try:
        reason = HTTPStatus(result.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP {result.status} {reason}".rstrip()]
    if result.final_url != result.url:
        lines.append(f"(answered by {result.final_url} after redirects)")
    lines += [f"{name}: {value}" for name in SHOWN_HEADERS for value in result.header_values(name)]
    body = render_result(result, tool_name=tool_name)
    return "\n".join(lines) + ("\n\n" + body if body else "")


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
    #: A :class:`~agentfetch.FetchResult` (``fetch``, ``http_request``) or an
    #: :class:`~agentfetch.ApiCatalog` (``discover_apis``).
    result: Any = field(default=None, repr=False, compare=False)
    error: AgentFetchError | None = field(default=None, repr=False, compare=False)

    def structured(self) -> dict[str, Any] | None:
        """The result as JSON-ready data: a page's :data:`RESULT_FIELDS` (an answer's also with
        ``method`` and ``headers``), a catalog's ``to_dict()``; ``None`` for an error."""
        if self.result is None or (self.is_error and self.error is not None):
            return None
        if not hasattr(self.result, "markdown"):
            return self.result.to_dict()  # type: ignore[no-any-return]
        data = {name: getattr(self.result, name) for name in RESULT_FIELDS}
        if self.result.method is not None:
            data |= {"method": self.result.method, "headers": self.result.headers_dict()}
        return data

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
    required = parameters.get("required", ["url"])
    for name in required:
        if name not in arguments:
            raise UsageError(f"the {name} argument is required")
    checked: dict[str, Any] = {}
    for name, schema in parameters["properties"].items():
        value = arguments.get(name, schema.get("default"))
        if value is None and name not in required and "default" not in schema:
            checked[name] = None  # an optional argument left out (headers, body)
            continue
        if schema["type"] == "object" and not (
            isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            raise UsageError(f"{name} must be an object of strings")
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
    """One agentfetch tool, ready for any framework: ``name``, ``description``,
    ``parameters`` (JSON Schema) and the call itself; ``tool`` says which of
    :data:`TOOLS` it is (``fetch`` unless told).

    Calling it returns text for the model. A failure is text as well (see
    :func:`render_error`), because a model can act on "run agentfetch auth
    login URL" but not on a traceback; :meth:`invoke` says which it was.
    """

    name: str = ""
    description: str = ""
    # A copy each: frameworks are free to annotate the schema they are handed.
    parameters: dict[str, Any] = field(default_factory=dict)
    fetcher: Fetcher | AsyncFetcher | None = field(default=None, repr=False)
    fetcher_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    tool: str = TOOL_NAME

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise UsageError(f"unknown tool {self.tool!r}; the tools are {', '.join(TOOLS)}")
        description, parameters = TOOLS[self.tool]
        for name, value in (("name", self.tool), ("description", description),
                            ("parameters", copy.deepcopy(parameters))):
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    def __call__(self, url: str, **arguments: Any) -> str:
        return self.invoke({"url": url, **arguments}).text

    async def acall(self, url: str, **arguments: Any) -> str:
        return (await self.ainvoke({"url": url, **arguments})).text

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
            result = self._sync(lambda fetcher: self._call(fetcher, url, checked))
        except AgentFetchError as error:
            return ToolOutput(render_error(error, url), is_error=True, error=error)
        return self._output(result, url, checked)

    async def ainvoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        """Run one call from a model's JSON arguments (asyncio)."""
        url = str(arguments.get("url", ""))
        try:
            checked = check_arguments(arguments, self.parameters)
            url = checked.pop("url")
            result = await self._async(url, checked)
        except AgentFetchError as error:
            return ToolOutput(render_error(error, url), is_error=True, error=error)
        return self._output(result, url, checked)

    # -- the three operations ------------------------------------------------------------------

    def _call(self, fetcher: Fetcher, url: str, arguments: dict[str, Any]) -> Any:
        if self.tool == HTTP_REQUEST_NAME:
            return fetcher.request(url=url, **_request_arguments(arguments))
        if self.tool == DISCOVER_APIS_NAME:
            from ..apis import discover_apis

            return discover_apis(url, describe=arguments["describe"], fetcher=fetcher)
        return fetcher.fetch(url, **arguments)

    async def _acall(self, fetcher: AsyncFetcher, url: str, arguments: dict[str, Any]) -> Any:
        if self.tool == HTTP_REQUEST_NAME:
            return await fetcher.request(url=url, **_request_arguments(arguments))
        if self.tool == DISCOVER_APIS_NAME:
            from ..apis import adiscover_apis

            return await adiscover_apis(url, describe=arguments["describe"], fetcher=fetcher)
        return await fetcher.fetch(url, **arguments)

    def _output(self, result: Any, url: str, arguments: dict[str, Any]) -> ToolOutput:
        if self.tool == DISCOVER_APIS_NAME:
            from ..content import paginate

            page = paginate(result.to_markdown(), arguments["start_index"], arguments["max_length"])
            text = _with_note(page.text, page.truncated, page.next_start_index, page.total_length, self.name)
            return ToolOutput(text, result=result)
        if self.tool == HTTP_REQUEST_NAME:
            text = render_response(result, tool_name=self.name)
            error = result.status_error()
            if isinstance(error, AuthorizationError):
                text += "\n\n" + render_error(error, url)
            return ToolOutput(text, is_error=error is not None, result=result, error=error)
        return ToolOutput(render_result(result, tool_name=self.name), result=result)

    # -- which fetcher -------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        return {"consent": consent_setting(), **self.fetcher_options}

    def _sync(self, call: Callable[[Fetcher], Any]) -> Any:
        from ..api import Fetcher

        if isinstance(self.fetcher, Fetcher):
            return call(self.fetcher)
        if self.fetcher is not None:
            raise UsageError("this tool holds an AsyncFetcher: call it with acall() or ainvoke()")
        with Fetcher(**self._options()) as fetcher:
            return call(fetcher)

    async def _async(self, url: str, arguments: dict[str, Any]) -> Any:
        from ..api import AsyncFetcher, Fetcher

        if isinstance(self.fetcher, AsyncFetcher):
            return await self._acall(self.fetcher, url, arguments)
        if isinstance(self.fetcher, Fetcher):
            import anyio.to_thread

            sync_fetcher = self.fetcher
            return await anyio.to_thread.run_sync(lambda: self._call(sync_fetcher, url, arguments))
        async with AsyncFetcher(**self._options()) as fetcher:
            return await self._acall(fetcher, url, arguments)

    def openai_tool(self) -> dict[str, Any]:
        """The OpenAI Chat Completions ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def anthropic_tool(self) -> dict[str, Any]:
        """The Anthropic Messages API ``tools`` entry."""
        return {"name": self.name, "description": self.description, "input_schema": self.parameters}


def _request_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """``http_request``'s arguments as :meth:`~agentfetch.Fetcher.request` takes them."""
    import json

    headers = dict(arguments.get("headers") or {})
    body = arguments.get("body")
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        try:
            json.loads(body)
        except ValueError:
            pass
        else:
            headers["Content-Type"] = "application/json"
    return {
        "method": arguments["method"],
        "content": body,
        "headers": headers,
        "max_length": arguments["max_length"],
        "start_index": arguments["start_index"],
        "raw": arguments["raw"],
    }


def tool_spec(
    fetcher: Fetcher | AsyncFetcher | None = None,
    *,
    tool: str = TOOL_NAME,
    name: str | None = None,
    description: str | None = None,
    **fetcher_options: Any,
) -> ToolSpec:
    """One agentfetch tool as a framework-free definition: ``tool`` is ``"fetch"``,
    ``"http_request"`` or ``"discover_apis"`` (its name too, unless ``name`` is given).

    ``fetcher`` reuses one :class:`~agentfetch.Fetcher` (or ``AsyncFetcher``)
    for every call; otherwise each call builds one from ``fetcher_options``
    (``consent``, ``timeout``, ``headers``, ``open_browser``, ``interactive``...).
    ``consent`` defaults to ``$AGENTFETCH_CONSENT``, else ``"ask"``.
    """
    if fetcher is not None and fetcher_options:
        raise UsageError("pass either a fetcher or fetcher options, not both")
    if tool not in TOOLS:
        raise UsageError(f"unknown tool {tool!r}; the tools are {', '.join(TOOLS)}")
    name = tool if name is None else name
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise UsageError(f"tool name must be letters, digits, '_' or '-', not {name!r}")
    return ToolSpec(name=name, description=description or TOOLS[tool][0], fetcher=fetcher,
                    fetcher_options=dict(fetcher_options), tool=tool)


def tool_specs(fetcher: Fetcher | AsyncFetcher | None = None, **fetcher_options: Any) -> list[ToolSpec]:
    """All three tools (``fetch``, ``http_request``, ``discover_apis``) over the same fetcher or options."""
    return [tool_spec(fetcher, tool=tool, **fetcher_options) for tool in TOOLS]


def resolve_spec(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, *, tool: str = TOOL_NAME,
                 **options: Any) -> ToolSpec:
    """What an adapter's ``fetch_tool(spec_or_fetcher, **options)`` (or ``http_request_tool``,
    ``discover_apis_tool``) is built on: a ready :class:`ToolSpec`, or :func:`tool_spec` of a
    fetcher and/or options (``fetch_tool(consent="allow")``)."""
    if isinstance(spec, ToolSpec):
        if options:
            raise UsageError("pass either a ToolSpec or tool_spec() options, not both")
        return spec
    return tool_spec(spec, tool=tool, **options)
