"""The ctypes mirrors (fd/_capi.py) against fd_runtime.h.

Two checks, because either alone can be fooled. The header's struct bodies
are read and compared field by field (name, C type, array length) with the
mirrors: a field added, removed, renamed or retyped in the header fails here
on any machine. Then, where a C compiler exists (the build machine; the GPU
host may have none, and the test says it skipped), a program compiled from
the header prints sizeof and offsetof of every field, which must equal
ctypes' layout: the check that ctypes and the C compiler agree.
"""

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from fd import _capi
from _env import header_path, include_dir

_C_TYPES = {"int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32,
            "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
            "double": ctypes.c_double, "float": ctypes.c_float,
            "void *": ctypes.c_void_p, "const char *": ctypes.c_char_p,
            "char": ctypes.c_char}


def read_header():
    with open(header_path()) as f:
        text = f.read()
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def header_structs(text):
    """{name: [(field, C type, array length or None)]} of the header's
    `typedef struct name { ... } name;` definitions."""
    structs = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", text,
                                 flags=re.S):
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            m = re.match(r"((?:const )?\w+)\s*(.*)", decl)
            base, declarators = m.group(1), m.group(2)
            for d in declarators.split(","):
                d = d.strip()
                pointer = d.startswith("*")
                d = d.lstrip("* ")
                a = re.match(r"(\w+)(?:\[(\d+)\])?$", d)
                ctype = base + (" *" if pointer else "")
                fields.append((a.group(1), ctype,
                               int(a.group(2)) if a.group(2) else None))
        structs[name] = fields
    return structs


def describe(ctype):
    """(C type name, array length) of a ctypes field type."""
    length = None
    if issubclass(ctype, ctypes.Array):
        length, ctype = ctype._length_, ctype._type_
    for name, t in _C_TYPES.items():
        if ctype is t:
            return name, length
    # POINTER(T): the header's pointers to structs are all inputs, so const.
    if issubclass(ctype, ctypes._Pointer):
        return "const %s *" % describe(ctype._type_)[0], length
    return ctype.__name__, length


class LayoutTest(unittest.TestCase):
    def test_fields_match_the_header(self):
        structs = header_structs(read_header())
        for mirror in _capi.STRUCTS:
            with self.subTest(struct=mirror.__name__):
                self.assertIn(mirror.__name__, structs)
                ours = [(n,) + describe(t) for n, t in mirror._fields_]
                self.assertEqual(ours, structs[mirror.__name__])

    def test_constants_match_the_header(self):
        text = read_header()
        for name, value in re.findall(r"FD_(OK|ERROR_\w+) = (\d+)", text):
            self.assertEqual(getattr(_capi, name), int(value), name)
        dtypes = {n.lower(): int(v)
                  for n, v in re.findall(r"FD_DTYPE_(\w+) = (\d+)", text)}
        self.assertEqual(dtypes, _capi.DTYPES)

    def test_sizes_and_offsets_compiled(self):
        cc = shutil.which(os.environ.get("CC", "cc"))
        if not cc:
            self.skipTest("no C compiler (cc or $CC) to compile fd_runtime.h "
                          "with; the field-by-field check still ran")
        lines = ['#include "fd/Runtime/fd_runtime.h"', "#include <stddef.h>",
                 "#include <stdio.h>", "int main(void) {"]
        expected = []
        for s in _capi.STRUCTS:
            n = s.__name__
            lines.append('printf("%s %%zu\\n", sizeof(%s));' % (n, n))
            expected.append("%s %d" % (n, ctypes.sizeof(s)))
            for field, _ in s._fields_:
                lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                             % (n, field, n, field))
                expected.append("%s.%s %d"
                                % (n, field, getattr(s, field).offset))
        lines += ["return 0;", "}"]
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "layout.c")
            exe = os.path.join(d, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            subprocess.run([cc, "-std=c99", "-I", include_dir(), src, "-o",
                            exe], check=True)
            out = subprocess.run([exe], check=True, capture_output=True,
                                 text=True).stdout.split("\n")
        self.assertEqual(out[:-1], expected)


if __name__ == "__main__":
    unittest.main()
