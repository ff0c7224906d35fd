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

__all__ = ["DEMO_BANNER", "STATIC_DIR", "TEMPLATES_DIR", "render", "with_demo_banner"]

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


DEMO_BANNER: Final = (
    '<div role="note" style="position:fixed;top:0;left:50%;transform:translateX(-50%);'
    "z-index:100000;padding:2px 10px;background:#f59e0b;color:#111827;font:700 13px "
    'sans-serif;border-radius:0 0 6px 6px">演示模式 DEMO MODE: demo data and demo users</div>'
)


def with_demo_banner(page: str, *, demo: bool) -> str:
    """``page`` with the demo-mode banner after ``<body>`` when ``demo`` (every page says so)."""
    if not demo:
        return page
    head, sep, tail = page.partition("<body>")
    return head + sep + DEMO_BANNER + tail if sep else DEMO_BANNER + page
