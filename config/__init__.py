"""config: the settings schema (`config.schema`), loading (`config.loading`: TOML + environment),
the error base (`config.errors`) and the embedded default. Nothing is imported here, so that
`import config.errors` stays cheap for the CLI.
"""
