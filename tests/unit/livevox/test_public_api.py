"""The package's public surface is exactly ``__all__``, and nothing private leaks into it."""

from __future__ import annotations

import inspect

import syncd.livevox as livevox


def _public_defined_names() -> set[str]:
    """Public names defined in the private modules and re-exported by the package."""
    names: set[str] = set()
    for value in vars(livevox).values():
        module = getattr(value, "__module__", None)
        name = getattr(value, "__name__", None)
        if module and module.startswith("syncd.livevox._") and name and not name.startswith("_"):
            names.add(name)
    return names


def test_all_is_exactly_the_public_names() -> None:
    exported = {n for n in vars(livevox) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in exported if inspect.ismodule(getattr(livevox, n))}
    assert set(livevox.__all__) == exported - modules
    assert len(livevox.__all__) == len(set(livevox.__all__))
    assert livevox.__all__ == sorted(livevox.__all__, key=lambda n: (not n.isupper(), n))


def test_every_exported_name_resolves_and_classes_come_from_private_modules() -> None:
    for name in livevox.__all__:
        value = getattr(livevox, name)
        module = getattr(value, "__module__", "syncd.livevox._x")
        if inspect.isclass(value) or inspect.isfunction(value):
            assert module.startswith("syncd.livevox._"), name
    assert _public_defined_names() <= set(livevox.__all__)


def test_package_imports_nothing_else_of_syncd() -> None:
    import sys

    for module_name in [m for m in sys.modules if m.startswith("syncd.livevox")]:
        source = inspect.getsource(sys.modules[module_name])
        for line in source.splitlines():
            if line.lstrip().startswith(("import syncd", "from syncd")):
                assert line.lstrip().startswith("from syncd.livevox"), (module_name, line)
