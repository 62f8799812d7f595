"""Caller tensors as fd_tensor: torch tensors, __cuda_array_interface__ and
DLPack.

The runtime takes strided views of device memory with sizes and strides in
elements (fd_tensor). This module makes one from whatever the caller holds,
without copying and without synchronising, and refuses what the runtime
could not read correctly (host memory, an element type it does not know,
byte strides that are not whole elements). It only describes memory: shapes,
dtypes and strides are checked against the entry by the runtime, whose
messages name the argument.

Sources, in order of preference:
  * a torch.Tensor (when torch is already imported): data_ptr(), stride(),
    dtype; the only way to pass bf16 from torch, whose
    __cuda_array_interface__ refuses bf16;
  * __cuda_array_interface__ (versions 2 and 3; CuPy, Numba, torch f16/f32);
  * __dlpack__ (JAX, CuPy, any array-API library), read from its capsule.
A plain int is not a tensor: pass data pointers through one of these.
"""

import ctypes
import sys

from fd import _capi
from fd.errors import invalid_argument

# __cuda_array_interface__ typestrs. There is no standard one for bf16 ('<V2'
# is any two-byte blob), so bf16 must come through torch or DLPack.
_TYPESTRS = {"<f2": "f16", "<f4": "f32", "<f8": "f64", "<i4": "i32",
             "<i8": "i64"}

# DLPack (dlpack.h): device types whose memory the GPU reads, and dtype
# (code, bits) pairs.
_DL_CUDA = 2
_DL_CUDA_MANAGED = 13
_DL_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDAHost", 4: "OpenCL",
                    7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCM",
                    11: "ROCMHost", 13: "CUDAManaged", 14: "OneAPI"}
_DL_DTYPES = {(2, 16): "f16", (4, 16): "bf16", (2, 32): "f32",
              (2, 64): "f64", (0, 32): "i32", (0, 64): "i64"}


class TensorView:
    """An fd_tensor plus what the caller's object said about its memory:
    the CUDA device ordinal (None where the source does not say) and the
    object that keeps the memory described alive during the call."""

    __slots__ = ("tensor", "device", "owner")

    def __init__(self, tensor, device, owner):
        self.tensor = tensor
        self.device = device
        self.owner = owner


def _make(name, pointer, dtype, shape, strides, device, owner):
    """The TensorView of a strided view; strides in elements (None:
    contiguous row-major)."""
    shape = [int(s) for s in shape]
    if len(shape) > _capi.MAX_RANK:
        raise invalid_argument("argument '%s': rank %d, at most %d is "
                               "supported" % (name, len(shape),
                                              _capi.MAX_RANK))
    if strides is None:
        strides, step = [], 1
        for size in reversed(shape):
            strides.insert(0, step)
            step *= max(size, 1)
    t = _capi.fd_tensor()
    t.data = pointer or None
    t.dtype = _capi.DTYPES[dtype]
    t.rank = len(shape)
    for i, (size, stride) in enumerate(zip(shape, strides)):
        t.sizes[i] = size
        t.strides[i] = int(stride)
    return TensorView(t, device, owner)


def _from_torch(name, x, torch):
    if x.device.type != "cuda":
        raise invalid_argument("argument '%s': a torch tensor on %s, expected "
                               "one on a CUDA device" % (name, x.device))
    dtypes = {torch.float16: "f16", torch.bfloat16: "bf16",
              torch.float32: "f32", torch.float64: "f64",
              torch.int32: "i32", torch.int64: "i64"}
    if x.dtype not in dtypes:
        raise invalid_argument("argument '%s': torch dtype %s is not "
                               "supported (f16, bf16, f32, f64, i32, i64)"
                               % (name, x.dtype))
    return _make(name, x.data_ptr(), dtypes[x.dtype], x.shape, x.stride(),
                 x.device.index, x)


