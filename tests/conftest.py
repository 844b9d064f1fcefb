"""Shared test configuration.

Tests that need root, network namespaces or wireguard-go skip with their reason when those
are missing; in CI (``CI=true``) every one of them must run, so any skip fails the session.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"CI: {len(skipped)} test(s) skipped; in CI every test must run", red=True
        )
        session.exitstatus = 1


def pytest_sessionstart(session: pytest.Session) -> None:
    # Namespaces left by an earlier run that was killed would only confuse this one.
    if os.geteuid() == 0:
        import topology

        topology.cleanup_stale()
