"""The one configuration module: every setting from an environment variable of the same name
(pydantic-settings; `.env.example` documents each with its default), and the landlord's policy
from the TOML file `POLICY_FILE` names. A bad value stops startup naming the variable or key."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from limits import parse as parse_rate_limit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from domain.policy import Policy, PolicyError, parse_policy
from domain.self_assessment import CodeProvisions, ProvisionsError, parse_provisions
from domain.tsm import HomeCounts, HomesError, parse_homes

REPO_ROOT = Path(__file__).resolve().parent


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names each variable and what is wrong."""


@cache
def load_policy_file(path: Path) -> Policy:
    """Read and check a policy file once per process; PolicyError names the file, the key and
    what is wrong. (Restart the worker and the admin app to bring an edited file in.)"""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyError(f"POLICY_FILE {path}: cannot be read ({err.strerror})") from err
    return parse_policy(text, f"POLICY_FILE {path}")


@cache
def load_homes_file(path: Path) -> HomeCounts:
    """The homes file (HOMES_FILE), read once per process; none there: no homes set."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return HomeCounts()
    except OSError as err:
        raise HomesError(f"HOMES_FILE {path}: cannot be read ({err.strerror})") from err
    return parse_homes(text, f"HOMES_FILE {path}")


@cache
def load_code_provisions(path: Path) -> CodeProvisions:
    """The Code's provisions (CODE_PROVISIONS_FILE), read once per process."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ProvisionsError(
            f"CODE_PROVISIONS_FILE {path}: cannot be read ({err.strerror})"
        ) from err
    return parse_provisions(text, f"CODE_PROVISIONS_FILE {path}")


class Landlord(BaseModel):
    """Printed on every letter (LANDLORD_NAME, LANDLORD_ADDRESS, ...)."""

    model_config = ConfigDict(frozen=True)

    name: str = "West Kent Housing Association"
    address: str = "101 London Road, Sevenoaks, Kent, TN13 1AX"
    phone: str = "01732 749400"
    email: str = "help@wkha.org.uk"


