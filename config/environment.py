"""Environment overrides through pydantic-settings' env source, typed by the schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, SettingsError

from config.loading import ENV_NESTING, ENV_PREFIX
from config.schema import Settings

__all__ = ["SettingsError", "environment_values"]


class _Shape(Settings, BaseSettings):
    """The schema as pydantic-settings' sources see it (they need a `BaseSettings` class)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTING,
        case_sensitive=False,
        extra="forbid",
    )


class _Environment(EnvSettingsSource):
    """The env source over a given mapping (tests and benchmarks pass their own)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._given = {name.lower(): value for name, value in env.items()}
        super().__init__(_Shape)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


def environment_values(env: Mapping[str, str]) -> dict[str, Any]:
    """`FEEDLINE_SITE__TITLE=x` -> {"site": {"title": "x"}}; each value typed by the schema."""
    return _Environment(env)()
