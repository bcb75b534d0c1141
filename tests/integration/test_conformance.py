"""Acceptance: the MCP conformance suite's server scenarios against `codemode serve --http`.

The suite (`@modelcontextprotocol/conformance`, run on the cached Node 22) connects to
the server as a client and runs every server scenario, active and pending. Many
scenarios call fixture tools, prompts and resources that only the suite's reference
server defines; codemode deliberately serves two tools. Those expected failures are
listed, each with its reason, in `conformance-baseline.json`.

The test fails on any failure not in the baseline and reports (as a warning, without
failing) baseline entries that now pass or no longer run, so the baseline can be trimmed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .procs import free_port, local_server, read_tail
from .upstream import NPM_PACKAGES, REPO, Upstreams

pytestmark = pytest.mark.integration

SUITE = "all"  # the default "active" suite plus the "pending" scenarios
SUITE_TIMEOUT = 600.0
BASELINE = Path(__file__).with_name("conformance-baseline.json")
CONFIG = REPO / "examples" / "codemode.toml"
# Result folders are named `server-<scenario>-<ISO timestamp with ':' and '.' as '-'>`.
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")


@dataclass(frozen=True)
class Scenario:
    """One scenario's outcome: its failing checks, with their messages."""

    name: str
    checks: list[dict[str, Any]]

    @property
    def failures(self) -> list[str]:
        """`check-id: message` for every check that failed."""
        return [
            f"{check.get('id')}: {check.get('errorMessage') or check.get('description')}"
            for check in self.checks
            if check.get("status") == "FAILURE"
        ]

    @property
    def passed(self) -> bool:
        """No check failed (warnings and infos do not count)."""
        return not self.failures


class ConformanceNotice(UserWarning):
    """A baseline entry to revisit: it passes now, or its scenario no longer runs."""


def load_baseline() -> dict[str, Any]:
    """The committed baseline: suite, pinned suite version, and expected failures."""
    baseline: dict[str, Any] = json.loads(BASELINE.read_text(encoding="utf-8"))
    return baseline


def run_suite(upstreams: Upstreams, url: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run every server scenario against `url`, saving results under `out`."""
    argv = [*upstreams.conformance_cli(), "server", "--url", url, "--suite", SUITE]
    return subprocess.run(
        [*argv, "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def parse_results(out: Path) -> dict[str, Scenario]:
    """Each scenario's checks, from the suite's `<out>/server-<scenario>-<time>/checks.json`."""
    scenarios: dict[str, Scenario] = {}
    for folder in sorted(out.iterdir()):
        match = RESULT_DIR.match(folder.name)
        if match is None or not (folder / "checks.json").is_file():
            continue
        checks = json.loads((folder / "checks.json").read_text(encoding="utf-8"))
        scenarios[match["scenario"]] = Scenario(match["scenario"], checks)
    return scenarios


@pytest.mark.filterwarnings("always::UserWarning")  # ConformanceNotice reports, never fails
def test_conformance_against_baseline(upstreams: Upstreams, tmp_path: Path) -> None:
    """No scenario fails that the baseline does not expect to fail."""
    baseline = load_baseline()
    pinned = NPM_PACKAGES["@modelcontextprotocol/conformance"]
    assert baseline["conformance"] == pinned, "conformance pin changed: re-check the baseline"
    assert baseline["suite"] == SUITE
    expected: dict[str, str] = baseline["expected_failures"]

    port = free_port()
    serve = [sys.executable, "-m", "codemode.cli", "serve", "--config", str(CONFIG)]
    log = tmp_path / "serve.log"
    with local_server([*serve, "--http", f"127.0.0.1:{port}"], port, log=log, cwd=REPO):
        done = run_suite(upstreams, f"http://127.0.0.1:{port}/mcp", tmp_path / "results")
    assert done.returncode in (0, 1), f"suite crashed ({done.returncode}):\n{done.stderr[-3000:]}"
    scenarios = parse_results(tmp_path / "results")
    assert "server-initialize" in scenarios, f"no results parsed:\n{done.stdout[-3000:]}"

    new_failures = {
        name: s.failures for name, s in scenarios.items() if not s.passed and name not in expected
    }
    now_passing = sorted(name for name in expected if name in scenarios and scenarios[name].passed)
    not_run = sorted(name for name in expected if name not in scenarios)
    for name in now_passing:
        warnings.warn(
            ConformanceNotice(f"{name} passes now: remove it from the baseline"), stacklevel=1
        )
    for name in not_run:
        warnings.warn(
            ConformanceNotice(f"{name} no longer runs: remove it from the baseline"), stacklevel=1
        )
    assert not new_failures, (
        "conformance scenarios failing that the baseline does not expect:\n"
        + json.dumps(new_failures, indent=2)
        + f"\nserver log:\n{read_tail(log)}"
    )
