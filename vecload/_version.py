"""The version, in one place (the package, the converted files' metadata and the CLI read it here)."""

__version__ = "0.4.0"
