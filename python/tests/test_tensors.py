"""Caller tensors as fd_tensor (fd/tensors.py), with stand-ins for device
arrays: no GPU is touched, only the descriptions are read."""

import ctypes
import unittest

import fd
from fd import _capi, tensors


class CudaArray:
    """A stand-in exposing __cuda_array_interface__."""

    def __init__(self, shape, typestr="<f2", strides=None, ptr=0x10000,
                 readonly=False, version=3, **extra):
        self.__cuda_array_interface__ = dict(
            shape=tuple(shape), typestr=typestr, strides=strides,
            data=(ptr, readonly), version=version, **extra)


def sizes(t):
    return list(t.sizes[:t.rank])


def strides(t):
    return list(t.strides[:t.rank])


class CudaArrayInterfaceTest(unittest.TestCase):
    def test_contiguous(self):
        v = tensors.view("q", CudaArray((4, 32, 128)))
        t = v.tensor
        self.assertEqual(t.data, 0x10000)
        self.assertEqual(t.dtype, _capi.DTYPES["f16"])
        self.assertEqual(t.rank, 3)
        self.assertEqual(sizes(t), [4, 32, 128])
        self.assertEqual(strides(t), [32 * 128, 128, 1])

    def test_strided_in_elements(self):
        # A K cache view with padded rows: byte strides become elements.
        v = tensors.view("k", CudaArray((2, 8, 100, 128), strides=(
            8 * 256 * 160 * 2, 256 * 160 * 2, 160 * 2, 2)))
        self.assertEqual(strides(v.tensor), [8 * 256 * 160, 256 * 160, 160, 1])
        self.assertEqual(sizes(v.tensor), [2, 8, 100, 128])

    def test_dtypes(self):
        for typestr, name in [("<f4", "f32"), ("<i4", "i32"), ("<i8", "i64"),
                              ("<f8", "f64")]:
            t = tensors.view("lens", CudaArray((3,), typestr)).tensor
            self.assertEqual(t.dtype, _capi.DTYPES[name])
            self.assertEqual(strides(t), [1])

    def test_refusals(self):
        cases = [
            (CudaArray((3,), "<u1"), "typestr '<u1' is not supported"),
            (CudaArray((3,), "<V2"), "bf16 has no standard typestr"),
            (CudaArray((4, 8), strides=(17, 2)),
             "stride 17 of dim 0 is not a multiple of the element size (2 "
             "bytes)"),
            (CudaArray((1, 2, 3, 4, 5)), "rank 5, at most 4"),
            (CudaArray((3,), version=1), "version 1, expected 2 or 3"),
            (CudaArray((3,), mask=object()), "masked arrays"),
            (object(), "is not a device tensor"),
            (42, "int is not a device tensor"),
        ]
        for x, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(fd.InvalidArgumentError) as cm:
                    tensors.view("q", x)
                self.assertIn(message, str(cm.exception))
                self.assertIn("'q'", str(cm.exception))

    def test_read_only_output(self):
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            tensors.view("out", CudaArray((3,), readonly=True), writable=True)
        self.assertIn("'out' is written but the array is read-only",
                      str(cm.exception))
        tensors.view("q", CudaArray((3,), readonly=True))  # inputs may be


# A DLPack capsule made here, as a producer would: the reader must not care
# who made it.
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class DLPackArray:
    def __init__(self, shape, code=2, bits=16, device_type=2, device_id=0,
                 strides=None, ptr=0x20000, byte_offset=0, lanes=1):
        n = len(shape)
        self.shape = (ctypes.c_int64 * n)(*shape)
        self.strides = (ctypes.c_int64 * n)(*strides) if strides else None
        m = tensors._DLManagedTensor()
        dl = m.dl_tensor
        dl.data = ptr
        dl.device.device_type = device_type
        dl.device.device_id = device_id
        dl.ndim = n
        dl.dtype.code, dl.dtype.bits, dl.dtype.lanes = code, bits, lanes
        dl.shape = ctypes.cast(self.shape, ctypes.POINTER(ctypes.c_int64))
        if self.strides:
            dl.strides = ctypes.cast(self.strides,
                                     ctypes.POINTER(ctypes.c_int64))
        dl.byte_offset = byte_offset
        self.managed = m
        self.streams = []

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        return _capsule_new(ctypes.addressof(self.managed), b"dltensor", None)


