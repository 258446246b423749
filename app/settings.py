"""The one typed settings object, read from ADTRACK_* environment variables."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.catalog.snapshot import SNAPSHOT_FILE

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class IpPrivacy(StrEnum):
    FULL = "full"
    TRUNCATE = "truncate"


class HttpServer(StrEnum):
    UVICORN = "uvicorn"
    GRANIAN = "granian"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADTRACK_", extra="ignore")

    data_dir: Path = Path("./var")
    clickhouse_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    admin_token: str = ""
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = ()
    geoip_db: Path | None = None
    # Accounts: how long a login lasts (no sliding renewal), and failed logins allowed per
    # username and client address within the window before refusal.
    session_lifetime_s: int = Field(8 * 3600, ge=60, le=90 * 86400)
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_window_s: int = Field(900, ge=1, le=86400)
    # Admin API and pages (never the hit endpoints): requests a second per client address
    # and per credential, with a burst; and failed credential look-ups per address per window.
    api_rate_per_s: float = Field(50.0, gt=0)
    api_burst: int = Field(500, ge=1)
    api_auth_max_failures: int = Field(20, ge=1, le=100_000)
    api_auth_window_s: int = Field(60, ge=1, le=86400)
    isp_db: Path | None = None  # carrier data (ip2region); default <data dir>/geoip/ip2region.db
    ip_privacy: IpPrivacy = IpPrivacy.FULL
    spool_fsync_ms: int = Field(200, ge=0, le=60_000)
    # A segment is sealed (and becomes loadable) after this long or this size.
    spool_segment_ms: int = Field(1000, ge=50, le=600_000)
    spool_segment_bytes: int = Field(16 * 1024 * 1024, ge=4096)
    loader_batch_rows: int = Field(100_000, ge=1)
    loader_poll_ms: int = Field(200, ge=10)
    # CPU priority (nice) of the loader thread: above 0 it yields to the edge on a busy core.
    loader_nice: int = Field(10, ge=0, le=19)
    # Run the loader inside the server process (required on the embedded engine).
    loader_in_process: bool = True
    catalog_refresh_s: float = Field(2.0, gt=0)
    # How often the rollup job recomputes the funnel days that changed (0: only on demand;
    # reports read raw events for days never computed). Funnel answers from the rollup are
    # at most this old (plus a refresh's run time); counts are always current.
    rollup_interval_s: float = Field(300.0, ge=0)
    # The edge takes a hit's time from X-Adtrack-Demo-Time when the caller proves it holds
    # the bootstrap admin token (app/tracker/demo_clock.py); off, the headers are ignored.
    demo_clock: bool = False
    beacon_max_bytes: int = Field(64 * 1024, ge=1024)
    beacon_max_events: int = Field(50, ge=1)
    public_url: str = ""
    # The edge (public port) forwards non-hit requests here; set by `adtrack serve`.
    core_url: str = ""
    # Proves a request to the core came through our edge (which then vouches for the client
    # address); `adtrack serve` makes one per start and hands it to the core and its edges.
    edge_secret: str = ""
    # The edge's HTTP server: granian meets the hit-path latency target, uvicorn does not
    # reliably (see README, Speed); the core's API always runs on uvicorn.
    http_server: HttpServer = HttpServer.GRANIAN
    edge_workers: int = Field(1, ge=1, le=256)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
            return tuple(ipaddress.ip_network(v, strict=False) for v in items)
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        self.data_dir = self.data_dir.resolve()
        if not self.clickhouse_url:
            self.clickhouse_url = f"chdb://{self.data_dir / 'clickhouse'}"
        if not self.clickhouse_url.startswith(("chdb://", "http://", "https://")):
            raise ValueError("ADTRACK_CLICKHOUSE_URL must start with chdb://, http:// or https://")
        if self.geoip_db is None:
            self.geoip_db = self.data_dir / "geoip" / "GeoLite2-City.mmdb"
        if self.isp_db is None:
            self.isp_db = self.data_dir / "geoip" / "ip2region.db"
        return self

    @property
    def embedded(self) -> bool:
        return self.clickhouse_url.startswith("chdb://")

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def catalog_file(self) -> Path:
        """The compiled catalog the core writes on every change and the edges read (it holds
        the advertisers' postback secrets: 0600)."""
        return self.data_dir / SNAPSHOT_FILE

    def local_url(self, *, public: bool = True) -> str:
        """Where this machine reaches the server these settings describe: the public URL if
        one is set and wanted, else the listen address (a wildcard means loopback)."""
        if public and self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a listen address; we connect locally)
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The base of published tracked-link and snippet URLs."""
        return self.local_url()


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raises pydantic.ValidationError on bad configuration."""
    return Settings(**overrides)  # type: ignore[arg-type]


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming its variable and never its value (a URL may carry a
    password); empty when `exc` is not about Settings."""
    if exc.title != Settings.__name__:
        return []
    prefix = Settings.model_config.get("env_prefix", "")
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        field = error["loc"][0] if error["loc"] else ""
        if isinstance(field, str) and field:
            lines.append(f"{prefix}{field}".upper() + f": {error['msg']}")
        else:  # a check across fields: its message names the variables
            lines.append(error["msg"].removeprefix("Value error, "))
    return lines
