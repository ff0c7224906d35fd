"""Queries of the layers domain: layer versions and their features. Never commits."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import NotFoundError, UnavailableError
from .models import Community, LayerVersion, Squad

__all__ = [
    "active_row",
    "active_version",
    "any_version",
    "community_spellings",
    "feature_rows",
    "get_version",
    "label_exists",
    "list_versions",
    "squad_spellings",
]


def any_version(session: Session) -> bool:
    """Whether the database holds any layer version."""
    return session.scalar(select(LayerVersion.id).limit(1)) is not None


def label_exists(session: Session, label: str) -> bool:
    """Whether a layer version ``label`` (``name@version``) is stored."""
    return session.scalar(select(LayerVersion.id).where(LayerVersion.label == label)) is not None


def active_row(session: Session) -> Any:
    """The active version's ``(id, label)``, or None."""
    return session.execute(
        select(LayerVersion.id, LayerVersion.label).where(LayerVersion.active.is_(True))
    ).first()


def active_label(session: Session) -> str | None:
    """The active version's label, or None."""
    return session.scalar(select(LayerVersion.label).where(LayerVersion.active.is_(True)))


def label_of(session: Session, version_id: int) -> str | None:
    """The label of layer version ``version_id``."""
    return session.scalar(select(LayerVersion.label).where(LayerVersion.id == version_id))


def labels_and_squads(
    session: Session, version_ids: set[int]
) -> tuple[dict[int, str], dict[tuple[int, str], str]]:
    """Labels of ``version_ids`` and the Chinese names of their squads, by (version, code)."""
    if not version_ids:
        return {}, {}
    labels = dict(
        session.execute(
            select(LayerVersion.id, LayerVersion.label).where(LayerVersion.id.in_(version_ids))
        ).all()
    )
    squads = {
        (vid, code): name
        for vid, code, name in session.execute(
            select(Squad.version_id, Squad.code, Squad.name_zh).where(
                Squad.version_id.in_(version_ids)
            )
        ).all()
    }
    return labels, squads


def community_spellings(session: Session) -> list[Any]:
    """Every stored community's code, names and aliases (all versions)."""
    return list(
        session.execute(
            select(
                Community.code,
                Community.name_zh,
                Community.name_pinyin,
                Community.name_en,
                Community.aliases,
            )
        ).all()
    )


def squad_spellings(session: Session) -> list[Any]:
    """Every stored squad's code and names (all versions)."""
    return list(session.execute(select(Squad.code, Squad.name_zh, Squad.name_en)).all())


def list_versions(session: Session) -> list[LayerVersion]:
    """Every stored layer version, oldest first."""
    return list(session.scalars(select(LayerVersion).order_by(LayerVersion.id)))


def get_version(session: Session, label_or_id: str | int) -> LayerVersion:
    """A layer version by label (``name@version``) or numeric id."""
    query = select(LayerVersion)
    if isinstance(label_or_id, int) or str(label_or_id).isdigit():
        query = query.where(LayerVersion.id == int(label_or_id))
    else:
        query = query.where(LayerVersion.label == str(label_or_id))
    version = session.scalar(query)
    if version is None:
        labels = ", ".join(v.label for v in list_versions(session)) or "none"
        raise NotFoundError(
            "label",
            f"No layer version {label_or_id!r}.",
            f"use one of the stored versions ({labels}) or import the pack first.",
        )
    return version


def active_version(session: Session) -> LayerVersion:
    """The active layer version; raises when the database has none."""
    version = session.scalar(select(LayerVersion).where(LayerVersion.active.is_(True)))
    if version is None:
        raise UnavailableError(
            None,
            "No layer version is active, so no point can be resolved.",
            "import a layer pack (jiedao layers import PATH --activate) or restart the service "
            "to import the bundled pack.",
        )
    return version


def feature_rows(
    session: Session, model: Any, version_id: int, columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The features of layer version ``version_id`` in ``model``, in id order.

    Each row holds ``columns`` and a shapely ``geometry``.
    """
    result = []
    for obj in session.scalars(
        select(model).where(model.version_id == version_id).order_by(model.id)
    ):
        row = {c: getattr(obj, c) for c in columns}
        row["geometry"] = to_shape(obj.geom)
        result.append(row)
    return result
