"""Validation against the reports: the targets registry, the validation report and calibration.

* :mod:`sim.validation.registry`: targets read from ``conf/targets/*.yaml``;
* :mod:`sim.validation.targets` and :mod:`sim.validation.track_targets`: the functions computing
  each target's simulated counterpart from a run's output tables (firms and the track system);
* :mod:`sim.validation.realism`: realism panels (firm sizes, growth rates, survival, time to
  gazelle and unicorn, VC multiples);
* :mod:`sim.validation.report`: :func:`validate`, R seeds of a preset against its targets;
* :mod:`sim.validation.calibrate`: :func:`calibrate`, method of simulated moments with optuna
  (the ``calibrate`` extra, imported when a calibration starts).

Every run goes through the batch runner (:mod:`sim.batch`), so validations and calibrations
resume where they stopped. See docs/validation.md.
"""

from sim.validation.calibrate import calibrate
from sim.validation.registry import Target, TargetUnavailable, load_registry
from sim.validation.report import validate

__all__ = ["Target", "TargetUnavailable", "load_registry", "validate", "calibrate"]
