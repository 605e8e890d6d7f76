"""Settings, read in one place from the environment (prefix ESS_)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth import hash_token, parse_token_hash

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / "data"
DEFAULT_VAR_DIR = REPO_ROOT / "var"
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


def default_database_url() -> str:
    """The embedded default: one SQLite file in the local var/ folder."""
    return f"sqlite:///{DEFAULT_VAR_DIR / 'ess-atlas.sqlite3'}"


class Settings(BaseSettings):
    """Everything configurable about an ess-atlas instance."""

    model_config = SettingsConfigDict(env_prefix="ESS_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    data_dir: Path = DEFAULT_DATA_DIR
    default_directory: Path | None = None
    load_default_directory: bool = True
    tiles_url: str = DEFAULT_TILES_URL
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION
    geocoder_url: str | None = None
    geocoder_cache_path: Path | None = None
    geocoder_rate_limit: float = 50.0
    admin_token_hash: SecretStr | None = None
    admin_token: SecretStr | None = Field(default=None, exclude=True)
    max_page_size: int = 5000
    default_page_size: int = 100
    max_nearby_radius_km: float = 100.0
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    import_batch_size: int = Field(default=2000, ge=1, le=50_000)
    geocode_api_rate_limit: float = Field(default=10.0, gt=0)
    geocode_api_burst: int = Field(default=20, ge=1)
    # HTTP server (app/server.py): who may set X-Forwarded-*, links, timeouts.
    forwarded_allow_ips: str = ""
    public_url: str | None = None
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)

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
        """Keep only a hash of a plain ESS_ADMIN_TOKEN, never the token itself."""
        if self.admin_token is not None and self.admin_token.get_secret_value():
            self.admin_token_hash = SecretStr(hash_token(self.admin_token.get_secret_value()))
        self.admin_token = None
        return self

    @property
    def directory_csv(self) -> Path:
        """The CSV loaded into an empty database."""
        return self.default_directory or self.data_dir / "organisations.csv"

    @property
    def categories_yaml(self) -> Path:
        """The sector taxonomy file."""
        return self.data_dir / "categories.yaml"
