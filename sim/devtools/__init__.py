"""Tools for developers: generators of the files that must follow the code (gendocs)."""
