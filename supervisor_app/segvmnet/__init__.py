"""Self-supervised training of VM-Net / Seg-VM-Net on a folder of audio-visual clips (thesis ch. 5, 7)."""

# Training presets (lr, batch size); here so the CLI can list them without importing torch.
PRESETS = {
    "thesis": {"lr": 1e-6, "batch_size": 1000},
    "small-data": {"lr": 1e-3, "batch_size": 128},
}
