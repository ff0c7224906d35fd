"""Folium renderers: functions that take data and return a ``folium.Map``.

No database, no files: callers pass the data in and render or serve the result. The page chrome
(title boxes, legends, lists, forms, popups) comes from the Jinja2 templates in
``maps/templates``, which escape every value they show.
"""

from . import basemaps as basemaps
from . import jurisdiction as jurisdiction
from . import routes as routes
from .jurisdiction import render_jurisdiction as render_jurisdiction
from .routes import render_plan as render_plan

__all__ = ["basemaps", "jurisdiction", "render_jurisdiction", "render_plan", "routes"]
