"""Colours and small page helpers shared by the map renderers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple
from urllib.parse import urlencode

from . import basemaps

__all__ = [
    "BOX_CSS",
    "CATEGORY_COLOURS",
    "FALLBACK_COLOURS",
    "SQUAD_COLOURS",
    "BasemapLink",
    "basemap_links",
    "category_colour",
    "squad_colour",
]

# The floating title and legend boxes of every map page.
BOX_CSS: Final = (
    "position: fixed; z-index: 9999; background: rgba(255,255,255,0.93); "
    "border: 1px solid #888; border-radius: 4px; padding: 6px 10px; "
    "font: 12px/1.45 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3);"
)

# Two clearly distinct squad colours (blue west, burnt orange east), drawn as light fills so
# the saturated incident markers on top stay readable.
SQUAD_COLOURS: Final = {"west": "#2b6cb0", "east": "#c05621"}
FALLBACK_COLOURS: Final = ("#6b46c1", "#2f855a", "#b83280", "#975a16", "#2c7a7b", "#4a5568")

# One fixed colour per category, by family: street and appearance (C01-C03) green/orange/purple;
# licensing and food (C04-C07, C11, C12) reds, pinks, browns; building and land (C08, C09, C13)
# blues; safety hazards (C14, C18, C19) black, dark brown, gold; social matters greys and violets.
CATEGORY_COLOURS: Final = {
    "C01": "#2ca02c",
    "C02": "#ff7f0e",
    "C03": "#9467bd",
    "C04": "#d62728",
    "C05": "#e377c2",
    "C06": "#8c564b",
    "C07": "#7f0000",
    "C08": "#1f77b4",
    "C09": "#17becf",
    "C10": "#7f7f7f",
    "C11": "#c51b7d",
    "C12": "#bcbd22",
    "C13": "#393b79",
    "C14": "#000000",
    "C15": "#637939",
    "C16": "#a55194",
    "C17": "#6b6ecf",
    "C18": "#843c39",
    "C19": "#e7ba52",
    "C20": "#525252",
    "C21": "#aaaaaa",
}
_UNKNOWN_CATEGORY: Final = "#999999"


def squad_colour(squad: str, order: list[str]) -> str:
    """The squad's colour; squads of other packs take fallback colours by their position."""
    if squad in SQUAD_COLOURS:
        return SQUAD_COLOURS[squad]
    others = [s for s in order if s not in SQUAD_COLOURS]
    position = others.index(squad) if squad in others else len(others)
    return FALLBACK_COLOURS[position % len(FALLBACK_COLOURS)]


def category_colour(code: str) -> str:
    """The category's fixed colour (grey for codes outside C01-C21)."""
    return CATEGORY_COLOURS.get(code, _UNKNOWN_CATEGORY)


class BasemapLink(NamedTuple):
    """One entry of a title box's basemap switch.

    Parameters
    ----------
    query
        The page's query string with this basemap (without the leading ``?``).
    name
        The basemap's label.
    chosen
        Whether this is the basemap shown (drawn in bold).
    """

    query: str
    name: str
    chosen: bool


def basemap_links(chosen: str, link_params: Mapping[str, str]) -> list[BasemapLink]:
    """The basemap switch of a title box: one link per basemap, keeping ``link_params``."""
    return [
        BasemapLink(urlencode({**link_params, "basemap": code}), item.name, code == chosen)
        for code, item in basemaps.BASEMAPS.items()
    ]
