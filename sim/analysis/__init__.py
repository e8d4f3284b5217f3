"""Analyses of many runs, built on the batch runner's results table (:mod:`sim.batch`).

* :mod:`sim.analysis.compare`: policy arms against the baseline over seeds, paired differences
  with intervals, costs, timelines and the reports;
* :mod:`sim.analysis.sensitivity`: Morris screening and Sobol indices over configuration keys.
"""
