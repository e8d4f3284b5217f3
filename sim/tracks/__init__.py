"""Tracks (赛道): the registry of every track of a run (:mod:`sim.tracks.registry`), how tracks
emerge, split, fuse and move through their lifecycle (:mod:`sim.tracks.dynamics`), and the
attention that makes a track hot (:mod:`sim.tracks.attention`)."""
