"""MuSimNet: audio-only music similarity learned from a tag oracle's ranked lists (thesis ch. 4).

- :mod:`.frontend` — CQT 96 bins, hop 1024 at 44.1 kHz, log power, 512-frame patches;
- :mod:`.oracle` — tags / relations CSV files and the documented similarity S (weighted Jaccard);
- :mod:`.mining` — offline triplets from ranked lists (Neighbors, Random uniform, Distance-based);
- :mod:`.nets` — AT baseline, TL, TL Autopool (Table 4.1) and model folders;
- :mod:`.data` — patch banks, the artist-disjoint split, patches cut on the device;
- :mod:`.train` — the training loop with early stopping;
- :mod:`.evaluate` — ranking with a model and Appendix C scores, baselines;
- :mod:`.on_catalog` — catalog data, training with a model card, evaluation of saved models;
- :mod:`.metrics` — MAP@20, Recall@20, RR@20, nDCG@20 (Appendix C) with 95 % CIs;
- :mod:`.cli` — ``train musimnet`` / ``evaluate musimnet`` (also ``musimnet train|evaluate``).

Search with a trained model lives in :mod:`supervisor_app.services.similar`.
"""

# The MuSimNet architectures of Table 4.1 (here so the CLI can list them without importing torch).
ARCHS = ("at", "tl", "tl-autopool")
