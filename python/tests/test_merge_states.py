"""merge_states entries from Python: what the bundle says about them
(no GPU needed), and on a GPU through torch, cascade attention: the
attention over a shared prefix and over each sequence's suffix, merged by
fd, against the attention over the whole (fp32 reference), with the lses
as a transposed [Hq, B] view, in place, and replayed in a CUDA graph.
Skipped, saying why, without the bundle (FD_TEST_MERGE_BUNDLE), torch or a
GPU."""

import math
import unittest

import fd
from _env import merge_bundle_path

try:
    import torch
except ImportError:
    torch = None


class MergeEntryTest(unittest.TestCase):
    def test_merge_entry_info(self):
        bundle = fd.Bundle(merge_bundle_path())
        e = bundle["merge2_f16_d128"]
        self.assertEqual(e.op, "merge_states")
        self.assertEqual((e.num_q_heads, e.head_dim, e.num_states),
                         (32, 128, 2))
        self.assertTrue(e.has_lse)
        self.assertEqual(e.variants, [""])
        self.assertIn("merge_states f16, Hq=32, D=128, states=2, lse",
                      repr(e))
        e3 = bundle["merge3_bf16_d64"]
        self.assertEqual((e3.num_states, e3.has_lse), (3, False))
        # A merge entry has no plan.
        with self.assertRaises(fd.Error):
            bundle.plan("merge2_f16_d128", 1, 128, sm_count=132)


def attention(q, k, v, scale):
    """(out, lse) of q [B, Hq, D] over k, v [B, Hq, L, D] in fp32; lse in
    natural log, -inf for L = 0."""
    s = torch.einsum("bhd,bhld->bhl", q.float(), k.float()) * scale
    lse = torch.logsumexp(s, dim=-1)
    p = torch.softmax(s, dim=-1) if k.shape[2] else s
    out = torch.einsum("bhl,bhld->bhd", p, v.float())
    return out, lse


@unittest.skipIf(torch is None, "torch is not installed")
class MergeStatesGpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not torch.cuda.is_available():
            raise unittest.SkipTest("torch sees no CUDA device")
        cls.bundle = fd.Bundle(merge_bundle_path())
        cls.exe = fd.Executable(cls.bundle, device=0)

    def cascade(self, b=6, hq=32, d=128, prefix=300, suffix=77):
        g = torch.Generator(device="cuda").manual_seed(1)
        dev = "cuda"
        q = torch.randn(b, hq, d, device=dev, generator=g).half()
        shared_k = torch.randn(1, hq, prefix, d, device=dev, generator=g)
        shared_v = torch.randn(1, hq, prefix, d, device=dev, generator=g)
        k = torch.randn(b, hq, suffix, d, device=dev, generator=g)
        v = torch.randn(b, hq, suffix, d, device=dev, generator=g)
        scale = 1 / math.sqrt(d)
        sk, sv = shared_k.expand(b, -1, -1, -1), shared_v.expand(b, -1, -1, -1)
        out_p, lse_p = attention(q, sk.half(), sv.half(), scale)
        out_s, lse_s = attention(q, k.half(), v.half(), scale)
        whole, whole_lse = attention(q, torch.cat([sk, k], 2).half(),
                                     torch.cat([sv, v], 2).half(), scale)
        return out_p.half(), lse_p, out_s.half(), lse_s, whole, whole_lse

    def test_cascade(self):
        out_p, lse_p, out_s, lse_s, whole, whole_lse = self.cascade()
        out = torch.empty_like(out_p)
        lse = torch.empty_like(lse_p)
        # vLLM keeps lses as [Hq, B]: pass the transposed view as [B, Hq].
        lse_s_hb = lse_s.t().contiguous()
        self.exe.merge_states("merge2_f16_d128", [out_p, out_s],
                              [lse_p, lse_s_hb.t()], out, lse)
        torch.cuda.synchronize()
        self.assertLess((out.float() - whole).abs().max().item(), 2e-3)
        self.assertLess((lse - whole_lse).abs().max().item(), 1e-4)

    def test_in_place_and_graph(self):
        out_p, lse_p, out_s, lse_s, whole, whole_lse = self.cascade(b=3)
        a, la = out_p.clone(), lse_p.clone()
        lse = torch.empty_like(lse_p)
        stream = torch.cuda.Stream()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(stream):
            with torch.cuda.graph(graph, stream=stream):
                # In place: the merged out overwrites state 0's out.
                self.exe.merge_states("merge2_f16_d128", [a, out_s],
                                      [la, lse_s], a, lse)
        for _ in range(2):  # replays read the states afresh
            a.copy_(out_p)
            graph.replay()
            torch.cuda.synchronize()
            self.assertLess((a.float() - whole).abs().max().item(), 2e-3)
            self.assertLess((lse - whole_lse).abs().max().item(), 1e-4)

    def test_refusals(self):
        out_p, lse_p, out_s, lse_s, _, _ = self.cascade(b=2)
        out = torch.empty_like(out_p)
        with self.assertRaisesRegex(fd.InvalidArgumentError,
                                    "3 states given, but entry "
                                    "'merge2_f16_d128' merges 2"):
            self.exe.merge_states("merge2_f16_d128", [out_p, out_s, out_s],
                                  [lse_p, lse_s, lse_s], out, lse_p.clone())
        with self.assertRaisesRegex(fd.InvalidArgumentError,
                                    "argument 'lse': is state 1's lse"):
            self.exe.merge_states("merge2_f16_d128", [out_p, out_s],
                                  [lse_p, lse_s], out, lse_s)
