"""Runtime settings: one class, environment variables prefixed KOHORT_, safe local defaults."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

WorkerLane = Literal["groups", "dispatch", "webhooks", "mail", "payouts", "payout_batches"]
WORKER_LANES: tuple[WorkerLane, ...] = get_args(WorkerLane)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOHORT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/kohort.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    data_dir: Path = Path("./data")
    db_pool_size: int = Field(default=10, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    housekeeping_interval_seconds: float = Field(default=600, gt=0)
    worker: Literal["on", "off"] = "on"
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    worker_batch_size: int = Field(default=100, ge=1, le=10_000)
    worker_lanes: Annotated[set[WorkerLane], NoDecode] = set(WORKER_LANES)
    """The kinds of work this process's worker does (comma-separated; default: all)."""
    key_cache_seconds: float = Field(default=2.0, ge=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """From the connection (or the end of the previous response) to complete request headers."""
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """From the request headers to the end of its body."""
    keep_alive_timeout_seconds: int = Field(default=5, ge=1, le=300)
    max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """The JSON API's request bodies."""
    max_page_body_bytes: int = Field(default=16_384, ge=1024)
    """The public pages' request bodies (/w/ and /r/)."""
    max_connections: int = Field(default=1000, ge=1)
    """Per process, and kept below its open-files limit."""
    webhook_allow_private_destinations: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_concurrency: int = Field(default=50, ge=1, le=1000)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    mail_from: str = "Kohort <no-reply@localhost>"
    withdrawal_token_days: int = Field(default=90, ge=1, le=3650)
    secret_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    dashboard_session_idle_minutes: int = Field(default=120, ge=1, le=10_080)
    """A dashboard session ends after this long without a request (default 2 h)."""
    dashboard_session_absolute_hours: int = Field(default=12, ge=1, le=720)
    """A dashboard session ends this long after sign-in, however active (default 12 h)."""
    dashboard_invitation_days: int = Field(default=7, ge=1, le=90)
    """How long an invitation link (and an operator's set-password link) works."""
    dashboard_password_reset_minutes: int = Field(default=60, ge=5, le=1440)
    """How long a password reset link works."""

    @field_validator("worker_lanes", mode="before")
    @classmethod
    def _split_lanes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {lane.strip() for lane in value.split(",") if lane.strip()}
        return value

    @property
    def base_url(self) -> str:
        """Where shoppers and merchants reach the service: KOHORT_PUBLIC_URL, else host:port."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Under https (KOHORT_PUBLIC_URL), cookies are `Secure` and `__Host-` prefixed."""
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
