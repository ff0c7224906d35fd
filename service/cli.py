"""The ``jiedao`` command line: serve, demo data, point resolution and layer versions.

Thin on purpose: each command parses its options, calls the service or the spatial core, and
prints. Long steps show a progress bar.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

import layers
from geo.errors import CoordinateError, LayerValidationError, UnknownCRSError
from geo.jurisdiction import Jurisdiction
from service import tables as tables
from service.auth import people as auth_people
from service.auth.cli import users_app
from service.core import backup as backup_service
from service.core.cli_support import DEFAULT_ACTOR, ActorOption, console, err, fail, open_engine
from service.core.config import Settings, get_settings
from service.core.db import make_sessionmaker, migrate, unit_of_work
from service.core.errors import ServiceError
from service.core.timezones import BEIJING
from service.dispatch.demo import MonthParams, play_month
from service.incidents import service as incidents_service
from service.incidents.demo import generate_demo_incidents
from service.incidents.schemas import IncidentCreate
from service.layers import service as layers_service
from service.layers.cli import layers_app

app = typer.Typer(
    help="jiedao: GIS dispatch for the sub-district law-enforcement team.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(layers_app, name="layers")
app.add_typer(users_app, name="users")
_DEMO_CHUNK = 500


def _warn_if_empty(session: Session, what: str) -> None:
    if incidents_service.incident_count(session) == 0:
        err.print(
            f"[bold yellow]warning:[/] the database holds no incidents, so {what}. "
            "Load the demo month with `jiedao demo`, or check JIEDAO_DATA_DIR / "
            "JIEDAO_DATABASE_URL.",
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=32, help=("Worker processes (one per core serves a busy dispatch room).")
        ),
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            help="Demo mode: make one demo user per role with one-time passwords, printed "
            "here; every page says DEMO. Never for real cases."
        ),
    ] = False,
) -> None:
    """Run the web service: map at /, console at /console, API docs at /docs."""
    import os

    import uvicorn

    if demo:
        os.environ["JIEDAO_DEMO"] = "true"  # the workers read their settings from it
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    # Migrate and import the layers once, here: several workers starting on a fresh database
    # would otherwise race to create the same tables.
    with unit_of_work(make_sessionmaker(open_engine(settings))) as session:
        _ensure_layer(session, settings, actor="system:startup")
        enabled = [u.username for u in auth_people.enabled_demo_users(session)]
        if settings.demo:
            _print_demo_users(session, settings)
        elif enabled:
            raise fail(
                f"demo users are enabled ({', '.join(enabled)}) and this is not demo mode.",
                "disable each (jiedao users disable NAME) before serving real cases, or "
                "serve the demo with --demo.",
            )
    console.print(f"jiedao on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    if reload or workers == 1:
        uvicorn.run("service.app:create_app", factory=True, host=host, port=port, reload=reload)
        return
    _serve_workers(
        uvicorn.Config(
            "service.app:create_app", factory=True, host=host, port=port, workers=workers
        )
    )


def _print_demo_users(session: Session, settings: Settings) -> None:
    """Make (or reset) the demo users and print their one-time passwords."""
    active = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
    first = active.pack.communities.iloc[0]
    made = auth_people.ensure_demo_users(
        session,
        auth_people.demo_users(community=str(first["code"]), squad=str(first["squad"])),
        actor="system:demo",
    )
    communities = active.pack.communities
    names = dict(zip(communities["code"], communities["name_zh"], strict=True))
    table = Table("username", "one-time password", "role", "scope", title="演示账号 Demo users")
    for user, password in made:
        scope = f"{names.get(user.community, '')} {user.community}" if user.community else ""
        table.add_row(user.username, password, user.role, scope or user.squad or "")
    console.print(table)
    console.print(
        "[bold yellow]DEMO MODE[/]: these passwords change at every start; sign in at /login."
    )


def _serve_workers(config: Any) -> None:
    """Uvicorn's multi-worker run, on a listening socket from :func:`listening_socket`."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[listening_socket(config)]).run()


