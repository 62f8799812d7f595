"""Executable.run's marshalling into fd_executable_run_ex, without a GPU: an
Executable whose library is a stand-in that records the call."""

import ctypes
import unittest

import fd
from _env import bundle_path
from test_tensors import CudaArray, DLPackArray


class RecordingLib:
    def __init__(self):
        self.calls = []

    def fd_executable_run_ex(self, handle, plan, args, extras, workspace,
                             workspace_bytes, stream):
        self.calls.append((plan._obj, args._obj, extras._obj, workspace,
                           workspace_bytes, stream))
        return 0

    def fd_last_error(self):
        return b""


class ExecutableRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bundle = fd.Bundle(bundle_path())

    def make(self):
        exe = fd.Executable.__new__(fd.Executable)
        exe._lib = RecordingLib()
        exe._handle = ctypes.c_void_p(0x1)
        exe.bundle = self.bundle
        exe.device = 0
        return exe

    def tensors(self):
        B, L = 2, 256
        return (CudaArray((B, 32, 128), ptr=0x1000),
                CudaArray((B, 8, L, 128), ptr=0x2000),
                CudaArray((B, 8, L, 128), ptr=0x3000),
                CudaArray((B,), "<i4", ptr=0x4000),
                CudaArray((B, 32, 128), ptr=0x5000))

    def test_run(self):
        exe = self.make()
        plan = self.bundle.plan("llama3_8b_decode", 2, 256, 132)
        q, k, v, lens, out = self.tensors()
        ws = CudaArray((plan.workspace_bytes,), "|u1", ptr=0x6000)
        self.assertIs(exe.run(plan, q, k, v, lens, out, workspace=ws,
                              stream=0x42), out)
        c_plan, args, extras, workspace, size, stream = exe._lib.calls[0]
        self.assertEqual((c_plan.entry, c_plan.batch, c_plan.max_len),
                         (1, 2, 256))
        self.assertEqual(args.q.data, 0x1000)
        self.assertEqual(args.out.data, 0x5000)
        self.assertEqual(list(args.k.sizes), [2, 8, 256, 128])
        self.assertEqual(args.lens.dtype, 3)  # FD_DTYPE_I32
        self.assertEqual(extras.size, ctypes.sizeof(extras))
        self.assertIsNone(extras.block_table.data)
        self.assertIsNone(extras.lse.data)
        self.assertEqual((workspace, size, stream),
                         (0x6000, plan.workspace_bytes, 0x42))

    def test_without_workspace_the_runtime_allocates(self):
        exe = self.make()
        plan = self.bundle.plan("llama3_8b_decode", 2, 256, 132)
        exe.run(plan, *self.tensors(), stream=7)
        _, _, _, workspace, size, stream = exe._lib.calls[0]
        self.assertEqual((workspace, size, stream), (None, 0, 7))

    def test_refusals(self):
        exe = self.make()
        other = fd.Bundle(bundle_path())
        plan = other.plan("llama3_8b_decode", 2, 256, 132)
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            exe.run(plan, *self.tensors())
        self.assertIn("was made for another bundle", str(cm.exception))
        plan = self.bundle.plan("llama3_8b_decode", 2, 256, 132)
        q, k, v, lens, out = self.tensors()
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            exe.run(plan, q, DLPackArray((2, 8, 256, 128), device_id=1), v,
                    lens, out)
        self.assertIn("'k' is on CUDA device 1, the executable on device 0",
                      str(cm.exception))
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            exe.run(plan, q, k, v, lens,
                    CudaArray((2, 32, 128), readonly=True))
        self.assertIn("'out' is written", str(cm.exception))
        self.assertEqual(exe._lib.calls, [])


if __name__ == "__main__":
    unittest.main()
