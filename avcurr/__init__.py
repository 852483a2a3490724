"""avcurr: a data-pipeline-first toolkit for curriculum audiovisual learning."""

__version__ = "0.1.0"
