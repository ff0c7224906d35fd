"""The spatial core of jiedao: pure functions over shapely, pyproj, geopandas and numpy.

Nothing here imports the web framework, the database layer or the map renderer; a test enforces it.
"""

from . import crs as crs
from . import errors as errors
