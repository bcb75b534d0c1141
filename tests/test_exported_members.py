"""The public names are a deliberate, documented set."""

from __future__ import annotations

import types

import codemode


def test_all_is_exactly_the_public_surface() -> None:
    # Submodules appear as attributes once imported; only the names defined here count.
    public = {
        name
        for name in dir(codemode)
        if not name.startswith("_") and not isinstance(getattr(codemode, name), types.ModuleType)
    }
    assert public == set(codemode.__all__)


def test_every_exported_name_is_documented() -> None:
    for name in codemode.__all__:
        assert getattr(codemode, name).__doc__, name
