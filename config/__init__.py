"""config: the settings schema, loading (TOML + environment) and the embedded default."""

from config.loading import ConfigError, LoadedSettings, load_settings
from config.schema import Settings, SourceSettings

__all__ = ["ConfigError", "LoadedSettings", "Settings", "SourceSettings", "load_settings"]
