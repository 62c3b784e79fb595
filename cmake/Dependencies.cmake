# All third-party packages come from Debian (installed by scripts/setup):
#   Eigen3 (libeigen3-dev)           dense linear algebra; products go to BLAS (EIGEN_USE_BLAS)
#   OpenBLAS + LAPACK                 dsyrk/dpotrf/dsyevd for scatter matrices and eigenproblems
#   OpenMP                            threads for conversion and per-row work
#   nlohmann_json (nlohmann-json3-dev) JSON in and out
#   CLI11 (libcli11-dev)              command line
#   spdlog (libspdlog-dev)            logging in the CLI layer
#   tomlplusplus (libtomlplusplus-dev) TOML run configs
#   ZLIB (zlib1g-dev)                 deflated entries of .npz archives
#   PCRE2 (libpcre2-dev)              Unicode regex of the GPT-2 tokenizer (found with pkg-config)
#   Catch2 v2 (catch2)                tests
#   LibTorch (libtorch-dev)           model/: GPT-2 forward pass on CPU (a CUDA build uses PyPI
#                                     torch's LibTorch instead: scripts/build-cuda); not needed
#                                     with -DACTLENS_WITH_TORCH=OFF
#   oneDNN (libdnnl-dev)              dnnl_sgemm for float32 CPU matrix products in model/
#   xxHash (libxxhash-dev)            content hashes of inputs (capture's cache keys)
#   Spectra (libspectra-dev)          Lanczos eigensolver for top-k PCA without a D x D matrix
#   Boost.Math (libboost-math-dev)    Student's t, beta and normal distributions for p-values
#   nanoflann (libnanoflann-dev)      KD-tree radius/neighbour search (DBSCAN)
#   FFTW3 (libfftw3-dev)              FFTs of the interpolation-based (FIt-SNE) t-SNE gradient
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenMP REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(spectra REQUIRED CONFIG PATHS /usr/share/spectra/cmake)
find_package(Boost 1.74 REQUIRED)
find_package(nanoflann REQUIRED CONFIG PATHS /usr/share/nanoflann/cmake)
# Debian's PCRE2 ships no CMake config, only a pkg-config file.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3)

# LibTorch: Debian's CPU build by default; CMAKE_PREFIX_PATH=$(python -c 'import torch;
# print(torch.utils.cmake_prefix_path)') selects PyPI's (CUDA) build, see scripts/build-cuda.
# Only model/ (and actlens-torch) use it and oneDNN: with ACTLENS_WITH_TORCH=OFF neither is looked
# for, so core, io, report and `actlens` build on a machine without libtorch-dev.
if(ACTLENS_WITH_TORCH)
  find_package(Torch REQUIRED)
  # oneDNN's sgemm is ~1.7x faster than the OpenBLAS 0.3.21 behind Debian's LibTorch on AVX-512
  # (measured 247 vs 148 GFLOP/s on 2 cores); without it model/ falls back to torch::addmm.
  find_path(ACTLENS_DNNL_INCLUDE dnnl.h)
  find_library(ACTLENS_DNNL_LIBRARY dnnl)
endif()

# BLAS/LAPACK: prefer Debian's OpenMP build of OpenBLAS (libopenblas-openmp-dev). It shares the
# OpenMP thread pool with our own parallel loops; the default pthreads build spins its threads in
# sched_yield between calls and fights them for the cores (measured: ~25% of the LDA time).
# The binary gets an RPATH to it, as the plain soname would resolve to the pthreads build.
find_library(ACTLENS_OPENBLAS_OPENMP NAMES openblas
             PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
if(ACTLENS_OPENBLAS_OPENMP)
  message(STATUS "BLAS/LAPACK: OpenBLAS (OpenMP build) ${ACTLENS_OPENBLAS_OPENMP}")
  add_library(actlens_blas INTERFACE)
  target_link_libraries(actlens_blas INTERFACE ${ACTLENS_OPENBLAS_OPENMP})
  set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
  return()
endif()
set(BLA_VENDOR OpenBLAS)
find_package(BLAS)
find_package(LAPACK)
if(NOT BLAS_FOUND OR NOT LAPACK_FOUND)
  unset(BLA_VENDOR)
  find_package(BLAS REQUIRED)
  find_package(LAPACK REQUIRED)
endif()
add_library(actlens_blas INTERFACE)
target_link_libraries(actlens_blas INTERFACE ${LAPACK_LIBRARIES} ${BLAS_LIBRARIES})
