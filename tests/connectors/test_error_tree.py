"""One exception tree: every public error crmseg raises on purpose is defined in
``connectors.errors`` (or, for the pure segmentation, ``segmentation.errors``),
drawn in its docstring, and the old import paths still name the same classes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import connectors
import connectors.errors as errors
import segmentation
import segmentation.errors
import sync

TREE_MODULES = {"connectors.errors", "segmentation.errors"}


def _product_modules() -> list[str]:
    names: list[str] = []
    for package in (connectors, segmentation, sync):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # The stand-ins model the CRMs' own errors, not crmseg's.
            if ".sandbox" not in info.name:
                names.append(info.name)
    return names


def _tree() -> set[type[BaseException]]:
    return {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.CrmsegError)
    }


def test_every_public_exception_class_lives_in_the_tree() -> None:
    outside = []
    for name in _product_modules():
        module = importlib.import_module(name)
        for attr, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Exception)  # not KeyboardInterrupt: a signal
                and cls.__module__ == name
                and name not in TREE_MODULES
                and not attr.startswith("_")
            ):
                outside.append(f"{name}.{attr}")
    assert outside == []


def _drawn(doc: str) -> set[str]:
    """The class names in the docstring's tree drawing (the first word after the branch)."""
    names = set()
    for line in doc.splitlines():
        text = line.strip().lstrip("│ ").removeprefix("├── ").removeprefix("└── ")
        if (text and text != line.strip()) or text == "CrmsegError":
            names.add(text.split()[0])
    return names


def test_every_class_of_the_tree_is_drawn_in_its_docstring() -> None:
    drawn = _drawn(errors.__doc__ or "")
    assert "Unreachable" in drawn and "AccountMismatch" in drawn
    assert sorted(c.__name__ for c in _tree() if c.__name__ not in drawn) == []
    assert set(errors.__all__) == {c.__name__ for c in _tree()}


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("sync.engine", "MassChange"),
        ("sync.lock", "AlreadyRunning"),
        ("sync.state", "StateError"),
        ("sync.state", "AccountMismatch"),
        ("segmentation.errors", "InputError"),
        ("segmentation.errors", "CrmsegError"),
    ],
)
def test_old_import_paths_name_the_classes_of_the_tree(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_the_run_stoppers_sit_where_the_exit_codes_expect_them() -> None:
    assert issubclass(errors.AccountMismatch, errors.StateError)
    for cls in (errors.StateError, errors.AlreadyRunning, errors.MassChange):
        assert issubclass(cls, errors.CrmsegError) and not issubclass(cls, errors.CrmError)


def test_the_segmentation_imports_nothing_from_the_connectors() -> None:
    modules = [info.name for info in pkgutil.walk_packages(segmentation.__path__, "segmentation.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'connectors' or m.startswith('connectors.')"
        " or m == 'sync' or m.startswith('sync.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
