"""One columnar store: a growable table of numpy columns of equal length.

The model keeps its large collections as columns rather than objects: firms (live state and
per-firm records, :mod:`agents.firms.population`), tracks (:mod:`sim.tracks.registry`), and the
investors' lots and deals (:mod:`agents.investors.market`). They all use :class:`Columns`:

* declared once by a spec, ``{name: (dtype, fill)}`` or ``{name: (dtype, shape, fill)}`` for a
  column whose rows are arrays (``shape`` is the trailing shape);
* rows ``[0, n)`` are in use; ``store[name]`` is that part of a column, a view, so writing to it
  updates the store (``store[name] = values`` writes all rows in use);
* :meth:`Columns.append` adds rows (columns not given take their fill value) and grows the
  arrays geometrically, so appending costs O(rows appended) on average; rows beyond ``n`` are
  allocated but never written or read (``numpy.empty``), so a large capacity costs no memory
  until rows are appended;
* :meth:`Columns.remove` deletes rows by moving the last rows into the holes (swap-remove, O(rows
  removed)); row order is then not preserved. Append-only stores (tracks, records, lots, deals)
  never call it, so a row index is a stable id there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

__all__ = ["Columns"]


def _spec_entry(entry: tuple) -> tuple[np.dtype, tuple[int, ...], object]:
    if len(entry) == 2:
        dtype, fill = entry
        shape: tuple[int, ...] = ()
    else:
        dtype, shape, fill = entry
    return np.dtype(dtype), tuple(shape), fill


class Columns:
    """A growable table of numpy columns (see the module docstring)."""

    def __init__(self, spec: Mapping[str, tuple], capacity: int = 16, growth: float = 2.0):
        self.spec = {name: _spec_entry(entry) for name, entry in spec.items()}
        self.n = 0
        self.growth = float(growth)
        self.capacity = max(int(capacity), 1)
        self.data: dict[str, np.ndarray] = {
            name: np.empty((self.capacity, *shape), dtype=dtype) for name, (dtype, shape, _) in self.spec.items()
        }

    # ---- access --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        """Rows ``[0, n)`` of a column (a view: writing to it updates the store)."""
        return self.data[name][: self.n]

    def __setitem__(self, name: str, values) -> None:
        """Write ``values`` (an array of n rows, or a scalar) into rows ``[0, n)`` of a column."""
        self.data[name][: self.n] = values

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    # ---- rows ----------------------------------------------------------------------------
    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows (:meth:`append` fills them)."""
        need = self.n + int(extra)
        if need <= self.capacity:
            return
        cap = max(need, int(self.capacity * self.growth) + 16)
        for name, (dtype, shape, _) in self.spec.items():
            new = np.empty((cap, *shape), dtype=dtype)
            new[: self.n] = self.data[name][: self.n]
            self.data[name] = new
        self.capacity = cap

    def append(self, count: int | None = None, **values) -> slice:
        """Append ``count`` rows (default: the length of the first value given); ``values`` are
        arrays or scalars by column, missing columns take their fill value. Returns the rows."""
        if count is None:
            count = len(np.atleast_1d(next(iter(values.values()))))
        self.reserve(count)
        rows = slice(self.n, self.n + count)
        for name, (_, _, fill) in self.spec.items():
            self.data[name][rows] = values[name] if name in values else fill
        self.n += count
        return rows

    def remove(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Delete the rows ``rows`` (unique, sorted, in ``[0, n)``) by moving the last rows that
        stay into the holes below the new end. Returns ``(holes, moved_from)``: the row each
        moved row now occupies and the row it came from."""
        k = rows.size
        new_n = self.n - k
        holes = rows[rows < new_n]
        keep = np.ones(k, dtype=np.bool_)  # the last k rows, less those removed
        keep[rows[rows >= new_n] - new_n] = False
        moved_from = np.arange(new_n, self.n)[keep]
        if holes.size:
            for col in self.data.values():
                col[holes] = col[moved_from]
        self.n = new_n
        return holes, moved_from
