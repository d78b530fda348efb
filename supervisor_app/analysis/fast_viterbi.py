"""madmom's HMM Viterbi decoding with compact back-pointers: the same path, ~1/250 of the memory.

madmom 0.16.1's ``HiddenMarkovModel.viterbi`` keeps one ``uint32`` back-pointer per frame and state.
The downbeat DBN's state space (bar position × tempo, for 3/4 and 4/4 between the tempo limits) has
~17,000 states, so a 2-minute track at 100 frames/s allocates ~0.9 GB of pointers per meter — the
largest allocation of the whole indexing job (and, on long tracks, GBs: page-zeroing in the kernel
dominated the system time of ``catalog index``).

Every state has few predecessors (a transition model row has at most the number of tempi), so the
pointer is stored here as the *index within the state's row* of madmom's transition model
(``uint8`` when no row has more than 256 entries, else ``uint16``/``uint32``), and only for the
states that have a choice: in the bar-pointer models 98.5 % of the states have one predecessor (the
position advances within the beat), whose pointer is always the row's first entry. For the downbeat
models that is 420 of 28,000 states: the back-pointers of a 3-minute track take 8 MB instead of
2 GB (madmom) or 500 MB (one byte per state), and writing them no longer dominates the decoding. The recursion is madmom's, operation for operation: for each frame and state,
``previous[prev] + log_transition + log_density`` in that order, in float64, keeping the first
strictly greater value in the row's order (madmom's tie-breaking), then the same back-tracking. The
decoded paths and log-probabilities are identical (``tests/test_fast_viterbi.py`` compares them
with madmom's on real activations).

Use :func:`compact_dbn_map` as the ``map`` of a ``DBNDownBeatTrackingProcessor`` (one process).
"""
from __future__ import annotations

import warnings

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _forward(tm_states, tm_pointers, tm_log_p, om_pointers, om_log_densities, initial_log_p, multi, bt):
    """Fill ``bt`` (frames, len(multi)) with the best predecessor's index within its row of each state
    in ``multi`` (the only states with a choice: every other state's predecessor is its row's one
    entry); return the last frame's Viterbi log-probabilities.

    Per frame, every state first takes its row's first entry (a loop without branches on the row
    layout, which the compiler vectorises; in the bar-pointer models most rows have that one entry
    only: the position advances within the beat); then the states in ``multi`` (rows with several
    entries) go through the rest of their row. Same arithmetic, order and tie-breaking as madmom's
    loop: ``best`` starts at -inf and a later entry replaces it only when strictly greater (a NaN
    or -inf first entry leaves -inf, as there)."""
    n_states = tm_pointers.shape[0] - 1
    n_frames = om_log_densities.shape[0]
    previous = initial_log_p.copy()
    current = np.empty(n_states, dtype=np.float64)
    first_state = np.empty(n_states, dtype=np.int64)
    first_log_p = np.empty(n_states, dtype=np.float64)
    neg_inf = -np.inf
    for state in range(n_states):
        if tm_pointers[state + 1] > tm_pointers[state]:
            first_state[state] = tm_states[tm_pointers[state]]
            first_log_p[state] = tm_log_p[tm_pointers[state]]
        else:  # no predecessor: -inf and pointer 0, as madmom's loop leaves it
            first_state[state] = 0
            first_log_p[state] = neg_inf
    for frame in range(n_frames):
        dens = om_log_densities[frame]
        bt_row = bt[frame]
        for state in range(n_states):
            p = previous[first_state[state]] + first_log_p[state] + dens[om_pointers[state]]
            current[state] = p if p > neg_inf else neg_inf
        for i in range(multi.shape[0]):
            state = multi[i]
            best = current[state]
            arg = 0
            density = dens[om_pointers[state]]
            row = tm_pointers[state]
            for pointer in range(row + 1, tm_pointers[state + 1]):
                p = previous[tm_states[pointer]] + tm_log_p[pointer] + density
                if p > best:
                    best = p
                    arg = pointer - row
            current[state] = best
            bt_row[i] = arg
        previous, current = current, previous
    return previous


@njit(cache=True, nogil=True)
def _backtrack(tm_states, tm_pointers, bt, multi_index, last_state):
    """The path ending in ``last_state``; ``multi_index[state]``: the state's column in ``bt`` (-1: a
    state with one predecessor, index 0 of its row)."""
    n_frames = bt.shape[0]
    path = np.empty(n_frames, dtype=np.uint32)
    state = last_state
    for frame in range(n_frames - 1, -1, -1):
        path[frame] = state
        m = multi_index[state]
        state = tm_states[tm_pointers[state] + (bt[frame, m] if m >= 0 else 0)]
    return path


def pointer_dtype(tm_pointers: np.ndarray) -> np.dtype:
    """The smallest unsigned integer type that holds an index within any row of the transition model."""
    widest = int(np.max(np.diff(tm_pointers))) if len(tm_pointers) > 1 else 1
    for dt in (np.uint8, np.uint16):
        if widest <= np.iinfo(dt).max + 1:
            return np.dtype(dt)
    return np.dtype(np.uint32)


def viterbi(hmm, observations: np.ndarray) -> tuple[np.ndarray, float]:
    """(path of state indices (uint32), log-probability) of madmom ``hmm`` for ``observations`` —
    equal to ``hmm.viterbi(observations)``; an empty path with -inf when no valid path exists."""
    tm = hmm.transition_model
    om = hmm.observation_model
    tm_states = np.ascontiguousarray(tm.states, dtype=np.uint32)
    tm_pointers = np.ascontiguousarray(tm.pointers, dtype=np.uint32)
    tm_log_p = np.ascontiguousarray(tm.log_probabilities, dtype=np.float64)
    om_pointers = np.ascontiguousarray(om.pointers, dtype=np.uint32)
    densities = np.ascontiguousarray(om.log_densities(observations), dtype=np.float64)
    with np.errstate(divide="ignore"):
        initial = np.log(np.asarray(hmm.initial_distribution, dtype=np.float64))
    n_frames, n_states = len(densities), len(tm_pointers) - 1
    multi = np.flatnonzero(np.diff(tm_pointers.astype(np.int64)) > 1).astype(np.int64)
    multi_index = np.full(n_states, -1, dtype=np.int64)
    multi_index[multi] = np.arange(len(multi))
    bt = np.empty((n_frames, len(multi)), dtype=pointer_dtype(tm_pointers))
    last = _forward(tm_states, tm_pointers, tm_log_p, om_pointers, densities, initial, multi, bt)
    state = int(np.argmax(last))
    log_p = float(last[state])
    if np.isinf(log_p):
        warnings.warn("-inf log probability during Viterbi decoding cannot find a valid path", RuntimeWarning)
        return np.empty(0, dtype=np.uint32), log_p
    return _backtrack(tm_states, tm_pointers, bt, multi_index, state), log_p


def compact_dbn_map(_func, items) -> list:
    """A drop-in for ``DBNDownBeatTrackingProcessor.map``: decodes each ``(hmm, activations)`` with
    :func:`viterbi` in this process, one meter after the other (so only one meter's pointers live)."""
    return [viterbi(hmm, observations) for hmm, observations in items]
