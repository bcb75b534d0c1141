"""The public names are a deliberate, documented set."""

from __future__ import annotations

import codemode


def test_all_is_exactly_the_public_surface() -> None:
    public = {name for name in dir(codemode) if not name.startswith("_")}
    modules = {
        "analysis",
        "bridge",
        "catalog",
        "cli",
        "config",
        "convert",
        "core",
        "errors",
        "limits",
        "results",
        "sandbox",
        "search",
        "server",
        "sources",
        "typegen",
        "examples",
    }
    assert public - modules == set(codemode.__all__)


def test_every_exported_name_is_documented() -> None:
    for name in codemode.__all__:
        assert getattr(codemode, name).__doc__, name
