"""Generate a Python client of the API with openapi-python-client, as an ERP integrator would.

openapi-python-client comes from requirements/codegen.txt, installed with its hashes into
`.venv-codegen` (it pins typer below the project's, so it has a virtualenv of its own, like
pip-audit). Used by tests/api/test_generated_client.py; by hand:

    python3 -m scripts.codegen http://127.0.0.1:8000/openapi.json var/client
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def codegen_venv() -> Path:
    """`.venv-codegen` with openapi-python-client from its lock, reinstalled when the lock changes.

    Built by one process at a time (a lock file beside it): test workers running side by side
    (pytest-xdist) wait for the one building it, then find it ready."""
    lock = ROOT / "requirements" / "codegen.txt"
    venv = Path(os.environ.get("CREDITLINES_CODEGEN_VENV", ROOT / ".venv-codegen"))
    stamp = venv / ".codegen-installed"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as building:
        fcntl.flock(building, fcntl.LOCK_EX)  # released when the file is closed
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        if not stamp.exists() or stamp.read_text().strip() != want:
            print(f"installing openapi-python-client into {venv} (from requirements/codegen.txt)", file=sys.stderr)
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--require-hashes"]
                + ["--only-binary=:all:", "-r", str(lock)],
                check=True,
            )
            stamp.write_text(want + "\n")
    return venv


def generate(document: dict, out: Path, package: str = "creditlines_client") -> Path:
    """The client package generated from the OpenAPI ``document`` into ``out/<package>``."""
    venv = codegen_venv()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "openapi.json"
        spec.write_text(json.dumps(document))
        config = Path(tmp) / "config.json"
        # No post hooks: the generated code is used as written (no ruff run over it).
        config.write_text(json.dumps({"post_hooks": [], "package_name_override": package}))
        done = subprocess.run(
            [str(venv / "bin" / "openapi-python-client"), "generate", "--path", str(spec)]
            + ["--config", str(config), "--meta", "none", "--output-path", str(out / package)],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0 or "Warning" in done.stdout + done.stderr:
        raise RuntimeError(f"openapi-python-client did not generate a clean client:\n{done.stdout}{done.stderr}")
    return out / package


def main() -> None:
    url, out = sys.argv[1], Path(sys.argv[2])
    with urllib.request.urlopen(url, timeout=30) as answer:
        document = json.load(answer)
    print(generate(document, out))


if __name__ == "__main__":
    main()
