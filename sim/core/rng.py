"""Random streams: one root seed, split into named, independent streams.

Two kinds of randomness are used:

* :class:`Streams` hands out ordinary :class:`numpy.random.Generator` objects, one per name
  (``"births"``, ``"finance"``, ``"institutes"``, ...). Each is derived from the root seed and the
  name only, so adding a new stream, or drawing more from one stream, never shifts another.
* :class:`KeyedDraws` gives *counter-based* draws for the large firm population: the number for
  firm ``k`` at step ``t`` depends only on (root seed, stream name, firm key, step, slot). A
  firm's growth shock, death draw or funding draw therefore stays the same when a policy changes
  how many other firms exist (common random numbers at the firm level, as in Starsim).

Firm keys are not firm ids: they are built from the birth step, the founding channel and the
rank of the birth within that step (see :func:`birth_keys`), so that the k-th independent
founder of March 2018 is the same firm in a baseline run and in a policy run even when the
policy adds extra founders elsewhere.
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit
from scipy.special import ndtri

__all__ = ["Streams", "KeyedDraws", "birth_keys", "name_key", "LAPLACE_TABLE"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _ONE = np.uint64(11), np.uint64(1)
_TO_UNIT = 1.0 / float(1 << 53)


def name_key(name: str) -> int:
    """A stable 32-bit key for a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, applied element-wise to uint64 arrays (wrap-around arithmetic)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


_MASK = (1 << 64) - 1


