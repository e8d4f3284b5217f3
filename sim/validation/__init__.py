"""Validation against the reports: the targets registry, the validation report and calibration.

* :mod:`sim.validation.registry`: targets read from ``conf/targets/*.yaml``;
* :mod:`sim.validation.targets`: the functions computing each target's simulated counterpart
  from a run's output tables;
* :mod:`sim.validation.realism`: realism panels (firm sizes, growth rates, survival, time to
  gazelle and unicorn, VC multiples);
* :mod:`sim.validation.report`: :func:`validate`, R seeds of a preset against its targets;
* :mod:`sim.validation.calibrate`: :func:`calibrate`, method of simulated moments with optuna.

See docs/validation.md.
"""

from sim.validation.registry import Target, TargetUnavailable, load_registry
from sim.validation.report import validate

__all__ = ["Target", "TargetUnavailable", "load_registry", "validate", "calibrate"]


def calibrate(*args, **kwargs):
    """See :func:`sim.validation.calibrate.calibrate` (imports optuna, the ``calibrate`` extra)."""
    from sim.validation.calibrate import calibrate as _calibrate

    return _calibrate(*args, **kwargs)
