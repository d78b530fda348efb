"""MuSimNet: audio-only music similarity learned from a tag oracle's ranked lists (thesis ch. 4).

- :mod:`.frontend` — CQT 96 bins, hop 1024 at 44.1 kHz, log power, 512-frame patches;
- :mod:`.oracle` — tags / relations CSV files and the documented similarity S (weighted Jaccard);
- :mod:`.mining` — offline triplets from ranked lists (Neighbors, Random uniform, Distance-based);
- :mod:`.nets` — AT baseline, TL, TL Autopool (Table 4.1) and model folders;
- :mod:`.train` — artist-disjoint split, training with early stopping, evaluation, model cards;
- :mod:`.metrics` — MAP@20, Recall@20, RR@20, nDCG@20 (Appendix C) with 95 % CIs;
- :mod:`.cli` — ``train musimnet`` / ``evaluate musimnet`` (also ``musimnet train|evaluate``).

Search with a trained model lives in :mod:`supervisor_app.services.similar`.
"""

# The MuSimNet architectures of Table 4.1 (here so the CLI can list them without importing torch).
ARCHS = ("at", "tl", "tl-autopool")
