"""Online backup and restore of the service's database, for SpatiaLite and for PostGIS.

Copying a SpatiaLite file while the service runs loses what is still in its write-ahead log;
SQLite's online backup API copies a consistent snapshot instead (in one step, inside one read
transaction, so writers carry on). PostGIS uses ``pg_dump``'s custom format, which is a
snapshot too, and ``pg_restore`` in one transaction. Either way the backup is written beside its
destination and renamed into place only once it is complete and verified, so a failed or
interrupted backup never leaves a half file under the name an operator will trust.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlean
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

__all__ = ["BackupError", "BackupSummary", "backup_database", "restore_database"]

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_PGDUMP_MAGIC: Final = b"PGDMP"
# The table whose presence means "this database already holds a jiedao schema".
_SCHEMA_MARK: Final = "alembic_version"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; ``fix`` says what to do."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What a backup or restore wrote: the file, its size, rows per table, and its time."""

    path: Path
    size_bytes: int
    rows: dict[str, int]
    seconds: float


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        msg = f"Unsupported database {backend!r}."
        raise BackupError(msg, "use a sqlite:/// file (SpatiaLite) or a postgresql:// URL.")
    return backend


def _count_rows(engine: Engine, tables: Sequence[str]) -> dict[str, int]:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in tables
            if name in present
        }


def _sqlite_file(url: URL) -> Path:
    return Path(str(url.database)).expanduser()


def _sqlite_copy(source: Path, destination: Path) -> None:
    """Page-for-page online copy of ``source`` into ``destination`` (replaced)."""
    src = sqlean.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlean.connect(str(destination))
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction, a consistent snapshot
        # One self-contained file: the copy carries the source's WAL mode, which would leave
        # -wal and -shm files beside it (the service turns WAL back on when it opens a restore).
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()


def _format_of(path: Path) -> str | None:
    """``sqlite`` or ``pgdump`` by the file's first bytes; None for anything else."""
    with path.open("rb") as handle:
        head = handle.read(len(_SQLITE_MAGIC))
    if head == _SQLITE_MAGIC:
        return "sqlite"
    return "pgdump" if head.startswith(_PGDUMP_MAGIC) else None


# What to do with a backup that does not suit the target, by the format it has.
_WRONG_KIND_FIX: Final = {
    "sqlite": "a SpatiaLite backup restores into a sqlite:/// database (JIEDAO_DATABASE_URL).",
    "pgdump": "it is a PostGIS backup: restore it with JIEDAO_DATABASE_URL set to a "
    "postgresql:// database.",
}
_NOT_A_BACKUP_FIX: Final = "give a file written by jiedao backup."


def _refuse_unless(path: Path, wanted: str, what: str) -> None:
    found = _format_of(path)
    if found != wanted:
        msg = f"{path} is not a {what} backup."
        raise BackupError(msg, _WRONG_KIND_FIX.get(found or "", _NOT_A_BACKUP_FIX))


def _sqlite_check(path: Path) -> None:
    _refuse_unless(path, "sqlite", "SpatiaLite")
    conn = sqlean.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        marked = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            (_SCHEMA_MARK,),
        ).fetchone()[0]
    finally:
        conn.close()
    if verdict != "ok":
        msg = f"{path} is damaged: {verdict}."
        raise BackupError(msg, "restore an earlier backup.")
    if not marked:
        msg = f"{path} is an SQLite file but not a jiedao database (no {_SCHEMA_MARK} table)."
        raise BackupError(msg, _NOT_A_BACKUP_FIX)


def _pg_tool(name: str) -> str:
    # The newest installed client: pg_dump refuses servers newer than itself.
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    found = str(versions[-1]) if versions else shutil.which(name)
    if found is None:
        msg = f"{name} is not installed."
        raise BackupError(msg, "apt-get install postgresql-client (the server's version or newer).")
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """(connection URI without its password, environment with PGPASSWORD): a password on the
    command line would show in the process list."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    bare = url.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        msg = f"{what} failed: {detail[-1] if detail else f'exit code {done.returncode}'}"
        raise BackupError(msg, "see the message above; nothing was replaced.")


def _temporary_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def backup_database(
    engine: Engine, destination: Path, *, tables: Sequence[str] = ()
) -> BackupSummary:
    """Write a consistent backup of the database behind ``engine`` to ``destination``.

    Safe while the service writes. The file appears under its name only once complete and
    verified (SQLite integrity check, or ``pg_restore --list`` reading the whole archive).

    Parameters
    ----------
    engine
        The service's database.
    destination
        The backup file; replaced if it exists.
    tables
        Tables whose row counts the summary reports (as they were when the backup finished).
    """
    started = time.perf_counter()
    url = engine.url
    destination = destination.expanduser().resolve()
    if destination.is_dir():
        msg = f"{destination} is a folder."
        raise BackupError(msg, "give a file name, such as backups/jiedao-2026-12-04.backup.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary_beside(destination)
    try:
        if _kind(url) == "sqlite":
            source = _sqlite_file(url)
            if not source.exists():
                msg = f"There is no database at {source}."
                raise BackupError(msg, "check JIEDAO_DATA_DIR / JIEDAO_DATABASE_URL.")
            _sqlite_copy(source, partial)
            _sqlite_check(partial)
        else:
            uri, env = _libpq(url)
            dump = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}"]
            _run([*dump, uri], env, "pg_dump")
            _run([_pg_tool("pg_restore"), "--list", str(partial)], env, "reading the backup")
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(
        path=destination,
        size_bytes=destination.stat().st_size,
        rows=_count_rows(engine, tables),
        seconds=time.perf_counter() - started,
    )


def restore_database(
    engine: Engine, source: Path, *, replace: bool = False, tables: Sequence[str] = ()
) -> BackupSummary:
    """Restore a backup written by :func:`backup_database` into the database behind ``engine``.

    The target must hold no jiedao schema unless ``replace`` is given. Stop the service first:
    a restore under running workers would change the database under their feet. The restore is
    all or nothing (SQLite: one backup step; PostGIS: ``pg_restore --single-transaction``).
    The caller migrates afterwards, so a backup of an older version comes up to date.
    """
    started = time.perf_counter()
    url = engine.url
    source = source.expanduser().resolve()
    if not source.is_file():
        msg = f"There is no backup file at {source}."
        raise BackupError(msg, "give the path of a file written by jiedao backup.")
    if _SCHEMA_MARK in inspect(engine).get_table_names() and not replace:
        msg = "The target database already holds jiedao data."
        raise BackupError(
            msg, "restore into a new database, or pass --replace to overwrite this one."
        )
    if _kind(url) == "sqlite":
        _sqlite_check(source)
        engine.dispose()  # no pooled connection of ours may hold the file during the copy
        _sqlite_copy(source, _sqlite_file(url))
    else:
        _refuse_unless(source, "pgdump", "PostGIS")
        uri, env = _libpq(url)
        restore = [_pg_tool("pg_restore"), "--single-transaction", "--exit-on-error"]
        restore += ["--no-owner", "--no-privileges", f"--dbname={uri}"]
        if replace:
            restore += ["--clean", "--if-exists"]
        engine.dispose()
        _run([*restore, str(source)], env, "pg_restore")
    return BackupSummary(
        path=source,
        size_bytes=source.stat().st_size,
        rows=_count_rows(engine, tables),
        seconds=time.perf_counter() - started,
    )
