"""Why the pipeline refused or gave up on a file, as a code plus a sentence.

The code is stable (tests, API clients and the admin switch on it); the
message is what the uploader reads. Both end up on the asset row.
"""

from __future__ import annotations


class MediaError(Exception):
    """A failure with a stable ``code`` and a human ``message``."""

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class MediaRefused(MediaError):
    """The upload itself is unacceptable (validation); retrying cannot help."""


class MediaFailed(MediaError):
    """Processing an accepted file failed (timeout, resource limit, ffmpeg error)."""
