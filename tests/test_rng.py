"""Named streams, counter-based keyed draws and birth keys (sim/core/rng.py).

Statistical checks use fixed seeds, so each is deterministic: it either always passes or always
fails. Tolerances are 5 standard errors of the statistic (a correct generator lands outside
with probability about 6e-7 per check), and the Kolmogorov-Smirnov tests require p > 0.001 (KS_LEVEL).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy.special import kolmogorov, ndtr

from sim.core.rng import KeyedDraws, Streams, birth_keys, name_key

N = 1_000_000
Z = 5.0  # tolerance in standard errors
KS_LEVEL = 1e-3


def ks_pvalue(x: np.ndarray, cdf) -> float:
    """One-sample Kolmogorov-Smirnov test, asymptotic p-value (exact enough for n >= 10^4).

    Written out with scipy.special because importing scipy.stats costs seconds.
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    f = cdf(x)
    d = max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())
    return float(kolmogorov(np.sqrt(n) * d))


def laplace_cdf(x: np.ndarray, scale: float) -> np.ndarray:
    return np.where(x < 0, 0.5 * np.exp(x / scale), 1.0 - 0.5 * np.exp(-x / scale))


def uniform_cdf(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


def realistic_keys(n: int = N) -> np.ndarray:
    """Keys as the model makes them: births over warm-up and observed steps, three channels."""
    per = 2_000
    steps = np.arange(-96, -96 + n // (3 * per) + 1)
    keys = np.concatenate([birth_keys(int(s), c, per) for s in steps for c in range(3)])
    return keys[:n]


# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------


def test_streams_same_seed_and_name_repeat():
    a = Streams(42)["births"].random(100)
    b = Streams(42)["births"].random(100)
    np.testing.assert_array_equal(a, b)


def test_streams_differ_by_name_and_seed():
    a = Streams(42)["births"].random(100)
    assert not np.array_equal(a, Streams(42)["finance"].random(100))
    assert not np.array_equal(a, Streams(43)["births"].random(100))
    assert np.abs(a - Streams(43)["births"].random(100)).max() > 0.1


def test_streams_are_independent_of_other_streams_use():
    s1 = Streams(7)
    s1["finance"].random(10_000)  # heavy use of another stream first
    s1["institutes"].normal(size=5)
    a = s1["births"].random(50)
    b = Streams(7)["births"].random(50)
    np.testing.assert_array_equal(a, b)


def test_streams_return_the_same_generator_object():
    s = Streams(1)
    g = s["births"]
    first = g.random()
    assert s["births"] is g
    assert s["births"].random() != first  # continues the stream, no restart


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None])
def test_streams_reject_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        Streams(bad)


def test_name_key_is_stable():
    # crc32, not Python's salted hash: fixed across processes
    assert name_key("births") == zlib.crc32(b"births")
    assert name_key("births") != name_key("finance")


# ---------------------------------------------------------------------------------------------
# Keyed draws: reproducibility and the common-random-numbers property
#
# The model may call KeyedDraws with raw birth keys or with keys hashed once at birth
# (KeyedDraws.prehash, prehashed=True). Both paths are tested with the same checks.
# ---------------------------------------------------------------------------------------------

MODES = ["plain", "prehashed"]


class Drawer:
    """KeyedDraws called with raw keys, or with keys prehashed once as the model does."""

    def __init__(self, seed: int, name: str, mode: str):
        self.kd = KeyedDraws(seed, name)
        self.pre = mode == "prehashed"

    def _k(self, keys):
        keys = np.asarray(keys, dtype=np.uint64)
        return KeyedDraws.prehash(keys) if self.pre else keys

    def uniform(self, keys, step, slot=0):
        return self.kd.uniform(self._k(keys), step, slot, prehashed=self.pre)

    def normal(self, keys, step, slot=0):
        return self.kd.normal(self._k(keys), step, slot, prehashed=self.pre)

    def laplace(self, keys, step, slot=0):
        return self.kd.laplace(self._k(keys), step, slot, prehashed=self.pre)


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


def test_keyed_same_inputs_same_draws(mode):
    keys = birth_keys(3, 0, 1000)
    a = Drawer(11, "growth", mode).uniform(keys, 25, 2)
    b = Drawer(11, "growth", mode).uniform(keys, 25, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        KeyedDraws(11, "growth").uniform(keys, 25, 2), Streams(11).keyed("growth").uniform(keys, 25, 2)
    )


