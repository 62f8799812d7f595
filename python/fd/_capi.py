"""ctypes mirrors of include/fd/Runtime/fd_runtime.h, written once.

Every struct, constant and prototype the package uses is here and nowhere
else; python/tests/test_layout.py checks the structs against the header
(field names and types read from it, and, where a C compiler is available,
sizeof and offsetof compiled from it).
"""

from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_int,
                    c_float, c_int32, c_int64, c_size_t, c_uint32, c_uint64,
                    c_void_p)

# Status codes (FD_OK, FD_ERROR_*).
OK = 0
ERROR_INVALID_ARGUMENT = 1
ERROR_IO = 2
ERROR_PARSE = 3
ERROR_INVALID_BUNDLE = 4
ERROR_UNSUPPORTED = 5
ERROR_NO_DEVICE = 6
ERROR_DRIVER = 7
ERROR_INTERNAL = 8

# Element types (FD_DTYPE_*), by the names the manifest spells.
DTYPES = {"f16": 0, "bf16": 1, "f32": 2, "i32": 3, "i64": 4, "f64": 5}
DTYPE_NAMES = {code: name for name, code in DTYPES.items()}
DTYPE_SIZES = {"f16": 2, "bf16": 2, "f32": 4, "i32": 4, "i64": 8, "f64": 8}

MAX_RANK = 4


class fd_tensor(Structure):
    _fields_ = [("data", c_void_p), ("dtype", c_int32), ("rank", c_int32),
                ("sizes", c_int64 * MAX_RANK),
                ("strides", c_int64 * MAX_RANK)]


class fd_attention_args(Structure):
    _fields_ = [("q", fd_tensor), ("k", fd_tensor), ("v", fd_tensor),
                ("lens", fd_tensor), ("out", fd_tensor)]


class fd_attention_extras(Structure):
    _fields_ = [("size", c_uint32), ("reserved", c_uint32),
                ("block_table", fd_tensor), ("lse", fd_tensor),
                ("page_indptr", fd_tensor)]


class fd_plan(Structure):
    _fields_ = [("entry", c_int32), ("graph_safe", c_int32),
                ("batch", c_int64), ("max_len", c_int64),
                ("sm_count", c_int64), ("num_splits", c_int64),
                ("chunk", c_int64), ("workspace_bytes", c_uint64),
                ("variant", c_int32), ("reserved", c_int32)]


class fd_entry_info(Structure):
    _fields_ = [("size", c_uint32), ("dtype", c_int32),
                ("op", c_char_p), ("softmax", c_char_p),
                ("num_q_heads", c_int64), ("num_kv_heads", c_int64),
                ("head_dim", c_int64), ("page_size", c_int64),
                ("scale", c_double),
                ("lens_dtype", c_int32), ("block_table_dtype", c_int32),
                ("has_lse", c_int32), ("gemm_has_bias", c_int32),
                ("gemm_n", c_int64), ("gemm_k", c_int64),
                ("gemm_out_dtype", c_int32), ("page_indptr_dtype", c_int32),
                ("merge_num_states", c_int32)]


class fd_flat_gemm_args(Structure):
    _fields_ = [("x", fd_tensor), ("w", fd_tensor), ("bias", fd_tensor),
                ("y", fd_tensor)]


class fd_merge_states_args(Structure):
    _fields_ = [("size", c_uint32), ("num_states", c_int32),
                ("outs", POINTER(fd_tensor)), ("lses", POINTER(fd_tensor)),
                ("out", fd_tensor), ("lse", fd_tensor)]


class fd_score_stats(Structure):
    _fields_ = [("rows", c_uint32), ("fallbacks", c_uint32),
                ("min_row_max", c_float), ("max_row_max", c_float)]


class fd_recentre_decision(Structure):
    _fields_ = [("decided", c_int32), ("changed", c_int32),
                ("covers", c_int32), ("old_phi", c_double),
                ("new_phi", c_double), ("stats", fd_score_stats)]


# The structs above, for the layout test.
class fd_nccl_unique_id(Structure):
    _fields_ = [("internal", c_char * 128)]


class fd_sharded_decode_options(Structure):
    _fields_ = [("size", c_uint32), ("expected_world_size", c_int32),
                ("max_batch", c_int64), ("timeout_seconds", c_double)]


STRUCTS = [fd_tensor, fd_attention_args, fd_attention_extras, fd_plan,
           fd_entry_info, fd_flat_gemm_args, fd_merge_states_args,
           fd_score_stats, fd_recentre_decision, fd_nccl_unique_id,
           fd_sharded_decode_options]

# Opaque handles and the stream (struct CUstream_st *) are void pointers.
_handle = c_void_p
_out_handle = POINTER(c_void_p)
_stream = c_void_p

