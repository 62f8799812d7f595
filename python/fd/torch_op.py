"""fd decode attention as a PyTorch custom op, torch.ops.fd.decode_attention.

Imported by ``fd/__init__.py`` when torch is importable. The op is
capture-safe: it plans nothing, allocates nothing itself and never
synchronises the host. A registration pairs an Executable with a plan
(usually graph-safe, for the largest batch and length) under an integer
handle, the op's first argument, since a custom op's schema can carry no
Python objects; the workspace comes from torch's caching allocator and is
passed in, and the fake implementation lets torch.compile(fullgraph=True)
trace through it.

    exe = fd.Executable(fd.Bundle("llama.fdb"))
    h = fd.torch_op.register(exe, exe.plan("llama3_8b_decode", 64, 8192,
                                           graph_safe=True))
    out = fd.torch_op.decode_attention(h, q, k, v, lens)
"""

import itertools
import threading
from typing import NamedTuple, Optional

import torch

from fd.errors import invalid_argument


class _Registration(NamedTuple):
    executable: object
    plan: object
    # Plain ints and bools, so that torch.compile traces the lookup in
    # decode_attention() as constants (no ctypes objects in the graph).
    workspace_bytes: int
    zero_init: bool


_lock = threading.Lock()
_handles = itertools.count(1)
_registry = {}


def register(executable, plan):
    """A handle for ``plan`` on ``executable``, valid until unregister()."""
    executable._own_plan(plan)
    with _lock:
        handle = next(_handles)
        _registry[handle] = _Registration(
            executable, plan, int(plan.workspace_bytes),
            # Unified max keeps state in its workspace and needs it
            # initialised; a fresh workspace per call needs it every call.
            plan.entry.softmax == "unified_max")
    return handle


def unregister(handle):
    with _lock:
        _registry.pop(handle, None)


def _lookup(handle):
    try:
        return _registry[handle]
    except KeyError:
        raise invalid_argument("fd::decode_attention: no registration %r "
                               "(fd.torch_op.register)" % handle) from None


@torch.library.custom_op("fd::decode_attention",
                         mutates_args=("out", "workspace", "lse"),
                         device_types="cuda")
def _decode_attention(handle: int, q: torch.Tensor, k: torch.Tensor,
                      v: torch.Tensor, lens: torch.Tensor, out: torch.Tensor,
                      workspace: torch.Tensor,
                      block_table: Optional[torch.Tensor],
                      lse: Optional[torch.Tensor],
                      page_indptr: Optional[torch.Tensor]) -> None:
    # No defaults on the optional tensors: torch (2.11) drops trailing
    # arguments equal to their defaults before its in-place bookkeeping,
    # which then indexes the mutated `lse` past the end of the arguments.
    r = _lookup(handle)
    if workspace.numel() < r.workspace_bytes:
        # Else the runtime would allocate one itself: not capture-safe.
        raise invalid_argument("fd::decode_attention: workspace has %d bytes, "
                               "the plan needs %d"
                               % (workspace.numel(), r.workspace_bytes))
    stream = torch.cuda.current_stream(q.device).cuda_stream
    ws = workspace if r.workspace_bytes else None
    if r.zero_init:
        r.executable.init_workspace(r.plan, ws, stream=stream)
    r.executable.run(r.plan, q, k, v, lens, out, workspace=ws, stream=stream,
                     block_table=block_table, lse=lse, page_indptr=page_indptr)


@_decode_attention.register_fake
def _(handle, q, k, v, lens, out, workspace, block_table, lse, page_indptr):
    # Writes out (and lse, workspace) in place; returns nothing.
    return None


def decode_attention(handle, q, k, v, lens, out=None, block_table=None,
                     lse=None, page_indptr=None):
    """Runs the registration's entry: out [B, Hq, D] (allocated like q when
    None) from q [B, Hq, D], k and v (caches or page pools), lens [B] on
    the device; block_table for paged entries (with page_indptr [B + 1] for
    CSR page lists), lse [B, Hq] f32 for entries with that output. Returns
    out."""
    r = _lookup(handle)
    if out is None:
        out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    workspace = torch.empty(r.workspace_bytes, dtype=torch.uint8,
                            device=q.device)
    torch.ops.fd.decode_attention(handle, q, k, v, lens, out, workspace,
                                  block_table, lse, page_indptr)
    return out
