"""Exceptions that mean "the user gave us something wrong" (exit code 2 at the CLI)."""


class UserError(Exception):
    """Bad input from the user: a config key, a data file, a CLI argument.

    The message is one line that names the key, file or line at fault. Library code names its
    own parameters, never command-line options: `param` is the parameter the message names
    (e.g. "jobs"), or a tuple of the parameters it names, in the order they appear, once per
    mention (e.g. ("pruner", "backend") for "pruner needs backend local: ..."). A command line
    shows the option the user typed instead: it scans the message left to right and replaces
    each listed name, at its next occurrence as a word of its own (after the start, a space or
    "(", before the end, a space or one of "),:;"), with its option. Text after the last listed
    mention (a path, a wrapped error) is never rewritten.
    """

    def __init__(self, message: str = "", param: str | tuple[str, ...] | None = None):
        super().__init__(message)
        self.params: tuple[str, ...] = (param,) if isinstance(param, str) else tuple(param or ())


class ConfigError(UserError):
    """A config file or override that does not validate."""


class DataError(UserError):
    """A data file that is missing, malformed, corrupt, or cannot be downloaded."""
