"""The pages' shared parts: where their static files live, and their Jinja2 templates.

Every page jiedao serves or writes as HTML (the console shell, the printable campaign targets,
the unit briefings) is rendered here from ``service/pages/templates/``, autoescaped: a value
from the database cannot become markup. The static files (the console's script and style, the
vendored Leaflet and friends) are served at ``/static`` and inlined into standalone downloads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "render"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR: Final = Path(__file__).resolve().parent / "templates"

_ENV: Final = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(name: str, /, **context: Any) -> str:
    """Render the template ``name`` (e.g. ``console.html.j2``) with ``context``.

    Parameters
    ----------
    name
        File name under ``service/pages/templates/``.
    **context
        The template's variables; a missing one is an error, not an empty string.

    Returns
    -------
    str
        The page.
    """
    return _ENV.get_template(name).render(**context)