class WorkerTuning(BaseModel):
    """How much the worker takes on at once (WORKER_MAX_CACHED_WORKFLOWS, ...; docs/operations.md,
    "Worker tuning"). The defaults are the Temporal Python SDK's own, but for the activities,
    which are as many as the worker's thread pool (16, as before this was configurable)."""

    model_config = ConfigDict(frozen=True)

    # cases kept in memory between steps (a cached complaint is about 450 KiB); a step on a case
    # not cached replays its history first
    max_cached_workflows: int = Field(default=1000, ge=0)
    workflow_pollers: int = Field(default=5, ge=1, le=100)  # concurrent workflow task polls
    activity_pollers: int = Field(default=5, ge=1, le=100)  # concurrent activity task polls
    max_concurrent_workflow_tasks: int | None = Field(default=None, ge=1)  # None: the SDK's
    # activities at once, each on a thread of the worker's pool (letters, records: blocking I/O)
    max_concurrent_activities: int = Field(default=16, ge=1, le=1000)
    # run workflow code in the SDK's sandbox, which refuses what would break replay (the clock,
    # randomness, I/O) at the cost of about twice the worker's CPU a workflow task; the tests
    # always run in it, so off trades a production safety net for CPU
    sandbox: bool = True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        env_ignore_empty=True,  # VAR= means "the default", as in .env.example
        env_nested_delimiter="_",
        env_nested_max_split=1,  # LANDLORD_NAME -> landlord.name
        extra="ignore",
    )

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "complaints"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'records.db'}"
    outbox_dir: Path = REPO_ROOT / "var" / "outbox"
    sendgrid_api_key: str | None = Field(default=None, repr=False)
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_sandbox: bool = False
    mail_from: str = "complaints@wkha.org.uk"
    team_inbox: str = "customer.resolution@wkha.org.uk"
    # the landlord's policy: clocks, calendar (closure days too), teams; see docs/policy.md
    policy_file: Path = REPO_ROOT / "policy" / "west-kent.toml"
    # homes of each stock by reporting year, for the Tenant Satisfaction Measures (domain/tsm.py)
    homes_file: Path = REPO_ROOT / "policy" / "homes.toml"
    # the Complaint Handling Code's provisions, paraphrased, for the self-assessment
    code_provisions_file: Path = REPO_ROOT / "policy" / "code-provisions.toml"
    landlord: Landlord = Landlord()
    worker: WorkerTuning = WorkerTuning()
    # admin web app
    app_env: str = Field(default="development", pattern="^(development|production)$")
    admin_secret_key: str | None = Field(default=None, repr=False)
    admin_host: str = "127.0.0.1"
    admin_port: int = Field(default=8000, ge=1, le=65535)
    temporal_ui_url: str = "http://127.0.0.1:8233"
    public_base_url: str = "http://127.0.0.1:8000"
    # payload encryption (worker/codec.py): `keyid:base64key,...`, the last one encrypts
    payload_keys: str | None = Field(default=None, repr=False)
    # signs the satisfaction survey links (letters/survey.py): the worker makes them in letters,
    # the admin app checks them; development makes one in var/survey-secret
    survey_secret: str | None = Field(default=None, repr=False)
    # operations
    log_format: str = Field(default="", pattern="^(|json|text)$")  # "" = json in production
    metrics_address: str | None = None  # e.g. 127.0.0.1:9464; make run sets that
    # email intake (admin/routes/inbound.py): SendGrid Inbound Parse posts to
    # /inbound/sendgrid/<inbound_parse_secret>; unset turns the endpoint off (404)
    inbound_parse_secret: str | None = Field(default=None, repr=False)
    # optional HTTP basic auth on top (https://user:password@host/... in SendGrid): both or neither
    inbound_parse_user: str | None = None
    inbound_parse_password: str | None = Field(default=None, repr=False)
    # mail to these (lower case) goes straight to the customer resolution team
    executive_addresses: Annotated[tuple[str, ...], NoDecode] = ()
    # rate limits (admin/rate_limits.py), in the `limits` notation "N per [M] second|minute|hour|
    # day". Counters live in the records database, or in Redis when REDIS_URL is set.
    sign_in_limit_per_account: str = "5 per 15 minutes"  # failed sign-ins; success clears
    sign_in_limit_per_address: str = "5 per 15 minutes"
    complaint_limit_per_address: str = "5 per hour"  # complaints sent with the public form
    complaint_limit_per_email: str = "3 per day"
    public_page_limit_per_address: str = "60 per 10 minutes"  # views of public pages
    redis_url: str | None = Field(default=None, repr=False)  # may hold a password
    # X-Forwarded-For is read only from these proxies (addresses or networks, comma-separated)
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # evidence on cases (records/storage.py): files in this folder, or in an S3-compatible bucket
    # when EVIDENCE_S3_BUCKET is set; each file at most EVIDENCE_MAX_BYTES (domain/evidence.py)
    evidence_dir: Path = REPO_ROOT / "var" / "evidence"
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    evidence_s3_bucket: str | None = None
    evidence_s3_endpoint_url: str | None = None  # an S3-compatible service; unset: AWS
    evidence_s3_region: str | None = None
    evidence_s3_prefix: str = "evidence/"

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def logs_as_json(self) -> bool:
        return self.log_format == "json" or (self.log_format == "" and self.production)

    @property
    def policy(self) -> Policy:
        """The policy new cases are lodged under."""
        return load_policy_file(self.policy_file)

    @property
    def homes(self) -> HomeCounts:
        """Homes of each stock by reporting year (CH01 is per 1,000 of them)."""
        return load_homes_file(self.homes_file)

    @property
    def code_provisions(self) -> CodeProvisions:
        return load_code_provisions(self.code_provisions_file)

    @field_validator("policy_file", "homes_file", "code_provisions_file", mode="after")
    @classmethod
    def _from_repo(cls, value: Path) -> Path:
        # a relative path that is not there from here is taken from the repo (policy/...)
        if not value.is_absolute() and not value.exists():
            return REPO_ROOT / value
        return value

    @field_validator("executive_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            # "Jane Smith <ceo@example.org>" or just the address
            return tuple(parseaddr(str(p))[1].lower() for p in value if str(p).strip())
        return value

    @field_validator(
        "sign_in_limit_per_account",
        "sign_in_limit_per_address",
        "complaint_limit_per_address",
        "complaint_limit_per_email",
        "public_page_limit_per_address",
        mode="after",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            item = parse_rate_limit(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit: write it like '5 per 15 minutes' or '3 per day'"
            ) from None
        if item.amount < 1:
            raise ValueError("a rate limit must allow at least 1")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            try:
                # "10.0.0.5" is the network 10.0.0.5/32
                return tuple(
                    ip_network(str(p).strip(), strict=False) for p in value if str(p).strip()
                )
            except ValueError as err:
                raise ValueError(f"not an address or network: {err}") from None
        return value

    @model_validator(mode="after")
    def _inbound_basic_auth_pair(self) -> Settings:
        if bool(self.inbound_parse_user) != bool(self.inbound_parse_password):
            raise ValueError(
                "INBOUND_PARSE_USER and INBOUND_PARSE_PASSWORD go together: set both (HTTP basic "
                "auth on the email intake endpoint) or neither"
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from the process environment, or from `env` alone (tests, tools)."""
        if env is None:
            return cls()
        source_env = dict(env)

        class _FromMapping(cls):  # type: ignore[valid-type,misc]
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], *sources: Any, **named: Any
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (_MappingSource(settings_cls, source_env),)

        return cls.model_validate(_FromMapping().model_dump())

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> Settings:
        """For entry points: the settings, with the policy file read and checked, or ConfigError
        naming each bad variable (and the policy key) in plain words."""
        try:
            settings = cls.from_env(env)
        except ValidationError as err:
            raise ConfigError(describe(err)) from None
        try:
            settings.policy  # noqa: B018 - read and check it now, not at the first case
            settings.homes  # noqa: B018
            settings.code_provisions  # noqa: B018
        except (PolicyError, HomesError, ProvisionsError) as err:
            raise ConfigError(str(err)) from None
        return settings


class _MappingSource(EnvSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._mapping.items()}


def describe(err: ValidationError) -> str:
    """'ADMIN_PORT: Input should be a valid integer' — the environment variable's name."""
    lines = []
    for e in err.errors():
        name = "_".join(str(p) for p in e["loc"]).upper() or "settings"
        lines.append(f"{name}: {e['msg']}")
    return "; ".join(lines)