class DLPackTest(unittest.TestCase):
    def test_bf16(self):
        x = DLPackArray((4, 8, 64), code=4, bits=16, device_id=1)
        v = tensors.view("q", x, stream=0x1234)
        self.assertEqual(v.tensor.dtype, _capi.DTYPES["bf16"])
        self.assertEqual(sizes(v.tensor), [4, 8, 64])
        self.assertEqual(strides(v.tensor), [512, 64, 1])
        self.assertEqual(v.device, 1)
        # The producer is told the consumer's stream.
        self.assertEqual(x.streams, [0x1234])

    def test_strides_and_offset(self):
        x = DLPackArray((2, 3), code=0, bits=32, strides=(8, 2),
                        byte_offset=64)
        v = tensors.view("lens", x)
        self.assertEqual(v.tensor.dtype, _capi.DTYPES["i32"])
        self.assertEqual(strides(v.tensor), [8, 2])
        self.assertEqual(v.tensor.data, 0x20000 + 64)
        # 0 (ambiguous in DLPack) becomes 1, CUDA's legacy default stream.
        self.assertEqual(x.streams, [1])

    def test_refusals(self):
        cases = [
            (DLPackArray((3,), device_type=1), "DLPack device CPU, expected "
             "CUDA memory"),
            (DLPackArray((3,), device_type=3), "DLPack device CUDAHost"),
            (DLPackArray((3,), code=5, bits=64), "DLPack dtype (code 5, bits "
             "64, lanes 1) is not supported"),
            (DLPackArray((3,), lanes=2), "lanes 2"),
        ]
        for x, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(fd.InvalidArgumentError) as cm:
                    tensors.view("k", x)
                self.assertIn(message, str(cm.exception))

    def test_managed_memory_is_accepted(self):
        v = tensors.view("k", DLPackArray((3,), device_type=13))
        self.assertEqual(v.tensor.rank, 1)

    def test_bf16_array_interface_falls_back_to_dlpack(self):
        class Both(DLPackArray):
            __cuda_array_interface__ = dict(shape=(3,), typestr="<V2",
                                            strides=None, data=(1, False),
                                            version=3)
        v = tensors.view("q", Both((3,), code=4, bits=16))
        self.assertEqual(v.tensor.dtype, _capi.DTYPES["bf16"])


class BufferTest(unittest.TestCase):
    """Workspaces: bytes of any element type, contiguous."""

    def test_bytes(self):
        x = CudaArray((4096,), "|u1")
        self.assertEqual(tensors.buffer("workspace", x),
                         (0x10000, 4096, None, x))
        pointer, nbytes, device, _ = tensors.buffer(
            "workspace", CudaArray((64, 16), "<f4"))
        self.assertEqual((pointer, nbytes, device), (0x10000, 4096, None))
        pointer, nbytes, device, _ = tensors.buffer(
            "workspace", DLPackArray((512,), code=1, bits=8, device_id=2))
        self.assertEqual((pointer, nbytes, device), (0x20000, 512, 2))

    def test_refusals(self):
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            tensors.buffer("workspace", CudaArray((4, 8), "|u1",
                                                  strides=(16, 1)))
        self.assertIn("'workspace' must be contiguous", str(cm.exception))
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            tensors.buffer("workspace", DLPackArray((8,), code=1, bits=8,
                                                    device_type=1))
        self.assertIn("DLPack device CPU", str(cm.exception))
        with self.assertRaises(fd.InvalidArgumentError) as cm:
            tensors.buffer("workspace", bytearray(8))
        self.assertIn("is not a device buffer", str(cm.exception))


class StreamTest(unittest.TestCase):
    def test_streams(self):
        class TorchLike:
            cuda_stream = 0x77

        class CupyLike:
            ptr = 0x88

        class Protocol:
            def __cuda_stream__(self):
                return (0, 0x99)

        self.assertEqual(tensors.stream_handle(0x55, 0), 0x55)
        self.assertEqual(tensors.stream_handle(TorchLike(), 0), 0x77)
        self.assertEqual(tensors.stream_handle(CupyLike(), 0), 0x88)
        self.assertEqual(tensors.stream_handle(Protocol(), 0), 0x99)
        with self.assertRaises(fd.InvalidArgumentError):
            tensors.stream_handle("default", 0)


if __name__ == "__main__":
    unittest.main()
