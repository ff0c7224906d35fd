"""``jiedao plan``: plan a squad's shift, store it and print its routes and figures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service import tables as tables
from service.cli.common import ensure_layer, warn_if_empty
from service.core.cli_support import DEFAULT_ACTOR, ActorOption, console, err, fail, open_engine
from service.core.config import get_settings
from service.core.db import make_sessionmaker, unit_of_work
from service.core.errors import ServiceError
from service.layers import service as layers_service


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
        ensure_layer(session, settings, actor=actor)
        warn_if_empty(session, "the plan has no hot spots to visit")
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
