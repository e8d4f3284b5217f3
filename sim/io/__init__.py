"""Outputs: the contract of every table (:mod:`sim.io.schema`), the table builders
(:mod:`sim.io.tables`), atomic writing and reading of a run's directory (:mod:`sim.io.files`) and
the standard plots made from the files (:mod:`sim.io.plots`)."""
