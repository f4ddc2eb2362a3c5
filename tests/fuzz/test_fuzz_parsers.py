"""Property: whatever a server (or a user) sends, every parser gives a result
or an AgentFetchError, never another exception (issue 17, fuzzing).

The bounded run below is part of every test run. ``-m fuzz`` runs at least
100,000 examples in all (``AGENTFETCH_FUZZ_EXAMPLES`` to change it) and
prints, per parser, how many it tried and how many crashed; so does
``python benchmarks/fuzz.py``.
"""

from __future__ import annotations

import os
import re

import pytest
from fuzz_targets import OUTCOMES, TARGETS, Target, allocation, campaign, check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfetch._terminal import UNSAFE_CHARACTERS, escape_controls, strip_controls

#: Examples per parser in the bounded run, before the parser's cost weight.
CI_EXAMPLES = int(os.environ.get("AGENTFETCH_FUZZ_CI_EXAMPLES", "120"))
LONG_TOTAL = int(os.environ.get("AGENTFETCH_FUZZ_EXAMPLES", "100000"))

_BOUNDED = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
def test_any_input_gives_a_result_or_a_typed_error(target: Target) -> None:
    @settings(_BOUNDED, max_examples=max(30, round(CI_EXAMPLES / target.weight)))
    @given(target.strategy)
    def property_holds(example: object) -> None:
        check(target, example)

    property_holds()


@pytest.mark.fuzz
@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
def test_long_run_finds_no_crash(target: Target) -> None:
    outcome = campaign(target, allocation(LONG_TOTAL)[target.name])
    OUTCOMES.append(outcome)
    assert outcome.tried > 0
    assert outcome.crashed == 0, outcome.first_crash


# -- the terminal escaping every parser's output goes through -------------------------------

_ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60)


@_BOUNDED
@given(_ANY_TEXT)
def test_escaped_text_has_no_control_or_bidi_character_and_escaping_is_idempotent(value: str) -> None:
    escaped = escape_controls(value)
    assert escape_controls(escaped) == escaped
    assert not re.search(f"[{UNSAFE_CHARACTERS}]", escaped)
    assert "\n" not in escaped and "\x1b" not in escaped and "\u202e" not in escaped


@_BOUNDED
@given(_ANY_TEXT)
def test_stripped_markdown_keeps_text_newlines_and_tabs(value: str) -> None:
    stripped = strip_controls(value)
    assert all(ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in stripped)
    kept = [ch for ch in value if ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F)]
    assert stripped == "".join(kept)
