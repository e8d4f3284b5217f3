"""YAML reading for the project's own files, with libyaml's parser when PyYAML has it.

``yaml.safe_load`` parses in pure Python: the track system (conf/tracks/china_2021.yaml, 39 kB)
took 0.15 s a read, twice for every model built. ``yaml.CSafeLoader`` parses in C with the same
safe constructor and resolver, so it returns the same objects (every file under conf/ checked),
about 8 times faster; PyYAML built without libyaml falls back to the pure-Python loader.
"""

from __future__ import annotations

import yaml

#: the safe loader, in C when PyYAML was built with libyaml
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream):
    """``yaml.safe_load`` with :data:`SAFE_LOADER`: a string or an open text file in, Python objects out."""
    return yaml.load(stream, Loader=SAFE_LOADER)  # noqa: S506  (a safe loader)
