"""Running many simulations: one runner, the run records it leaves, gathering, Hydra sweeps.

* :mod:`sim.batch.status`: ``run_status.json`` (running, completed, failed, interrupted) and
  what a run directory says about its run;
* :mod:`sim.batch.runner`: :func:`run_batch`, the one way to run many simulations (resume,
  parallel processes, progress, one results table), and :func:`~sim.batch.runner.execute`,
  one run into its directory;
* :mod:`sim.batch.gather`: a directory of runs into ``results.parquet`` and
  ``timeseries_long.parquet``;
* :mod:`sim.batch.hydra_callback`: ``python -m sim --multirun`` jobs and the sweep report.

Comparisons, sensitivity analyses (:mod:`sim.analysis`), validation and calibration
(:mod:`sim.validation`) build on :func:`run_batch`.
"""

from sim.batch.runner import RunSpec, run_batch

__all__ = ["RunSpec", "run_batch"]
