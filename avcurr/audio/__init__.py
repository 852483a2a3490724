"""Audio numerics: the SPEC §2 spectrogram and its log-frequency projection."""
