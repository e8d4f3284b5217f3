"""Thin command lines, each run as ``python -m experiments.<name>``, around functions of the package the tests call."""
