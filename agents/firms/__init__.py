"""Firms (startups, gazelles 瞪羚, unicorns 独角兽): the columnar population
(:mod:`agents.firms.population`), the vectorised rules (:mod:`agents.firms.rules`), founding
(:mod:`agents.firms.founding`) and the Mesa view of one firm (:mod:`agents.firms.view`)."""
