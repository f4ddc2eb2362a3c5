"""Issue 5: single flight across coroutines sharing one ``OAuth`` on a plain
``httpx.AsyncClient``, against the demo app. (Twenty CLI processes at once are
tested in tests/store/test_single_flight_demo.py.)

N requests needing authorization at once: one registration, one browser flow,
one token request; after expiry, one refresh; every request succeeds."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

COROUTINES = 50


def _counts(demo: Any) -> tuple[int, int, int]:
    return demo.count("/oauth/register", "POST"), demo.count("/oauth/authorize"), demo.count("/oauth/token", "POST")


@pytest.mark.slow
async def test_fifty_coroutines_one_flow_then_one_refresh(demo: Any, make_auth: Any, browser: Any) -> None:
    async with httpx.AsyncClient(auth=make_auth(auth_timeout=60), timeout=60) as client:
        responses = await asyncio.gather(*(client.get(demo.url) for _ in range(COROUTINES)))
        assert [r.status_code for r in responses] == [200] * COROUTINES
        assert _counts(demo) == (1, 1, 1) and len(browser.opened) == 1

        demo.expire_tokens()
        demo.clear_requests()
        responses = await asyncio.gather(*(client.get(demo.url) for _ in range(COROUTINES)))
        assert [r.status_code for r in responses] == [200] * COROUTINES
        assert _counts(demo) == (0, 0, 1) and len(browser.opened) == 1