def listening_socket(config: Any) -> Any:
    """The socket uvicorn binds for its workers, with TCP_NODELAY set.

    uvicorn binds it with protocol 0, so asyncio does not set TCP_NODELAY on the connections it
    accepts, and every keep-alive response (headers and body written apart) waited ~40 ms for
    the client's delayed ACK. Linux copies the option from the listener to accepted sockets.
    """
    import socket

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@app.command()
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
            _ensure_layer(session, settings, actor=actor)
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
    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(summary.statuses.items()))
    console.print(
        f"Stored {len(items):,} demo incidents from {first_day} on layer "
        f"{active.label} ({statuses}); units {', '.join(summary.units)}, on duty now: "
        f"{', '.join(summary.on_duty) or 'none (between shifts)'}. Run [bold]jiedao serve[/] "
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


def _ensure_layer(session: Session, settings: Settings, *, actor: str) -> None:
    try:
        layers_service.ensure_layers(session, settings, actor=actor)
    except FileNotFoundError as exc:
        raise fail(
            str(exc),
            "set JIEDAO_LAYER_PACK to a layer pack folder, or unset it to "
            "use the bundled Qingshuihe pack.",
        ) from None
    except LayerValidationError as exc:
        raise fail(str(exc), "fix the listed features of the layer pack.") from None


@app.command()
def resolve(
    lon: Annotated[float, typer.Argument(help="Longitude.")],
    lat: Annotated[float, typer.Argument(help="Latitude.")],
    crs: Annotated[str, typer.Option(help="wgs84, gcj02 (Amap) or bd09 (Baidu).")] = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    pack: Annotated[
        Path | None,
        typer.Option(
            help="Resolve against this layer pack folder instead of the database's active layer."
        ),
    ] = None,
) -> None:
    """Resolve a point to its community, squad and key road."""
    from geo import crs as geocrs

    settings = get_settings()
    try:
        wlon, wlat = geocrs.to_wgs84([lon], [lat], source=crs)
    except (UnknownCRSError, CoordinateError) as exc:
        raise fail(str(exc)) from None
    if pack is not None:
        try:
            layer = layers.read_pack(pack)
            layers.ensure_valid(layer)
        except (FileNotFoundError, ValueError) as exc:
            raise fail(str(exc)) from None
        jurisdiction = Jurisdiction.build(
            layer.communities, layer.key_roads, params=settings.resolve_params()
        )
        label = layer.label
    else:
        factory = make_sessionmaker(open_engine(settings))
        with unit_of_work(factory) as session:
            _ensure_layer(session, settings, actor=DEFAULT_ACTOR)
        with factory() as session:
            active = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
        jurisdiction, label = active.jurisdiction, active.label
    result = {
        "lon_wgs84": float(wlon[0]),
        "lat_wgs84": float(wlat[0]),
        "layer": label,
        **jurisdiction.resolve_one(float(wlon[0]), float(wlat[0])),
    }
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False))
    else:
        table = Table(title=f"({lon}, {lat}) {crs} on {label}", show_header=False)
        for key, value in result.items():
            table.add_row(key, "—" if value is None else str(value))
        console.print(table)
    if result["outside"]:
        err.print(
            f"[yellow]Outside the jurisdiction:[/] {result['outside_m']:.0f} m from "
            f"{result['nearest_community_code']}. Check the declared crs and lon/lat order."
        )


