"""``agentfetch mcp``: a stdio MCP server with the tools ``fetch``, ``http_request``,
``discover_apis`` and ``auth_status``.

``fetch``, ``discover_apis`` and ``auth_status`` are read-only; ``http_request`` is
annotated ``destructiveHint: true, readOnlyHint: false``, so that hosts ask the
human before each call: a POST or DELETE is an action taken in their name.

This is what Goose, Claude Code, Codex, Cursor and other MCP hosts load. An MCP
host gives the server no terminal, so the human is reached through the host:

- Consent to sign in is asked with a form elicitation when the client supports
  it; the sign-in page is handed over with a URL-mode elicitation when the
  client supports that (the client shows it and opens the browser).
- ``AGENTFETCH_CONSENT=allow`` (or ``deny``) in the server's environment answers
  consent in advance, as for the CLI.
- With neither, the fetch never starts a browser flow: the tool answers with
  ``isError`` and tells the human exactly what to run (``agentfetch auth login
  URL``), instead of waiting for a window nobody will see.

The SDK's fetch is synchronous here and runs in a worker thread, so the OAuth
flow's blocking callbacks (consent, open the browser) can hop back onto the
event loop to elicit from the client while the fetch waits.
"""

# No ``from __future__ import annotations``: the MCP SDK reads the tool
# functions' annotations at run time, and they name objects imported locally.
import os
import sys
import uuid
from typing import TYPE_CHECKING, Annotated, Any

