"""The Jinja2 templates of the map pages' chrome: title boxes, legends, lists, forms, popups.

Templates live in ``maps/templates``. Every value is escaped by the template engine
(``autoescape``); a value that is already HTML must arrive as :class:`markupsafe.Markup`.
Variables a template uses must be passed (``StrictUndefined``), so a misspelt name fails
instead of rendering as an empty string.
"""

from __future__ import annotations

from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ._style import BOX_CSS

__all__ = ["ENVIRONMENT", "render"]

ENVIRONMENT: Final = Environment(
    loader=PackageLoader("maps", "templates"),
    autoescape=select_autoescape(("html", "j2"), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.globals["BOX_CSS"] = BOX_CSS


def render(name: str, /, **context: Any) -> str:
    """Render the template ``name`` of ``maps/templates`` with ``context``.

    Parameters
    ----------
    name
        The template's file name, e.g. ``"hotspots_legend.html.j2"``.
    **context
        The template's variables; plain strings are HTML-escaped.

    Returns
    -------
    str
        The rendered HTML.
    """
    return ENVIRONMENT.get_template(name).render(**context)