def test_prehash_is_elementwise_and_injective():
    keys = realistic_keys(100_000)
    h = KeyedDraws.prehash(keys)
    assert h.dtype == np.uint64 and len(np.unique(h)) == len(h)
    np.testing.assert_array_equal(KeyedDraws.prehash(keys[::-7]), h[::-7])
    # the hash does not depend on the stream: it can be stored once per firm
    assert not np.array_equal(h, keys)


@pytest.mark.parametrize(
    "change",
    [
        dict(seed=12),
        dict(name="closure"),
        dict(step=26),
        dict(step=-25),
        dict(slot=3),
    ],
)
def test_keyed_draws_change_with_every_input(change, mode):
    keys = birth_keys(3, 0, 1000)
    base = dict(seed=11, name="growth", step=25, slot=2)
    a = Drawer(base["seed"], base["name"], mode).uniform(keys, base["step"], base["slot"])
    new = {**base, **change}
    b = Drawer(new["seed"], new["name"], mode).uniform(keys, new["step"], new["slot"])
    assert np.all(a != b)
    assert abs(np.corrcoef(a, b)[0, 1]) < Z / np.sqrt(len(keys))


def test_keyed_draws_do_not_depend_on_other_keys_or_order(mode):
    kd = Drawer(5, "growth", mode)
    keys = realistic_keys(20_000)
    full = kd.uniform(keys, 40, 1)
    rng = np.random.default_rng(0)
    # a subset, in a random order, mixed with keys of firms that do not exist in the full call
    idx = rng.choice(len(keys), 3_000, replace=False)
    extra = birth_keys(500, 2, 700)
    call = np.concatenate([extra[:300], keys[idx], extra[300:]])
    perm = rng.permutation(len(call))
    got = kd.uniform(call[perm], 40, 1)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    got = got[inv]
    np.testing.assert_array_equal(got[300 : 300 + len(idx)], full[idx])
    # one key alone gives the same number as inside the big call
    for i in (0, 17, 19_999):
        assert kd.uniform(keys[i : i + 1], 40, 1)[0] == full[i]
    # and the same holds for the transformed draws
    np.testing.assert_array_equal(kd.normal(keys[idx], 40, 1), kd.normal(keys, 40, 1)[idx])
    np.testing.assert_array_equal(kd.laplace(keys[idx], 40, 1), kd.laplace(keys, 40, 1)[idx])


def test_keyed_draws_do_not_depend_on_earlier_calls(mode):
    kd = Drawer(5, "growth", mode)
    keys = birth_keys(0, 0, 100)
    a = kd.uniform(keys, 10)
    kd.uniform(birth_keys(1, 0, 10_000), 10)
    kd.normal(keys, 11)
    kd.laplace(keys, 12)
    np.testing.assert_array_equal(kd.uniform(keys, 10), a)


def test_keyed_accepts_scalar_like_inputs():
    kd = KeyedDraws(1, "x")
    keys = birth_keys(2, 1, 4)
    np.testing.assert_array_equal(kd.uniform(list(keys), np.int64(3), np.int8(1)), kd.uniform(keys, 3, 1))


@pytest.mark.parametrize("slot", [-1, 256, 1000])
def test_slots_outside_one_byte_are_refused(slot, mode):
    # slot 256 used to alias slot 0 silently (identical draws for two purposes)
    kd = Drawer(1, "x", mode)
    for draw in (kd.uniform, kd.normal, kd.laplace):
        with pytest.raises(ValueError, match="slot"):
            draw(birth_keys(0, 0, 3), 0, slot)


def test_slot_255_is_distinct_from_slot_0(mode):
    kd = Drawer(1, "x", mode)
    keys = birth_keys(0, 0, 100)
    assert np.all(kd.uniform(keys, 5, 255) != kd.uniform(keys, 5, 0))


# ---------------------------------------------------------------------------------------------
# Keyed draws: distributions (fixed seed, 10^6 draws)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=MODES)
def uniforms(request) -> np.ndarray:
    return Drawer(2024, "growth", request.param).uniform(realistic_keys(), 17, 0)


