"""What the commands share: the active layer imported or a clear error, and a warning when
the database holds no incidents."""

from __future__ import annotations

from sqlalchemy.orm import Session

from geo.errors import LayerValidationError
from service import tables as tables
from service.core.cli_support import err, fail
from service.core.config import Settings
from service.incidents import service as incidents_service
from service.layers import service as layers_service


def warn_if_empty(session: Session, what: str) -> None:
    """Warn on stderr when the database holds no incidents (so ``what`` follows)."""
    if incidents_service.incident_count(session) == 0:
        err.print(
            f"[bold yellow]warning:[/] the database holds no incidents, so {what}. "
            "Load the demo month with `jiedao demo`, or check JIEDAO_DATA_DIR / "
            "JIEDAO_DATABASE_URL.",
            highlight=False,
        )


def ensure_layer(session: Session, settings: Settings, *, actor: str) -> None:
    """Import the configured layer pack if it is new; a missing or invalid pack is a CLI error."""
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
