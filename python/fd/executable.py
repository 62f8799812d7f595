"""A bundle bound to a GPU: planning with the device, running."""

import collections
import ctypes
import os
import weakref

from fd import _capi
from fd import tensors as _tensors
from fd._library import library
from fd.bundle import Plan
from fd.errors import check, invalid_argument


ScoreStats = collections.namedtuple(
    "ScoreStats", "rows fallbacks min_row_max max_row_max")
RecentreDecision = collections.namedtuple(
    "RecentreDecision", "decided changed covers old_phi new_phi stats")


class Executable:
    """``bundle`` bound to the primary context of CUDA device ``device``
    (the context PyTorch and the CUDA runtime use). Raises NoDeviceError
    where there is no driver or GPU."""

    def __init__(self, bundle, device=0):
        lib = bundle._lib
        handle = ctypes.c_void_p()
        check(lib, lib.fd_executable_create(bundle._handle, device,
                                            ctypes.byref(handle)))
        self._lib = lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.fd_executable_destroy,
                                           handle)
        self.bundle = bundle
        self.device = device
        count = ctypes.c_int32()
        check(lib, lib.fd_executable_sm_count(handle, ctypes.byref(count)))
        self.sm_count = count.value
        self._variant_table = None

    def plan(self, entry, batch, max_len, graph_safe=False, total_tokens=0,
             variant=None):
        """Plans ``entry`` with this device's SM count and the kernels'
        occupancy (loads the entry's kernels on first use). ``graph_safe``
        plans for the maxima, for CUDA-graph capture: any batch <= ``batch``
        and lengths <= ``max_len`` then replay correctly. ``total_tokens``:
        the sum of the lengths where known (a ragged batch's split).
        ``variant``: a launch variant by name (default: the planner's)."""
        e = self.bundle.entry(entry)
        p = _capi.fd_plan()
        lib = self._lib
        if variant is None:
            status = lib.fd_executable_plan_tokens(
                self._handle, e.index, batch, max_len, total_tokens,
                1 if graph_safe else 0, ctypes.byref(p))
        else:
            status = lib.fd_executable_plan_variant(
                self._handle, e.index, batch, max_len, 1 if graph_safe else 0,
                variant.encode("utf-8"), ctypes.byref(p))
        check(lib, status)
        return Plan(e, p)

    def _own_plan(self, plan):
        if not isinstance(plan, Plan):
            raise invalid_argument("plan: expected an fd.Plan, got %s"
                                   % type(plan).__name__)
        if plan.entry.bundle is not self.bundle:
            raise invalid_argument("the plan of entry '%s' was made for "
                                   "another bundle" % plan.entry.name)
        return plan

    def _view(self, name, x, writable, stream):
        if x is None:
            return _tensors.absent()
        v = _tensors.view(name, x, writable=writable, stream=stream)
        self._check_device(name, v.device)
        return v

    def _check_device(self, name, device):
        if device is not None and device != self.device:
            raise invalid_argument("argument '%s' is on CUDA device %d, the "
                                   "executable on device %d"
                                   % (name, device, self.device))

    def _workspace(self, plan, workspace, stream):
        """(pointer, bytes, owner) of the caller's workspace; None: the
        runtime allocates one itself where the plan needs it (not
        graph-safe). An int is a device pointer of plan.workspace_bytes."""
        if workspace is None:
            return None, 0, None
        if isinstance(workspace, int):
            return workspace, plan.workspace_bytes, None
        pointer, nbytes, device, owner = _tensors.buffer("workspace",
                                                         workspace, stream)
        self._check_device("workspace", device)
        return pointer or None, nbytes, owner

    def _attention(self, plan, q, k, v, lens, out, block_table, lse,
                   page_indptr, stream):
        views = [self._view("q", q, False, stream),
                 self._view("k", k, False, stream),
                 self._view("v", v, False, stream),
                 self._view("lens", lens, False, stream),
                 self._view("out", out, True, stream),
                 self._view("block_table", block_table, False, stream),
                 self._view("lse", lse, True, stream),
                 self._view("page_indptr", page_indptr, False, stream)]
        args = _capi.fd_attention_args(*(x.tensor for x in views[:5]))
        extras = _capi.fd_attention_extras()
        extras.size = ctypes.sizeof(extras)
        extras.block_table = views[5].tensor
        extras.lse = views[6].tensor
        extras.page_indptr = views[7].tensor
        return args, extras, views

    def run(self, plan, q, k, v, lens, out, workspace=None, stream=None,
            block_table=None, lse=None, page_indptr=None):
        """Launches the plan's entry on ``stream`` (None: torch's current
        stream when torch is imported, else the default stream). Tensors:
        torch tensors, __cuda_array_interface__ or __dlpack__ objects. With
        a workspace of plan.workspace_bytes it allocates nothing and never
        synchronises (CUDA-graph capturable). Paged entries take
        ``block_table`` ([B, max_pages], or with CSR addressing the flat page
        list [nnz_pages] and ``page_indptr`` [B + 1]). Returns ``out``."""
        plan = self._own_plan(plan)
        s = _tensors.stream_handle(stream, self.device)
        args, extras, views = self._attention(plan, q, k, v, lens, out,
                                              block_table, lse, page_indptr,
                                              s)
        pointer, size, ws = self._workspace(plan, workspace, s)
        check(self._lib, self._lib.fd_executable_run_ex(
            self._handle, ctypes.byref(plan._c), ctypes.byref(args),
            ctypes.byref(extras), pointer, size, s))
        del views, ws  # held until the launch is enqueued
        return out

    def check_pages(self, plan, q, k, v, lens, out, block_table, stream=None,
                    lse=None, page_indptr=None):
        """Paged entries: checks the block table and lengths on the device
        and raises InvalidArgumentError naming the first bad entry.
        Synchronises the stream (not inside a graph capture)."""
        plan = self._own_plan(plan)
        s = _tensors.stream_handle(stream, self.device)
        args, extras, views = self._attention(plan, q, k, v, lens, out,
                                              block_table, lse, page_indptr,
                                              s)
        check(self._lib, self._lib.fd_executable_check_pages(
            self._handle, ctypes.byref(plan._c), ctypes.byref(args),
            ctypes.byref(extras), s))
        del views

    def init_workspace(self, plan, workspace, stream=None):
        """Zeroes a new workspace (and writes the compiled phi) on
        ``stream``; unified-max entries need it once per workspace."""
        plan = self._own_plan(plan)
        s = _tensors.stream_handle(stream, self.device)
        pointer, size, ws = self._workspace(plan, workspace, s)
        check(self._lib, self._lib.fd_executable_init_workspace(
            self._handle, ctypes.byref(plan._c), pointer, size, s))
        del ws

    # Unified max (docs/unified-max.md): the state its kernels keep in the
    # workspace across calls -- the fallback-row counter, the run-time phi
    # and the score statistics -- read and written on ``stream``.

    def _state(self, plan, workspace, stream):
        plan = self._own_plan(plan)
        s = _tensors.stream_handle(stream, self.device)
        pointer, _, ws = self._workspace(plan, workspace, s)
        if not pointer:
            raise invalid_argument("workspace: the unified-max state lives "
                                   "in the plan's workspace; pass it")
        return plan, s, pointer, ws

    def read_fallback_count(self, plan, workspace, stream=None):
        """Rows recomputed by the exact fallback since the counter was last
        zeroed. Synchronises the stream."""
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        count = ctypes.c_uint32()
        check(self._lib, self._lib.fd_executable_read_fallback_count(
            self._handle, ctypes.byref(plan._c), pointer, s,
            ctypes.byref(count)))
        del ws
        return count.value

    def reset_fallback_count(self, plan, workspace, stream=None):
        """Zeroes the counter (stream-ordered, graph-capturable)."""
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        check(self._lib, self._lib.fd_executable_reset_fallback_count(
            self._handle, ctypes.byref(plan._c), pointer, s))
        del ws

    def set_phi(self, plan, workspace, phi, stream=None):
        """Sets the phi the kernels read at every launch (units of
        scale * q.k; stream-ordered, graph-capturable)."""
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        check(self._lib, self._lib.fd_executable_set_phi(
            self._handle, ctypes.byref(plan._c), pointer, float(phi), s))
        del ws

    def read_phi(self, plan, workspace, stream=None):
        """The phi in the workspace. Synchronises the stream."""
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        phi = ctypes.c_float()
        check(self._lib, self._lib.fd_executable_read_phi(
            self._handle, ctypes.byref(plan._c), pointer, s,
            ctypes.byref(phi)))
        del ws
        return phi.value

    def read_score_stats(self, plan, workspace, stream=None):
        """ScoreStats(rows, fallbacks, min_row_max, max_row_max) since the
        statistics were last zeroed (the row maxima mean something when
        rows > 0). Synchronises the stream."""
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        st = _capi.fd_score_stats()
        check(self._lib, self._lib.fd_executable_read_score_stats(
            self._handle, ctypes.byref(plan._c), pointer, s, ctypes.byref(st)))
        del ws
        return ScoreStats(st.rows, st.fallbacks, st.min_row_max,
                          st.max_row_max)

    def recentre_phi(self, plan, workspace, min_rows=1024,
                     max_fallback_rate=0.01, stream=None):
        """Once ``min_rows`` rows were checked and more than
        ``max_fallback_rate`` of them fell back, moves phi to the middle of
        the observed row maxima and zeroes the statistics. Returns a
        RecentreDecision. Synchronises the stream."""
        if not 0 <= min_rows <= 0xFFFFFFFF:
            raise invalid_argument("min_rows %r is out of range [0, 2^32)"
                                   % (min_rows,))
        plan, s, pointer, ws = self._state(plan, workspace, stream)
        d = _capi.fd_recentre_decision()
        check(self._lib, self._lib.fd_executable_recentre_phi(
            self._handle, ctypes.byref(plan._c), pointer, s, int(min_rows),
            float(max_fallback_rate), ctypes.byref(d)))
        del ws
        st = d.stats
        return RecentreDecision(bool(d.decided), bool(d.changed),
                                bool(d.covers), d.old_phi, d.new_phi,
                                ScoreStats(st.rows, st.fallbacks,
                                           st.min_row_max, st.max_row_max))

    def set_variant_table(self, path):
        """Measured launch-variant choices (fd-bench --write-variant-table)
        for every later plan; None restores the planner's rules. A new
        executable starts with the table fd ships for its device, if any."""
        lib = self._lib
        table = ctypes.c_void_p()
        if path is not None:
            check(lib, lib.fd_variant_table_load_file(os.fsencode(path),
                                                      ctypes.byref(table)))
        try:
            check(lib, lib.fd_executable_set_variant_table(self._handle,
                                                           table))
        finally:
            # The executable keeps its own reference.
            lib.fd_variant_table_destroy(table)

    def run_flat_gemm(self, entry, x, w, y, bias=None, variant=None,
                      dispatch_table=None, stream=None):
        """y = x w^T (+ bias) with a flat_gemm entry; the GEMM kernel is
        chosen from x's rows and ``dispatch_table``, or named by ``variant``
        ("gemv", "mma_m8", ..., "cublas"): ``dispatch_table`` is an
        fd.DispatchTable (fd-tune's measurements) or None (the entry's
        thresholds). Returns ``y``."""
        e = self.bundle.entry(entry)
        s = _tensors.stream_handle(stream, self.device)
        views = [self._view("x", x, False, s), self._view("w", w, False, s),
                 self._view("bias", bias, False, s),
                 self._view("y", y, True, s)]
        args = _capi.fd_flat_gemm_args(*(t.tensor for t in views))
        if dispatch_table is not None and not isinstance(dispatch_table,
                                                         DispatchTable):
            raise invalid_argument("dispatch_table: expected an "
                                   "fd.DispatchTable, got %s"
                                   % type(dispatch_table).__name__)
        table = dispatch_table._handle if dispatch_table else None
        check(self._lib, self._lib.fd_executable_run_flat_gemm(
            self._handle, e.index, ctypes.byref(args), table,
            variant.encode("utf-8") if variant is not None else None, s))
        del views
        return y

    def merge_states(self, entry, outs, lses, out, lse=None, stream=None):
        """Merges attention states by the log-sum-exp rule with a
        merge_states entry: ``outs`` [B, Hq, D] and ``lses`` [B, Hq] f32
        (natural logs; any strides, e.g. a transposed [Hq, B] buffer), one
        per state, into ``out`` and, for an entry compiled with it, ``lse``.
        Graph-capturable. Returns ``out``."""
        e = self.bundle.entry(entry)
        outs, lses = list(outs), list(lses)
        if len(outs) != len(lses):
            raise invalid_argument("merge_states: %d outs but %d lses"
                                   % (len(outs), len(lses)))
        s = _tensors.stream_handle(stream, self.device)
        views = ([self._view("state_out_%d" % i, x, False, s)
                  for i, x in enumerate(outs)] +
                 [self._view("state_lse_%d" % i, x, False, s)
                  for i, x in enumerate(lses)])
        n = len(outs)
        out_view = self._view("out", out, True, s)
        lse_view = self._view("lse", lse, True, s)
        args = _capi.fd_merge_states_args()
        args.size = ctypes.sizeof(args)
        args.num_states = n
        state_outs = (_capi.fd_tensor * max(n, 1))(*(v.tensor
                                                     for v in views[:n]))
        state_lses = (_capi.fd_tensor * max(n, 1))(*(v.tensor
                                                     for v in views[n:]))
        args.outs = ctypes.cast(state_outs, ctypes.POINTER(_capi.fd_tensor))
        args.lses = ctypes.cast(state_lses, ctypes.POINTER(_capi.fd_tensor))
        args.out = out_view.tensor
        args.lse = lse_view.tensor
        check(self._lib, self._lib.fd_executable_run_merge_states(
            self._handle, e.index, ctypes.byref(args), s))
        del views, out_view, lse_view  # held until the launch is enqueued
        return out


class DispatchTable:
    """Measured flat-GEMM kernel choices per [N, K, dtype], as fd-tune
    writes them (docs/bundle.md, "Dispatch table"), loaded once."""

    def __init__(self, path=None, _shipped_for=None):
        lib = library()
        handle = ctypes.c_void_p()
        if _shipped_for is not None:
            check(lib, lib.fd_dispatch_table_load_shipped(
                _shipped_for._handle, ctypes.byref(handle)))
        else:
            check(lib, lib.fd_dispatch_table_load_file(os.fsencode(path),
                                                       ctypes.byref(handle)))
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.fd_dispatch_table_destroy,
                                           handle)
        self.path = None if path is None else os.fspath(path)

    @classmethod
    def shipped(cls, executable):
        """The table fd ships for ``executable``'s device (H200, H100),
        cuBLAS choices included (docs/runtime.md, "Shipped dispatch
        tables"); raises fd.Error (Unsupported) for other devices."""
        return cls(_shipped_for=executable)