def test_uniform_open_interval_and_moments(uniforms):
    u = uniforms
    assert u.shape == (N,) and u.dtype == np.float64
    assert u.min() > 0.0 and u.max() < 1.0
    # mean: var(U) = 1/12, so the standard error of the mean is sqrt(1/12/N) = 2.9e-4
    se_mean = np.sqrt(1 / 12 / N)
    assert abs(u.mean() - 0.5) < Z * se_mean
    # variance: SE of the sample variance is sqrt((mu4 - sigma^4)/N) with mu4 = 1/80 and
    # sigma^4 = 1/144 for U(0,1), i.e. sqrt(1/180/N) = 7.5e-5
    se_var = np.sqrt((1 / 80 - 1 / 144) / N)
    assert abs(u.var() - 1 / 12) < Z * se_var
    # deciles: each holds 10 % of the draws, binomial SE sqrt(0.1*0.9/N)
    counts = np.histogram(u, bins=10, range=(0, 1))[0] / N
    assert np.all(np.abs(counts - 0.1) < Z * np.sqrt(0.09 / N))
    assert ks_pvalue(u, uniform_cdf) > KS_LEVEL


def test_uniform_has_no_serial_or_cross_key_correlation(mode):
    kd = Drawer(2024, "growth", mode)
    keys = realistic_keys(200_000)
    n = len(keys)
    u0 = kd.uniform(keys, 17, 0)
    # the same firms one step later, and in another slot: correlation SE is 1/sqrt(n)
    assert abs(np.corrcoef(u0, kd.uniform(keys, 18, 0))[0, 1]) < Z / np.sqrt(n)
    assert abs(np.corrcoef(u0, kd.uniform(keys, 17, 1))[0, 1]) < Z / np.sqrt(n)
    # another stream, same firms, step and slot
    assert abs(np.corrcoef(u0, Drawer(2024, "closure", mode).uniform(keys, 17, 0))[0, 1]) < Z / np.sqrt(n)
    # neighbouring birth ranks (keys k and k+1) in the same step
    assert abs(np.corrcoef(u0[:-1], u0[1:])[0, 1]) < Z / np.sqrt(n)


def test_uniform_over_time_for_few_firms(mode):
    # one firm's draws across 2000 steps x 10 slots are also uniform
    kd = Drawer(3, "closure", mode)
    key = birth_keys(-12, 1, 1)
    u = np.concatenate([kd.uniform(key, s, sl) for s in range(-2_000, 0) for sl in range(0, 256, 26)])
    n = len(u)
    assert abs(u.mean() - 0.5) < Z * np.sqrt(1 / 12 / n)
    assert ks_pvalue(u, uniform_cdf) > KS_LEVEL


def test_normal_passes_ks(mode):
    z = Drawer(2024, "growth", mode).normal(realistic_keys(), 17, 3)
    assert np.all(np.isfinite(z))
    # mean SE 1/sqrt(N) = 1e-3; variance SE sqrt(2/N) = 1.4e-3
    assert abs(z.mean()) < Z / np.sqrt(N)
    assert abs(z.var() - 1.0) < Z * np.sqrt(2 / N)
    assert ks_pvalue(z, ndtr) > KS_LEVEL
    # the extreme tails are populated as they should be: P(|Z| > 4) = 6.3e-5, about 63 of 10^6
    tail = np.mean(np.abs(z) > 4)
    p = 2 * ndtr(-4.0)
    assert abs(tail - p) < Z * np.sqrt(p / N)


def test_laplace_has_unit_variance_and_passes_ks(mode):
    x = Drawer(2024, "growth", mode).laplace(realistic_keys(), 17, 4)
    assert np.all(np.isfinite(x))
    # unit-variance Laplace: mean SE 1e-3; kurtosis 6, so variance SE sqrt((6-1)/N) = 2.2e-3
    assert abs(x.mean()) < Z / np.sqrt(N)
    assert abs(x.var() - 1.0) < Z * np.sqrt(5 / N)
    assert ks_pvalue(x, lambda v: laplace_cdf(v, 1 / np.sqrt(2))) > KS_LEVEL
    # sign and magnitude are independent: P(x > 0) = 1/2 among large and small draws alike
    big = np.abs(x) > 1.0
    for part in (big, ~big):
        frac = np.mean(x[part] > 0)
        assert abs(frac - 0.5) < Z * np.sqrt(0.25 / part.sum())


