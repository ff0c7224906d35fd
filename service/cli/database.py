"""The database's content: ``jiedao demo`` (a seeded, worked demo month), ``jiedao backup``
and ``jiedao restore``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service import tables as tables
from service.cli.common import ensure_layer
from service.core import backup as backup_service
from service.core.cli_support import ActorOption, console, fail, open_engine
from service.core.config import get_settings
from service.core.db import make_sessionmaker, migrate, unit_of_work
from service.core.timezones import BEIJING
from service.dispatch import service as dispatch_service
from service.dispatch.demo import MonthParams, play_month
from service.incidents import service as incidents_service
from service.incidents.demo import generate_demo_incidents
from service.incidents.schemas import IncidentCreate
from service.incidents.service import get_intake
from service.layers import service as layers_service
from service.organisation import service as organisation_service
from service.reports.demo import ReportDemoParams, play_reports

_DEMO_CHUNK = 500


def demo(
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of incidents.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 0,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: DAYS days before today).")
    ] = None,
    daily_mean: Annotated[float, typer.Option(min=1.0, help="Incidents a day.")] = 60.0,
    if_empty: Annotated[
        bool, typer.Option(help="Do nothing when the database already holds incidents.")
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="The moment the month ends, ISO 8601 with zone (default: now); "
            "for a demo that is the same on every run.",
        ),
    ] = None,
    actor: ActorOption = "demo",
) -> None:
    """Create the embedded database, load the bundled layers and a seeded demo month.

    The month is worked as the team would have worked it, up to now: the squads' units and
    roster, and each case accepted, dispatched, handled and verified, rejected or parked
    (:mod:`service.dispatch.demo`).
    """
    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    if until is not None:
        try:
            moment = dt.datetime.fromisoformat(until)
        except ValueError:
            raise fail(
                f"--now {until!r} is not a time.", "give it as 2026-11-04T10:30+08:00."
            ) from None
        if moment.tzinfo is None:
            raise fail(f"--now {until!r} has no zone.", "add one, e.g. +08:00 for Beijing.")
        if moment > now:
            raise fail(f"--now {until!r} is in the future.", "give a moment before now.")
        now = moment.astimezone(dt.UTC)
    try:
        # The demo month ends now in Beijing, whatever the machine's zone: DAYS days and today.
        today = now.astimezone(BEIJING).date()
        first_day = dt.date.fromisoformat(start) if start else today - dt.timedelta(days=days)
    except ValueError:
        raise fail(f"--start {start!r} is not a date.", "give it as YYYY-MM-DD.") from None
    drawn = days if start else days + 1
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        step = progress.add_task("database and migrations", total=None)
        engine = open_engine(settings)
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            existing = incidents_service.incident_count(session)
            if if_empty and existing:
                progress.update(step, total=1, completed=1)
                console.print(f"The database already holds {existing:,} incidents; nothing to do.")
                return
            if existing:
                # The month is worked with its own units and roster: a second one cannot be.
                raise fail(
                    f"The database already holds {existing:,} incidents.",
                    "make the demo in a new database (another JIEDAO_DATA_DIR or "
                    "JIEDAO_DATABASE_URL), or pass --if-empty to keep this one as it is.",
                )
            progress.update(step, description="layers", total=1, completed=0)
            ensure_layer(session, settings, actor=actor)
        with factory() as session:
            active = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
        progress.update(step, completed=1)

        draw = progress.add_task(f"drawing {drawn} days of incidents (seed {seed})", total=1)
        frame = generate_demo_incidents(
            active.pack, start=first_day, days=drawn, seed=seed, daily_mean=daily_mean, until=now
        )
        progress.update(draw, completed=1)
        store = progress.add_task("storing incidents", total=len(frame))
        items = [IncidentCreate.model_validate(_demo_item(row)) for row in frame.to_dict("records")]
        work = progress.add_task("working the month's cases", total=len(frame))
        filing = progress.add_task("daily reports filed and checked", total=drawn)
        # One transaction for the whole month: a failed demo leaves no partial month behind.
        with unit_of_work(factory) as session:
            for i in range(0, len(items), _DEMO_CHUNK):
                chunk = items[i : i + _DEMO_CHUNK]
                incidents_service.create_incidents_bulk(
                    session=session,
                    items=chunk,
                    actor=actor,
                    jurisdiction=active.jurisdiction,
                    layer_version_id=active.version_id,
                )
                progress.advance(store, len(chunk))
            summary = play_month(
                session,
                active,
                first_day=first_day,
                days=drawn,
                now=now,
                params=MonthParams(seed=seed),
                progress=lambda done: progress.advance(work, done),
            )
            organisation, _ = organisation_service.current_organisation(
                session, active, path=settings.organisation_file
            )
            since = dt.datetime.combine(first_day, dt.time(), tzinfo=BEIJING)
            month = list(dispatch_service.reported_between(session, since=since, until=now))
            reports = play_reports(
                session,
                active,
                month,
                first_day=first_day,
                days=drawn,
                now=now,
                organisation=organisation,
                intake=get_intake(settings),
                params=ReportDemoParams(seed=seed),
                progress=lambda done: progress.advance(filing, done),
            )
    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(summary.statuses.items()))
    filed = ", ".join(f"{n:,} {s}" for s, n in sorted(reports.states.items()))
    console.print(
        f"Stored {len(items):,} demo incidents from {first_day} on layer "
        f"{active.label} ({statuses}); units {', '.join(summary.units)}, on duty now: "
        f"{', '.join(summary.on_duty) or 'none (between shifts)'}; daily reports by community "
        f"and day: {filed}. Run [bold]jiedao serve[/] "
        f"and open http://{settings.host}:{settings.port}/"
    )


def _demo_item(row: dict[Any, Any]) -> dict[str, Any]:
    return {
        "category": row["category"],
        "location": {"lon": row["lon"], "lat": row["lat"], "crs": "wgs84"},
        "occurred_at": row["occurred_at"].to_pydatetime(),
        "reported_at": row["reported_at"].to_pydatetime(),
        "source": row["source"],
        "reporter": row["reporter"],
        "urgent": bool(row["urgent"]),
        "description": row["description"],
        "photo_urls": list(row["photo_urls"]),
    }


_COUNTED = (
    "incidents",
    "incident_events",
    "assignments",
    "units",
    "patrol_plans",
    "users",
    "audit_log",
)


def _print_rows(rows: dict[str, int]) -> None:
    console.print(", ".join(f"{name} {count:,}" for name, count in rows.items() if count))


def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (replaced if it exists).")],
) -> None:
    """Back up the database, safely while the service runs (SpatiaLite or PostGIS)."""
    settings = get_settings()
    try:
        summary = backup_service.backup_database(
            open_engine(settings, upgrade=False), path, tables=sorted(tables.metadata.tables)
        )
    except backup_service.BackupError as exc:
        raise fail(str(exc), exc.fix) from None
    console.print(
        f"Backed up to {summary.path} ({summary.size_bytes / 1e6:.1f} MB, "
        f"{summary.seconds:.1f} s); restore with: jiedao restore {summary.path}",
        soft_wrap=True,
    )
    _print_rows({name: summary.rows.get(name, 0) for name in _COUNTED})


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by jiedao backup.")],
    replace: Annotated[
        bool, typer.Option(help="Overwrite a database that already holds jiedao data.")
    ] = False,
) -> None:
    """Restore a backup into the configured database (stop the service first)."""
    settings = get_settings()
    engine = open_engine(settings, upgrade=False)
    try:
        summary = backup_service.restore_database(
            engine, path, replace=replace, tables=sorted(tables.metadata.tables)
        )
    except backup_service.BackupError as exc:
        raise fail(str(exc), exc.fix) from None
    migrate(engine)  # a backup of an older version comes up to date
    console.print(f"Restored {summary.path} in {summary.seconds:.1f} s.", soft_wrap=True)
    _print_rows({name: summary.rows.get(name, 0) for name in _COUNTED})
