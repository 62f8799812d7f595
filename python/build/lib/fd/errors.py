"""The runtime's errors as Python exceptions.

Every failing C call returns an FD_ERROR_* code and leaves a message for
fd_last_error(); ``check`` turns the pair into the subclass of ``Error`` for
that code, so callers can catch a category (``fd.NoDeviceError``) or
everything (``fd.Error``). The package's own argument checks raise
``InvalidArgumentError`` too, with messages in the runtime's style.
"""

from fd import _capi


class Error(Exception):
    """An fd runtime error: ``code`` (FD_ERROR_*) and ``message``."""

    code = None

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidArgumentError(Error, ValueError):
    """The caller passed something wrong (tensor, plan, entry, size)."""


class IoError(Error, OSError):
    """A file could not be read."""


class ParseError(Error):
    """The manifest is not well-formed JSON."""


class InvalidBundleError(Error):
    """Well-formed JSON that is not a valid bundle."""


class UnsupportedError(Error):
    """Valid, but not runnable here (version, op, chip, missing cuBLAS)."""


class NoDeviceError(Error):
    """No CUDA driver or no GPU."""


class DriverError(Error):
    """The CUDA driver returned an error."""


class InternalError(Error):
    """A bug or resource exhaustion in the runtime."""


_BY_CODE = {
    _capi.ERROR_INVALID_ARGUMENT: InvalidArgumentError,
    _capi.ERROR_IO: IoError,
    _capi.ERROR_PARSE: ParseError,
    _capi.ERROR_INVALID_BUNDLE: InvalidBundleError,
    _capi.ERROR_UNSUPPORTED: UnsupportedError,
    _capi.ERROR_NO_DEVICE: NoDeviceError,
    _capi.ERROR_DRIVER: DriverError,
    _capi.ERROR_INTERNAL: InternalError,
}


def error_for(code, message):
    """The exception for status ``code``; an unknown code gives ``Error``."""
    return _BY_CODE.get(code, Error)(code, message)


def invalid_argument(message):
    return InvalidArgumentError(_capi.ERROR_INVALID_ARGUMENT, message)


def check(lib, status):
    """Raises the error of a failed call of ``lib``; returns on FD_OK."""
    if status != _capi.OK:
        message = lib.fd_last_error() or b""
        raise error_for(status, message.decode("utf-8", "replace"))
