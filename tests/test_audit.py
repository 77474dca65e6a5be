"""scripts/audit.py: what a pip-audit JSON report means for CI (the shapes pip-audit 2.10 writes)."""

from scripts.audit import AUDITED, PARTIAL, UNAVAILABLE, VULNERABLE, verdict


def test_a_vulnerable_release_fails_whatever_else_the_report_says():
    report = {
        "dependencies": [
            {
                "name": "starlette",
                "version": "0.49.0",
                "vulns": [{"id": "GHSA-7f5h-v6xp-fcq8", "fix_versions": ["0.49.1"], "aliases": ["CVE-2025-62727"]}],
            },
            {"name": "alembic", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        ]
    }
    status, lines = verdict(report)
    assert status == VULNERABLE
    assert lines == ["starlette==0.49.0: GHSA-7f5h-v6xp-fcq8 (CVE-2025-62727), fixed in 0.49.1"]


def test_every_release_audited_and_clean_passes():
    report = {
        "dependencies": [
            {"name": "h11", "version": "0.16.0", "vulns": []},
            {"name": "idna", "version": "3.20", "vulns": []},
        ]
    }
    assert verdict(report)[0] == AUDITED


def test_a_service_that_answered_for_nothing_is_unavailable_not_clean():
    # What PyPI's JSON API answers from a mirror without per-release pages: every release skipped.
    skipped = {"name": "fastapi", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    assert verdict({"dependencies": [skipped, dict(skipped, name="uvicorn")]})[0] == UNAVAILABLE
    assert verdict({"dependencies": []})[0] == UNAVAILABLE
    assert verdict(None)[0] == UNAVAILABLE


def test_a_service_that_answered_for_only_some_releases_is_partial():
    report = {
        "dependencies": [
            {"name": "h11", "version": "0.16.0", "vulns": []},
            {"name": "psycopg", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        ]
    }
    status, lines = verdict(report)
    assert status == PARTIAL
    assert lines == ["psycopg: Dependency not found on PyPI and could not be audited"]
