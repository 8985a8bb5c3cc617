"""config: the settings schema, loading (TOML + environment) and the embedded default."""

from config.errors import ConfigError
from config.loading import LoadedSettings, load_settings
from config.schema import Settings, SourceSettings

__all__ = ["ConfigError", "LoadedSettings", "Settings", "SourceSettings", "load_settings"]
