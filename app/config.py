"""Settings, read in one place from the environment (prefix ESS_).

`load_settings` is how commands read them: a wrong value, or an ESS_ variable that is
no setting (a misspelling, most likely), stops the command with one line naming the
variable and never its value, and exit status EXIT_CONFIG.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth import MIN_TOKEN_LENGTH, hash_random_token, parse_token_hash
from app.ratelimit import REDIS_SCHEMES
from app.resources import shipped_file


def default_var_dir() -> Path:
    """var/ of the source checkout when run from one, else var/ in the working directory.

    An installed package must not write beside its code (site-packages), so outside a
    checkout the database, caches and exports go where the command is run.
    """
    source_root = Path(__file__).resolve().parents[1]
    if (source_root / "pyproject.toml").is_file():
        return source_root / "var"
    return Path.cwd() / "var"


DEFAULT_VAR_DIR = default_var_dir()
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
ENV_PREFIX = "ESS_"
EXIT_CONFIG = 78  # EX_CONFIG of sysexits.h: the configuration is wrong


class ConfigurationError(Exception):
    """A configuration that cannot work: one line naming the variable, nothing secret."""


def default_database_url() -> str:
    """The embedded default: one SQLite file in the local var/ folder."""
    return f"sqlite:///{DEFAULT_VAR_DIR / 'ess-atlas.sqlite3'}"


class Settings(BaseSettings):
    """Everything configurable about an ess-atlas instance."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    # Upgrade an out-of-date schema on `serve` / `import`; unset: only the embedded SQLite.
    auto_migrate: bool | None = None
    # Replaces only the taxonomy and the default directory; the rest ships in the packages.
    data_dir: Path | None = None
    default_directory: Path | None = None
    load_default_directory: bool = True
    tiles_url: str = DEFAULT_TILES_URL
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION
    # Sites that may show /embed in a frame (space- or comma-separated origins, or *).
    embed_allowed_origins: str = "*"
    geocoder_url: str | None = None
    geocoder_cache_path: Path | None = None
    geocoder_rate_limit: float = 50.0
    admin_token_hash: SecretStr | None = None
    admin_token: SecretStr | None = Field(default=None, exclude=True)
    admin_failure_burst: int = Field(default=5, ge=1)
    admin_failure_rate: float = Field(default=0.1, gt=0)
    max_page_size: int = 5000
    default_page_size: int = 100
    max_nearby_radius_km: float = 100.0
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    import_batch_size: int = Field(default=20_000, ge=1, le=50_000)
    # Whole-dataset exports, one file per format and data version (app/exports/files.py).
    export_dir: Path = DEFAULT_VAR_DIR / "exports"
    # Shared per-client rate limits across servers (app/ratelimit.py); unset: per process.
    redis_url: str | None = None
    geocode_api_rate_limit: float = Field(default=10.0, gt=0)
    geocode_api_burst: int = Field(default=20, ge=1)
    # SQLite's quick_check reads the whole file: at 1,000,000 structures (3.5 GB) 5.4 s of
    # CPU with the file in the page cache, 44 s when it is not. Docker's HEALTHCHECK calls
    # /healthz every 30 s: once a minute, that was a core's tenth spent re-reading the file.
    health_integrity_interval: float = Field(default=3600.0, ge=0)
    # HTTP server (app/server.py): who may set X-Forwarded-*, links, timeouts.
    forwarded_allow_ips: str = ""
    public_url: str | None = None
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)
    # Requests one worker process runs at once in its threads (the routes are synchronous).
    request_threads: int = Field(default=2, ge=1, le=64)

    @field_validator("geocoder_url")
    @classmethod
    def _check_geocoder_url(cls, value: str | None) -> str | None:
        """Refuse unusable or dangerous geocoder URLs when the settings load."""
        if not value:
            return None
        from geocode.ban import validate_base_url
        from geocode.base import GeocoderConfigError

        try:
            return validate_base_url(value)
        except GeocoderConfigError as error:  # pydantic reports ValueErrors with the field
            raise ValueError(str(error)) from None

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        """Refuse a URL SQLAlchemy cannot use (unknown kind, driver not installed)."""
        from app.db import database_url_problem

        problem = database_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("data_dir")
    @classmethod
    def _check_data_dir(cls, value: Path | None) -> Path | None:
        """A data folder, when named, must exist and hold the sector taxonomy."""
        if value is None:
            return None
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        if not (value / "categories.yaml").is_file():
            raise ValueError(f"{value} holds no categories.yaml")
        return value

    @field_validator("default_directory")
    @classmethod
    def _check_default_directory(cls, value: Path | None) -> Path | None:
        """The default directory, when named, must be a file."""
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse a short plain admin token (the message never repeats it)."""
        if value is not None and 0 < len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"an admin token needs at least {MIN_TOKEN_LENGTH} characters")
        return value
    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        """A redis://, rediss:// or redis+unix:// URL; empty means none."""
        if not value:
            return None
        if urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError("must be a redis://, rediss:// or redis+unix:// URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        """An absolute http(s) base URL without query or fragment, kept without its final /."""
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("must have no query, fragment or user name")
        return value.rstrip("/")

    @field_validator("embed_allowed_origins")
    @classmethod
    def _check_embed_allowed_origins(cls, value: str) -> str:
        """Refuse a list CSP frame-ancestors cannot carry."""
        from app.mapview.embed_origins import parse_embed_origins

        parse_embed_origins(value)
        return value

    @field_validator("admin_token_hash")
    @classmethod
    def _check_admin_token_hash(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse a stored token hash in an unknown format when the settings load."""
        if value is None or not value.get_secret_value():
            return None
        parse_token_hash(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _hash_plain_admin_token(self) -> Settings:
        """Keep only a hash of a plain ESS_ADMIN_TOKEN, never the token itself.

        The hash stays in memory, beside where the token itself was, so a fast sha256
        serves: a slow hash would only slow every check down.
        """
        if self.admin_token is not None and self.admin_token.get_secret_value():
            token = self.admin_token.get_secret_value()
            self.admin_token_hash = SecretStr(hash_random_token(token))
        self.admin_token = None
        return self

    @property
    def migrates_schema(self) -> bool:
        """Whether commands upgrade an out-of-date schema (ESS_AUTO_MIGRATE, else SQLite)."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.database_url.startswith("sqlite")

    @property
    def directory_csv(self) -> Path:
        """The CSV loaded into an empty database."""
        if self.default_directory is not None:
            return self.default_directory
        return self._data_file("organisations.csv")

    @property
    def embed_origins(self) -> tuple[str, ...]:
        """The origins allowed to frame /embed, or ('*',)."""
        from app.mapview.embed_origins import parse_embed_origins

        return parse_embed_origins(self.embed_allowed_origins)

    @property
    def categories_yaml(self) -> Path:
        """The sector taxonomy file."""
        return self._data_file("categories.yaml")

    def _data_file(self, name: str) -> Path:
        """A file of ESS_DATA_DIR when it is set, else the one shipped with the application."""
        return self.data_dir / name if self.data_dir is not None else shipped_file(name)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line for each ESS_ variable that is no setting, naming the closest setting."""
    known = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields]
    lines = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in known:
            closest = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
            hint = f" (did you mean {closest[0]}?)" if closest else ""
            lines.append(f"{name} is not a setting{hint}")
    return lines


def _describe(error: Mapping[str, Any]) -> str:
    """A validation problem as `ESS_NAME: message` (pydantic's message, never the value)."""
    location = ".".join(str(part) for part in error["loc"])
    name = f"{ENV_PREFIX}{location.upper()}" if location else "settings"
    return f"{name}: {str(error['msg']).removeprefix('Value error, ')}"


def load_settings() -> Settings:
    """The settings from the environment; ConfigurationError naming what is wrong."""
    problems = unknown_variables(os.environ)
    try:
        settings = Settings()
    except ValidationError as error:
        problems += [_describe(problem) for problem in error.errors()]
    if problems:
        raise ConfigurationError("; ".join(problems))
    return settings
