"""Finding and opening libfd_runtime.so.

The package is pure Python over the runtime's C API (fd_runtime.h), so the
one thing it needs from the build is the shared library. It is opened on
first use, not at import: ``import fd`` works on a machine without it (the
tensor adapters and the error classes need no library), and the error then
names every place that was tried.
"""

import ctypes
import glob
import os
import sys
import threading

from fd import _capi

# The soname cmake gives the library (lib/Runtime/CMakeLists.txt).
SONAME = "libfd_runtime.so.1"
ENV_VAR = "FD_RUNTIME_LIB"


class RuntimeLibraryNotFound(OSError):
    """libfd_runtime.so could not be opened; ``tried``: (place, reason)."""

    def __init__(self, tried):
        self.tried = list(tried)
        lines = "\n".join("  %s: %s" % t for t in self.tried)
        super().__init__(
            "cannot load the fd runtime library; tried:\n%s\n"
            "Set %s to the path of libfd_runtime.so.1 (e.g. <build>/lib/%s "
            "or <prefix>/lib/%s after cmake --install)."
            % (lines, ENV_VAR, SONAME, SONAME))


def candidates():
    """The libraries tried, in order: $FD_RUNTIME_LIB alone when set and
    non-empty (an explicit choice is never silently replaced); otherwise a
    copy inside the package (fd/_lib/), <sys.prefix>/lib (cmake --install
    into the virtual environment's prefix), then the system loader's search
    (LD_LIBRARY_PATH, ldconfig's cache: cmake --install into /usr/local)."""
    explicit = os.environ.get(ENV_VAR, "")
    if explicit:
        return [explicit]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")
    bundled = sorted(glob.glob(os.path.join(here, "libfd_runtime.so*")))
    return bundled + [os.path.join(sys.prefix, "lib", SONAME), SONAME]


_lock = threading.Lock()
_lib = None


def library():
    """The opened library with its prototypes declared (once per process)."""
    global _lib
    with _lock:
        if _lib is None:
            _lib = _open(candidates())
        return _lib


def _open(paths):
    tried = []
    for path in paths:
        if os.sep in path and not os.path.exists(path):
            tried.append((path, "no such file"))
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append((path, str(e)))
            continue
        missing = _capi.declare(lib)
        if missing:
            # A library older than this package: refuse it rather than fail
            # later on the first call that needs the missing function.
            tried.append((path, "lacks %s (older than this package)"
                          % ", ".join(missing)))
            continue
        return lib
    raise RuntimeLibraryNotFound(tried)
