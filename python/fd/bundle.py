"""Bundles, their entries, and plans (no GPU needed)."""

import ctypes
import os
import weakref

from fd import _capi
from fd._library import library
from fd.errors import check, invalid_argument


class Bundle:
    """A parsed, validated fd bundle (fd-compile's .fdb file)."""

    def __init__(self, path):
        lib = library()
        handle = ctypes.c_void_p()
        check(lib, lib.fd_bundle_load_file(os.fsencode(path),
                                           ctypes.byref(handle)))
        self._adopt(lib, handle, os.fspath(path))

    @classmethod
    def from_bytes(cls, data, name="<memory>"):
        """A bundle from the manifest's bytes (or str)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data)
        lib = library()
        handle = ctypes.c_void_p()
        check(lib, lib.fd_bundle_load_memory(data, len(data),
                                             ctypes.byref(handle)))
        self = cls.__new__(cls)
        self._adopt(lib, handle, name)
        return self

    def _adopt(self, lib, handle, name):
        self._lib = lib
        self._handle = handle
        self.name = name
        # finalize, not __del__: it also runs at interpreter exit, in order.
        self._finalizer = weakref.finalize(self, lib.fd_bundle_destroy, handle)
        count = ctypes.c_int32()
        check(lib, lib.fd_bundle_entry_count(handle, ctypes.byref(count)))
        self._entries = [Entry(self, i) for i in range(count.value)]

    @property
    def entries(self):
        """The entry names, in manifest order."""
        return [e.name for e in self._entries]

    def entry(self, key):
        """The entry called ``key`` (a str), or number ``key`` (an int)."""
        if isinstance(key, Entry):
            if key.bundle is not self:
                raise invalid_argument("entry '%s' belongs to another bundle"
                                       % key.name)
            return key
        if isinstance(key, int):
            if not 0 <= key < len(self._entries):
                raise invalid_argument("entry index %d is out of range (%d "
                                       "entries)" % (key, len(self._entries)))
            return self._entries[key]
        if not isinstance(key, str):
            raise invalid_argument("entry: expected a name or an index, got %s"
                                   % type(key).__name__)
        index = ctypes.c_int32()
        check(self._lib, self._lib.fd_bundle_find_entry(
            self._handle, key.encode("utf-8"), ctypes.byref(index)))
        return self._entries[index.value]

    __getitem__ = entry

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def __contains__(self, name):
        return name in self.entries

    def plan(self, entry, batch, max_len, sm_count, graph_safe=False):
        """Plans ``entry`` without a GPU for a device of ``sm_count`` SMs
        (fd_bundle_plan). The kernels' occupancy is unknown here, so the
        split, and split versus unsplit, can differ from Executable.plan."""
        e = self.entry(entry)
        p = _capi.fd_plan()
        check(self._lib, self._lib.fd_bundle_plan(
            self._handle, e.index, batch, max_len, sm_count,
            1 if graph_safe else 0, ctypes.byref(p)))
        return Plan(e, p)

    def __repr__(self):
        return "fd.Bundle(%r, entries=%r)" % (self.name, self.entries)


def plan_offline(bundle, entry, batch, max_len, sm_count, graph_safe=False):
    """``bundle.plan(...)``: a plan made without a GPU (fd_bundle_plan)."""
    return bundle.plan(entry, batch, max_len, sm_count, graph_safe)


def _string(p):
    return p.decode("utf-8") if p is not None else ""


def _dtype(code):
    return _capi.DTYPE_NAMES.get(code)


class Entry:
    """One entry of a bundle: what it computes (fd_bundle_entry_info) and
    its launch variants. dtypes are the manifest's names ("f16", "i32");
    None where the entry has no such tensor."""

    def __init__(self, bundle, index):
        lib, handle = bundle._lib, bundle._handle
        self.bundle = bundle
        self.index = index
        name = ctypes.c_char_p()
        check(lib, lib.fd_bundle_entry_name(handle, index, ctypes.byref(name)))
        self.name = _string(name.value)
        info = _capi.fd_entry_info()
        info.size = ctypes.sizeof(info)
        check(lib, lib.fd_bundle_entry_info(handle, index, ctypes.byref(info)))
        self.op = _string(info.op)
        self.dtype = _dtype(info.dtype)
        self.softmax = _string(info.softmax)
        self.num_q_heads = info.num_q_heads
        self.num_kv_heads = info.num_kv_heads
        self.head_dim = info.head_dim
        self.page_size = info.page_size
        self.scale = info.scale
        self.lens_dtype = _dtype(info.lens_dtype)
        self.block_table_dtype = _dtype(info.block_table_dtype)
        self.has_lse = bool(info.has_lse)
        self.page_indptr_dtype = _dtype(info.page_indptr_dtype)
        self.gemm_n = info.gemm_n
        self.gemm_k = info.gemm_k
        self.gemm_has_bias = bool(info.gemm_has_bias)
        self.gemm_out_dtype = _dtype(info.gemm_out_dtype)
        self.num_states = info.merge_num_states
        count = ctypes.c_int32()
        check(lib, lib.fd_bundle_variant_count(handle, index,
                                               ctypes.byref(count)))
        names = []
        for v in range(count.value):
            check(lib, lib.fd_bundle_variant_name(handle, index, v,
                                                  ctypes.byref(name)))
            names.append(_string(name.value))
        self.variants = names

    @property
    def paged(self):
        return self.page_size > 0

    @property
    def csr(self):
        """Paged with CSR addressing (page_indptr + a flat page list)."""
        return self.page_indptr_dtype is not None

    def __repr__(self):
        if self.op == "flat_gemm":
            return ("fd.Entry(%r, flat_gemm %s, n=%d, k=%d)"
                    % (self.name, self.dtype, self.gemm_n, self.gemm_k))
        if self.op == "merge_states":
            return ("fd.Entry(%r, merge_states %s, Hq=%d, D=%d, states=%d%s)"
                    % (self.name, self.dtype, self.num_q_heads, self.head_dim,
                       self.num_states, ", lse" if self.has_lse else ""))
        return ("fd.Entry(%r, %s %s, Hq=%d, Hkv=%d, D=%d, softmax=%s%s)"
                % (self.name, self.op, self.dtype, self.num_q_heads,
                   self.num_kv_heads, self.head_dim, self.softmax,
                   ", page_size=%d" % self.page_size if self.paged else ""))


class Plan:
    """How an entry is launched (fd_plan). Made by Bundle.plan or
    Executable.plan; runs with executables of the same bundle."""

    def __init__(self, entry, c_plan):
        self.entry = entry
        self._c = c_plan

    batch = property(lambda self: self._c.batch)
    max_len = property(lambda self: self._c.max_len)
    sm_count = property(lambda self: self._c.sm_count)
    num_splits = property(lambda self: self._c.num_splits)
    chunk = property(lambda self: self._c.chunk)
    workspace_bytes = property(lambda self: self._c.workspace_bytes)
    graph_safe = property(lambda self: bool(self._c.graph_safe))
    variant_index = property(lambda self: self._c.variant)

    @property
    def variant(self):
        """The launch variant's name ("split", "unsplit", ...; "" where the
        entry has one unnamed variant)."""
        return self.entry.variants[self._c.variant]

    def __repr__(self):
        return ("fd.Plan(entry=%r, variant=%r, batch=%d, max_len=%d, "
                "sm_count=%d, num_splits=%d, chunk=%d, workspace_bytes=%d%s)"
                % (self.entry.name, self.variant, self.batch, self.max_len,
                   self.sm_count, self.num_splits, self.chunk,
                   self.workspace_bytes,
                   ", graph_safe=True" if self.graph_safe else ""))
