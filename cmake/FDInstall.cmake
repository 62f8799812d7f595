# What `cmake --install` writes: the public headers (the generated .inc
# included), the libraries as exported targets FD::* with their link
# dependencies, the tools, and lib/cmake/fd/FDConfig.cmake. Included last by
# the top-level CMakeLists.txt, in both builds: the runtime-only build
# (FD_ENABLE_COMPILER=OFF) installs a package with the runtime alone.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/fd)
set(FD_EXPORTED_TARGETS)

# The runtime: its headers need cuda.h's types only (CUDA::toolkit's include
# directory); libcuda is opened at run time, never linked.
foreach(t fd_runtime fd_runtime_shared)
  set_property(TARGET ${t} PROPERTY INTERFACE_INCLUDE_DIRECTORIES
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
    "$<BUILD_INTERFACE:${CUDAToolkit_INCLUDE_DIRS}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  target_link_libraries(${t} INTERFACE $<INSTALL_INTERFACE:CUDA::toolkit>)
endforeach()
set_target_properties(fd_runtime_shared PROPERTIES EXPORT_NAME Runtime)
set_target_properties(fd_runtime PROPERTIES EXPORT_NAME RuntimeStatic)
list(APPEND FD_EXPORTED_TARGETS fd_runtime_shared fd_runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fd/Runtime
                  ${PROJECT_SOURCE_DIR}/include/fd/Bundle
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fd)
set(FD_INSTALLED_TOOLS)
foreach(t fd-run fd-calibrate)
  if(TARGET ${t})
    list(APPEND FD_INSTALLED_TOOLS ${t})
  endif()
endforeach()

if(FD_ENABLE_COMPILER)
  # EXPORT_NAME: FD::Dialect, FD::Transforms, ... The libraries link
  # libMLIR.so and libLLVM.so (MLIR_LINK_MLIR_DYLIB); FDConfig finds that
  # MLIR again, so a consumer gets both without naming them.
  foreach(pair FDDialect:Dialect FDTransforms:Transforms
               FDConversion:Conversion FDPipelines:Pipelines
               FDTargetBundle:Target FDInitAll:InitAll)
    string(REPLACE ":" ";" pair ${pair})
    list(GET pair 0 t)
    list(GET pair 1 name)
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
    target_include_directories(${t} INTERFACE
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    # MLIR's imported targets carry no include directories (MLIRConfig sets
    # variables instead): the headers fd's headers include.
    foreach(dir ${MLIR_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
      target_include_directories(${t} INTERFACE $<INSTALL_INTERFACE:${dir}>)
    endforeach()
    target_link_libraries(${t} INTERFACE $<INSTALL_INTERFACE:LLVM>)
    list(APPEND FD_EXPORTED_TARGETS ${t})
  endforeach()
  # The compiler's headers, and those TableGen generated (.inc, .h.inc).
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fd
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          PATTERN "Harness" EXCLUDE
          PATTERN "Runtime" EXCLUDE
          PATTERN "CMakeLists.txt" EXCLUDE)
  install(DIRECTORY ${PROJECT_BINARY_DIR}/include/fd
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.inc"
          PATTERN "CMakeFiles" EXCLUDE)
  list(APPEND FD_INSTALLED_TOOLS fd-opt fd-compile)
  # The installed tools find libMLIR.so / libLLVM.so where they were linked
  # (Debian keeps them in /usr/lib/llvm-22/lib, off the loader's path).
  set_target_properties(fd-opt fd-compile PROPERTIES
    INSTALL_RPATH_USE_LINK_PATH ON)
endif()

install(TARGETS ${FD_EXPORTED_TARGETS} EXPORT FDTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${FD_INSTALLED_TOOLS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT FDTargets NAMESPACE FD:: DESTINATION ${FD_INSTALL_CMAKEDIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/FDConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/FDConfig.cmake
  INSTALL_DESTINATION ${FD_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/FDConfigVersion.cmake
  VERSION 0.1.0 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/FDConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/FDConfigVersion.cmake
        DESTINATION ${FD_INSTALL_CMAKEDIR})
