"""The options several commands share, each declared once.

The output options (``--json``, ``--quiet``, ``--log-format``) come from one
decorator, in the way sqlite-utils' ``output_options`` adds its format options:
a command asks for the ones it supports and receives them as one :class:`Output`,
so the same flag has the same name, help and meaning on every command.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import typer

from sync.logs import LogFormat

F = TypeVar("F", bound=Callable[..., Any])

OutputName = Literal["json", "quiet", "log_format"]

ConfigOption = typer.Option(None, "--config", "-c", help="TOML config file.")
AsOfOption = typer.Option(None, "--as-of", help="Compute as of this date (YYYY-MM-DD).")
DryRunOption = typer.Option(False, "--dry-run", help="Pull and plan, but write nothing to the CRM.")
MassOption = typer.Option(
    False, "--allow-mass-change", help="Let a run change more than [sync] mass_change_share."
)
FutureOption = typer.Option(
    False, "--allow-future", help="Let --as-of be later than today (tags for a future day)."
)


@dataclass(frozen=True)
class Output:
    """How a command was asked to talk."""

    json: bool = False
    quiet: bool = False
    log_format: LogFormat = LogFormat.text

    @property
    def log_json(self) -> bool:
        return self.log_format is LogFormat.json

    @property
    def silent(self) -> bool:
        """No people-facing text on stderr: ``--quiet`` or JSON log lines."""
        return self.quiet or self.log_json


#: The parameter each output option becomes (the names ``handles_errors`` reads).
_PARAMETERS: dict[OutputName, inspect.Parameter] = {
    "json": inspect.Parameter(
        "json_output",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--json", help="Print the result as JSON on stdout."),
        annotation=bool,
    ),
    "quiet": inspect.Parameter(
        "quiet",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr."),
        annotation=bool,
    ),
    "log_format": inspect.Parameter(
        "log_format",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(LogFormat.text, "--log-format", help="Log lines as text or JSON."),
        annotation=LogFormat,
    ),
}


def output_options(*names: OutputName) -> Callable[[F], F]:
    """Give a command the output options ``names``; it takes them as
    ``output: Output = Output()`` (the default only keeps Python's parameter order
    legal; the command always gets what was asked for).

    The options appear where ``output`` stands among the command's parameters, so
    ``--help`` lists them in the order the command declares.
    """

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        if "output" not in signature.parameters:
            raise TypeError(f"{command.__name__} takes no `output: Output` parameter")
        parameters: list[inspect.Parameter] = []
        for p in signature.parameters.values():
            if p.name == "output":
                parameters += [_PARAMETERS[n] for n in names]
            else:
                parameters.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            output = Output(
                json=kwargs.pop("json_output", False),
                quiet=kwargs.pop("quiet", False),
                log_format=kwargs.pop("log_format", LogFormat.text),
            )
            return command(output=output, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in parameters},
            "return": signature.return_annotation,
        }
        return wrapper  # type: ignore[return-value]

    return decorate
