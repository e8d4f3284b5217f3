"""Compiled building blocks for the loops over the firm population (numba).

The large firm population is updated by a few compiled loops (:mod:`agents.firms.kernels`,
:mod:`agents.investors.kernels`, :mod:`sim.stages`, :mod:`sim.recorder`) that each read every
live firm once and do the work of several vectorised passes. They share the pieces here:

* :func:`mix64`, :func:`unit` and :func:`laplace`: the keyed counter-based draws of
  :class:`sim.core.rng.KeyedDraws` for prehashed firm keys, bit for bit (integer arithmetic
  only): with ``c = KeyedDraws.step_constant(step, slot)``, ``unit(mix64(hkey ^ c))`` is
  ``draws.uniform(hkey, step, slot, prehashed=True)`` and ``laplace(mix64(hkey ^ c))`` its
  Laplace draw;
* :func:`exp` and :func:`log`: the exponential and the logarithm written out (range reduction
  a small table and a short polynomial, within one unit in the last place of the correctly
  rounded value for exp and two for log),
  so the results do not depend on the C library or the CPU's vector units: the same bits on
  every machine, and no function call in the loop;
* :func:`warm_up` compiles every registered kernel (those of the modules above and the small
  loops of the keyed draws of :mod:`sim.core.rng`) or loads it from numba's on-disk cache,
  and says so when it has to compile.

Kernels are compiled with ``cache=True``: the machine code is stored next to the source (or in
``NUMBA_CACHE_DIR``) the first time and loaded on later runs. No kernel uses ``fastmath``: the
floating-point operations are done in the order they are written, as numpy would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable

import numpy as np
from numba import njit, types
from numba.core import caching
from numba.extending import intrinsic

from sim.core import rng as _rng
from sim.core.rng import LAPLACE_TABLE

__all__ = ["mix64", "unit", "laplace", "exp", "exp_core", "exponent", "log", "log_core", "register", "warm_up",
           "compiled"]

log_ = logging.getLogger("sim")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S48, _ONE = np.uint64(11), np.uint64(48), np.uint64(1)
_TO_UNIT = 1.0 / float(1 << 53)
_LAPLACE = LAPLACE_TABLE.copy()


@intrinsic
def _as_float(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64."""
    if bits != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@intrinsic
def _as_int(typingctx, value):
    """Reinterpret the bits of a float64 as an int64."""
    if value != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@njit(inline="always")
