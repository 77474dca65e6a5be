"""The demo's keys: the file they are kept in (readable by its owner only) and the welcome
that prints them with the curls to try."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from rich.console import Console


def keys_file(database_url: str) -> Path:
    if database_url.startswith("sqlite:///"):
        return Path(database_url[len("sqlite:///") :]).with_suffix(".demo-keys.json")
    return Path("var") / "demo-keys.json"


def write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only from the first byte: a new file created 0600
    (O_EXCL, so never an existing file's mode) replaces the old one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def print_welcome(console: Console, keys: dict[str, Any], base_url: str = "http://127.0.0.1:8000") -> None:
    if not keys:
        console.print("[yellow]no demo keys on file: create one with `creditlines keys create --role admin`[/yellow]")
        return
    r = keys.get("example_reseller", "AC-10001")
    console.print("\n[bold]Keys of the demo[/bold] (also in the demo-keys file next to the database):")
    for name in ("admin", "officer_actebis", "erp_actebis", "officer_etc", "erp_etc", "partner_microsoft"):
        console.print(f"  {name:<18} {keys[name]}", soft_wrap=True, highlight=False)
    console.print("\n[bold]Try it[/bold] once the server is up:\n")
    console.print(
        f"# a credit officer at Actebis: can {r} order EUR 7,500 of hardware?\n"
        f"curl -s -X POST {base_url}/v1/distributors/actebis/resellers/{r}/eligibility \\\n"
        f"  -H 'Authorization: Bearer {keys['officer_actebis']}' -H 'Content-Type: application/json' \\\n"
        '  -d \'{"amount": {"amount": "7500.00", "currency": "EUR"}}\'\n',
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"# Actebis' ERP posts that order\n"
        f"curl -s -X POST {base_url}/v1/distributors/actebis/resellers/{r}/drawings \\\n"
        f"  -H 'Authorization: Bearer {keys['erp_actebis']}' -H 'Content-Type: application/json' \\\n"
        '  -d \'{"reference": "SO-DEMO-1", "amount": {"amount": "7500.00", "currency": "EUR"}}\'\n',
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"# Microsoft's partner manager watches Mezzanine\n"
        f"curl -s {base_url}/v1/vendors/microsoft/programmes/{keys.get('mezzanine', 'mezzanine@actebis')} \\\n"
        f"  -H 'Authorization: Bearer {keys['partner_microsoft']}'\n",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"API docs: {base_url}/docs")
    console.print(
        f"\n[bold]Console[/bold]: {base_url}/console/ — sign in with the API key\n"
        f"  {keys['officer_actebis']}  (Actebis' credit officer)\n"
        f"  {keys['partner_microsoft']}  (Microsoft's partner manager, Mezzanine)\n",
        highlight=False,
        soft_wrap=True,
    )
