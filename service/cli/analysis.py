"""Questions about places: ``jiedao resolve`` (a point's community, squad and key road) and
``jiedao hotspots`` (the Gi* hot spots and campaign targets of a period)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import layers
from geo.errors import CoordinateError, UnknownCRSError
from geo.jurisdiction import Jurisdiction
from service import tables as tables
from service.cli.common import ensure_layer, warn_if_empty
from service.core.cli_support import DEFAULT_ACTOR, console, err, fail, open_engine
from service.core.config import get_settings
from service.core.db import make_sessionmaker, unit_of_work
from service.core.errors import ServiceError
from service.core.timezones import BEIJING
from service.layers import service as layers_service


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
            ensure_layer(session, settings, actor=DEFAULT_ACTOR)
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
    from service.core.chromium import png_snapshot
    from service.hotspots import service as analysis_of

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
            ensure_layer(session, settings, actor="system:startup")
            warn_if_empty(session, "there are no hot spots to find")
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
