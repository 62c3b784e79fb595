// Positive control of layering.io_cannot_include_report (layering_tests.cmake): built as a file of
// io/ is (include dirs of actlens_io + src/io), it must compile: io/ sees its own headers and
// core's (it links actlens_core). Also keeps core_includes_io.cpp honest: npy.hpp exists.
#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
