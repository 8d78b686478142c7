from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def _let_closing_transports_finish() -> AsyncIterator[None]:
    """A closed client transport finishes closing on the loop's next iterations; give it them
    before the test's loop is closed, so no socket outlives its loop (a ResourceWarning)."""
    yield
    for _ in range(5):
        await asyncio.sleep(0)
