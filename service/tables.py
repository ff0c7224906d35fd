"""Every table of every domain in one metadata, for Alembic and for start-up.

Domains reference each other's tables by name (``ForeignKey("incidents.id")``), not by import,
so something must load them all before the first flush: this module, imported by the app, the
CLI and the migrations.
"""

from __future__ import annotations

from .auth import models as auth_models
from .casefiles import models as casefiles_models
from .core import audit as audit
from .core.models import Base
from .dispatch import models as dispatch_models
from .incidents import models as incidents_models
from .layers import models as layers_models
from .ledger import models as ledger_models
from .organisation import models as organisation_models
from .plans import models as plans_models
from .reports import models as reports_models

__all__ = ["Base", "metadata"]

metadata = Base.metadata
_DOMAINS = (
    audit,
    auth_models,
    casefiles_models,
    dispatch_models,
    incidents_models,
    layers_models,
    ledger_models,
    organisation_models,
    plans_models,
    reports_models,
)
