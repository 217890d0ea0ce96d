"""Domain errors; each carries the documented CLI exit code (docs/contracts.md)."""

from __future__ import annotations


class RecsysError(Exception):
    """Base class: exit code 1 (anything else)."""

    exit_code = 1


class ConfigError(RecsysError):
    """Usage or configuration is wrong (exit 2)."""

    exit_code = 2


class InvalidName(ConfigError):
    """A tenant, surface or version name breaks its pattern (exit 2)."""


class DataSourceError(RecsysError):
    """Input data is missing or unreadable (exit 3)."""

    exit_code = 3


class LinkRefused(DataSourceError):
    """A storage key passes through a symbolic link, which is never followed (exit 3)."""


class ValidationGateError(RecsysError):
    """A blocking validation gate failed (exit 4)."""

    exit_code = 4


class ArtifactError(RecsysError):
    """An artifact or manifest is missing, corrupt or fails verification (exit 5)."""

    exit_code = 5


class SignatureError(ArtifactError):
    """A manifest signature is missing, unknown or wrong (exit 5)."""


class ConcurrentPublishError(RecsysError):
    """Another publisher moved the pointer first (exit 6)."""

    exit_code = 6


class NotFoundError(RecsysError):
    """A named object does not exist in storage (exit 3)."""

    exit_code = 3


ERROR_CLASSES: dict[str, type[RecsysError]] = {
    cls.__name__: cls
    for cls in (
        RecsysError,
        ConfigError,
        InvalidName,
        DataSourceError,
        LinkRefused,
        ValidationGateError,
        ArtifactError,
        SignatureError,
        ConcurrentPublishError,
        NotFoundError,
    )
}
EXIT_CODES: dict[str, int] = {name: cls.exit_code for name, cls in ERROR_CLASSES.items()}