def mix64(x):
    """SplitMix64 finaliser of :func:`sim.core.rng._mix` (uint64, wrap-around arithmetic)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@njit(inline="always")
def unit(bits):
    """Uniform in (0, 1) from 64 random bits, as :meth:`sim.core.rng.KeyedDraws.uniform`."""
    return np.float64((bits >> _S11) | _ONE) * _TO_UNIT


@njit(inline="always")
def laplace(bits):
    """Unit-variance Laplace draw from 64 random bits, as :meth:`sim.core.rng.KeyedDraws.laplace`
    (its table is a constant of the compiled code, so loops that read it can be vectorised)."""
    return _LAPLACE[np.intp(bits >> _S48)]


# exp and log are table-driven (as in the C libraries, with short polynomials whose latency the
# loops can hide). The tables hold 2**(j/128) to twice double precision (hi + lo) and, for the
# logarithm, log(c) and 1/c at the centres c = 1 + (j - 38)/128 (j = 0..91) of the intervals of
# width 1/128 that cover [sqrt(1/2), sqrt(2)); :func:`exact_tables` computes them with the
# decimal module, and a test checks the stored copy against it.
_EXP_BITS = 7
_N = 1 << _EXP_BITS
_LOG_N, _LOG_J0 = 92, 38
_TABLES_B64 = (
    "AAAAAAAA8D81M/upPRbwP2GAdz6aLPA/hX9u6BVD8D90hRXTsFnwP9723SlrcPA/yJt1GEWH8D+D88bKPp7wPw+J+WxYtfA/90dy"
    "K5LM8D+i0dMy7OPwPxvT/q9m+/A/UVsS0AET8T/MMWzAvSrxP+Atqa6aQvE/UY6lyJha8T97UX08uHLxP+qNjDj5ivE/dctv61uj"
    "8T/UXASE4LvxP6q5aDGH1PE/Hdn8IlDt8T/WjGKIOwbyP5bcfZFJH/I/OGJ1bno48j8/prJPzlHyP9184mVFa/I/gWP14d+E8j/h"
    "3h/1nZ7yP5DZ2tB/uPI/CwPkpoXS8j9WLz6pr+zyPxW3MQr+BvM/MdhM/HAh8z//FmSyCDzzP/Gfkl/FVvM/y6k6N6dx8z9m2AVt"
    "rozzP/ef5TTbp/M/5agTwy3D8z8iNBJMpt7zPxyArARF+vM/Ki73IQoW9D+XqFDZ9TH0Py2JYWAITvQ/VwAd7UFq9D/QPMG1oob0"
    "P97T1/Aqo/Q/Jyo21dq/9D8N3f2Zstz0P6csnXay+fQ/QmbPotoW9T+CT51WKzT1Pw+SXcqkUfU/2ie1Nkdv9T/9x5fUEo31PylU"
    "SN0Hq/U/t0ZZiibJ9T9IIa0Vb+f1PwncdrnhBfY/hVU6sH4k9j8gw8w0RkP2PyUiVYI4YvY/c6lM1FWB9j/NO39mnqD2P7/aC3US"
    "wPY/LxplPLLf9j+ElFH5ff/2P3Rf7Oh1H/c/dIGlSJo/9z/JZ0JW61/3Pz9d3k9pgPc/hwHrcxSh9z8ywTAB7cH3P2JOzzbz4vc/"
    "Eho+VCcE+D8TzkyZiSX4P63HI0YaR/g/7ZJEm9lo+D+ZZorZx4r4P9ugKkLlrPg/jES1FjLP+D82dxWZrvH4P8b/kQtbFPk/5cXN"
    "sDc3+T8PUsjLRFr5P1BO3p+Cffk/ugfKcPGg+T+Q8KOCkcT5PyMj4xlj6Pk/ZeVde2YM+j8zLUrsmzD6P10lPrIDVfo/WLMwE555"
    "+j+//XlVa576P3rz079rw/o/rdNamZ/o+j9mto0pBw77P/sVT7iiM/s/OlnljXJZ+z9HXvvydn/7P0oGoTCwpfs/0sFLkB7M+z8J"
    "HtdbwvL7P5xShd2bGfw/etD/X6tA/D9L0Vcu8Wf8P7XnBpRtj/w/aZDv3CC3/D/6w11VC9/8P3yJB0otB/0/8okNCIcv/T+HpPvc"
    "GFj9P5iDyRbjgP0/hTLbA+ap/T9gtAHzIdP9P1+bezOX/P0/KaH1FEYm/j/2P4vnLlD+P4NMx/tRev4/2pCkoq+k/j/xZ44tSM/+"
    "PydaYe4b+v4/l7prNysl/z9ARW5bdlD/PxS+nK39e/8/2JCegcGn/z/xcY8rwtP/PwAAAAAAAAAAt824milhmzxdCFtTg5BxvG7J"
    "dxkco5C8ZbR1pOJzjTwnPLHi35GMvP+Esku+hmE8NmExGHhIkTwLYdxKLqaYPHFP4hbcHpA8U3vFJxc6QDx7vU7E7ZtrvDqbRDkQ"
    "xZa8x6VssxS1UbyeNvGavy+TvAqr7rlqQII8dorXuUGQgbxsD5fRIxCRvORoSXtMW448B/YuNYZTmbw8ZKIAbgGePIy3ewKY35G8"
    "lYRKgXXHjTzupZSUfqmCPHMFx7Z+sJk8pPT0vlXBijzZ6UCZM72CPH4NP4w6TJq8VRKtr+gShjykGjjW3ApBvNVB21RHApA8gyPV"
    "RQ/KcTzkgjHSavSGPHwEGI7nnIo8plk2hCEnkzwoRk5c7lyLvOLqQr/qOpa8vQSZPI2Vnrzj9WHWNuR1vMMpXTf4/568vJ7wEQna"
    "ijzz+Vb5I9CXvHiSMBxp8168mXlf493HgbzQgO8EeptIPHaKZNFLlJw88GKQtqPBczxWvtHzYsuZPOJC7K+XQ308M3hqvNvsmDzj"
    "V1nSCbOUvO+TvWmFdo+8rTyxHb56gLyb5e3vnGiNvK2THQEsu5k86B2aW+GVgjytR0YFTDKWPKKGaYEbSzw8XuaAMPmmmzxH3lab"
    "QuKTvJe0QH7Bg5O8M4mddTxIjLw0HFmHCbabvGU+90SuOGA8VmSyEzTdm7wNC/9nVolyvKuIPGg6vmu89g6GJQ88iLyZeoiGR26B"
    "vDzVZWzZqJC8020xV1kkkLwtFgIKuGaYPC+ZBO53FYS81k0W0UwSnzx+eRW6Al1wPCuXbWKGfJK82DIV1B1Mnbz7zUGjhNaIvLr2"
    "1Jv4xp+8OrV888KUmTwnS4ZW8emWPKrj6TJe1XC8bJfjohPMhTwkJVguedadvLx+tYHHX2e8OfCllnxLdrzRhRt8WxidvDLmzpG9"
    "c5G8vvJxsEZ8fDxuTOZ4yiR4PDPVHF1JWZO8qzbcfVwwljzhQY3bbi+dvMdjxcp+y5s8Mf33Dsn6kDzQbOfKNJKPvIHMXTTNoZc8"
    "JeSATPXem7wI14QwXoBivONturvfcZy8O6xUfk9YdbwuKVQO0/yevISeLXrQPYI8c5xrP8r9nrzdSFCJZRCBPArGg+A3RZs8rTxI"
    "/02IkjxEXIBIvKxxPNtJ6dHLA3U8cp2CUzvYjbycenlDN7ycvHiFnXF7SJ28Bzdb1wLtgjzo3+2LwR6RvDK1bWkAI5w8wxjweFfa"
    "kjxcSxhPzaWRvJYUeoEntpe8j8ypgImegzzijQzKItWSPJMonBcjnJ68jK0RtPOTnLywtqSG9MedPEOODb+loZM8i6HYLeHTmTwK"
    "NQbQErudvB6TpfNTSIc853lllnTrYjwUapw+yIrWvzBfWd+91dW/2KM4B64i1b8bxHHCjXHUv4QxM3dSwtO/5FzT4fEU07+S2zQR"
    "YmnSv5VrWmOZv9G/fOQngo4X0b9iWE1gOHHQv3mzs2wcmc+/EhDn/w5Tzr97XmXyNxDNv63YOziH0Mu/49mKPO2Tyr9/AffcWlrJ"
    "v8KjUWXBI8i/vGp1ixLwxr+yPVRrQL/Fv2G1M4M9kcS/FpAVsPxlw78CwkkqcT3Cv3zkJ4KOF8G/ZtXbOZHov7+iRoRjJ6e9vxxb"
    "rY3Iaru/iUlZXV4zub/hwOoK0wC3v6x+IF0R07S/pRdHpASqsr8HOp61mIWwv8yy3c1zy6y/Q7OfFKqUqL/q4y3Urmakv0RE54ld"
    "QaC/v8rIKCVJmL9HWJNYViCQv3HeiHUVEIC/AAAAAAAAAACJZxBrKuB/P+QD/LCowI8/G7HVBxu5lz8AM3gOm4KfP2C9/rmHnqM/"
    "/Nwy9lh0pz+/cRlx3UKrP6ZiEcAwCq8/4Xqj7jZlsT/R0RuW10GzPz8YBj8HG7U/TGvlitLwtj8hmzHWRcO4P2PVSjptkro/Q8db"
    "j1RevD/m8ipuBye+P7vq2zGR7L8/WY7QfH7XwD+gZy/VKrfBPyP1H/hSlcI/dI8eIPxxwz8efctsK03EPzi0oePlJsU/1JOncDD/"
    "xT8d0hnnD9bGPwnZEAKJq8c/EckgZaB/yD+0VvScWlLJP2O14h+8I8o/87+ATsnzyj/WjC10hsLLPyKamsf3j8w/kbtPayFczT/m"
    "8ipuByfOPzZZ3Mut8M4/Kz5ebRi5zz9B0LSUJUDQP+OQc+Iko9A/1Uqu+YsF0T8OpqurXGfRP/uZacGYyNE/ZnnP+0Ep0j+jht4T"
    "WonSPzEd4bri6NI/VX2Ymt1H0z/qRWlVTKbTP+SnhoYwBNQ/wl4cwoth1D+heHeVX77UPy34LYetGtU/bFpFF3d21T/KCVi/vdHV"
    "P5XHufKCLNY/F2zBFmzB9j8XaIEWaIH2P2QhC1nIQvY/BhZYYIEF9j9XEJMriMn1P+1YgTDSjvU/VVVVVVVV9T8V+OLqBx31PzkF"
    "L6fg5fQ/W79SoNav9D97FK5H4Xr0P/vZYmX4RvQ/FBQUFBQU9D8CqeS8LOLzPxQ7sRM7sfM/FDiBEziB8z/BeCv7HFLzP78QK0rj"
    "I/M/aC+hvYT28j+gLIFN+8nyP54S5ClBnvI/NSeBuFBz8j+SJEmSJEnyP3j7IYG3H/I/cB/BfQT38T8dgaKtBs/xP5Z7GmG5p/E/"
    "EhiBERiB8T8NJ3VfHlvxPxHINRHINfE/ERERERER8T+QnOZr9ezwPzvavE9xyfA/pxBoCoGm8D+EEEIIIYTwP/yp8dJNYvA/EARB"
    "EARB8D8IBAKBQCDwPwAAAAAAAPA/8Af8AX/A7z8g+IEf+IHvP3FCSp5lRO8/CB988MEH7z/A7AGzB8zuP2e38Ksxke4/dOUByTpX"
    "7j8eHh4eHh7uP4qG+OPW5e0/24G5dmCu7T80LLhUtnftPx3UQR3UQe0/dMBuj7UM7T8LmwOJVtjsP5HhXgWzpOw/HMdxHMdx7D/w"
    "+MMBjz/sP+DAgQMHDuw/9waUiSvd6z/QusEU+azrP4sz2j1sfes/TxvotIFO6z/ZgGxANiDrPyivobyG8uo/G3DFGnDF6j++Y2pg"
    "75jqP20a0KYBbeo/GqRBGqRB6j8CS3r50xbqP9kzEJWO7Ok/AqHkTtHC6T+amZmZmZnpP3K4DPjkcOk/4OnW/LBI6T8p4tBJ+yDp"
    "P/oYnI/B+eg/0xgwjQHT6D+q82sPuazoP0qwq/Dlhug/GIZhGIZh6D/dvrJ6lzzoPxgYGBgYGOg/QH8B/QX05z/0BX1BX9DnP8Ps"
    "4Agirec/yKR4gUyK5z+xqTTk3GfnP0YXXXTRRec/vN5Gfygk5z9wgQtc4ALnP8c3Q2v34eY/F2zBFmzB5j+QclPRPKHmPw=="
)


def exact_tables() -> np.ndarray:
    """The tables, concatenated: 2**(j/128) rounded and its remainder (j = 0..127), then log(c)
    and 1/c for c = 1 + (j - 38)/128 (j = 0..91), in 40-digit decimal arithmetic."""
    from decimal import Decimal, localcontext  # noqa: PLC0415  (only to check or regenerate the stored tables)

    with localcontext() as ctx:
        ctx.prec = 40
        ln2 = Decimal(2).ln()
        powers = [(ln2 * j / _N).exp() for j in range(_N)]
        centres = [1 + Decimal(j - _LOG_J0) / _N for j in range(_LOG_N)]
        values = ([float(v) for v in powers] + [float(v - Decimal(float(v))) for v in powers]
                  + [float(c.ln()) for c in centres] + [float(1 / c) for c in centres])
    return np.array(values, dtype="<f8")


def _stored_tables() -> np.ndarray:
    import base64  # noqa: PLC0415  (decoding the stored tables once, at import)

    return np.frombuffer(base64.b64decode("".join(_TABLES_B64)), dtype="<f8").astype(np.float64)


_T = _stored_tables()
_EXP_HI, _EXP_LO = _T[:_N].copy(), _T[_N : 2 * _N].copy()
_LOG_C, _INV_C = _T[2 * _N : 2 * _N + _LOG_N].copy(), _T[2 * _N + _LOG_N :].copy()
_INV_LN2N = _N / 0.6931471805599453
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits (k * _LN2_HI / 128 is exact for |k| < 2**21)
_LN2_LO = 1.90821492927058770002e-10
_LN2_HI_N = _LN2_HI / _N
_LN2_LO_N = _LN2_LO / _N
_C3, _C4, _C5 = 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0
_SQRT2 = 1.4142135623730951


@njit(inline="always")
def exp_core(x):
    """e**x for |x| <= 700 (no range checks: the loops that call it keep their arguments there,
    and without a branch the compiler can vectorise them).

    x = (128 e + j) ln2/128 + r with |r| <= ln2/256; e**x = 2**e 2**(j/128) e**r, e**r by its
    Taylor polynomial of degree 5 (truncation below 2**-60)."""
    kf = np.floor(x * _INV_LN2N + 0.5)
    r = (x - kf * _LN2_HI_N) - kf * _LN2_LO_N
    k = np.int64(kf)
    j = k & (_N - 1)
    r2 = r * r
    p = r + r2 * ((0.5 + r * _C3) + r2 * (_C4 + r * _C5))
    t = _EXP_HI[j]
    return (t + (_EXP_LO[j] + t * p)) * _as_float((np.int64(1023) + (k >> _EXP_BITS)) << 52)


@njit(inline="always")
def exponent(x):
    """The binary exponent e of a positive, finite, normal float64 (2**e <= x < 2**(e + 1)), from
    its bits (no checks: NaN and infinity give 1024)."""
    return (_as_int(x) >> 52) - np.int64(1023)


@njit(inline="always")
def exp(x):
    """e**x for any float64: 0 below -708, inf above 709, NaN for NaN; :func:`exp_core` between."""
    if not x > -708.0:  # also NaN
        return 0.0 if x <= -708.0 else x
    if x > 709.0:
        return np.inf
    return exp_core(x)


@njit(inline="always")
def log_core(x):
    """Natural logarithm of a positive, finite, normal float64 (no checks; see :func:`log`).

    x = 2**e m with m in [sqrt(1/2), sqrt(2)); c the nearest multiple of 1/128 to m (1 itself
    near 1, so no cancellation there); log x = e ln2 + log c + log1p((m - c)/c), the last by its
    Taylor polynomial of degree 8 (|m - c|/c < 1/180)."""
    bits = _as_int(x)
    big = _as_float((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000)) >= _SQRT2
    e = (bits >> 52) - np.int64(1023) + np.int64(big)
    # the mantissa in [sqrt(1/2), sqrt(2)): exponent field 1023, or 1022 for a large one
    m = _as_float((bits & np.int64(0x000FFFFFFFFFFFFF)) | ((np.int64(1023) - np.int64(big)) << 52))
    f = m - 1.0  # exact
    j = np.int64(np.floor(f * _N + 0.5))
    r = (f - j * (1.0 / _N)) * _INV_C[j + _LOG_J0]  # (m - c) / c, m - c exact
    dk = np.float64(e)
    return (dk * _LN2_HI + _LOG_C[j + _LOG_J0]) + (_log1p_small(r) + dk * _LN2_LO)


@njit(inline="always")
def log(x):
    """Natural logarithm of a float64: NaN for x <= 0 or NaN; :func:`log_core` for positive
    normal numbers."""
    if not x > 0.0:
        return np.nan
    return log_core(x)


@njit(inline="always")
def _log1p_small(r):
    """log(1 + r) for |r| < 1/180 (Taylor, degree 8)."""
    r2 = r * r
    r4 = r2 * r2
    p = ((1.0 / 3.0 - r * 0.25) + r2 * (0.2 - r * (1.0 / 6.0))) + r4 * ((1.0 / 7.0) - r * 0.125)
    return r - r2 * 0.5 + r * r2 * p


# ------------------------------------------------------------------------------ compilation
# numba's cache checks only the source file of a cached function, not the functions it calls in
# other modules: a kernel compiled with an older exp above would be loaded again after exp
# changed. The cache locators below add the hash of this file (and of sim/core/rng.py) to the
# freshness stamp of every kernel
# of the package (sim/, agents/), so a change here recompiles them all. Other functions keep
# numba's own locators.
_PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PACKAGE_DIRS = tuple(os.path.join(_PROJECT, name) + os.sep for name in ("sim", "agents"))


def _own_stamp() -> str:
    """Hash of this module and of sim/core/rng.py (whose Laplace table is compiled in)."""
    h = hashlib.sha256()
    for path in (__file__, os.path.join(os.path.dirname(os.path.abspath(__file__)), "rng.py")):
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


_STAMP = _own_stamp()


class _WithPrimitives:
    """Cache locator mixin: the freshness stamp includes the hash of this module."""

    def get_source_stamp(self):
        return (super().get_source_stamp(), _STAMP)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(_PACKAGE_DIRS):
            return None
        return super().from_function(py_func, py_file)


def _install_locators() -> None:
    impl = caching.CompileResultCacheImpl
    if any(getattr(c, "_sim_locator", False) for c in impl._locator_classes):
        return
    ours = [type(f"Sim{base.__name__}", (_WithPrimitives, base), {"_sim_locator": True})
            for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)]
    impl._locator_classes = ours + list(impl._locator_classes)


_install_locators()

_REGISTRY: list[tuple[str, Callable, Callable[[], tuple]]] = []


def register(name: str, kernel, example: Callable[[], tuple]) -> None:
    """Register ``kernel`` for :func:`warm_up`; ``example()`` gives arguments with the types
    the model passes (so the warm-up compiles the signature the run uses)."""
    _REGISTRY.append((name, kernel, example))


def _is_cached(kernel) -> bool:
    """Whether numba's on-disk cache holds an index for ``kernel`` (best effort)."""
    try:
        return os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:
        return False


def compiled() -> bool:
    """Whether every registered kernel is already in numba's on-disk cache."""
    return all(_is_cached(k) for _, k, _ in _REGISTRY)


def warm_up(say: bool = True) -> float:
    """Compile (or load from the cache) every registered kernel; returns the seconds it took.

    When some kernel is not yet in the cache, says on stderr that it is compiling (once per
    machine and source version: about ten seconds)."""
    t0 = time.perf_counter()
    if say and not compiled():
        print("sim: compiling the numerical kernels (numba; first run only, about 10 s) ...",
              file=sys.stderr, flush=True)
    for _, kernel, example in _REGISTRY:
        kernel(*example())
    dt = time.perf_counter() - t0
    log_.debug("kernels ready in %.2f s", dt)
    return dt


register("keyed_bits", _rng._keyed_into,
         lambda: (np.ones(2, np.uint64), np.uint64(1), np.uint64(2), False, np.ones(2, np.uint64)))
register("unit_draws", _rng._unit_into, lambda: (np.ones(2, np.uint64), np.ones(2)))
