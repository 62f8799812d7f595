"""What the tests need from outside the package, from the environment.

FD_RUNTIME_LIB: the library under test (fd._library reads it).
FD_TEST_BUNDLE: a bundle fd-compile made of examples/llama_decode.mlir (the
  lit test test/Python/python.test compiles one); tests that need it are
  skipped, saying so, without it.
FD_TEST_MERGE_BUNDLE: a bundle of test/Runtime/Inputs/merge_states.mlir
  (merge_states entries); its tests are skipped, saying so, without it.
FD_RUNTIME_HEADER: fd_runtime.h (default: the source tree's).
"""

import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))


def bundle_path():
    path = os.environ.get("FD_TEST_BUNDLE", "")
    if not path:
        raise unittest.SkipTest("FD_TEST_BUNDLE is not set (a bundle of "
                                "examples/llama_decode.mlir)")
    return path


def merge_bundle_path():
    path = os.environ.get("FD_TEST_MERGE_BUNDLE", "")
    if not path:
        raise unittest.SkipTest("FD_TEST_MERGE_BUNDLE is not set (a bundle "
                                "of test/Runtime/Inputs/merge_states.mlir)")
    return path


def header_path():
    return os.environ.get("FD_RUNTIME_HEADER", os.path.join(
        SOURCE_ROOT, "include", "fd", "Runtime", "fd_runtime.h"))


def include_dir():
    return os.path.dirname(os.path.dirname(os.path.dirname(header_path())))
