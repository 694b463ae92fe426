"""The problem lines a crmseg config file gets: type mistakes and pydantic's errors.

Why a module of its own: ``load_config`` reports every problem of a file at once,
one line per TOML key saying what is allowed. pydantic's messages are reworded
here (``describe_error``), and a type mistake pydantic would coerce (a quoted
number, a number for a boolean) is found before it, against the models'
annotations (``strict_problems``). A value whose key or shape looks like a
credential is never echoed (``looks_secret``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


def toml_key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


#: Key names whose values are never echoed in a message (a secret pasted into the
#: config by mistake must not end up in a terminal scroll-back or a CI log).
SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|private|api_?key|client_id|credential)", re.I
)
#: Values that look like a credential whatever their key: HubSpot private-app tokens,
#: Salesforce session ids, long unbroken random-looking strings.
SECRET_VALUE = re.compile(
    r"^(pat-[a-z0-9]+-|00D[0-9A-Za-z]{12,15}!)|^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_+=!-]{24,}$"
)


def looks_secret(key: str, value: object) -> bool:
    return bool(SECRET_KEY.search(key)) or (
        isinstance(value, str) and bool(SECRET_VALUE.search(value))
    )


def describe_error(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    value = error.get("input")
    key = toml_key(tuple(error["loc"]))
    if error["type"] not in ("missing",) and not isinstance(value, dict | list):
        message += " (value not shown)" if looks_secret(key, value) else f" (got {value!r})"
    return message


# -- strict types -------------------------------------------------------------------
# TOML already has real types; a quoted number or a boolean where a number belongs
# is a mistake to report, not to coerce. pydantic's strict mode would also refuse a
# TOML float for a Decimal and a string for a path, so the check is done here, per
# key, against the model's annotations.

_NUMBER = (int, float, Decimal)


def _kinds(annotation: Any) -> tuple[Any, ...]:
    """The concrete types an annotation allows (Optional and Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return tuple(k for a in get_args(annotation) for k in _kinds(a))
    return (annotation,)


def _type_problem(kinds: tuple[Any, ...], value: Any) -> str | None:
    if value is None:
        return None
    plain = [k for k in kinds if isinstance(k, type)]
    if any(get_origin(k) is Literal for k in kinds) or not plain:
        return None
    if bool in plain:
        return None if isinstance(value, bool) else "must be true or false, without quotes"
    if any(issubclass(k, _NUMBER) for k in plain) and not any(
        issubclass(k, str | Path) for k in plain
    ):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number, without quotes"
        if (
            int in plain
            and float not in plain
            and Decimal not in plain
            and not isinstance(value, int)
        ):
            return "must be a whole number"
        return None
    if any(issubclass(k, str | Path) for k in plain) and not isinstance(value, str):
        return "must be a string, in quotes"
    return None


def strict_problems(model: type[BaseModel], data: Any, loc: str = "") -> list[str]:
    """Type mistakes in raw TOML ``data`` for ``model``, each as ``key: what is wrong``."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return problems
    for name, value in data.items():
        info = model.model_fields.get(name)
        if info is None:
            continue  # unknown keys: pydantic reports them
        key = f"{loc}.{name}" if loc else name
        for kind in _kinds(info.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                if isinstance(value, dict):
                    problems += strict_problems(kind, value, key)
                break
            if get_origin(kind) is list and isinstance(value, list):
                (item,) = get_args(kind) or (Any,)
                for i, element in enumerate(value):
                    inner = _kinds(item)
                    if any(isinstance(k, type) and issubclass(k, BaseModel) for k in inner):
                        model_cls = next(k for k in inner if isinstance(k, type))
                        problems += strict_problems(model_cls, element, f"{key}[{i}]")
                    elif problem := _type_problem(inner, element):
                        problems.append(f"{key}[{i}]: {problem}{_shown(key, element)}")
                break
        else:
            if problem := _type_problem(_kinds(info.annotation), value):
                problems.append(f"{key}: {problem}{_shown(key, value)}")
    return problems


def _shown(key: str, value: Any) -> str:
    if looks_secret(key, value):
        return " (value not shown)"
    return f" (got {value!r})"