@app.command()
def hotspots(
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: 28 days before --end).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day, included, YYYY-MM-DD (default: yesterday).")
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="Category code; repeat for several (default: all).")
    ] = None,
    shift: Annotated[str | None, typer.Option(help="early or late.")] = None,
    squad: Annotated[str | None, typer.Option(help="One squad's communities.")] = None,
    community: Annotated[str | None, typer.Option(help="One community.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the map page here.")] = None,
    png: Annotated[
        Path | None, typer.Option(help="Write a PNG snapshot here (needs chromium).")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option(help="Write the campaign targets (CSV, opens in Excel) here.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=50, help="Targets listed.")] = 10,
) -> None:
    """Hot spots of a period for the monthly meeting: Gi* cells, campaign targets, map, PNG."""
    from geo.campaign import targets_table
    from service.hotspots import service as analysis_of
    from service.hotspots.snapshot import png_snapshot

    settings = get_settings()
    try:
        last = (
            dt.date.fromisoformat(end)
            if end
            else dt.datetime.now(BEIJING).date() - dt.timedelta(days=1)
        )
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=27)
    except ValueError:
        raise fail(
            f"--start {start!r} / --end {end!r} is not a date.", "give dates as YYYY-MM-DD."
        ) from None
    if shift not in (None, "early", "late"):
        raise fail(f"--shift {shift!r} is not a shift.", "use early or late.")
    factory = make_sessionmaker(open_engine(settings))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        steps = 2 + (html is not None) + (png is not None) + (csv is not None)
        task = progress.add_task("Gi* analysis", total=steps)
        with unit_of_work(factory) as session:
            _ensure_layer(session, settings, actor="system:startup")
            _warn_if_empty(session, "there are no hot spots to find")
            layer = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
            try:
                query = analysis_of.HotspotQuery(
                    start=first,
                    end=last,
                    categories=tuple(category or ()),
                    shift=shift,  # type: ignore[arg-type]
                    squad=squad,
                    community=community,
                    top=top,
                )
                result = analysis_of.analyse(session, layer, query)
            except ServiceError as exc:
                raise fail(exc.message, exc.fix) from None
        progress.update(task, advance=2, description="map")
        # One standalone page serves both the file and the snapshot (it needs no server).
        page = (
            analysis_of.map_html(result, layer, standalone=True, tianditu_key=settings.tianditu_key)
            if html or png
            else ""
        )
        if html:
            html.write_text(page, encoding="utf-8")
            progress.update(task, advance=1, description="PNG snapshot")
        if png:
            try:
                png.write_bytes(png_snapshot(page))
            except ServiceError as exc:
                raise fail(exc.message, exc.fix) from None
            progress.update(task, advance=1, description="targets")
        table_frame = targets_table(
            result.targets, categories=analysis_of.CATEGORY_NAMES, squads=layer.squad_names
        )
        if csv:
            csv.write_text("\ufeff" + table_frame.to_csv(index=False), encoding="utf-8")
            progress.update(task, advance=1)
    bins = result.cells["gi_bin"]
    console.print(
        f"{query.label()}: {result.incidents:,} incidents in {len(result.cells)} "
        f"{query.cells} cells; hot {(bins > 0).sum()}, cold {(bins < 0).sum()} "
        f"(Gi*, {query.permutations} permutations, FDR)"
    )
    if result.note:
        console.print(f"[yellow]{result.note}[/]")
    table = Table(
        "#",
        "where",
        "community",
        "incidents",
        "trend",
        "top categories",
        title="整治目标 campaign targets",
    )
    for t in result.targets:
        table.add_row(
            str(t.rank),
            t.where,
            t.community_name,
            str(t.count),
            t.trend or "",
            ", ".join(f"{c} {n}" for c, n in t.categories),
        )
    console.print(table)
    for label, path in (("map", html), ("PNG", png), ("targets", csv)):
        if path:
            console.print(f"{label} written to {path}")


