"""The unified-max state from Python (Executable.read_fallback_count,
reset_fallback_count, set_phi, read_phi, read_score_stats, recentre_phi):
on a GPU through torch, with a bundle of examples/llama_decode.mlir compiled
with unified max (phi 0, threshold 60; FD_TEST_UMAX_BUNDLE). Ordinary scores
fall back nowhere; scores 200 above phi fall back on every row and still
match the fp32 reference (the exact fallback); with phi set to 200 none
does; recentring moves phi to the observed maxima. Without the bundle, torch
or a GPU each test says why it is skipped."""

import os
import unittest

import fd

try:
    import torch
except ImportError:
    torch = None

ENTRY = "llama3_8b_decode"  # GQA 32/8, D 128


def umax_bundle_path():
    path = os.environ.get("FD_TEST_UMAX_BUNDLE", "")
    if not path:
        raise unittest.SkipTest("FD_TEST_UMAX_BUNDLE is not set (the example "
                                "compiled with unified max)")
    return path


def reference(q, k, v, scale):
    hq, hkv = q.shape[1], k.shape[1]
    kf = k.float().repeat_interleave(hq // hkv, dim=1)
    vf = v.float().repeat_interleave(hq // hkv, dim=1)
    s = torch.einsum("bhd,bhld->bhl", q.float(), kf) * scale
    return torch.einsum("bhl,bhld->bhd", s.softmax(-1), vf)


@unittest.skipIf(torch is None, "torch is not installed")
class UnifiedMaxStateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not torch.cuda.is_available():
            raise unittest.SkipTest("torch sees no CUDA device")
        cls.bundle = fd.Bundle(umax_bundle_path())
        cls.exe = fd.Executable(cls.bundle, device=0)
        cls.entry = cls.bundle[ENTRY]

    def problem(self, shift):
        """B=2, L=512 with every score moved by ``shift`` (units of
        scale * q.k): k[..., 0] = 1 and q[..., 0] = shift / scale."""
        g = torch.Generator(device="cuda").manual_seed(3)
        e = self.entry
        opts = dict(device="cuda", dtype=torch.float16, generator=g)
        q = torch.randn(2, e.num_q_heads, e.head_dim, **opts) * 0.1
        k = torch.randn(2, e.num_kv_heads, 512, e.head_dim, **opts) * 0.1
        v = torch.randn(2, e.num_kv_heads, 512, e.head_dim, **opts)
        if shift:
            k[..., 0] = 1
            q[..., 0] = shift / e.scale
        lens = torch.full((2,), 512, dtype=torch.int32, device="cuda")
        return q, k, v, lens

    def run_variant(self, variant, shift, phi=None):
        plan = self.exe.plan(ENTRY, 2, 512, variant=variant)
        ws = torch.empty(plan.workspace_bytes, dtype=torch.uint8,
                         device="cuda")
        self.exe.init_workspace(plan, ws)
        if phi is not None:
            self.exe.set_phi(plan, ws, phi)
        q, k, v, lens = self.problem(shift)
        out = torch.empty_like(q)
        self.exe.run(plan, q, k, v, lens, out, workspace=ws)
        torch.cuda.synchronize()
        err = (out.float() - reference(q, k, v, self.entry.scale)).abs().max()
        self.assertLess(err.item(), 5e-3)
        return plan, ws

    def test_counter_phi_and_stats(self):
        rows = 2 * self.entry.num_q_heads
        for variant in ("two_kernel", "single_launch"):
            with self.subTest(variant=variant):
                plan, ws = self.run_variant(variant, 0)
                self.assertEqual(self.exe.read_fallback_count(plan, ws), 0)
                self.assertEqual(self.exe.read_phi(plan, ws),
                                 self.entry_phi())
                # Every row 200 above phi 0: all fall back, still exact.
                plan, ws = self.run_variant(variant, 200)
                self.assertEqual(self.exe.read_fallback_count(plan, ws), rows)
                stats = self.exe.read_score_stats(plan, ws)
                self.assertIsInstance(stats, fd.ScoreStats)
                self.assertEqual((stats.rows, stats.fallbacks), (rows, rows))
                self.assertGreater(stats.min_row_max, 190)
                self.exe.reset_fallback_count(plan, ws)
                self.assertEqual(self.exe.read_fallback_count(plan, ws), 0)
                # Recentring moves phi to the middle of the maxima (~200).
                d = self.exe.recentre_phi(plan, ws, min_rows=1,
                                          max_fallback_rate=0.0)
                self.assertTrue(d.decided and d.changed)
                self.assertAlmostEqual(d.new_phi, self.exe.read_phi(plan, ws),
                                       places=3)
                self.assertGreater(d.new_phi, 190)
                # phi set at 200: the same scores fall back nowhere.
                plan, ws = self.run_variant(variant, 200, phi=200.0)
                self.assertEqual(self.exe.read_phi(plan, ws), 200.0)
                self.assertEqual(self.exe.read_fallback_count(plan, ws), 0)

    def entry_phi(self):
        return 0.0  # the bundle's compiled phi

    def test_refusals(self):
        plan = self.exe.plan(ENTRY, 2, 512, variant="two_kernel")
        with self.assertRaisesRegex(fd.InvalidArgumentError, "workspace"):
            self.exe.read_fallback_count(plan, None)
        with self.assertRaisesRegex(fd.InvalidArgumentError, "min_rows"):
            self.exe.recentre_phi(plan, torch.empty(
                plan.workspace_bytes, dtype=torch.uint8, device="cuda"),
                min_rows=-1)
