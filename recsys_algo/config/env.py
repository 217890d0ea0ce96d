"""The base of every settings class: variables by exact name, blank is unset, one error format."""

from __future__ import annotations

from typing import Any, Self

from pydantic import ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys_algo.contracts.errors import ConfigError

# Enough of a wrong value to recognise it, not enough to paste a secret into a log by accident.
SHOWN_CHARS = 40


class EnvSettings(BaseSettings):
    """Fields name their variable with `validation_alias`; `load()` reads the process environment.

    A field declared with `repr=False` holds a secret: its value appears neither in repr nor in
    errors. Rules that span fields raise ConfigError themselves; pydantic's own errors become one
    ConfigError line through `config_error`.
    """

    model_config = SettingsConfigDict(
        case_sensitive=True,
        # Values reach the fields as strings: each field's validator parses its own syntax
        # (pydantic-settings would otherwise try JSON on tuple and dict fields).
        enable_decoding=False,
        extra="ignore",
        frozen=True,
        # Defaults are already values of the field's type, not strings for its parser.
        validate_default=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # RECSYS_X= (or blanks) has always meant "use the default"; values are stripped.
        if not isinstance(data, dict):
            return data
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @classmethod
    def load(cls) -> Self:
        """The settings in the process environment; ConfigError naming each wrong variable."""
        try:
            return cls()
        except ValidationError as exc:
            raise config_error(exc, cls) from None

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable a field is read from."""
        alias = cls.model_fields[field].validation_alias
        if not isinstance(alias, str):
            raise TypeError(f"{cls.__name__}.{field} names no environment variable")
        return alias

    def is_set(self, field: str) -> bool:
        """Whether the environment gave this field a value (False: the default applies)."""
        return field in self.model_fields_set


def config_error(exc: ValidationError, settings: type[BaseSettings]) -> ConfigError:
    """One line: each wrong variable, its value unless secret, and what is expected."""
    fields: dict[str, FieldInfo] = {
        str(f.validation_alias): f for f in settings.model_fields.values() if f.validation_alias
    }
    problems = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else settings.__name__
        reason = error["msg"].removeprefix("Value error, ")
        reason = reason[:1].lower() + reason[1:]
        shown = _shown(name, error.get("input"), fields.get(name))
        problems.append(f"{shown} is invalid: {reason}")
    return ConfigError("; ".join(problems))


def _shown(name: str, value: object, field: FieldInfo | None) -> str:
    # A value with '@' may be a URL carrying a password (user:pass@host): never echo it either.
    if field is None or field.repr is False or not isinstance(value, str) or "@" in value:
        return f"{name} (value not shown)"
    return f"{name}={value[:SHOWN_CHARS]!r}"
