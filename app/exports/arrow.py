"""Arrow and pyogrio, imported without the dataframe libraries they only look for.

On first use, pyogrio imports geopandas, pandas and pyproj, and pyarrow's pa.array()
imports pandas, only to learn whether they are installed: some 100 MB of resident memory
and seconds of start-up an export never uses. They are hidden from that first look when
the process has not imported them already (a process that has, keeps them usable).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from typing import Any

import pyarrow as pa

__all__ = ["pa", "pyogrio_write_arrow"]

_PYOGRIO_PROBES = ("geopandas", "pandas", "pyproj")
_PYARROW_PROBES = ("pandas",)


class _Refusing(MetaPathFinder):
    """An import finder that says some modules are not installed."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> ModuleSpec | None:
        """Refuse the hidden modules; leave every other one to the next finders."""
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} hidden while probed", name=fullname)
        return None


@contextmanager
def _hidden(modules: Sequence[str]) -> Iterator[None]:
    """Make importing these modules fail meanwhile, unless the process already has them."""
    finder = _Refusing([name for name in modules if name not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _settle_pyarrow() -> None:
    """Let pyarrow look for pandas once, now, while it is hidden (it never looks again)."""
    with _hidden(_PYARROW_PROBES):
        pa.array([0], pa.int64())


def pyogrio_write_arrow() -> Callable[..., Any]:
    """The Arrow writer of pyogrio (pyogrio.write_arrow)."""
    if "pyogrio" not in sys.modules:
        with _hidden(_PYOGRIO_PROBES):
            import pyogrio  # noqa: F401
    from pyogrio import write_arrow

    return write_arrow  # type: ignore[no-any-return]


_settle_pyarrow()
