#!/usr/bin/env python3
"""Audit the hashed locks in requirements/ for known vulnerabilities (pip-audit), as CI does.

pip-audit comes from requirements/audit.txt, installed with its hashes into `.venv-audit`. It
asks PyPI's vulnerability data first, then OSV (or the OSV-compatible endpoint in
`CREDITLINES_OSV_URL`, e.g. a mirror). Exit status:
  1  a locked release has a known vulnerability, or a service answered for only part of the
     locks: always fatal;
  0  every locked release was audited and none is known to be vulnerable;
  0  with a loud warning when no service could be reached or answered for any release (a
     machine without access to them); `CREDITLINES_AUDIT_REQUIRED=1` makes that fatal too;
  1  pip-audit failing for any other reason.
Needs only Python 3.11+ (the standard library).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("test.txt", "bench.txt", "audit.txt", "codegen.txt")
SERVICES = ("pypi", "osv")

AUDITED, VULNERABLE, PARTIAL, UNAVAILABLE = "audited", "vulnerable", "partial", "unavailable"


def verdict(report: dict | None) -> tuple[str, list[str]]:
    """What one pip-audit JSON report says, with the lines to print.

    `None` is a run that produced no report (the service could not be reached)."""
    if report is None:
        return UNAVAILABLE, ["no report (the service could not be reached)"]
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    if vulnerable:
        lines = []
        for d in vulnerable:
            for v in d["vulns"]:
                fixed = ", ".join(v.get("fix_versions") or []) or "no fixed release"
                aliases = ", ".join(v.get("aliases") or [])
                lines.append(
                    f"{d['name']}=={d['version']}: {v['id']}"
                    + (f" ({aliases})" if aliases else "")
                    + f", fixed in {fixed}"
                )
        return VULNERABLE, lines
    if not deps or len(skipped) == len(deps):
        first = skipped[0]["skip_reason"] if skipped else "empty report"
        return UNAVAILABLE, [f"{len(skipped)} of {len(deps)} releases not audited ({first}, ...)"]
    if skipped:
        return PARTIAL, [f"{d['name']}: {d['skip_reason']}" for d in skipped]
    return AUDITED, [f"{len(deps)} locked releases audited, no known vulnerability"]


def audit_venv() -> Path:
    """`.venv-audit` with pip-audit from its lock, reinstalled when the lock changes."""
    lock = ROOT / "requirements" / "audit.txt"
    venv = Path(os.environ.get("CREDITLINES_AUDIT_VENV", ROOT / ".venv-audit"))
    stamp = venv / ".audit-installed"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not stamp.exists() or stamp.read_text().strip() != want:
        print(f"installing pip-audit into {venv} (from requirements/audit.txt)", file=sys.stderr)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--require-hashes",
                "--only-binary=:all:",
                "-r",
                str(lock),
            ],
            check=True,
        )
        stamp.write_text(want + "\n")
    return venv


NETWORK = ("ConnectionError", "Could not connect", "Timeout", "NameResolution", "Max retries")


def run(venv: Path, service: str) -> dict | None:
    """One report for all the locks (pip-audit run once per lock), or None if the service
    could not be reached; any other failure of pip-audit stops the audit."""
    deps: list[dict] = []
    for lock in LOCKS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.json"
            args = [
                str(venv / "bin" / "pip-audit"),
                "-r",
                str(ROOT / "requirements" / lock),
                "--vulnerability-service",
                service,
                "--require-hashes",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(out),
            ]
            if service == "osv" and os.environ.get("CREDITLINES_OSV_URL"):
                args += ["--osv-url", os.environ["CREDITLINES_OSV_URL"]]
            done = subprocess.run(args, capture_output=True, text=True, timeout=600)
            if out.exists():
                deps += json.loads(out.read_text())["dependencies"]
                continue
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(f"pip-audit -s {service} -r requirements/{lock}: {tail}", file=sys.stderr)
            if not any(marker in done.stderr for marker in NETWORK):
                raise SystemExit(f"audit: FAILED, pip-audit exited {done.returncode}")
            return None
    return {"dependencies": deps}


def main() -> int:
    venv = audit_venv()
    for service in SERVICES:
        status, lines = verdict(run(venv, service))
        for line in lines:
            print(f"audit ({service}): {line}", file=sys.stderr)
        if status == VULNERABLE:
            print(
                "audit: FAILED, known vulnerabilities in the locked releases above; raise the "
                "bound in pyproject.toml and run scripts/lock",
                file=sys.stderr,
            )
            return 1
        if status == PARTIAL:
            print(f"audit: FAILED, {service} answered for only part of the locks", file=sys.stderr)
            return 1
        if status == AUDITED:
            return 0
    banner = "!" * 78
    print(
        f"{banner}\naudit: WARNING, THE VULNERABILITY AUDIT DID NOT RUN: neither PyPI's "
        f"vulnerability data nor OSV\nanswered from this machine; the locks are unaudited.\n"
        f"{banner}",
        file=sys.stderr,
    )
    return 1 if os.environ.get("CREDITLINES_AUDIT_REQUIRED") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
