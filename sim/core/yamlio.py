"""YAML reading for the project's own files, with libyaml's parser when PyYAML has it.

``yaml.safe_load`` parses in pure Python: the track system (conf/tracks/china_2021.yaml, 39 kB)
took 0.15 s a read, twice for every model built. ``yaml.CSafeLoader`` parses in C with the same
safe constructor and resolver, so it returns the same objects (every file under conf/ checked),
about 8 times faster; PyYAML built without libyaml falls back to the pure-Python ``SafeLoader``.
Only these two safe loaders are used (tests/test_faults.py scans the package for others).
"""

from __future__ import annotations

import yaml

#: PyYAML was built with libyaml (then the C safe loader is used)
LIBYAML = bool(getattr(yaml, "__with_libyaml__", False)) and hasattr(yaml, "CSafeLoader")


def safe_load(stream):
    """What ``yaml.safe_load(stream)`` returns (a string or an open text file in), parsed in C when possible."""
    loader = yaml.CSafeLoader(stream) if LIBYAML else yaml.SafeLoader(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
