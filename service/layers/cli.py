"""``jiedao layers``: validate, import, list and activate jurisdiction layer versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import layers
from geo.errors import LayerValidationError
from layers.repair import DEFAULT_TOLERANCE_M2, repair_pack

from ..core.cli_support import DEFAULT_ACTOR, ActorOption, console, fail, open_engine
from ..core.config import get_settings
from ..core.db import make_sessionmaker, unit_of_work
from ..core.errors import ServiceError
from . import service as layers_service

__all__ = ["layers_app"]

layers_app = typer.Typer(
    help="Validate, import, list and activate jurisdiction layer versions.", no_args_is_help=True
)


RepairOption = Annotated[
    bool,
    typer.Option(
        help="Repair small faults first (invalid rings; overlaps and gaps up to the tolerance) "
        "and list every repair."
    ),
]
ToleranceOption = Annotated[
    float,
    typer.Option(min=0.0, help="Largest overlap or gap --repair snaps away, in m²."),
]


def _read(
    path: Path, *, source_crs: str | None, repair: bool, tolerance_m2: float
) -> layers.LayerPack:
    """Read the pack within the configured limits; repaired and the repairs printed."""
    try:
        pack = layers.read_pack(path, source_crs=source_crs, limits=get_settings().layer_limits())
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if repair:
        pack, repairs = repair_pack(pack, tolerance_m2=tolerance_m2)
        for done in repairs:
            console.print(f"[cyan]repaired[/] {done}")
        console.print(f"{len(repairs)} repair(s) within {tolerance_m2:g} m².")
    return pack


@layers_app.command("validate")
def layers_validate(
    path: Annotated[Path, typer.Argument(help="Layer pack folder.")],
    source_crs: Annotated[
        str | None,
        typer.Option(help="Declare the layers' coordinates: wgs84, gcj02, bd09 or EPSG:xxxx."),
    ] = None,
    repair: RepairOption = False,
    repair_tolerance_m2: ToleranceOption = DEFAULT_TOLERANCE_M2,
) -> None:
    """Check a layer pack; every problem names the feature and the fix."""
    pack = _read(path, source_crs=source_crs, repair=repair, tolerance_m2=repair_tolerance_m2)
    issues = layers.validate_pack(pack)
    for issue in issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(f"[{colour}]{issue.severity}[/] {issue}")
    errors = sum(issue.severity == "error" for issue in issues)
    console.print(
        f"{pack.label}: {len(pack.communities)} communities, "
        f"{len(pack.key_roads)} key roads, {len(pack.stations)} stations; "
        f"{errors} error(s), {len(issues) - errors} warning(s)."
    )
    if errors:
        raise typer.Exit(code=1)


@layers_app.command("import")
def layers_import(
    path: Annotated[Path, typer.Argument(help="Layer pack folder.")],
    activate: Annotated[
        bool, typer.Option(help="Make it the active version for new incidents.")
    ] = False,
    version: Annotated[
        str | None, typer.Option(help="Store under this version instead of pack.json's.")
    ] = None,
    source_crs: Annotated[str | None, typer.Option(help="wgs84, gcj02, bd09 or EPSG:xxxx.")] = None,
    repair: RepairOption = False,
    repair_tolerance_m2: ToleranceOption = DEFAULT_TOLERANCE_M2,
    actor: ActorOption = DEFAULT_ACTOR,
) -> None:
    """Validate a layer pack and store it as a new layer version."""
    settings = get_settings()
    pack = _read(path, source_crs=source_crs, repair=repair, tolerance_m2=repair_tolerance_m2)
    try:
        if version:
            pack = pack.with_version(version)
        with unit_of_work(make_sessionmaker(open_engine(settings))) as session:
            stored = layers_service.import_pack(session, pack, actor=actor, activate=activate)
            label, active = stored.label, stored.active
    except LayerValidationError as exc:
        raise fail(
            str(exc), "fix the listed features and import again; nothing was stored."
        ) from None
    except (ServiceError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"Imported {label}"
        + (
            " and activated it."
            if active
            else f"; activate it with: jiedao layers activate {label}"
        )
    )


@layers_app.command("list")
def layers_list() -> None:
    """List the stored layer versions; * marks the active one."""
    with unit_of_work(make_sessionmaker(open_engine(get_settings()))) as session:
        versions = layers_service.list_versions(session)
        table = Table("", "id", "label", "title", "created", "by")
        for v in versions:
            table.add_row(
                "*" if v.active else "",
                str(v.id),
                v.label,
                v.title or "",
                f"{v.created_at:%Y-%m-%d %H:%M}",
                v.created_by,
            )
    console.print(
        table
        if versions
        else "No layer versions yet: run jiedao demo or jiedao layers import PATH."
    )


@layers_app.command("activate")
def layers_activate(
    label: Annotated[str, typer.Argument(help="Label (name@version) or id.")],
    actor: ActorOption = DEFAULT_ACTOR,
) -> None:
    """Make a stored layer version the active one; stored incidents keep their resolution."""
    try:
        with unit_of_work(make_sessionmaker(open_engine(get_settings()))) as session:
            version = layers_service.activate_version(
                session, int(label) if label.isdigit() else label, actor=actor
            )
            activated = version.label
    except ServiceError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"Active layer version: {activated}. New incidents resolve on it; stored "
        "incidents keep the version they were resolved on."
    )
