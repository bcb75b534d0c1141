"""`codemode.toml`: loading tools and limits, and clear errors for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemode import ConfigError
from codemode.config import load_config

TOOLS = '''
def double(x: int) -> int:
    """Double a number."""
    return 2 * x

def _private() -> None:
    pass

from os.path import join  # imported, so not a tool
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codemode.toml"
    path.write_text(text)
    return path


def test_functions_from_a_relative_file_and_limits(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "math_tools.py").write_text(TOOLS)
    config = load_config(
        write(
            tmp_path,
            '[functions.m]\nmodule = "tools/math_tools.py"\n[limits]\ntimeout = 7\n'
            "[sandbox]\nmax_workers = 2\n",
        )
    )
    assert config.limits.timeout == 7
    with config.build() as cm:
        assert [t.identifier for t in cm.tools()] == ["double"]
        assert cm.execute("m.double(x=21)").result == 42


def test_functions_from_a_module_with_a_selection(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[functions.ops]\nmodule = "codemode.examples.ops"\nfunctions = ["list_services"]\n',
        )
    )
    with config.build() as cm:
        assert [t.qualified for t in cm.tools()] == ["ops.list_services"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[functions.m]\nmodule = 'missing.py'\n", "missing.py"),
        ("[functions.m]\n", "module"),
        ("[functions.m]\nmodule = 'codemode.examples.ops'\nfunctions = ['nope']\n", "nope"),
        ("[limits]\ntimeout = -1\n", "timeout"),
        ("[limits]\ntimout = 1\n", "timout"),
        ("[sandbox]\ntype_check = 'yes'\n", "type_check"),
        ("[servers]\n", "unknown table"),
        ("[functions.search]\nmodule = 'codemode.examples.ops'\n", "rename"),
        ("this is not toml", "invalid TOML"),
    ],
)
def test_mistakes_are_config_errors(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text)).build().close()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")