from .spec import (
    DEFAULT_MAX_LENGTH,
    DISCOVER_APIS_NAME,
    HTTP_REQUEST_NAME,
    PARAMETER_DOCS,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    TOOLS,
    check_arguments,
    consent_setting,
    render_error,
    tool_spec,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context, MCPServer

    from ..oauth import ConsentRequest

__all__ = ["DEFAULT_AUTH_TIMEOUT", "build_server", "run"]

#: Seconds a tool call may wait for the human to finish signing in. MCP hosts
#: time tool calls out (Goose: the extension's ``timeout``, 300 s by default);
#: staying below that means the human gets our explanation, not the host's.
DEFAULT_AUTH_TIMEOUT = 240.0

SERVER_INSTRUCTIONS = (
    "agentfetch fetches web pages as clean Markdown. Use the fetch tool for any http(s) URL. "
    "When a page is cut, call fetch again with the start_index the answer gives. "
    "To call an internal API as the human: discover_apis lists a host's APIs (describe=true summarises "
    "their operations and the scopes they need), and http_request sends one request with a method and a "
    "body; it acts in the human's name, so have each write confirmed. "
    "Pages behind a company sign-in may ask the human for consent and a browser sign-in; "
    "if a tool answers with an error that names a command, show it to the human."
)


def _consent_message(request: "ConsentRequest") -> str:
    """The consent question as the CLI asks it, with what the human is agreeing to."""
    return (
        f"{request.prompt_text()}\n{request.details()}\n"
        "agentfetch will open the sign-in page in your browser and keep the sign-in for this site."
    )


def _supports(context: "Context[Any, Any]", mode: str) -> bool:
    capabilities = context.client_capabilities
    elicitation = getattr(capabilities, "elicitation", None) if capabilities is not None else None
    if elicitation is None:
        return False
    form = getattr(elicitation, "form", None)
    url = getattr(elicitation, "url", None)
    if mode == "url":
        return url is not None
    # An empty elicitation capability ({}) predates modes and means form.
    return form is not None or url is None


class _HostInteraction:
    """The OAuth flow's callbacks for one tool call, answered through the MCP client.

    The callbacks are called from the worker thread that runs the fetch; each
    one blocks that thread on an elicitation sent from the event loop.
    """

    def __init__(self, context: "Context[Any, Any]", url: str) -> None:
        self.context = context
        self.url = url
        self.pending_elicitation: str | None = None

    def fetcher_options(self, consent: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if consent in ("allow", "deny"):
            options["consent"] = consent
        elif _supports(self.context, "form"):
            options["consent"] = self.ask_consent
        elif _supports(self.context, "url"):
            # A client with URL mode only: nothing is opened unless the human
            # accepts the sign-in page's elicitation, so that acceptance is the consent.
            options["consent"] = "allow"
        else:
            # Nobody can be asked: never start a flow, answer with what to run.
            options["consent"] = "deny"
            options["interactive"] = False
        if _supports(self.context, "url"):
            options["open_browser"] = self.show_sign_in_page
        return options

    def ask_consent(self, request: "ConsentRequest") -> bool:
        import anyio.from_thread
        from pydantic import BaseModel, Field

        class Consent(BaseModel):
            allow: bool = Field(description="Sign in and fetch the page")

        try:
            answer = anyio.from_thread.run(self.context.elicit, _consent_message(request), Consent)
        except Exception as error:  # noqa: BLE001 - the client failed the elicitation it advertised
            from ..errors import ConsentRequired

            raise ConsentRequired(
                f"the MCP client could not ask for consent ({type(error).__name__})",
                hint=f"run `agentfetch auth login {request.resource}` in a terminal",
            ) from None
        return answer.action == "accept" and bool(answer.data.allow)

    def show_sign_in_page(self, authorization_url: str) -> bool:
        import anyio.from_thread

        from ..errors import ConsentDenied

        elicitation_id = uuid.uuid4().hex
        answer = anyio.from_thread.run(
            self.context.elicit_url,
            f"Sign in to let agentfetch fetch {self.url}. Open this page in your browser and finish signing in.",
            authorization_url,
            elicitation_id,
        )
        if answer.action != "accept":
            raise ConsentDenied("you declined to open the sign-in page")
        self.pending_elicitation = elicitation_id
        return True

    async def finish(self) -> None:
        """Tell the client the URL elicitation is over (the callback arrived)."""
        if self.pending_elicitation is None:
            return
        try:
            await self.context.session.send_elicit_complete(self.pending_elicitation)
        except Exception:  # noqa: BLE001 - a courtesy notification; the answer matters more
            pass


def build_server(*, auth_timeout: float = DEFAULT_AUTH_TIMEOUT) -> "MCPServer[Any]":
    """The MCP server object (not started), for embedding or testing in-process."""
    import anyio.to_thread
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import BaseModel, Field

    from .._version import __version__
    from ..errors import ConsentRequired, UsageError

    def text_result(text: str, *, is_error: bool = False) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=is_error)

    class Server(MCPServer[Any]):
        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            # The tool's own check first: "max_length must be at least 1" for the model,
            # not the SDK's pydantic report with its links.
            if name in TOOLS:
                try:
                    check_arguments(arguments, TOOLS[name][1])
                except UsageError as error:
                    return text_result(render_error(error, str(arguments.get("url", "")), sdk_hints=False),
                                       is_error=True)
            return await super().call_tool(name, arguments, context)

    server = Server("agentfetch", version=__version__, instructions=SERVER_INSTRUCTIONS, log_level="WARNING")

    class FetchOutput(BaseModel):
        """What was fetched; the Markdown itself is the text content beside it."""

        url: str = Field(description="The URL asked for.")
        final_url: str = Field(description="The URL answered, after redirects.")
        status: int = Field(description="The HTTP status of the final answer.")
        title: str | None = Field(description="The page's title, when it has one.")
        truncated: bool = Field(description="Whether the content was cut at max_length.")
        next_start_index: int | None = Field(description="The start_index that reads on, when truncated.")
        tokens: int = Field(description="An estimate of the content's size in LLM tokens.")
        content_type: str | None = Field(description="The Content-Type the server sent.")

    @server.tool(
        name=TOOL_NAME,
        description=TOOL_DESCRIPTION,
        annotations=ToolAnnotations(title="Fetch a web page", read_only_hint=True, open_world_hint=True),
    )
    async def fetch(
        url: Annotated[str, Field(description=PARAMETER_DOCS["url"])],
        context: Context[Any, Any],
        max_length: Annotated[int, Field(ge=1, description=PARAMETER_DOCS["max_length"])] = DEFAULT_MAX_LENGTH,
        start_index: Annotated[int, Field(ge=0, description=PARAMETER_DOCS["start_index"])] = 0,
        raw: Annotated[bool, Field(description=PARAMETER_DOCS["raw"])] = False,
    ) -> Annotated[CallToolResult, FetchOutput]:
        arguments = {"url": url, "max_length": max_length, "start_index": start_index, "raw": raw}
        return await answer(TOOL_NAME, arguments, context, structured=True)

    async def answer(tool: str, arguments: dict[str, Any], context: "Context[Any, Any]", *,
                     structured: bool = False) -> CallToolResult:
        url = arguments["url"]
        interaction = _HostInteraction(context, url)
        spec = tool_spec(tool=tool, auth_timeout=auth_timeout, **interaction.fetcher_options(consent_setting()))
        # Cancellable: when the host gives up on the call, it is not kept waiting.
        output = await anyio.to_thread.run_sync(spec.invoke, arguments, abandon_on_cancel=True)
        await interaction.finish()
        if isinstance(output.error, ConsentRequired):
            return text_result(_no_way_to_ask(output.error, url, tool), is_error=True)
        if output.error is not None and output.result is None:
            # Here the knobs are the server's own flags (agentfetch mcp --auth-timeout).
            return text_result(render_error(output.error, url, sdk_hints=False), is_error=True)
        result = text_result(output.text, is_error=output.is_error)
        if structured:
            result.structured_content = output.structured()
        return result

    @server.tool(
        name=HTTP_REQUEST_NAME,
        description=TOOLS[HTTP_REQUEST_NAME][0],
        annotations=ToolAnnotations(title="HTTP request as the human", read_only_hint=False, destructive_hint=True,
                                    idempotent_hint=False, open_world_hint=True),
    )
    async def http_request(
        method: Annotated[str, Field(description=PARAMETER_DOCS["method"])],
        url: Annotated[str, Field(description=TOOLS[HTTP_REQUEST_NAME][1]["properties"]["url"]["description"])],
        context: Context[Any, Any],
        headers: Annotated[dict[str, str] | None, Field(description=PARAMETER_DOCS["headers"])] = None,
        # Plain str: the SDK would read a JSON text in any other annotation as the object it spells.
        body: Annotated[str, Field(description=PARAMETER_DOCS["body"])] = "",
        max_length: Annotated[int, Field(ge=1, description=PARAMETER_DOCS["max_length"])] = DEFAULT_MAX_LENGTH,
        start_index: Annotated[int, Field(ge=0, description=PARAMETER_DOCS["start_index"])] = 0,
        raw: Annotated[bool, Field(description="Return the body exactly as the server sent it.")] = False,
    ) -> CallToolResult:
        arguments = {"method": method, "url": url, "headers": headers, "body": body or None,
                     "max_length": max_length, "start_index": start_index, "raw": raw}
        return await answer(HTTP_REQUEST_NAME, {k: v for k, v in arguments.items() if v is not None}, context)

    @server.tool(
        name=DISCOVER_APIS_NAME,
        description=TOOLS[DISCOVER_APIS_NAME][0],
        annotations=ToolAnnotations(title="APIs a host offers", read_only_hint=True, open_world_hint=True),
    )
    async def discover_apis(
        url: Annotated[str, Field(description=TOOLS[DISCOVER_APIS_NAME][1]["properties"]["url"]["description"])],
        context: Context[Any, Any],
        describe: Annotated[bool, Field(description=PARAMETER_DOCS["describe"])] = False,
        max_length: Annotated[int, Field(ge=1, description=PARAMETER_DOCS["max_length"])] = DEFAULT_MAX_LENGTH,
        start_index: Annotated[int, Field(ge=0, description=PARAMETER_DOCS["start_index"])] = 0,
    ) -> CallToolResult:
        arguments = {"url": url, "describe": describe, "max_length": max_length, "start_index": start_index}
        return await answer(DISCOVER_APIS_NAME, arguments, context)

    @server.tool(
        name="auth_status",
        description=(
            "List the sites agentfetch holds a sign-in for: resource, sign-in server, user, scopes, "
            "expiry (never the tokens), and apart from them the service credentials config.toml names "
            "for hosts without managed OAuth. The same JSON as `agentfetch auth status --json`."
        ),
        annotations=ToolAnnotations(title="agentfetch sign-ins", read_only_hint=True, open_world_hint=False),
    )
    async def auth_status() -> CallToolResult:
        from ..errors import AgentFetchError

        try:
            text = await anyio.to_thread.run_sync(_auth_status_text)
        except AgentFetchError as error:
            return text_result(f"Error ({error.kind}): {error}", is_error=True)
        return text_result(text)

    return server


def _no_way_to_ask(error: Exception, url: str, tool: str = TOOL_NAME) -> str:
    """ConsentRequired inside a host that cannot ask: the CLI's hint (--consent)
    does not apply here, so say what does."""
    return (
        f"Error (consent_required): {getattr(error, 'message', error)}\n"
        "This MCP host cannot ask the human for consent, so agentfetch did not start a sign-in. Either:\n"
        f"- run `agentfetch auth login {url}` once in a terminal, then call {tool} again; or\n"
        "- set AGENTFETCH_CONSENT=allow in this MCP server's environment (the host's extension settings) "
        "to approve sign-ins in advance; agentfetch then opens the sign-in page in the browser."
    )


def _auth_status_text() -> str:
    """The same JSON as ``agentfetch auth status --json``: who is signed in where, never a secret."""
    import json

    from .._credentials import status_rows
    from ..store import credential_summary, open_store

    store = open_store()
    rows = [credential_summary(credential, store) for credential in store.list()]
    return json.dumps({"credentials": rows, "service_credentials": status_rows(store)}, ensure_ascii=False)


BY_HAND_NOTICE = (
    "agentfetch mcp is an MCP server on stdio: it is waiting for an MCP host (Goose, Claude Code, Codex, "
    "Cursor...) to speak JSON-RPC on stdin, and typing here does nothing useful.\n"
    "Add it to a host instead (docs/integrations.md), or fetch a page yourself: agentfetch URL\n"
    "Press Ctrl-C to quit.\n"
)


def _exit_on_interrupt(signum: int, frame: Any) -> None:
    # The stdio transport reads stdin in a worker thread that no cancellation can wake, so
    # the SDK's orderly shutdown would wait for another line (or a second Ctrl-C). Credential
    # files are written by atomic rename, so leaving at once loses nothing.
    sys.stderr.write("\n")
    sys.stderr.flush()
    os._exit(130)


def run(*, auth_timeout: float = DEFAULT_AUTH_TIMEOUT) -> None:
    """Serve MCP on stdin/stdout until the client closes the pipe (or Ctrl-C)."""
    import signal

    server = build_server(auth_timeout=auth_timeout)
    signal.signal(signal.SIGINT, _exit_on_interrupt)
    if sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write(BY_HAND_NOTICE)
        sys.stderr.flush()
    server.run("stdio")
