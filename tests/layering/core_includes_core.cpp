// Positive control of layering.core_cannot_include_io (layering_tests.cmake): built as a file of
// core/ is (include dirs of actlens_core + src/core), it must compile. So when
// core_includes_io.cpp, the same includes plus one io header, fails to, the io header is why.
#include "actlens/core/finite.hpp"  // its own layer
#include "actlens/error.hpp"        // the top-level headers (actlens_base): every layer
