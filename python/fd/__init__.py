"""fd: decode attention kernels compiled by fd-compile, run from Python.

Pure Python over the runtime's C API (libfd_runtime.so.1, opened with ctypes
on first use; fd._library says where it looks). docs/runtime.md, "Python",
has an example.
"""

from fd._library import RuntimeLibraryNotFound, library
from fd.bundle import Bundle, Entry, Plan, plan_offline
from fd.errors import (DriverError, Error, InternalError, InvalidArgumentError,
                       InvalidBundleError, IoError, NoDeviceError, ParseError,
                       UnsupportedError)
from fd.executable import (DispatchTable, Executable, RecentreDecision,
                           ScoreStats)
from fd.paging import lengths_from_last_page_len
from fd import sharded

__version__ = "1.0.0"

# The custom op needs torch; without it the rest works as is.
try:
    import torch as _torch  # noqa: F401
except ImportError:
    torch_op = None
else:
    from fd import torch_op

__all__ = ["Bundle", "DispatchTable", "DriverError", "Entry", "Error",
           "Executable", "InternalError", "InvalidArgumentError",
           "InvalidBundleError", "IoError", "NoDeviceError", "ParseError",
           "Plan", "RecentreDecision", "RuntimeLibraryNotFound", "ScoreStats",
           "UnsupportedError", "lengths_from_last_page_len", "library",
           "plan_offline", "sharded", "torch_op"]
