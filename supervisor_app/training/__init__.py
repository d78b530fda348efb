"""Self-supervised training of VM-Net / Seg-VM-Net on a folder of audio-visual clips (thesis ch. 5, 7)."""
