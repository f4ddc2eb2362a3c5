"""The framework-free tool definition: schema, answers, pagination, errors."""

from __future__ import annotations

import json

import pytest
from integration_support import Site, cli_markdown

from agentfetch.errors import ConsentRequired, HTTPStatusError
from agentfetch.integrations.spec import PARAMETERS, ToolSpec, render_error, tool_spec


def test_schema_is_a_json_schema_object_with_url_required() -> None:
    spec = tool_spec()
    assert spec.parameters["type"] == "object"
    assert spec.parameters["required"] == ["url"]
    assert set(spec.parameters["properties"]) == {"url", "max_length", "start_index", "raw"}
    assert spec.parameters["properties"]["max_length"]["default"] == 20000
    # Serialisable as-is: hosts send it over the wire.
    assert json.loads(json.dumps(spec.openai_tool()))["function"]["parameters"] == PARAMETERS
    assert spec.anthropic_tool()["input_schema"] == PARAMETERS


def test_top_level_export_is_the_same_function() -> None:
    import agentfetch

    assert agentfetch.tool_spec is tool_spec


def test_call_returns_the_cli_markdown(site: Site, host_env: dict[str, str]) -> None:
    spec = tool_spec()
    text = spec(site.url("/article"))
    assert "# Loopback article" in text
    assert "Paragraph number 59" in text
    assert text == cli_markdown(site.url("/article"), host_env, "--max-length", "20000").rstrip("\n")


def test_pagination_note_and_follow_up_read_the_whole_page(site: Site, host_env: dict[str, str]) -> None:
    spec = tool_spec()
    first = spec.invoke({"url": site.url("/article"), "max_length": 600})
    assert not first.is_error
    result = first.result
    assert result is not None and result.truncated and result.next_start_index
    note = f"Call fetch again with start_index={result.next_start_index} to read on."
    assert first.text.endswith(note + "]")
    # The body before the note is exactly what the CLI prints for the same slice.
    body = first.text[: first.text.rindex("\n\n[Content cut")]
    assert body == cli_markdown(site.url("/article"), host_env, "--max-length", "600").rstrip("\n")

    pieces = [body]
    start = result.next_start_index
    while start is not None:
        output = spec.invoke({"url": site.url("/article"), "max_length": 600, "start_index": start})
        assert not output.is_error and output.result is not None
        pieces.append(output.result.markdown)
        start = output.result.next_start_index if output.result.truncated else None
    whole = spec(site.url("/article"))
    for i in range(60):
        assert f"Paragraph number {i} " in "".join(pieces)
    assert "Paragraph number 59" not in body and "Paragraph number 59" in whole


async def test_async_call_matches_sync_call(site: Site) -> None:
    spec = tool_spec()
    assert await spec.acall(site.url("/article"), max_length=800) == spec(site.url("/article"), max_length=800)


def test_raw_returns_the_body_as_sent(site: Site) -> None:
    text = tool_spec()(site.url("/data.json"), raw=True)
    assert json.loads(text) == {"name": "tide pools", "count": 3}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"url": "not a url"}, "Error (usage)"),
        ({"url": "ftp://example.com/x"}, "Error (usage)"),
        ({}, "url argument is required"),
        ({"url": "http://127.0.0.1/", "max_length": 0}, "max_length must be at least 1"),
        ({"url": "http://127.0.0.1/", "start_index": "3"}, "start_index must be an integer"),
        ({"url": "http://127.0.0.1/", "raw": "yes"}, "raw must be true or false"),
        ({"url": "http://127.0.0.1/", "bogus": 1}, "unknown argument(s): bogus"),
    ],
)
def test_bad_arguments_are_error_text_not_exceptions(arguments: dict[str, object], expected: str) -> None:
    output = tool_spec().invoke(arguments)
    assert output.is_error
    assert expected in output.text
    assert "Traceback" not in output.text


def test_http_error_is_reported_with_its_status(site: Site) -> None:
    output = tool_spec().invoke({"url": site.url("/missing")})
    assert output.is_error
    assert output.text.startswith("Error (http_status)")
    assert "404" in output.text


def test_unreachable_host_is_a_network_error() -> None:
    # Port 9 (discard) on loopback: nothing listens there in a test environment.
    output = tool_spec(timeout=5).invoke({"url": "http://127.0.0.1:9/"})
    assert output.is_error
    assert output.text.startswith(("Error (network)", "Error (timeout)"))


def test_authorization_errors_tell_the_human_what_to_run() -> None:
    text = render_error(ConsentRequired("sign-in needed for http://127.0.0.1:1/x"), "http://127.0.0.1:1/x")
    assert "agentfetch auth login http://127.0.0.1:1/x" in text
    # A hint that already names the command is not repeated.
    hinted = ConsentRequired("sign-in needed", hint="run agentfetch auth login http://h/x")
    assert render_error(hinted, "http://h/x").count("agentfetch auth login") == 1
    # Other errors get no sign-in advice.
    assert "auth login" not in render_error(HTTPStatusError("gone", status=410, url="http://h/"), "http://h/")


def test_options_and_names_are_checked() -> None:
    from agentfetch.errors import UsageError

    with pytest.raises(UsageError):
        tool_spec(name="no spaces please")
    with pytest.raises(UsageError):
        tool_spec(object(), timeout=3)  # type: ignore[arg-type]
    assert isinstance(tool_spec(name="web_fetch"), ToolSpec)
    assert tool_spec(name="web_fetch").openai_tool()["function"]["name"] == "web_fetch"


def test_a_shared_fetcher_is_reused(site: Site) -> None:
    from agentfetch import Fetcher

    with Fetcher(auth=False) as fetcher:
        spec = tool_spec(fetcher)
        assert "Loopback article" in spec(site.url("/article"))
        assert spec(site.url("/article"), start_index=10).startswith(" article\n\nParagraph number 0 ")


def test_each_spec_owns_its_schema() -> None:
    first = tool_spec()
    first.parameters["properties"]["url"]["description"] = "changed by a framework"
    assert tool_spec().parameters == PARAMETERS
    assert PARAMETERS["properties"]["url"]["description"] != "changed by a framework"
