"""The jiedao web service, one package per domain.

- ``core``: settings, engines and the unit of work, the error model and its status table, the
  audit log, the working calendar, shared schema pieces.
- ``layers``: layer versions and their features, the active layer's resolver and road graph.
- ``incidents``: intake (one, bulk, idempotent), resolution, duplicates, categories, queries.
- ``dispatch``: units, roster, positions and tracks, recommendations, assignments, the case
  lifecycle and its clocks, backup requests.
- ``plans``: patrol plans per shift, re-plans, exports (GeoJSON, GPX, briefings), dosage.
- ``hotspots``: Gi* analysis, campaign targets, the hot-spot map and its PNG snapshot.
- ``open311``: GeoReport v2 over the incidents.
- ``pages``: the jurisdiction map and the console, their templates and static files.

Each domain holds ``models`` (tables), ``schemas`` (request and response models), ``store``
(queries, never commits), ``service`` (logic, calling ``geo`` and ``maps``) and ``routes``
(thin); domains reach each other only through ``service``. ``app`` (the FastAPI app), ``cli``
and ``tables`` wire them together.
"""