EXTREME = np.array([0, 1, 2**11 - 1, 2**11, 2**63 - 1, 2**63, 2**64 - 2**11, 2**64 - 1], dtype=np.uint64)


def test_extreme_bit_patterns_stay_inside_the_open_interval(monkeypatch, mode):
    # All-ones bits used to give exactly 1.0 (53 bits + 0.5 rounds up to 2**53), and then
    # normal() returned +inf and laplace() -inf. Force the extreme patterns on both paths.
    monkeypatch.setattr(KeyedDraws, "bits", lambda self, keys, step, slot=0: EXTREME.copy())
    if mode == "prehashed":
        # the prehashed path has a bit generator of its own: force the patterns there too
        assert hasattr(KeyedDraws, "_bits_prehashed"), "patch the prehashed path's bit generator here"
        monkeypatch.setattr(KeyedDraws, "_bits_prehashed", lambda self, keys, step, slot=0: EXTREME.copy())
    kd = Drawer(0, "x", mode)
    keys = np.zeros(len(EXTREME), dtype=np.uint64)
    u = kd.uniform(keys, 0)
    assert np.all(u > 0.0) and np.all(u < 1.0)
    assert u[0] == 2.0**-53 and u[-1] == 1.0 - 2.0**-53
    assert np.all(np.diff(u) >= 0)  # monotone in the bits
    z = kd.normal(keys, 0)
    assert np.all(np.isfinite(z))
    assert z[-1] == pytest.approx(8.21, abs=0.01)  # ndtri(1 - 2**-53)
    assert np.all(np.isfinite(kd.laplace(keys, 0)))


# ---------------------------------------------------------------------------------------------
# Birth keys
# ---------------------------------------------------------------------------------------------


def test_birth_keys_never_collide():
    steps = list(range(-120, 240)) + [-(2**31), 2**31 - 1]
    keys = np.concatenate(
        [birth_keys(s, c, 50) for s in steps for c in (0, 1, 2, 255)]
        + [birth_keys(0, 0, 10, start_rank=2**24 - 10), birth_keys(-1, 255, 10, start_rank=2**24 - 10)]
    )
    assert keys.dtype == np.uint64
    assert len(np.unique(keys)) == len(keys)


def test_birth_keys_negative_steps_work():
    # warm-up steps are negative; birth_keys(-5, ...) used to raise OverflowError
    a = birth_keys(-5, 0, 3)
    assert len(a) == 3 and len(np.intersect1d(a, birth_keys(5, 0, 3))) == 0
    assert len(np.intersect1d(birth_keys(-1, 0, 1000), birth_keys(0, 0, 1000))) == 0


def test_birth_keys_are_deterministic_and_contiguous_in_rank():
    a = birth_keys(7, 1, 5)
    np.testing.assert_array_equal(a, birth_keys(7, 1, 5))
    np.testing.assert_array_equal(a, np.concatenate([birth_keys(7, 1, 2), birth_keys(7, 1, 3, start_rank=2)]))
    assert birth_keys(7, 1, 0).shape == (0,)
    # the layout documented in the docstring: step in the high 32 bits, channel, then rank
    assert int(birth_keys(7, 1, 1, start_rank=9)[0]) == (7 << 32) | (1 << 24) | 9


@pytest.mark.parametrize(
    "args",
    [
        (0, 256, 1),  # channel would spill into the step bits
        (0, -1, 1),
        (0, 0, 1, 2**24),  # rank would spill into the channel bits
        (0, 0, 2, 2**24 - 1),
        (0, 0, -1),
        (2**31, 0, 1),
        (-(2**31) - 1, 0, 1),
    ],
)
def test_birth_keys_refuse_values_that_would_alias(args):
    with pytest.raises(ValueError):
        birth_keys(*args)


def test_keyed_draws_for_births_are_stable_across_scenarios():
    # the k-th independent founder of a step gets the same draw whether or not a policy adds
    # extra founders through another channel or later in the rank order
    kd = KeyedDraws(9, "founding")
    base = birth_keys(30, 0, 100)
    policy = np.concatenate([birth_keys(30, 0, 130), birth_keys(30, 2, 40)])
    np.testing.assert_array_equal(kd.normal(base, 30, 1), kd.normal(policy, 30, 1)[:100])
