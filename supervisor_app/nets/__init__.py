"""Trainable networks of the thesis: VM-Net / Seg-VM-Net branches, aggregation layers, losses.

Core code (no Qt). Torch is imported by the submodules, so ``import supervisor_app.nets`` stays cheap.
"""

# Names of the temporal aggregations (here so the CLI can list them without importing torch).
AGGREGATIONS = ("mean", "mean-var-max", "autopool", "attention")