def _mix_int(x: int) -> int:
    """:func:`_mix` of one Python integer (the same 64-bit arithmetic, without numpy's per-call cost)."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@njit(cache=True)
def _keyed_into(keys, base, d, prehashed, out):
    """Keyed bits of the 1-d uint64 array ``keys`` into ``out`` in one compiled pass, with the same
    integer arithmetic as the element-wise :func:`_mix` (so the same bits). Not ``prehashed``:
    ``base`` is the stream's constant, ``d`` the counter's, and the bits are
    ``_mix(_mix(key * GOLD + base) ^ d)`` (:meth:`KeyedDraws.bits`); ``prehashed``: ``d`` is the
    step constant and the bits are ``_mix(key ^ d)``."""
    for i in range(keys.size):
        if prehashed:
            x = keys[i] ^ d
        else:
            x = keys[i] * _GOLD + base
            x = (x ^ (x >> _S30)) * _M1
            x = (x ^ (x >> _S27)) * _M2
            x = (x ^ (x >> _S31)) ^ d
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        out[i] = x ^ (x >> _S31)


@njit(cache=True)
def _unit_into(bits, out):
    """:meth:`KeyedDraws.uniform`'s conversion of the 1-d uint64 array ``bits`` into ``out`` (one
    compiled pass: the same conversion and product as the element-wise version). ``out`` may be
    ``bits`` itself, viewed as float64: each element is read before it is written."""
    for i in range(bits.size):
        out[i] = np.float64((bits[i] >> _S11) | _ONE) * _TO_UNIT


class Streams:
    """Named random generators derived from one root seed.

    >>> s = Streams(42)
    >>> a = s["births"].random()
    >>> Streams(42)["births"].random() == a
    True
    """

    def __init__(self, seed: int):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(name_key(name),))

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._generators.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._generators[name] = gen
        return gen

    def keyed(self, name: str) -> KeyedDraws:
        return KeyedDraws(self.seed, name)


class KeyedDraws:
    """Counter-based draws: ``u = f(seed, stream, key, step, slot)``, vectorised over keys."""

    def __init__(self, seed: int, name: str):
        base = np.random.SeedSequence(entropy=seed, spawn_key=(name_key(name),))
        self._base = np.uint64(base.generate_state(1, np.uint64)[0])
        self.name = name

    def bits(self, keys: np.ndarray, step: int, slot: int = 0) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.uint64)
        _, d = self.key_constants(step, slot)
        if keys.ndim == 1:  # the usual case, in one compiled pass (the same bits)
            out = np.empty(keys.size, dtype=np.uint64)
            _keyed_into(np.ascontiguousarray(keys), self._base, d, False, out)
            return out
        with np.errstate(over="ignore"):
            x = _mix(keys * _GOLD + self._base)
            return _mix(x ^ d)

    @staticmethod
    def prehash(keys: np.ndarray) -> np.ndarray:
        """Hash firm keys once (at birth) so that each later draw costs one mixing round.

        Draws from :meth:`uniform` and friends with ``prehashed=True`` take these values."""
        keys = np.asarray(keys, dtype=np.uint64)
        with np.errstate(over="ignore"):
            return _mix(keys * _GOLD + _GOLD)

    def step_constant(self, step: int, slot: int = 0) -> np.uint64:
        """The constant ``c`` of (stream, step, slot) such that a prehashed key's draw is
        ``_mix(hkey ^ c)``: what the compiled loops (:mod:`sim.core.kernels`) take to reproduce
        :meth:`uniform` and :meth:`laplace` with ``prehashed=True`` bit for bit."""
        _, d = self.key_constants(step, slot)
        return np.uint64(_mix_int(int(self._base) ^ int(d)))

    def key_constants(self, step: int, slot: int = 0) -> tuple[np.uint64, np.uint64]:
        """The constants ``(b, d)`` of (stream, step, slot) such that the draw of a key that was not
        prehashed is ``_mix(_mix(key * GOLD + b) ^ d)``: what a compiled loop takes to reproduce
        :meth:`bits` (and so :meth:`uniform` and :meth:`normal`) bit for bit."""
        if not 0 <= int(slot) < 256:
            raise ValueError(f"slot {slot} outside [0, 255]; larger slots would repeat slot {int(slot) & 0xFF}")
        counter = (int(step) & 0xFFFFFFFF) << 8 | (int(slot) & 0xFF)
        return self._base, np.uint64((counter * 0x94D049BB133111EB + 0x9E3779B97F4A7C15) & _MASK)

    def _bits_prehashed(self, hkeys: np.ndarray, step: int, slot: int) -> np.ndarray:
        c = self.step_constant(step, slot)
        if hkeys.ndim == 1:  # one compiled pass (the same bits)
            out = np.empty(hkeys.size, dtype=np.uint64)
            _keyed_into(np.ascontiguousarray(hkeys), self._base, c, True, out)
            return out
        with np.errstate(over="ignore"):
            return _mix(hkeys ^ c)

    def uniform(self, keys: np.ndarray, step: int, slot: int = 0, prehashed: bool = False) -> np.ndarray:
        """Uniform numbers in the open interval (0, 1).

        With ``prehashed=True`` the keys are the output of :meth:`prehash`: the draws are
        still a fixed function of (seed, stream, key, step, slot), at half the cost."""
        keys = np.asarray(keys, dtype=np.uint64)
        b = self._bits_prehashed(keys, step, slot) if prehashed else self.bits(keys, step, slot)
        # 53 bits with the lowest forced to 1: an odd multiple of 2**-53, exactly representable,
        # so the result lies in [2**-53, 1 - 2**-53]. (Adding 0.5 to 53 bits, as before, rounds
        # to 2**53 for the largest value and returned exactly 1.0.)
        if b.ndim == 1 and b.flags.c_contiguous and b.flags.writeable:
            # the usual case: in one compiled pass (the same numbers), in place (the bits are
            # this call's own array; a second one of this size would cost page faults)
            out = b.view(np.float64)
            _unit_into(b, out)
            return out
        b = (b >> np.uint64(11)) | np.uint64(1)
        return b.astype(np.float64) * _TO_UNIT

    def normal(self, keys: np.ndarray, step: int, slot: int = 0, prehashed: bool = False) -> np.ndarray:
        """Standard normal numbers by inversion of the uniform draw."""
        return ndtri(self.uniform(keys, step, slot, prehashed))

    def laplace(self, keys: np.ndarray, step: int, slot: int = 0, prehashed: bool = False) -> np.ndarray:
        """Laplace numbers with unit variance (scale 1/sqrt(2)).

        Inversion through a table of the 2**16 mid-point quantiles, indexed by the top 16 bits:
        one table look-up per draw instead of a logarithm, which matters in the hot path. The
        quantisation is 2**-16 in probability (invisible next to sampling error at any sample
        size the model uses) and the tails are cut at +-7.8 standard deviations."""
        b = (
            self._bits_prehashed(np.asarray(keys, dtype=np.uint64), step, slot)
            if prehashed
            else self.bits(keys, step, slot)
        )
        return _LAPLACE_TABLE[(b >> np.uint64(48)).astype(np.intp)]


def _laplace_table(bits: int = 16) -> np.ndarray:
    p = (np.arange(1 << bits) + 0.5) / float(1 << bits)
    return np.where(p < 0.5, np.log(2.0 * p), -np.log(2.0 * (1.0 - p))) / np.sqrt(2.0)


_LAPLACE_TABLE = _laplace_table()
#: The table of :meth:`KeyedDraws.laplace` (for the compiled loops).
LAPLACE_TABLE = _LAPLACE_TABLE


def birth_keys(step: int, channel: int, n: int, start_rank: int = 0) -> np.ndarray:
    """Keys for ``n`` firms founded at ``step`` through founding channel ``channel``.

    The key packs (step, channel, rank) so it never collides between different births.
    Steps may be from -2**31 (warm-up steps are negative) to 2**31 - 1, channels 0 to 255 and
    ranks 0 to 2**24 - 1 per step and channel; anything outside would alias another birth's key.
    """
    step, channel, n, start_rank = int(step), int(channel), int(n), int(start_rank)
    if not -(2**31) <= step < 2**31:
        raise ValueError(f"birth step {step} outside [-2**31, 2**31)")
    if not 0 <= channel < 256:
        raise ValueError(f"founding channel {channel} outside [0, 255]")
    if n < 0 or start_rank < 0 or start_rank + n > 2**24:
        raise ValueError(f"birth ranks [{start_rank}, {start_rank + n}) outside [0, 2**24)")
    ranks = np.arange(start_rank, start_rank + n, dtype=np.uint64)
    # two's complement in 32 bits, so that negative (warm-up) steps get their own keys
    return np.uint64(((step & 0xFFFFFFFF) << 32) | (channel << 24)) | ranks
