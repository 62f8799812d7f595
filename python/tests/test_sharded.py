"""fd.sharded without a GPU: the unique id through the C API, and the
argument checks that come before any device is touched."""

import ctypes
import unittest

import fd
import fd.sharded
from fd import _capi


class ShardedTest(unittest.TestCase):
    def test_unique_id(self):
        # NCCL found (FD_LIBNCCL, or libnccl.so.2 on the loader's path):
        # 128 bytes, different every time; not found: UnsupportedError
        # naming FD_LIBNCCL.
        try:
            a = fd.sharded.nccl_unique_id()
        except fd.UnsupportedError as e:
            self.assertIn("FD_LIBNCCL", str(e))
            return
        b = fd.sharded.nccl_unique_id()
        self.assertEqual(len(a), 128)
        self.assertNotEqual(a, b)
        # The id survives the trip back into the C struct byte for byte.
        uid = _capi.fd_nccl_unique_id.from_buffer_copy(a)
        self.assertEqual(bytes(uid), a)

    def test_options_struct_size(self):
        self.assertEqual(ctypes.sizeof(_capi.fd_sharded_decode_options), 24)


if __name__ == "__main__":
    unittest.main()