def _from_cuda_array_interface(name, x, writable):
    cai = x.__cuda_array_interface__
    version = cai.get("version", 0)
    if version < 2:
        raise invalid_argument("argument '%s': __cuda_array_interface__ "
                               "version %s, expected 2 or 3" % (name, version))
    typestr = cai["typestr"]
    if typestr not in _TYPESTRS:
        hint = (" (bf16 has no standard typestr: pass a torch tensor or a "
                "__dlpack__ object)" if typestr in ("<V2", "|V2") else "")
        raise invalid_argument("argument '%s': typestr '%s' is not supported "
                               "(%s)%s" % (name, typestr,
                                           ", ".join(sorted(_TYPESTRS)), hint))
    if cai.get("mask") is not None:
        raise invalid_argument("argument '%s': masked arrays are not supported"
                               % name)
    pointer, readonly = cai["data"]
    if writable and readonly:
        raise invalid_argument("argument '%s' is written but the array is "
                               "read-only" % name)
    dtype = _TYPESTRS[typestr]
    itemsize = _capi.DTYPE_SIZES[dtype]
    strides = cai.get("strides")
    if strides is not None:
        for i, s in enumerate(strides):
            if s % itemsize:
                raise invalid_argument(
                    "argument '%s': stride %d of dim %d is not a multiple of "
                    "the element size (%d bytes)" % (name, s, i, itemsize))
        strides = [s // itemsize for s in strides]
    # Version 3's "stream" asks the consumer to synchronise with it; the
    # runtime never synchronises (graph capture), so ordering the producer's
    # stream before the launch stream is the caller's.
    return _make(name, pointer, dtype, cai["shape"], strides, None, x)


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


_capsule_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get_pointer.restype = ctypes.c_void_p
_capsule_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_is_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_is_valid.restype = ctypes.c_int
_capsule_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _dlpack_tensor(name, capsule):
    """The DLTensor of an unconsumed legacy "dltensor" capsule, on the GPU.
    The capsule is not renamed "used_dltensor": it stays the producer's,
    whose capsule destructor calls the deleter once the caller drops it."""
    if not _capsule_is_valid(capsule, b"dltensor"):
        raise invalid_argument("argument '%s': __dlpack__() did not return an "
                               "unconsumed 'dltensor' capsule" % name)
    dl = _DLManagedTensor.from_address(
        _capsule_get_pointer(capsule, b"dltensor")).dl_tensor
    device_type = dl.device.device_type
    if device_type not in (_DL_CUDA, _DL_CUDA_MANAGED):
        raise invalid_argument(
            "argument '%s': DLPack device %s, expected CUDA memory"
            % (name, _DL_DEVICE_NAMES.get(device_type, device_type)))
    shape = [dl.shape[i] for i in range(dl.ndim)]
    strides = ([dl.strides[i] for i in range(dl.ndim)] if dl.strides
               else None)
    return dl, shape, strides, (dl.data or 0) + dl.byte_offset


def view_dlpack_capsule(name, capsule, owner):
    """The TensorView of an unconsumed "dltensor" capsule."""
    dl, shape, strides, pointer = _dlpack_tensor(name, capsule)
    key = (dl.dtype.code, dl.dtype.bits)
    if key not in _DL_DTYPES or dl.dtype.lanes != 1:
        raise invalid_argument(
            "argument '%s': DLPack dtype (code %d, bits %d, lanes %d) is not "
            "supported (f16, bf16, f32, f64, i32, i64)"
            % (name, dl.dtype.code, dl.dtype.bits, dl.dtype.lanes))
    return _make(name, pointer, _DL_DTYPES[key], shape, strides,
                 dl.device.device_id, owner)


def _dlpack_capsule(x, stream):
    # DLPack's stream argument: the consumer's stream, so that the producer
    # orders its work before it (1 is CUDA's legacy default stream; 0 is
    # ambiguous and disallowed).
    return x.__dlpack__(stream=stream if stream else 1)


def _from_dlpack(name, x, stream):
    capsule = _dlpack_capsule(x, stream)
    return view_dlpack_capsule(name, capsule, (x, capsule))


def _contiguous_bytes(name, shape, strides, itemsize):
    """The bytes of a C-contiguous array (strides in items; None: it is)."""
    expected, step = [], 1
    for n in reversed(shape):
        expected.insert(0, step)
        step *= max(n, 1)
    if strides is not None and list(strides) != expected and all(shape):
        raise invalid_argument("argument '%s' must be contiguous" % name)
    nbytes = itemsize
    for n in shape:
        nbytes *= n
    return nbytes


def buffer(name, x, stream=0):
    """(pointer, bytes, device, owner) of a contiguous buffer of any element
    type: workspaces are bytes to the runtime (torch.uint8 and the like)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type != "cuda" or not x.is_contiguous():
            raise invalid_argument("argument '%s': expected a contiguous "
                                   "tensor on a CUDA device" % name)
        return x.data_ptr(), x.numel() * x.element_size(), x.device.index, x
    if hasattr(x, "__cuda_array_interface__"):
        cai = x.__cuda_array_interface__
        itemsize = int(cai["typestr"][2:])
        strides = cai.get("strides")
        if strides is not None:
            if any(st % itemsize for st in strides):
                raise invalid_argument("argument '%s' must be contiguous"
                                       % name)
            strides = [st // itemsize for st in strides]
        nbytes = _contiguous_bytes(name, [int(n) for n in cai["shape"]],
                                   strides, itemsize)
        return cai["data"][0], nbytes, None, x
    if hasattr(x, "__dlpack__"):
        capsule = _dlpack_capsule(x, stream)
        dl, shape, strides, pointer = _dlpack_tensor(name, capsule)
        itemsize = dl.dtype.bits * dl.dtype.lanes // 8
        nbytes = _contiguous_bytes(name, shape, strides, itemsize)
        return pointer, nbytes, dl.device.device_id, (x, capsule)
    raise invalid_argument("argument '%s': %s is not a device buffer "
                           "(expected a torch tensor, an object with "
                           "__cuda_array_interface__ or __dlpack__)"
                           % (name, type(x).__name__))


def view(name, x, writable=False, stream=0):
    """The TensorView of caller object ``x`` for argument ``name``.
    ``writable``: the runtime writes it (refuses read-only arrays).
    ``stream``: the launch stream, for DLPack producers to order against."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return _from_torch(name, x, torch)
    if hasattr(x, "__cuda_array_interface__"):
        # A bf16 array that also exports DLPack: DLPack says what it is.
        typestr = x.__cuda_array_interface__.get("typestr")
        if typestr in _TYPESTRS or not hasattr(x, "__dlpack__"):
            return _from_cuda_array_interface(name, x, writable)
    if hasattr(x, "__dlpack__"):
        return _from_dlpack(name, x, stream)
    raise invalid_argument(
        "argument '%s': %s is not a device tensor (expected a torch tensor, "
        "an object with __cuda_array_interface__ or __dlpack__)"
        % (name, type(x).__name__))


def absent():
    """An absent tensor (data NULL)."""
    return TensorView(_capi.fd_tensor(), None, None)


def stream_handle(stream, device):
    """The CUstream for ``stream``: None is torch's current stream on
    ``device`` when torch is imported, else the legacy default stream (0);
    an int is a handle; otherwise an object with ``cuda_stream`` (torch),
    ``ptr`` (CuPy) or ``__cuda_stream__`` (the CUDA Python protocol)."""
    if stream is None:
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            return torch.cuda.current_stream(device).cuda_stream
        return 0
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    for attribute in ("cuda_stream", "ptr"):
        if hasattr(stream, attribute):
            return int(getattr(stream, attribute))
    raise invalid_argument("stream: %s is not a CUDA stream (expected an int "
                           "handle or an object with cuda_stream, ptr or "
                           "__cuda_stream__)" % type(stream).__name__)
