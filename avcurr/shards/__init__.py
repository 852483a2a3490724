"""Per-curriculum WebDataset shards: build (decode, spectrogram, frames, tar) and verify."""
