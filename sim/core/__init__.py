"""The bottom layer: vocabulary, clock, random streams, the columnar store, the cash ledger and
user errors. Imports nothing else from the project."""