@app.command()
def plan(
    squad: Annotated[str, typer.Option(help="Squad code or name: west, east, 巡查一中队.")],
    shift: Annotated[str, typer.Option(help="early (07-15) or late (15-23).")],
    date: Annotated[str, typer.Option(help="Day of the shift, YYYY-MM-DD.")],
    time_limit: Annotated[
        float, typer.Option(min=0.5, max=600.0, help="Safety cap on the search, in seconds.")
    ] = 60.0,
    solution_limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=100_000,
            help="Search iterations (default: the service's); the same "
            "seed and limit give the same plan on any machine.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Solver seed.")] = 0,
    gpx: Annotated[Path | None, typer.Option(help="Write the GPX here.")] = None,
    briefing: Annotated[
        Path | None, typer.Option(help="Write the printable briefing (HTML) here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored plan document as JSON.")
    ] = False,
    actor: ActorOption = DEFAULT_ACTOR,
) -> None:
    """Plan a squad's shift on the active layer and store it; print the routes and figures."""
    from concurrent.futures import ThreadPoolExecutor

    from service.layers.service import NetworkCache
    from service.plans import exports
    from service.plans import service as planning
    from service.plans.schemas import PlanCreate

    settings = get_settings()
    try:
        limits = {"solution_limit": solution_limit} if solution_limit else {}
        request = PlanCreate(
            squad=squad, shift=shift, date=date, time_limit_s=time_limit, seed=seed, **limits
        )
    except ValueError as exc:
        raise fail(
            str(exc), "check --squad, --shift (early|late) and --date (YYYY-MM-DD)."
        ) from None
    engine = open_engine(settings)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        _ensure_layer(session, settings, actor=actor)
        _warn_if_empty(session, "the plan has no hot spots to visit")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        # With --json, stdout is the document alone.
        console=err if as_json else console,
    ) as progress:
        task = progress.add_task(f"planning {squad} {shift} {date}", total=None)
        # Read without the writer lock and write once the plan is solved, as the service does:
        # reports filed meanwhile do not wait for the solve.
        reads = make_sessionmaker(engine, readonly=True)
        with (
            reads() as session,
            unit_of_work(factory) as store,
            ThreadPoolExecutor(1) as pool,
        ):
            layer = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
            try:
                network = NetworkCache().get(layer)
            except ServiceError as exc:
                raise fail(str(exc)) from None
            started = time.monotonic()
            title = f"planning {squad} {shift} {date}"

            def tell(share: float, phase: str) -> None:
                progress.update(task, total=1, completed=share, description=f"{title} · {phase}")

            job = pool.submit(
                planning.draft_plan,
                session=session,
                layer=layer,
                network=network,
                request=request,
                actor=actor,
                on_progress=tell,
            )
            while not job.done():
                time.sleep(0.2)
            try:
                row = planning.save_plan(store, job.result())
            except (ServiceError, ValueError) as exc:
                raise fail(str(exc)) from None
            progress.update(
                task,
                total=1,
                completed=1,
                description=f"planned in {time.monotonic() - started:.1f} s",
            )
            document = {"id": row.id, "layer_version": layer.label, **row.plan}
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    table = Table(
        "unit",
        "mode",
        "stops",
        "km",
        "travel min",
        "dwell min",
        "priority",
        title=f"plan {row.id}: {document['squad_name']} {date} {shift}",
    )
    for unit in document["units"]:
        table.add_row(
            unit["unit_id"],
            unit["mode"],
            str(len(unit["stops"])),
            f"{unit['distance_m'] / 1000:.1f}",
            f"{unit['travel_s'] / 60:.0f}",
            f"{unit['dwell_s'] / 60:.0f}",
            f"{unit['priority']:g}",
        )
    console.print(table)
    source = {
        "gi*": "Gi* hot cells",
        "ranking": "busiest cells (no Gi* hot cell)",
        "none": "no recent incidents",
    }.get(document.get("hotspot_source", ""), "")
    console.print(
        f"{len(document['hotspots'])} hot spots ({source}); key roads swept "
        f"{document['coverage']['share']:.0%}; {len(document['dropped'])} targets left "
        f"out; route map at /plans/{row.id}/map"
    )
    metrics = document["metrics"]

    def share(key: str) -> str:
        return "-" if metrics[key] is None else f"{metrics[key]:.0%}"

    console.print(
        f"utilisation min {share('utilisation_min')} / mean {share('utilisation_mean')}; "
        f"idle units {metrics['idle_units']}; hot-spot presence {share('hotspot_presence')}; "
        f"returned on time {share('returned_on_time')}"
    )
    if gpx:
        gpx.write_text(exports.plan_gpx(document), encoding="utf-8")
        console.print(f"GPX written to {gpx}")
    if briefing:
        briefing.write_text(exports.plan_briefing_html(document), encoding="utf-8")
        console.print(f"briefing written to {briefing}")


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


@app.command()
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


@app.command()
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
