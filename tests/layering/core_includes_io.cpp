// layering.core_cannot_include_io (layering_tests.cmake): built as a file of core/ is, this must
// NOT compile: core/ is pure numerics and sees no io/ header ("actlens/io/npy.hpp: No such file
// or directory"). The rest is core_includes_core.cpp, which must compile (the control).
// npy.hpp is one of io_includes_core.cpp's includes: were it renamed, that control would fail
// rather than this test pass for a header that no longer exists.
#include "actlens/io/npy.hpp"  // first: the compiler stops at it

#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
