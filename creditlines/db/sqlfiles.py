"""The PL/pgSQL the migrations install, read from its own files in ``creditlines/db/sql/``.

Every function body (the drawing function, the append-only triggers) lives in a file named
``<name>_<revision>.pg.sql``: what it creates, and the migration that installs that version
(``creditlines_draw_0005.pg.sql``: ``creditlines_draw`` as migration 0005 installs it). Migrations
load it with :func:`load`, so the SQL reads as SQL, with its own highlighting and diffs.

**A file is never edited once its migration has shipped.** A database that ran the migration
has the old text, and an older migration (or a downgrade that puts an older version back) must
keep installing exactly what it did. A new version of a function is a new file with the new
revision in its name and a new migration that loads it; the old file stays as history.

A file is a template only where its migration says so: ``table_append_only_*.pg.sql`` hold a
``{table}`` placeholder that the migration fills with ``str.format`` (one function per
append-only table). :func:`load` itself never formats, so braces in a function body are safe.

The files ship as package data (``[tool.setuptools.package-data]`` in ``pyproject.toml``).
"""

from __future__ import annotations

from importlib import resources

SUFFIX = ".pg.sql"


def load(name: str) -> str:
    """The text of ``creditlines/db/sql/<name>.pg.sql``, exactly as stored (no formatting)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name.endswith(SUFFIX):
        raise ValueError(f"a file name in creditlines/db/sql without its {SUFFIX} suffix, not {name!r}")
    return resources.files("creditlines.db").joinpath(f"sql/{name}{SUFFIX}").read_text(encoding="utf-8")
