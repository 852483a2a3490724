"""The one exception type that means "the user's input was wrong", not "avcurr has a bug"."""


class AvcurrError(Exception):
    """A problem with input, files or settings, reported as a one-line message without a traceback."""
