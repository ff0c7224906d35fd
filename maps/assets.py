"""Serve a map's JavaScript and CSS from the service itself instead of public CDNs.

A sub-district office often works on an intranet (政务内网) where public CDNs do not answer, and a
map whose Leaflet never loads is a blank page. jiedao ships the libraries folium uses under
``service/pages/static/vendor`` and :func:`offline_html` points a rendered map at them.
Basemap tiles
still come from their providers; everything jiedao draws works without them.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import folium
from branca.element import Element

__all__ = ["LOCAL_ASSETS", "offline_html", "standalone_html"]

# folium's asset names -> paths under the vendor folder (versions as folium 0.20 asks for).
LOCAL_ASSETS: Final[dict[str, str]] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "markercluster_js": "markercluster/leaflet.markercluster.js",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    # Hot-spot maps: HeatMap and HeatMapWithTime (the week-by-week animation).
    "leaflet-heat.js": "folium/leaflet_heat.min.js",
    "iso8601": "iso8601/iso8601.js",
    "leaflet.timedimension.min.js": "timedimension/leaflet.timedimension.min.js",
    "leaflet.timedimension.control.min.css": "timedimension/leaflet.timedimension.control.min.css",
    "heatmap.min.js": "folium/pa7_hm.min.js",
    "leaflet-heatmap.js": "folium/pa7_leaflet_hm.min.js",
}
# Assets jiedao's maps never use (Bootstrap 3 glyphs, rotated marker icons): left out.
UNUSED_ASSETS: Final = frozenset({"glyphicons_css", "awesome_rotate_css"})


def _elements(root: Element) -> Iterable[Element]:
    yield root
    for child in root._children.values():
        yield from _elements(child)


def offline_html(m: folium.Map, *, asset_base: str) -> str:
    """Render ``m`` to a full HTML page whose scripts and styles load from ``asset_base``.

    Parameters
    ----------
    m
        The map.
    asset_base
        The URL the :data:`LOCAL_ASSETS` paths are relative to (e.g. ``/static/vendor``).

    Returns
    -------
    str
        The page's HTML.

    Raises
    ------
    ValueError
        Naming any asset with no local copy, so a folium upgrade that adds one fails loudly in
        the tests instead of silently reaching for a CDN.
    """
    urls: dict[str, str] = {}
    for element in _elements(m):
        for name, url in [
            *getattr(element, "default_js", []),
            *getattr(element, "default_css", []),
        ]:
            urls[name] = url
    html = m.get_root().render()
    base = asset_base.rstrip("/")
    for name, url in urls.items():
        if name in LOCAL_ASSETS:
            html = html.replace(url, f"{base}/{LOCAL_ASSETS[name]}")
        elif name in UNUSED_ASSETS:
            html = re.sub(rf"<link[^>]*{re.escape(url)}[^>]*>\s*", "", html)
        else:
            msg = (
                f"The map needs asset {name!r} ({url}) that jiedao does not ship: add it to "
                "service/pages/static/vendor and maps.assets.LOCAL_ASSETS."
            )
            raise ValueError(msg)
    return html


def standalone_html(m: folium.Map, *, vendor_dir: Path) -> str:
    """Render ``m`` as one self-contained page that opens from disk.

    Every script and stylesheet is inlined, and the images and fonts those stylesheets use become
    data URIs, so a saved file opens with no server and no network (basemap tiles aside).

    Parameters
    ----------
    m
        The map.
    vendor_dir
        The folder :data:`LOCAL_ASSETS` paths are relative to.

    Returns
    -------
    str
        The page's HTML.

    Raises
    ------
    ValueError
        As :func:`offline_html`, for an asset with no local copy.
    """
    marker = "/jiedao-vendor"
    html = offline_html(m, asset_base=marker)

    def script(match: re.Match[str]) -> str:
        body = (vendor_dir / match.group(1)).read_text(encoding="utf-8")
        return "<script>" + body.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        path = vendor_dir / match.group(1)
        return "<style>" + _inline_urls(path.read_text(encoding="utf-8"), path.parent) + "</style>"

    html = re.sub(rf'<script[^>]*src="{marker}/([^"]+)"[^>]*>\s*</script>', script, html)
    return re.sub(rf'<link[^>]*href="{marker}/([^"]+)"[^>]*>', style, html)


def _inline_urls(css: str, folder: Path) -> str:
    """Relative ``url(...)`` references of a stylesheet as data URIs (missing files are kept)."""

    def data_uri(match: re.Match[str]) -> str:
        ref = match.group(1).strip("'\"")
        if ref.startswith(("data:", "http:", "https:", "//", "#")):
            return match.group(0)
        path = (folder / ref.split("?")[0].split("#")[0]).resolve()
        if not path.is_file():
            return match.group(0)
        kind = mimetypes.guess_type(path.name)[0] or (
            "font/woff2" if path.suffix == ".woff2" else "application/octet-stream"
        )
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:{kind};base64,{encoded})"

    return re.sub(r"url\(([^)]+)\)", data_uri, css)
