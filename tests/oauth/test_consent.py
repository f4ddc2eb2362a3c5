"""Consent: the request text, the modes, the no-TTY refusal and a real TTY prompt."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agentfetch.errors import ConsentRequired, UsageError
from agentfetch.oauth import ConsentRequest, default_consent

REQUEST = ConsentRequest(
    resource="https://docs.example.com/handbook",
    authorization_server="https://login.example.com",
    scopes=["read", "offline_access"],
)


def test_prompt_text_names_agent_and_host() -> None:
    assert REQUEST.prompt_text() == "Allow agentfetch to access docs.example.com as you?"


def test_allow_and_deny_answer_without_asking() -> None:
    assert default_consent("allow")(REQUEST) is True
    assert default_consent("deny")(REQUEST) is False
    with pytest.raises(UsageError):
        default_consent("maybe")


def test_ask_without_a_tty_never_hangs() -> None:
    with pytest.raises(ConsentRequired) as info:
        default_consent("ask")(REQUEST)  # pytest's stdin is not a TTY
    message = str(info.value)
    assert "agentfetch auth login https://docs.example.com/handbook" in message and "--consent allow" in message
    assert info.value.exit_code == 5


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("answer", "expected"), [(b"y\n", "True"), (b"n\n", "False"), (b"\n", "False")])
def test_ask_on_a_real_tty(answer: bytes, expected: str) -> None:
    import pty
    import select
    import subprocess

    script = (
        "from agentfetch.oauth import ConsentRequest, default_consent\n"
        "r = ConsentRequest('https://docs.example.com/x', 'https://login.example.com', ['read'])\n"
        "print('ANSWER', default_consent('ask')(r))\n"
    )
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "TERM": "dumb"}
    child = subprocess.Popen([sys.executable, "-c", script], stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            ready, _, _ = select.select([leader], [], [], 20)
            assert ready, seen
            seen += os.read(leader, 4096)
        assert b"Allow agentfetch to access docs.example.com as you?" in seen
        os.write(leader, answer)
        while b"ANSWER" not in seen or not seen.rstrip().endswith((b"True", b"False")):
            ready, _, _ = select.select([leader], [], [], 20)
            if not ready:
                break
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
    finally:
        child.wait(20)
        os.close(leader)
    assert f"ANSWER {expected}".encode() in seen
