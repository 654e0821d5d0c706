"""One exception tree for Outside-In.

Every error subclasses the builtin it refines, so callers can catch either
``OutsideInError`` or the builtin.  Messages name the thing, what was
expected, what was found and what to do.  The CLI maps these to exit codes
(:data:`EXIT_CODES`) and one red line; the API maps them to RFC 9457
problem+json (:attr:`OutsideInError.http_status`).
"""

from __future__ import annotations


class OutsideInError(Exception):
    """Base class of every error Outside-In raises on purpose."""

    #: HTTP status the API answers with for this error.
    http_status: int = 500
    #: Process exit code the CLI ends with (1 = failure, 2 = bad usage or input).
    exit_code: int = 1
    #: Short problem title for problem+json.
    title: str = "Outside-In error"
    #: Seconds after which a retry may succeed (HTTP ``Retry-After``), if the error is passing.
    retry_after: int | None = None


class ConfigError(OutsideInError, ValueError):
    """The workspace or its configuration is missing or wrong."""

    http_status = 500
    exit_code = 2
    title = "Configuration error"


class WorkspaceNotFoundError(ConfigError, FileNotFoundError):
    """No workspace at the given folder (run ``outsidein init``)."""

    title = "Workspace not found"


class DataValidationError(OutsideInError, ValueError):
    """Input data cannot be used as given (missing columns, bad file, bad values)."""

    http_status = 422
    exit_code = 2
    title = "Invalid data"


class MissingDataError(OutsideInError, LookupError):
    """An analysis needs data that has not been loaded."""

    http_status = 409
    exit_code = 2
    title = "Missing data"


class NotFittedError(OutsideInError, ValueError, AttributeError):
    """A model was used before ``fit`` (scikit-learn's contract)."""

    exit_code = 1
    title = "Model not fitted"


class ConvergenceError(OutsideInError, RuntimeError):
    """A model's optimiser did not converge; the message says what to try."""

    http_status = 422
    exit_code = 1
    title = "Model did not converge"


class NotFoundError(OutsideInError, KeyError):
    """A named record (insight, user, need ...) does not exist."""

    http_status = 404
    exit_code = 2
    title = "Not found"

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else self.title


class PermissionDeniedError(OutsideInError, PermissionError):
    """The caller is authenticated but lacks the role or scope."""

    http_status = 403
    exit_code = 2
    title = "Forbidden"


class AuthenticationError(OutsideInError, PermissionError):
    """No valid session or API key."""

    http_status = 401
    exit_code = 2
    title = "Authentication required"


class BusyError(OutsideInError, TimeoutError):
    """A resource is held by someone else for now; the same request may succeed shortly.

    >>> BusyError("the warehouse is being updated", retry_after=5).retry_after
    5
    """

    http_status = 503
    exit_code = 1
    title = "Busy, try again shortly"
    retry_after = 5

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after


class ConflictError(OutsideInError, ValueError):
    """The request conflicts with the current state (e.g. duplicate name)."""

    http_status = 409
    exit_code = 2
    title = "Conflict"
