"""The `codemode` command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from codemode.cli import main
from codemode.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "codemode.toml")


def test_exec_prints_stdout_and_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--config", EXAMPLE, "print('hi')\nlen(ops.list_services())"]) == 0
    out = capsys.readouterr()
    assert out.out == "hi\n5\n"
    assert "1 tool call" in out.err


def test_exec_json_and_failure_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--config", EXAMPLE, "--json", "ops.search_logs(lvl='x')"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["error"]["parameter"] == "lvl"


def test_exec_runs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--config", EXAMPLE, str(ROOT / "examples" / "triage.py")]) == 0
    assert "database errors" in capsys.readouterr().out


def test_exec_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("6 * 7"))
    assert main(["exec", "-"]) == 0
    assert capsys.readouterr().out == "42\n"


def test_stubs_and_search(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stubs", "--config", EXAMPLE, "ops"]) == 0
    assert "def search_logs(*," in capsys.readouterr().out
    assert main(["stubs", "--config", EXAMPLE, "nope"]) == 2
    assert (
        main(["search", "--config", EXAMPLE, "--json", "--limit", "2", "open", "a", "ticket"]) == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["qualified"] == "ops.create_ticket"
    assert len(hits) <= 2


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[functions.x]\nmodule = 'nowhere.py'\n")
    assert main(["exec", "--config", str(bad), "1"]) == 2
    assert "nowhere.py" in capsys.readouterr().err


def test_console_script_exits_cleanly(tmp_path: Path) -> None:
    # The process boundary is the thing under test: workers must not outlive or crash it.
    for _ in range(3):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "codemode.cli",
                "exec",
                "--config",
                EXAMPLE,
                "--session",
                "s",
                "x = ops.list_tickets()\nlen(x)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().isdigit()


def test_session_persists_across_invocations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODEMODE_HOME", str(tmp_path / "home"))
    assert (
        main(["exec", "--config", EXAMPLE, "--session", "s/1", "n = len(ops.list_services())"]) == 0
    )
    assert (
        main(["exec", "--config", EXAMPLE, "--session", "s/1", "def twice(v):\n    return 2 * v"])
        == 0
    )
    capsys.readouterr()
    assert main(["exec", "--config", EXAMPLE, "--session", "s/1", "twice(n)"]) == 0
    assert capsys.readouterr().out == "10\n"
    assert main(["exec", "--config", EXAMPLE, "--session", "other", "n"]) == 1
    store = SQLiteStore(tmp_path / "home" / "codemode.db")
    try:
        assert sorted(store.sessions()) == ["other", "s/1"]
    finally:
        store.close()


def test_workspace_and_library_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = (
        "import os\nos.makedirs('/workspace/notes', exist_ok=True)\n"
        "open('/workspace/notes/a.txt', 'w').write('hello')\n"
        "def tw(x: int) -> int:\n    return 2 * x\n"
        "library.save(tw, description='twice', tests=['assert tw(2) == 4'])\n"
        "library.save(tw)\n"
    )
    assert main(["exec", program]) == 0
    capsys.readouterr()
    assert main(["workspace", "ls"]) == 0
    listed = capsys.readouterr()
    assert "/workspace/notes/a.txt" in listed.out
    assert "1 file, 5 bytes" in listed.err
    assert main(["workspace", "cat", "/workspace/notes/a.txt"]) == 0
    assert capsys.readouterr().out == "hello"
    assert main(["library", "ls"]) == 0
    assert capsys.readouterr().out == "tw(x: int) -> int  [v2]\n"
    assert main(["library", "show", "tw", "--version", "1"]) == 0
    shown = capsys.readouterr()
    assert "def tw(x: int) -> int:" in shown.out
    assert "# assert tw(2) == 4" in shown.out
    assert "version 1 of 2" in shown.err
    assert main(["library", "show", "nope"]) == 1
    assert "no function 'nope' (saved: tw)" in capsys.readouterr().err
    assert main(["library", "rm", "tw"]) == 0
    assert main(["workspace", "rm", "notes/a.txt"]) == 0
    assert main(["workspace", "cat", "notes/a.txt"]) == 1
    assert main(["library", "ls"]) == 0
    assert capsys.readouterr().out == ""


def test_doctor_reports_each_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "codemode.toml"
    config.write_text(
        "[servers.broken]\n"
        'command = "definitely-not-a-command-xyz"\n'
        "timeout = 5\n"
        "[servers.logs]\n"
        f"command = {json.dumps(sys.executable)}\n"
        'args = ["-m", "codemode.examples.logs_server"]\n'
        "[functions.ops]\n"
        'module = "codemode.examples.ops"\n'
        'functions = ["list_tickets"]\n'
    )
    assert main(["doctor", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAIL broken" in out
    assert "ok   logs    ready (2 tools)" in out
    assert "ok   ops     ready (1 tool)" in out
    assert "runs programs" in out
    # The working servers still serve: a failing one blocks nothing.
    assert main(["exec", "--config", str(config), "len(logs.list_services())"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "5\n"
    assert "server 'broken' failed" in captured.err
