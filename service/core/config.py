"""Settings of the jiedao service, read once from ``JIEDAO_*`` environment variables and ``.env``.

Every distance is in metres and every duration in hours. The database defaults to an embedded
SpatiaLite file, ``jiedao.sqlite`` in the data directory (``JIEDAO_DATA_DIR``: by default the
user's data directory from ``platformdirs``, e.g. ``~/.local/share/jiedao``; ``./scripts/run``
sets the checkout's ``var/``), so every command finds the same database whatever folder it runs
from. A PostGIS server is chosen by giving a ``postgresql://`` URL, which is normalised to the
psycopg 3 driver.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, time
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from geo.jurisdiction import ResolveParams
from layers.limits import ReadLimits

from .calendar import WorkingCalendar, read_overrides
from .ratelimit import parse_rates

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Typed settings; each field is also ``JIEDAO_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="JIEDAO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where the embedded database lives; an absolute path, whatever the current folder.
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("jiedao")))
    # Default: the SpatiaLite file jiedao.sqlite in data_dir.
    database_url: str = ""
    spatialite_library: str = "mod_spatialite"
    # How long a SpatiaLite write waits for another writer before it is answered 503.
    sqlite_busy_timeout_s: float = Field(30.0, gt=0, le=600)
    # A layer pack folder imported when the database has no layer version; None = bundled pack.
    layer_pack: Path | None = None
    # The organisation (groups, posts, departments) used until the administrator stores one;
    # None = the bundled Qingshuihe file.
    organisation_file: Path | None = None
    # The ledger (附件四): an incident from another source is an officer's missed item unless
    # one of their items of the same category lies within this distance and time of it, and
    # it happened in their duty hours.
    ledger_match_m: float = Field(150.0, gt=0, le=5000)
    ledger_match_hours: float = Field(24.0, gt=0, le=24 * 7)
    ledger_duty_start: time = time(8, 0)
    ledger_duty_end: time = time(18, 0)
    key_road_m: float = Field(15.0, ge=0)
    near_boundary_m: float = Field(30.0, ge=0)
    boundary_search_m: float = Field(100.0, ge=0)
    duplicate_radius_m: float = Field(50.0, gt=0)
    duplicate_window_hours: float = Field(24.0, gt=0)
    # How many possible duplicates a new report lists (the nearest; the total is counted).
    duplicate_limit: int = Field(5, ge=0, le=100)
    max_body_bytes: int = Field(1_000_000, gt=0)
    # Requests each worker process serves at once (more wait their turn, in order). Each holds
    # up to three database connections (its unit of work, its read session, an audit of a
    # refusal), and the pool is sized for that, so a burst never leaves requests waiting on
    # each other for connections.
    request_slots: int = Field(8, ge=1, le=64)
    incident_id_prefix: str = Field("QSH", pattern=r"^[A-Z]{2,8}$")
    # Dispatch: a unit with no ping for this long is shown as stale.
    stale_after_s: float = Field(120.0, gt=0)
    # Urgent cases: dispatched within this long of the report, on scene within this long of the
    # dispatch. The plan sets only the 15-minute report rule; these are our defaults, flagged
    # (not enforced) so the case team can see which urgent cases were slow.
    urgent_dispatch_limit_s: float = Field(300.0, gt=0)
    urgent_arrival_limit_s: float = Field(900.0, gt=0)
    # The working calendar of case time limits (工作时): these hours, every day, Beijing time.
    workday_start: time = time(7, 0)
    workday_end: time = time(23, 0)
    # Days that add to or correct the official calendar (holidays, 调休 make-up days), a TOML
    # file with lists holidays and workdays: for years chinesecalendar does not cover yet.
    workday_overrides: Path | None = None
    # Processes that solve plans beside the service (0: in the service's own process).
    plan_workers: int = Field(1, ge=0, le=8)
    # Search budget of the re-plan made when a unit is assigned (inside the request).
    replan_time_limit_s: float = Field(3.0, gt=0, le=120)
    tianditu_key: str | None = None
    amap_tiles: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Signing key of tokens and session cookies; when unset, a random key is made once and
    # kept in <data_dir>/secret_key (mode 0600), so restarts keep people signed in.
    secret_key: SecretStr | None = None
    access_token_minutes: float = Field(15.0, gt=0, le=24 * 60)
    refresh_token_hours: float = Field(12.0, gt=0, le=24 * 30)
    session_hours: float = Field(12.0, gt=0, le=24 * 7)  # a page sign-in lasts a shift and more
    login_window_s: int = Field(900, gt=0)
    login_failures_per_user: int = Field(5, ge=1)
    login_failures_per_address: int = Field(20, ge=1)
    # Intake (POST /incidents, Open311 requests) per person or API client and per address, in
    # each worker; `limits` notation, several joined by ";".
    intake_rate_per_user: str = "120/minute; 3000/hour"
    intake_rate_per_address: str = "600/minute"
    # What one layer file may hold (jiedao layers validate/import): see layers.limits.
    layer_max_file_mb: float = Field(100.0, gt=0)
    layer_max_features: int = Field(200_000, gt=0)
    layer_max_vertices: int = Field(200_000, gt=0)
    # Demo mode: the demo users exist and every page says so; never in production.
    demo: bool = False

    def layer_limits(self) -> ReadLimits:
        """The limits a layer file is read within."""
        return ReadLimits(
            max_file_mb=self.layer_max_file_mb,
            max_features=self.layer_max_features,
            max_vertices=self.layer_max_vertices,
        )

    def signing_key(self) -> str:
        """The key that signs tokens: ``secret_key``, or the one kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Create with 0600 from the start: the key is never readable by others.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="ascii").strip()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("intake_rate_per_user", "intake_rate_per_address")
    @classmethod
    def _rates(cls, value: str) -> str:
        parse_rates(value)  # raises naming the form
        return value

    @field_validator("database_url")
    @classmethod
    def _use_psycopg_driver(cls, value: str) -> str:
        if not value:
            return value  # filled in from data_dir below
        # SQLAlchemy's bare "postgresql://" means psycopg2, which jiedao does not install.
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite:", "postgresql+psycopg:")):
            msg = (
                f"Unsupported database URL {value!r}: use sqlite:///path/to/file.sqlite "
                "(SpatiaLite) or postgresql://user@host/dbname (PostGIS)."
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _check_distances(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'jiedao.sqlite'}"
        self.resolve_params()  # raises with a message naming the setting to fix
        if self.workday_overrides is not None:
            _overrides(self.workday_overrides)  # a bad file fails at start, naming the fix
        if not self.workday_start < self.workday_end:
            msg = (
                f"JIEDAO_WORKDAY_START ({self.workday_start}) must be before "
                f"JIEDAO_WORKDAY_END ({self.workday_end}), e.g. 07:00 and 23:00."
            )
            raise ValueError(msg)
        return self

    @property
    def database_label(self) -> str:
        """The database in words, password hidden (what every command prints)."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            return f"SpatiaLite file {url.database}"
        return f"PostGIS {url.render_as_string(hide_password=True)}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SpatiaLite file."""
        return self.database_url.startswith("sqlite")

    def working_calendar(self) -> WorkingCalendar:
        """The calendar of case time limits these settings ask for."""
        overrides = _overrides(self.workday_overrides) if self.workday_overrides else {}
        return WorkingCalendar(start=self.workday_start, end=self.workday_end, overrides=overrides)

    def resolve_params(self) -> ResolveParams:
        """The jurisdiction parameters these settings ask for."""
        return ResolveParams(
            key_road_m=self.key_road_m,
            near_boundary_m=self.near_boundary_m,
            boundary_search_m=self.boundary_search_m,
        )


@lru_cache(maxsize=8)
def _overrides(path: Path) -> dict[date, bool]:
    return read_overrides(path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
