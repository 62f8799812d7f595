"""Runs on a GPU through torch: fd.Executable.run with torch tensors,
__cuda_array_interface__ and DLPack views of them, the torch custom op
eagerly, under torch.compile(fullgraph=True) and in a captured CUDA graph,
against an fp32 reference. Skipped, saying why, without torch, a GPU or the
bundle (FD_TEST_BUNDLE)."""

import unittest

import fd
from _env import bundle_path

try:
    import torch
except ImportError:
    torch = None

ENTRY = "llama3_8b_decode"  # GQA: 32 query heads over 8 KV heads, D 128


def reference(q, k, v, lens, scale):
    """fp32 decode attention over the first lens[b] tokens."""
    b, hq, d = q.shape
    hkv = k.shape[1]
    kf = k.float().repeat_interleave(hq // hkv, dim=1)
    vf = v.float().repeat_interleave(hq // hkv, dim=1)
    scores = torch.einsum("bhd,bhld->bhl", q.float(), kf) * scale
    pos = torch.arange(k.shape[2], device=q.device)
    past = pos[None, None, :] >= lens[:, None, None].long()
    scores = scores.masked_fill(past, float("-inf"))
    return torch.einsum("bhl,bhld->bhd", scores.softmax(-1), vf)


class _Cai:
    """A torch tensor seen only through __cuda_array_interface__."""

    def __init__(self, t):
        self.__cuda_array_interface__ = t.__cuda_array_interface__
        self.t = t


class _DLPack:
    """A torch tensor seen only through __dlpack__."""

    def __init__(self, t):
        self.t = t

    def __dlpack__(self, stream=None):
        return self.t.__dlpack__(stream=stream)


@unittest.skipIf(torch is None, "torch is not installed")
class TorchGpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not torch.cuda.is_available():
            raise unittest.SkipTest("torch sees no CUDA device")
        cls.bundle = fd.Bundle(bundle_path())
        cls.exe = fd.Executable(cls.bundle, device=0)
        cls.entry = cls.bundle[ENTRY]
        g = torch.Generator(device="cuda").manual_seed(0)
        B, L, D = 3, 1024, cls.entry.head_dim
        Hq, Hkv = cls.entry.num_q_heads, cls.entry.num_kv_heads
        opts = dict(device="cuda", dtype=torch.float16, generator=g)
        cls.q = torch.randn(B, Hq, D, **opts)
        cls.k = torch.randn(B, Hkv, L, D, **opts)
        cls.v = torch.randn(B, Hkv, L, D, **opts)
        cls.lens = torch.tensor([1000, 17, 512], dtype=torch.int32,
                                device="cuda")
        cls.want = reference(cls.q, cls.k, cls.v, cls.lens, cls.entry.scale)

    def check(self, out):
        torch.cuda.synchronize()
        err = (out.float() - self.want).abs().max().item()
        self.assertLess(err, 2e-3)

    def test_run_torch_tensors(self):
        for graph_safe in (False, True):
            plan = self.exe.plan(ENTRY, 3, 1024, graph_safe=graph_safe)
            ws = torch.empty(plan.workspace_bytes, dtype=torch.uint8,
                             device="cuda")
            out = torch.empty_like(self.q)
            self.exe.run(plan, self.q, self.k, self.v, self.lens, out,
                         workspace=ws)
            self.check(out)

    def test_runtime_allocated_workspace(self):
        plan = self.exe.plan(ENTRY, 3, 1024)
        out = torch.empty_like(self.q)
        self.exe.run(plan, self.q, self.k, self.v, self.lens, out,
                     stream=torch.cuda.current_stream())
        self.check(out)

    def test_array_interface_and_dlpack(self):
        plan = self.exe.plan(ENTRY, 3, 1024)
        ws = torch.empty(plan.workspace_bytes, dtype=torch.uint8,
                         device="cuda")
        for wrap in (_Cai, _DLPack):
            with self.subTest(wrap=wrap.__name__):
                out = torch.empty_like(self.q)
                self.exe.run(plan, wrap(self.q), wrap(self.k), wrap(self.v),
                             wrap(self.lens), wrap(out), workspace=wrap(ws))
                self.check(out)

    def test_wrong_shape_is_the_runtimes_error(self):
        plan = self.exe.plan(ENTRY, 3, 1024)
        out = torch.empty(3, 16, 128, dtype=torch.float16, device="cuda")
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            self.exe.run(plan, self.q, self.k, self.v, self.lens, out)
        self.assertIn("'out'", str(cm.exception))

    def test_torch_op(self):
        plan = self.exe.plan(ENTRY, 8, 1024, graph_safe=True)
        h = fd.torch_op.register(self.exe, plan)
        try:
            self.check(fd.torch_op.decode_attention(h, self.q, self.k, self.v,
                                                    self.lens))

            @torch.compile(fullgraph=True)
            def step(q, k, v, lens):
                return fd.torch_op.decode_attention(h, q * 1, k, v, lens) + 0

            self.check(step(self.q, self.k, self.v, self.lens))

            # Captured once, replayed: the workspace comes from the graph's
            # pool and nothing synchronises inside.
            static_q = self.q.clone()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                fd.torch_op.decode_attention(h, static_q, self.k, self.v,
                                             self.lens)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = fd.torch_op.decode_attention(
                    h, static_q, self.k, self.v, self.lens)
            static_out.zero_()
            graph.replay()
            self.check(static_out)
        finally:
            fd.torch_op.unregister(h)


if __name__ == "__main__":
    unittest.main()
