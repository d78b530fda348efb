"""Auto-tags of a track: the AudioSet music classes YAMNet hears most in it (mean over its 1 Hz frames)."""
from __future__ import annotations

import numpy as np

N_AUTOTAGS = 12


def _music_class_indices() -> np.ndarray:
    """Indices of YAMNet's AudioSet classes that describe music (genres, instruments, moods)."""
    from supervisor_app.features.yamnet import class_names

    names = class_names()
    music = [i for i, n in enumerate(names) if i >= MUSIC_CLASS_FIRST and i <= MUSIC_CLASS_LAST]
    return np.asarray([i for i in music if names[i] not in _GENERIC_MUSIC], dtype=np.int64)


# AudioSet's ontology lists the music classes contiguously in YAMNet's class map (132 "Music" to 276
# "Scary music"); the generic "Music"/"Musical instrument" labels carry no information for a search.
MUSIC_CLASS_FIRST, MUSIC_CLASS_LAST = 132, 276
_GENERIC_MUSIC = {"Music", "Musical instrument"}


def autotags_from_scores(class_scores: np.ndarray, n: int = N_AUTOTAGS) -> list[list]:
    """Top-``n`` AudioSet music classes of a track, by mean probability over its 1 Hz frames."""
    from supervisor_app.features.yamnet import class_names

    names = class_names()
    idx = _music_class_indices()
    mean = np.asarray(class_scores, dtype=np.float32)[:, idx].mean(axis=0)
    order = np.argsort(-mean)[:n]
    return [[names[int(idx[o])], round(float(mean[o]), 4)] for o in order]
