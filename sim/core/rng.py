"""Counter-based random numbers: every draw is a pure function of its key.

A draw is ``uniform(key, step, member, purpose, other)``: the run's 64-bit
key (from its seed), the day, the member's slot, what the draw is for, and an
optional second member (a neighbour) or index. The result does not depend on
the order in which draws are made, on the engine or on the thread count,
which is what lets the Mesa engine and the numba kernel agree exactly
(MODEL.md, "Two engines, one set of rules").

The mixing function is the splitmix64 finaliser (Steele, Lea & Flood 2014,
"Fast splittable pseudorandom number generators", OOPSLA), applied once per
key component; a uniform double takes the top 53 bits.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C_STEP = np.uint64(0xD1B54A32D192ED03)
_C_MEMBER = np.uint64(0xAEF17502108EF2D9)
_C_OTHER = np.uint64(0xF1357AEA2E62A9C5)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0

# Purposes: what a draw is for. Each has its own stream.
INIT_STRATEGY = 1
INIT_NEWCOMER = 2
INIT_AGE = 3
INIT_STRESS = 4
INIT_CRAVING = 5
INIT_USING = 6
ISOLATION_SELECT = 7
ATTEND = 10
CHECKIN = 11
CALL = 12
SHOCK = 13
LAPSE = 14
STOP = 15
MEET_ORDER = 16
TIE_FORM = 17
PICK = 18
ADOPT = 19
MUTATE = 20
MUTATE_TO = 21
REVISE = 22
NEW_STRATEGY = 23
NEW_STRESS = 24
NEW_CRAVING = 25
INIT_PROPENSITY = 26
INIT_READINESS = 27
NEW_PROPENSITY = 28
NEW_READINESS = 29
ASK = 30
LEAVE = 31
INIT_RHYTHM = 32
INIT_WEEKDAY = 33
NEW_RHYTHM = 34
NEW_WEEKDAY = 35
NEW_BROUGHT = 36

#: Added to the day in every stream key, so that the days of the burn-in (negative) are keys too.
_DAY_OFFSET = 1 << 40


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser on a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(key, step, purpose):
    """Key of one (run, step, purpose) stream: hoist it out of member loops."""
    h = mix64(np.uint64(key) ^ (np.uint64(purpose) * _GOLDEN))
    return mix64(h ^ (np.uint64(step + _DAY_OFFSET) * _C_STEP))


@njit(cache=True, inline="always")
def uniform_in(skey, member, other):
    """Uniform double in [0, 1) from a stream key, a member and an ``other`` (-1: none)."""
    h = mix64(skey ^ (np.uint64(member) * _C_MEMBER))
    h = mix64(h ^ (np.uint64(other + 1) * _C_OTHER))
    return float(h >> _S11) * _INV53


@njit(cache=True)
def uniform(key, step, member, purpose, other):
    """Uniform double in [0, 1) keyed by (run key, step, member, purpose, other)."""
    return uniform_in(stream_key(key, step, purpose), member, other)


@functools.lru_cache(maxsize=4096)
def _children(seed: int) -> tuple[int, np.uint64]:
    """The network builder's seed and the run key of an integer seed (a SeedSequence's two children;
    cached: a sweep's replicates repeat their seeds at every point)."""
    net, key = np.random.SeedSequence(seed).spawn(2)
    return int(net.generate_state(1, np.uint32)[0]), np.uint64(key.generate_state(1, np.uint64)[0])


def run_key(seed: int) -> np.uint64:
    """The 64-bit hash key of a run, from its integer seed (via a SeedSequence)."""
    return _children(int(seed))[1]


def network_seed(seed: int) -> int:
    """The seed of the run's network builder, from its integer seed."""
    return _children(int(seed))[0]


@njit(cache=True)
def uniform_array(skey, n):
    """``uniform_in(skey, i, -1)`` for i in 0..n-1, as a float64 array."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = uniform_in(skey, i, -1)
    return out


def stream(key, step, purpose) -> np.uint64:
    """:func:`stream_key` for Python callers (numba returns uint64 as a Python int)."""
    return np.uint64(stream_key(key, step, purpose))
