"""Find, read and validate the settings; resolve relative paths; apply environment overrides.

Search order: `--config PATH`, else `$FEEDLINE_CONFIG`, else `./feedline.toml`, else the
embedded default shipped in this package. Paths inside a file are relative to that file; the
embedded default keeps its sample pages in the package and its state in the current folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.schema import Settings

ENV_PREFIX = "FEEDLINE_"
DEFAULT_NAME = "feedline.toml"


class ConfigError(Exception):
    """A configuration problem: one line naming the file, the key and what is wrong."""

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


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
        raw = _read_toml(default_file, "embedded default")
        settings = _validate(_apply_env(raw, env), "embedded default")
        return LoadedSettings(
            _resolve(settings, sources=default_file.parent, state=here), "embedded default", True
        )
    shown = str(path)
    if not path.is_file():
        raise ConfigError(shown, None, "no such file (give --config PATH or create feedline.toml)")
    raw = _read_toml(path, shown)
    settings = _validate(_apply_env(raw, env), shown)
    base = path.resolve().parent
    return LoadedSettings(_resolve(settings, sources=base, state=base), shown, False)


def _read_toml(path: Path, shown: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(shown, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(shown, None, "not UTF-8 text") from None


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """`FEEDLINE_SECTION__KEY=value` sets [section] key; FEEDLINE_DATABASE_URL is a shortcut."""
    merged = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in raw.items()
    }
    if env.get(f"{ENV_PREFIX}DATABASE_URL"):
        merged.setdefault("site", {})["database_url"] = env[f"{ENV_PREFIX}DATABASE_URL"]
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section == "sources" or not key:
            continue
        table = merged.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = _env_value(value)
    return merged


def _env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _validate(raw: dict[str, Any], shown: str) -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = _key_path(raw, error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see config/feedline.example.toml)"
        if ": " in message and message.startswith("sources["):
            key, _, message = message.partition(": ")
        extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(shown, key or None, message + extra) from None


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
            parts.append(str(step))
    key = ".".join(parts)
    if key.startswith("sources[") and "." in key:
        index = int(key[len("sources[") : key.index("]")])
        sources = raw.get("sources")
        if isinstance(sources, list) and index < len(sources) and isinstance(sources[index], dict):
            source_id = sources[index].get("id")
            if isinstance(source_id, str):
                key += f" (source {source_id!r})"
    return key


def _resolve(settings: Settings, *, sources: Path, state: Path) -> Settings:
    """Make every relative path absolute: source paths against `sources`, state against `state`."""
    site = settings.site.model_copy(
        update={
            "output_dir": state / settings.site.output_dir,
            "data_dir": state / settings.site.data_dir,
        }
    )
    resolved_sources = [
        source.model_copy(update={"path": sources / source.path}) if source.path else source
        for source in settings.sources
    ]
    mail_file = settings.mail.file.model_copy(update={"dir": state / settings.mail.file.dir})
    smtp = settings.mail.smtp
    smtp = smtp.model_copy(
        update={
            "password_file": state / smtp.password_file if smtp.password_file else None,
            "ca_file": state / smtp.ca_file if smtp.ca_file else None,
        }
    )
    mail = settings.mail.model_copy(update={"file": mail_file, "smtp": smtp})
    secret_file = settings.secrets.signing_key_file
    secrets = settings.secrets.model_copy(
        update={"signing_key_file": state / secret_file if secret_file else None}
    )
    return settings.model_copy(
        update={"site": site, "sources": resolved_sources, "mail": mail, "secrets": secrets}
    )
