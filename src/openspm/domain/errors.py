"""The exception tree. Problems in *data* are returned as values (`canonical.Problem`); these are for
requests that cannot be carried out, and the web layer maps each to one HTTP problem response.

    OpenSPMError
    ├── InvalidRequest      the request itself is malformed (400/422)
    ├── NotFound            the thing named does not exist, or the caller may not see it (404)
    └── Conflict            the request clashes with the current state (409)
        └── PeriodLocked    a locked period never changes
"""

from __future__ import annotations


class OpenSPMError(Exception):
    """Base of every error OpenSPM raises on purpose."""


class InvalidRequest(OpenSPMError):
    pass


class NotFound(OpenSPMError):
    pass


class Conflict(OpenSPMError):
    pass


class PeriodLocked(Conflict):
    pass
