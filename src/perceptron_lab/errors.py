"""Exceptions that mean "the user gave us something wrong" (exit code 2 at the CLI)."""


class UserError(Exception):
    """Bad input from the user: a config key, a data file, a CLI argument.

    The message is one line that names the key, file or line at fault. Library code names its
    own parameters: `param` is the parameter a message starts with (e.g. "jobs"), so a command
    line can show the option the user typed instead (e.g. "--jobs").
    """

    def __init__(self, message: str = "", param: str | None = None):
        super().__init__(message)
        self.param = param


class ConfigError(UserError):
    """A config file or override that does not validate."""


class DataError(UserError):
    """A data file that is missing, malformed, corrupt, or cannot be downloaded."""
