"""Context-parallel decode across GPUs (docs/runtime.md, "Context-parallel
decode"): each rank runs an fd decode entry over its shard of every KV
sequence and one NCCL all-gather plus a merge_states entry gives every rank
the attention over the whole sequence."""

import ctypes
import weakref

from fd import _capi
from fd import tensors as _tensors
from fd.errors import check, invalid_argument


def nccl_unique_id():
    """A fresh NCCL unique id (bytes): rank 0 makes it and sends it to the
    others (e.g. torch.distributed.broadcast_object_list)."""
    from fd._library import library
    lib = library()
    uid = _capi.fd_nccl_unique_id()
    check(lib, lib.fd_nccl_unique_id_create(ctypes.byref(uid)))
    # bytes(uid), not uid.internal: a c_char array reads as a string and
    # stops at the first zero byte.
    return bytes(uid)


class Communicator:
    """One rank's NCCL communicator on ``executable``'s device: joined from
    ``unique_id`` (bytes of nccl_unique_id()), or the caller's own
    ``nccl_comm`` (an ncclComm_t as an int, e.g. PyTorch's
    ``ProcessGroupNCCL._comm_ptr()``), which fd never destroys."""

    def __init__(self, executable, world_size=None, rank=None,
                 unique_id=None, nccl_comm=None, timeout_seconds=60.0):
        lib = executable._lib
        handle = ctypes.c_void_p()
        if (unique_id is None) == (nccl_comm is None):
            raise invalid_argument("Communicator: pass exactly one of "
                                   "unique_id and nccl_comm")
        if nccl_comm is not None:
            check(lib, lib.fd_communicator_borrow(
                executable._handle, ctypes.c_void_p(nccl_comm),
                ctypes.byref(handle)))
        else:
            if world_size is None or rank is None:
                raise invalid_argument("Communicator: a unique_id needs "
                                       "world_size and rank")
            if len(unique_id) != 128:
                raise invalid_argument("Communicator: unique_id has %d "
                                       "bytes, expected 128" % len(unique_id))
            uid = _capi.fd_nccl_unique_id.from_buffer_copy(bytes(unique_id))
            check(lib, lib.fd_communicator_create(
                executable._handle, ctypes.byref(uid), world_size, rank,
                timeout_seconds, ctypes.byref(handle)))
        self._lib = lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.fd_communicator_destroy,
                                           handle)
        r, w = ctypes.c_int32(), ctypes.c_int32()
        check(lib, lib.fd_communicator_rank(handle, ctypes.byref(r),
                                            ctypes.byref(w)))
        self.rank, self.world_size = r.value, w.value


class ShardedDecode:
    """This rank's context-parallel decode of ``attention`` (an entry name
    writing lse) merged by ``merge`` (a merge_states entry of world-size
    states; None for one rank). A collective: every rank builds it."""

    def __init__(self, executable, attention, merge, communicator,
                 max_batch=1, timeout_seconds=60.0, expected_world_size=0):
        lib = executable._lib
        bundle = executable.bundle
        a = bundle.entry(attention)
        m = bundle.entry(merge).index if merge is not None else -1
        options = _capi.fd_sharded_decode_options()
        options.size = ctypes.sizeof(options)
        options.max_batch = max_batch
        options.timeout_seconds = timeout_seconds
        options.expected_world_size = expected_world_size
        handle = ctypes.c_void_p()
        check(lib, lib.fd_sharded_decode_create(
            executable._handle, a.index, m, communicator._handle,
            ctypes.byref(options), ctypes.byref(handle)))
        self._lib = lib
        self._handle = handle
        self._executable = executable
        self._communicator = communicator  # kept alive with it
        self._finalizer = weakref.finalize(
            self, lib.fd_sharded_decode_destroy, handle)

    def run(self, plan, q, k, v, lens, out, workspace=None, stream=None,
            block_table=None, lse=None, page_indptr=None):
        """One step: q the same on every rank, k/v/lens/block_table this
        rank's shard, out (and lse) the merged result. ``plan`` is this
        rank's plan of the attention entry for its shard. With a workspace
        it allocates nothing and never synchronises (graph-capturable,
        NCCL's all-gather included). Returns ``out``."""
        exe = self._executable
        plan = exe._own_plan(plan)
        s = _tensors.stream_handle(stream, exe.device)
        args, extras, views = exe._attention(plan, q, k, v, lens, out,
                                             block_table, lse, page_indptr, s)
        pointer, size, ws = exe._workspace(plan, workspace, s)
        if plan.workspace_bytes and not pointer:
            raise invalid_argument("workspace: a sharded decode takes the "
                                   "plan's workspace (%d bytes)"
                                   % plan.workspace_bytes)
        check(self._lib, self._lib.fd_sharded_decode_run(
            self._handle, ctypes.byref(plan._c), ctypes.byref(args),
            ctypes.byref(extras), pointer, size, s))
        del views, ws
        return out
