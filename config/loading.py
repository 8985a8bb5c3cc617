"""Find, read and validate the settings: a TOML file plus environment overrides.

Search order: `--config PATH`, else `$FEEDLINE_CONFIG`, else `./feedline.toml`, else the
embedded default shipped in this package. The file is read with tomllib (what
pydantic-settings' TOML source does, with one-line errors); the environment through
pydantic-settings' env source (`FEEDLINE_<SECTION>__<KEY>`, nested to any depth, each value
typed by the schema, so `FEEDLINE_SITE__TITLE=2024` is the string "2024"), imported only when
such a variable is set (it costs ~40 ms of CPU at start-up); `FEEDLINE_DATABASE_URL` is a
shortcut for `site.database_url`. The merged values are validated once against `Settings`,
with the folders relative paths are relative to as the validation context.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from config.errors import ConfigError
from config.schema import PathBases, Settings

ENV_PREFIX = "FEEDLINE_"
ENV_NESTING = "__"
DEFAULT_NAME = "feedline.toml"
EMBEDDED = "embedded default"

__all__ = ["ConfigError", "LoadedSettings", "find_config", "load_settings"]


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    origin: str  # the file path, or "embedded default"
    embedded: bool


def embedded_default_dir() -> Path:
    return Path(str(resources.files("config") / "default"))


def find_config(explicit: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path | None:
    """The file to load, or None for the embedded default."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        return Path(from_env)
    local = (cwd or Path.cwd()) / DEFAULT_NAME
    return local if local.is_file() else None


def load_settings(
    explicit: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedSettings:
    env = os.environ if env is None else env
    here = cwd or Path.cwd()
    path = find_config(explicit, here)
    if path is None:
        default_file = embedded_default_dir() / DEFAULT_NAME
        bases = PathBases(inputs=default_file.parent, state=here)
        return LoadedSettings(_load(default_file, EMBEDDED, env, bases), EMBEDDED, True)
    shown = str(path)
    if not path.is_file():
        raise ConfigError("no such file (give --config PATH or create feedline.toml)", file=shown)
    base = path.resolve().parent
    bases = PathBases(inputs=base, state=base)
    return LoadedSettings(_load(path, shown, env, bases), shown, False)


def _load(path: Path, shown: str, env: Mapping[str, str], bases: PathBases) -> Settings:
    raw = _read_toml(path, shown)
    overrides = _read_env(env)
    merged = _merge(raw, overrides)
    try:
        return Settings.model_validate(merged, context=bases)
    except ValidationError as exc:
        raise _config_error(exc, merged, overrides, shown) from None


def _read_toml(path: Path, shown: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=shown) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=shown) from None


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`FEEDLINE_SECTION__KEY[__KEY...]=value`; FEEDLINE_DATABASE_URL sets site.database_url."""
    nested = [
        name
        for name in env
        if name.upper().startswith(ENV_PREFIX) and ENV_NESTING in name[len(ENV_PREFIX) :]
    ]
    for name in nested:
        upper = name.upper()
        section = upper[len(ENV_PREFIX) :].partition(ENV_NESTING)[0].lower()
        if section not in Settings.model_fields or section in ("sources", "overrides"):
            raise ConfigError(
                f"no section [{section}] can be set from the environment "
                f"(sections: {', '.join(_env_sections())})",
                file=f"environment variable {name}",
            )
    values: dict[str, Any] = {}
    if nested:
        from config.environment import SettingsError, environment_values

        try:
            values = environment_values(env)
        except SettingsError as exc:
            example = 'FEEDLINE_REMINDERS__OFFSETS=\'["7d", "1d"]\''
            name, problem = _bad_json(env, nested) or ("environment", str(exc))
            raise ConfigError(
                f"{problem} (a list value is JSON, e.g. {example})", file=name
            ) from None
    shortcut = env.get(f"{ENV_PREFIX}DATABASE_URL")
    if shortcut:
        values = _merge({"site": {"database_url": shortcut}}, values)
    return values


def _bad_json(env: Mapping[str, str], names: list[str]) -> tuple[str, str] | None:
    """The first variable for a list (or table) key whose value is not JSON, and why (the value
    is not repeated)."""
    import json

    for name in names:
        value = env[name].strip()
        if not (value.startswith(("[", "{")) or _is_collection(name)):
            continue
        try:
            json.loads(value)
        except ValueError as exc:
            reason = getattr(exc, "msg", "not JSON")
            return f"environment variable {name}", f"not valid JSON ({reason})"
    return None


def _is_collection(name: str) -> bool:
    """Whether `FEEDLINE_SECTION__KEY...` names a list or mapping key of the schema."""
    model: type[BaseModel] | None = Settings
    annotation: Any = None
    for part in name[len(ENV_PREFIX) :].lower().split(ENV_NESTING):
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return False
        annotation = field.annotation
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_model else None
    return get_origin(annotation) in (list, tuple, dict, set)


def _env_sections() -> list[str]:
    return [name for name in Settings.model_fields if name not in ("sources", "overrides")]


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, dict):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


def _config_error(
    exc: ValidationError, raw: dict[str, Any], from_env: dict[str, Any], shown: str
) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    key = _key_path(raw, loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see config/feedline.example.toml)"
    if ": " in message and message.startswith("sources["):
        key, _, message = message.partition(": ")
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    variable = _env_name(loc, from_env)
    where = f"environment variable {variable}" if variable else shown
    return ConfigError(message + extra, file=where, key=key or None)


def _env_name(loc: tuple[int | str, ...], from_env: Mapping[str, Any]) -> str | None:
    """The variable an invalid value came from, when it came from the environment."""
    node: Any = from_env
    names: list[str] = []
    for step in loc:
        if not isinstance(node, Mapping):
            break
        name = "from" if step == "from_" and "from" in node else str(step)
        if name not in node:
            return None
        names.append(name)
        node = node[name]
    if not names:
        return None
    return ENV_PREFIX + ENV_NESTING.join(names).upper()


def _key_path(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Turn pydantic's location into the TOML spelling: sources[0].timezone."""
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
        elif step in ("function-after", "function-before") or (
            "[" in str(step) and "]" in str(step)
        ):
            continue
        else:
            parts.append("from" if step == "from_" else str(step))
    key = ".".join(parts)
    if key.startswith("sources[") and "." in key:
        index = int(key[len("sources[") : key.index("]")])
        sources = raw.get("sources")
        if isinstance(sources, list) and index < len(sources) and isinstance(sources[index], dict):
            source_id = sources[index].get("id")
            if isinstance(source_id, str):
                key += f" (source {source_id!r})"
    return key
