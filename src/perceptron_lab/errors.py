"""Exceptions that mean "the user gave us something wrong" (exit code 2 at the CLI)."""


class UserError(Exception):
    """Bad input from the user: a config key, a data file, a CLI argument.

    The message is one line that names the key, file or line at fault.
    """


class ConfigError(UserError):
    """A config file or override that does not validate."""


class DataError(UserError):
    """A data file that is missing, malformed, corrupt, or cannot be downloaded."""
