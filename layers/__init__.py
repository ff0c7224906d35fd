"""Jurisdiction layer packs: the bundled Qingshuihe pack, and loaders and validators for any.

A pack is a folder with ``pack.json`` (metadata and squads) and GeoJSON/GeoPackage/Shapefile layers
of communities, key roads, stations and, optionally, places. Loaders return validated
GeoDataFrames in EPSG:4326.
"""

from . import limits as limits
from . import loader as loader
from . import pack as pack
from . import validation as validation
from .limits import LayerLimitError, ReadLimits
from .pack import LayerPack, bundled_pack_path, pack_from_areas, read_pack
from .validation import ensure_valid, validate_pack

__all__ = [
    "LayerLimitError",
    "LayerPack",
    "ReadLimits",
    "bundled_pack_path",
    "ensure_valid",
    "limits",
    "loader",
    "pack",
    "pack_from_areas",
    "read_pack",
    "validate_pack",
    "validation",
]
