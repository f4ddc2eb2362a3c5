"""The long fuzz run (``-m fuzz``) is deselected unless asked for, and prints
what it tried per parser; the bounded property tests always run."""

from __future__ import annotations

import logging

import pytest
from fuzz_targets import OUTCOMES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    long_runs = [item for item in items if item.get_closest_marker("fuzz") is not None]
    if long_runs:
        config.hook.pytest_deselected(items=long_runs)
        items[:] = [item for item in items if item.get_closest_marker("fuzz") is None]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz: examples tried and crashes, per parser")
    for outcome in OUTCOMES:
        terminalreporter.write_line(f"{outcome.target:48} tried {outcome.tried:>7}  crashed {outcome.crashed}")
    terminalreporter.write_line(f"{'total':48} tried {sum(o.tried for o in OUTCOMES):>7}  "
                                f"crashed {sum(o.crashed for o in OUTCOMES)}")


@pytest.fixture(autouse=True)
def _quiet_pypdf() -> None:
    # Broken PDFs are among the inputs: pypdf logs a warning for each, which is noise here.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
