"""The jiedao web service: settings, database, models, schemas, CRUD, layer store and API."""

from pathlib import Path
from typing import Final

__all__ = ["STATIC_DIR"]

# The pages' JavaScript, CSS and vendored libraries (served at /static, inlined in downloads).
STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
