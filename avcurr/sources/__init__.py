"""One module per dataset (lhotse style): `download_<dataset>()` gets the raw material (a list of
fetch jobs run through `avcurr.fetch`, or an archive) and `prepare_<dataset>()` writes our manifest."""