# The functions the package calls: name -> (argtypes). All return int
# (a status) unless listed in _RESTYPES.
_PROTOTYPES = {
    "fd_last_error": [],
    "fd_bundle_load_file": [c_char_p, _out_handle],
    "fd_bundle_load_memory": [c_void_p, c_size_t, _out_handle],
    "fd_bundle_destroy": [_handle],
    "fd_bundle_entry_count": [_handle, POINTER(c_int32)],
    "fd_bundle_entry_name": [_handle, c_int32, POINTER(c_char_p)],
    "fd_bundle_find_entry": [_handle, c_char_p, POINTER(c_int32)],
    "fd_bundle_entry_info": [_handle, c_int32, POINTER(fd_entry_info)],
    "fd_bundle_variant_count": [_handle, c_int32, POINTER(c_int32)],
    "fd_bundle_variant_name": [_handle, c_int32, c_int32, POINTER(c_char_p)],
    "fd_bundle_plan": [_handle, c_int32, c_int64, c_int64, c_int32, c_int32,
                       POINTER(fd_plan)],
    "fd_executable_create": [_handle, c_int32, _out_handle],
    "fd_executable_destroy": [_handle],
    "fd_executable_sm_count": [_handle, POINTER(c_int32)],
    "fd_executable_plan_tokens": [_handle, c_int32, c_int64, c_int64,
                                  c_int64, c_int32, POINTER(fd_plan)],
    "fd_executable_plan_variant": [_handle, c_int32, c_int64, c_int64,
                                   c_int32, c_char_p, POINTER(fd_plan)],
    "fd_executable_run_ex": [_handle, POINTER(fd_plan),
                             POINTER(fd_attention_args),
                             POINTER(fd_attention_extras), c_void_p,
                             c_uint64, _stream],
    "fd_executable_check_pages": [_handle, POINTER(fd_plan),
                                  POINTER(fd_attention_args),
                                  POINTER(fd_attention_extras), _stream],
    "fd_executable_init_workspace": [_handle, POINTER(fd_plan), c_void_p,
                                     c_uint64, _stream],
    "fd_plan_fallback_counter_offset": [_handle, POINTER(fd_plan),
                                        POINTER(c_uint64)],
    "fd_executable_read_fallback_count": [_handle, POINTER(fd_plan),
                                          c_void_p, _stream,
                                          POINTER(c_uint32)],
    "fd_executable_reset_fallback_count": [_handle, POINTER(fd_plan),
                                           c_void_p, _stream],
    "fd_executable_set_phi": [_handle, POINTER(fd_plan), c_void_p, c_float,
                              _stream],
    "fd_executable_read_phi": [_handle, POINTER(fd_plan), c_void_p, _stream,
                               POINTER(c_float)],
    "fd_executable_read_score_stats": [_handle, POINTER(fd_plan), c_void_p,
                                       _stream, POINTER(fd_score_stats)],
    "fd_executable_recentre_phi": [_handle, POINTER(fd_plan), c_void_p,
                                   _stream, c_uint32, c_double,
                                   POINTER(fd_recentre_decision)],
    "fd_variant_table_load_file": [c_char_p, _out_handle],
    "fd_variant_table_destroy": [_handle],
    "fd_variant_table_load_shipped": [_handle, _out_handle],
    "fd_executable_set_variant_table": [_handle, _handle],
    "fd_dispatch_table_load_file": [c_char_p, _out_handle],
    "fd_dispatch_table_load_shipped": [_handle, _out_handle],
    "fd_dispatch_table_destroy": [_handle],
    "fd_executable_run_flat_gemm": [_handle, c_int32,
                                    POINTER(fd_flat_gemm_args), _handle,
                                    c_char_p, _stream],
    "fd_executable_run_merge_states": [_handle, c_int32,
                                       POINTER(fd_merge_states_args),
                                       _stream],
    "fd_nccl_unique_id_create": [POINTER(fd_nccl_unique_id)],
    "fd_communicator_create": [_handle, POINTER(fd_nccl_unique_id), c_int32,
                               c_int32, c_double, _out_handle],
    "fd_communicator_borrow": [_handle, c_void_p, _out_handle],
    "fd_communicator_destroy": [_handle],
    "fd_communicator_rank": [_handle, POINTER(c_int32), POINTER(c_int32)],
    "fd_sharded_decode_create": [_handle, c_int32, c_int32, _handle,
                                 POINTER(fd_sharded_decode_options),
                                 _out_handle],
    "fd_sharded_decode_destroy": [_handle],
    "fd_sharded_decode_run": [_handle, POINTER(fd_plan),
                              POINTER(fd_attention_args),
                              POINTER(fd_attention_extras), c_void_p,
                              c_uint64, _stream],
}
_RESTYPES = {
    "fd_last_error": c_char_p,
    "fd_bundle_destroy": None,
    "fd_executable_destroy": None,
    "fd_variant_table_destroy": None,
    "fd_dispatch_table_destroy": None,
    "fd_communicator_destroy": None,
    "fd_sharded_decode_destroy": None,
}


def declare(lib):
    """Declares every prototype on ``lib``; returns the names it lacks."""
    missing = []
    for name, argtypes in _PROTOTYPES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        function.argtypes = argtypes
        function.restype = _RESTYPES.get(name, c_int)
    return missing
