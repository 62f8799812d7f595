/*===- Export.h - Symbols exported by libfd_runtime.so -------------*- C -*-===*
 *
 * libfd_runtime.so is compiled with hidden visibility, so only declarations
 * marked FD_RT_API (the C API and the public fd::rt API) are exported. The
 * static library is compiled with default visibility and needs no marking;
 * FD_RT_API is then empty, so a program that links it into its own shared
 * library does not re-export the runtime. FD_RUNTIME_SHARED is defined by
 * the fd_runtime_shared target for itself and for everything that links it:
 * code compiled with -fvisibility=hidden against the shared library must see
 * these declarations as default-visibility too, or it would reference them
 * as hidden and fail to link. C and C++ (fd_runtime.h includes it).
 *
 *===----------------------------------------------------------------------===*/

#ifndef FD_RUNTIME_EXPORT_H
#define FD_RUNTIME_EXPORT_H

#if defined(FD_RUNTIME_SHARED) && (defined(__GNUC__) || defined(__clang__))
#define FD_RT_API __attribute__((visibility("default")))
#else
#define FD_RT_API
#endif

#endif /* FD_RUNTIME_EXPORT_H */
