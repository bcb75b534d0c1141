"""Data larger than the context: a 10 MB CSV in, one row out, through the MCP server."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def data_plane() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("data_plane")
    finally:
        sys.path.remove(str(BENCH))


def test_ten_megabytes_in_one_row_out(data_plane: ModuleType) -> None:
    data = data_plane.make_csv()
    assert len(data.encode()) > 10_000_000
    _, tokens, result = anyio.run(data_plane.measure, data, 1)
    assert result["order_id"] == "ORD-077777"
    assert tokens <= data_plane.TOKENS_TARGET
