"""Investors and the capital market: the investors' books (:mod:`agents.investors.books`) and the
market that matches firms with money (:mod:`agents.investors.market`)."""
