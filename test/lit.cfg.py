# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "fd"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "examples", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.fd_obj_root, "test")

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# fd's tools first, then LLVM's (FileCheck, not, mlir-runner).
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.fd_tools_dir, append_path=True)

config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
# The build tree, for the tests that install it (test/Embed).
config.substitutions.append(("%fd_obj_root", config.fd_obj_root))
# The runtime's shared library (lib/Runtime, target fd_runtime_shared): the
# tests of its exports and of the Python package load it.
config.substitutions.append(
    ("%fd_runtime_lib",
     os.path.join(config.fd_obj_root, "lib", "libfd_runtime.so.1")))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_c_runner_utils.so")))

# ptxas validates generated PTX where the CUDA toolkit is installed. Tests
# that need it say `REQUIRES: ptxas`; lit then reports them as UNSUPPORTED
# (visible in the summary), never as passed.
ptxas = shutil.which("ptxas", path=os.pathsep.join(
    [config.cuda_bin_dir, "/usr/local/cuda/bin", os.environ.get("PATH", "")]))
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# The GPU-host tools build only where the CUDA toolkit is (fd-bench also
# needs its compiler); their argument tests say `REQUIRES: fd-bench` etc.
for tool in ("fd-bench", "fd-tune"):
    if os.path.exists(os.path.join(config.fd_tools_dir, tool)):
        config.available_features.add(tool)

# GPU tests say `REQUIRES: gpu`. Without a usable GPU lit reports them as
# UNSUPPORTED (skipped, and counted as such), never as passed.
def find_gpu():
    import ctypes
    try:
        cuda = ctypes.CDLL(os.environ.get("FD_LIBCUDA", "libcuda.so.1"))
    except OSError as e:
        return "cannot load libcuda.so.1 (%s)" % e
    if cuda.cuInit(0) != 0:
        return "cuInit failed"
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        return "the driver reports no device"
    global gpu_count
    gpu_count = count.value
    return None

gpu_count = 0
gpu_problem = find_gpu()
if gpu_problem is None:
    config.available_features.add("gpu")
    # Multi-process tests say `REQUIRES: gpus-2` (or gpus-4): one GPU per
    # rank.
    for n in (2, 4, 8):
        if gpu_count >= n:
            config.available_features.add("gpus-%d" % n)
else:
    lit_config.note("no GPU: %s; tests that REQUIRE gpu are skipped "
                    "(UNSUPPORTED)" % gpu_problem)
config.substitutions.append(("%python", "python3"))

# Context-parallel tests say `REQUIRES: nccl`: FD_LIBNCCL when set, else
# the libnccl.so.2 of PyTorch's nvidia-nccl wheel, else the system's.
def find_nccl():
    import ctypes
    candidates = [os.environ.get("FD_LIBNCCL", "")]
    try:
        import importlib.util
        spec = importlib.util.find_spec("nvidia.nccl")
        if spec and spec.submodule_search_locations:
            for root in spec.submodule_search_locations:
                candidates.append(os.path.join(root, "lib", "libnccl.so.2"))
    except (ImportError, ValueError):
        pass
    candidates += ["libnccl.so.2", "/usr/local/cuda/lib64/libnccl.so.2"]
    for c in candidates:
        if not c:
            continue
        try:
            ctypes.CDLL(c)
            return c
        except OSError:
            continue
    return None

nccl_library = find_nccl()
if nccl_library:
    config.available_features.add("nccl")
    config.environment["FD_LIBNCCL"] = nccl_library
    config.environment["NCCL_NVLS_ENABLE"] = "0"
