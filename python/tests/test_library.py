"""Finding libfd_runtime.so."""

import os
import sys
import unittest
from unittest import mock

import fd
from fd import _library


class LibraryTest(unittest.TestCase):
    def test_explicit_path_alone(self):
        with mock.patch.dict(os.environ, {"FD_RUNTIME_LIB": "/x/libfd.so"}):
            self.assertEqual(_library.candidates(), ["/x/libfd.so"])

    def test_default_order(self):
        env = dict(os.environ)
        env.pop("FD_RUNTIME_LIB", None)
        with mock.patch.dict(os.environ, env, clear=True):
            c = _library.candidates()
        self.assertEqual(c[-1], "libfd_runtime.so.1")
        self.assertEqual(c[-2], os.path.join(sys.prefix, "lib",
                                             "libfd_runtime.so.1"))

    def test_not_found_names_every_place(self):
        with self.assertRaises(fd.RuntimeLibraryNotFound) as cm:
            _library._open(["/nonexistent/libfd_runtime.so.1",
                            "libfd_runtime_nonexistent.so.1"])
        text = str(cm.exception)
        self.assertIn("/nonexistent/libfd_runtime.so.1: no such file", text)
        self.assertIn("libfd_runtime_nonexistent.so.1", text)
        self.assertIn("FD_RUNTIME_LIB", text)
        self.assertEqual(len(cm.exception.tried), 2)
        self.assertIsInstance(cm.exception, OSError)

    def test_refuses_a_library_without_the_c_api(self):
        # libc loads but has none of fd_*: refused, saying what it lacks.
        with self.assertRaises(fd.RuntimeLibraryNotFound) as cm:
            _library._open(["libc.so.6"])
        self.assertIn("lacks fd_last_error", str(cm.exception))

    def test_loaded(self):
        lib = fd.library()
        self.assertIs(lib, fd.library())
        self.assertEqual(lib.fd_last_error.restype.__name__, "c_char_p")


if __name__ == "__main__":
    unittest.main()
