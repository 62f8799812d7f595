"""Bundles, entries, offline plans and the runtime's errors (no GPU)."""

import os
import tempfile
import unittest

import fd
from _env import bundle_path


class BundleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = bundle_path()
        cls.bundle = fd.Bundle(cls.path)

    def test_entries(self):
        self.assertEqual(self.bundle.entries,
                         ["llama2_7b_decode", "llama3_8b_decode"])
        self.assertEqual(len(self.bundle), 2)
        self.assertIn("llama3_8b_decode", self.bundle)
        self.assertIs(self.bundle["llama3_8b_decode"], self.bundle.entry(1))

    def test_entry_properties(self):
        e = self.bundle.entry("llama3_8b_decode")
        self.assertEqual(e.index, 1)
        self.assertEqual(e.op, "decode_attention")
        self.assertEqual(e.dtype, "f16")
        self.assertEqual(e.softmax, "online")
        self.assertEqual((e.num_q_heads, e.num_kv_heads, e.head_dim),
                         (32, 8, 128))
        self.assertEqual(e.page_size, 0)
        self.assertFalse(e.paged)
        self.assertAlmostEqual(e.scale, 0.0883883461, places=6)
        self.assertEqual(e.lens_dtype, "i32")
        self.assertIsNone(e.block_table_dtype)
        self.assertFalse(e.has_lse)
        self.assertIsNone(e.gemm_out_dtype)
        self.assertEqual(e.variants, ["split", "unsplit", "split_cluster"])
        self.assertEqual(self.bundle.entry(0).num_kv_heads, 32)

    def test_from_bytes(self):
        with open(self.path, "rb") as f:
            data = f.read()
        b = fd.Bundle.from_bytes(data)
        self.assertEqual(b.entries, self.bundle.entries)
        self.assertEqual(fd.Bundle.from_bytes(data.decode()).entries,
                         self.bundle.entries)

    def test_plan_offline(self):
        p = fd.plan_offline(self.bundle, "llama3_8b_decode", 4, 8192, 132)
        self.assertEqual((p.batch, p.max_len, p.sm_count), (4, 8192, 132))
        self.assertFalse(p.graph_safe)
        self.assertIn(p.variant, ("split", "unsplit"))
        self.assertGreaterEqual(p.num_splits, 1)
        # The splits cover the longest sequence.
        self.assertGreaterEqual(p.num_splits * p.chunk, 8192)
        self.assertEqual(p.workspace_bytes % 256, 0)
        self.assertIs(p.entry, self.bundle["llama3_8b_decode"])
        g = self.bundle.plan(1, 64, 8192, 132, graph_safe=True)
        self.assertTrue(g.graph_safe)
        self.assertIn("graph_safe=True", repr(g))

    def test_bad_plan_arguments(self):
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            self.bundle.plan("llama3_8b_decode", 0, 8192, 132)
        self.assertIn("batch 0 is out of range", str(cm.exception))
        self.assertEqual(cm.exception.code, 1)
        with self.assertRaises(fd.InvalidArgumentError):
            self.bundle.plan("llama3_8b_decode", 4, -1, 132)
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            self.bundle.plan(7, 4, 8192, 132)
        self.assertIn("entry index 7 is out of range (2 entries)",
                      str(cm.exception))

    def test_bad_entry_name(self):
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            self.bundle["nope"]
        self.assertIn("no entry named 'nope'", str(cm.exception))
        # Also a ValueError, for callers that catch those.
        self.assertRaises(ValueError, self.bundle.entry, "nope")


class ErrorTest(unittest.TestCase):
    def test_missing_file(self):
        with self.assertRaises(fd.IoError) as cm:
            fd.Bundle("/nonexistent/x.fdb")
        self.assertEqual(cm.exception.code, 2)
        self.assertIn("/nonexistent/x.fdb: cannot open bundle",
                      cm.exception.message)
        self.assertIsInstance(cm.exception, fd.Error)

    def test_corrupt_bundle(self):
        with tempfile.NamedTemporaryFile("w", suffix=".fdb",
                                         delete=False) as f:
            f.write('{"format": "fd-bundle", ')
        try:
            with self.assertRaises(fd.ParseError) as cm:
                fd.Bundle(f.name)
            self.assertIn("manifest is not valid JSON", str(cm.exception))
            self.assertIn(f.name, str(cm.exception))
        finally:
            os.unlink(f.name)
        with self.assertRaises(fd.InvalidBundleError) as cm:
            fd.Bundle.from_bytes('{"format": "fd-bundle", "version": 2}')
        self.assertEqual(cm.exception.code, 4)

    def test_codes_are_the_headers(self):
        # One class per FD_ERROR_* code, in the header's order.
        classes = [fd.InvalidArgumentError, fd.IoError, fd.ParseError,
                   fd.InvalidBundleError, fd.UnsupportedError,
                   fd.NoDeviceError, fd.DriverError, fd.InternalError]
        for code, cls in enumerate(classes, start=1):
            self.assertIs(type(fd.errors.error_for(code, "m")), cls)
        self.assertIs(type(fd.errors.error_for(99, "m")), fd.Error)


class NoDeviceTest(unittest.TestCase):
    def test_executable_without_gpu(self):
        bundle = fd.Bundle(bundle_path())
        try:
            exe = fd.Executable(bundle)
        except fd.NoDeviceError as e:
            self.assertEqual(e.code, 6)
            self.assertTrue(e.message)
            return
        self.skipTest("a GPU is present (%d SMs): NoDeviceError cannot "
                      "happen here" % exe.sm_count)


if __name__ == "__main__":
    unittest.main()
