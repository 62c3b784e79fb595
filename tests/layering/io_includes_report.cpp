// layering.io_cannot_include_report (layering_tests.cmake): built as a file of io/ is, this must
// NOT compile: report/ sits above io/ ("actlens/report/writers.hpp: No such file or directory").
// The rest is io_includes_core.cpp, which must compile (the control); report_includes_io.cpp
// shows that writers.hpp itself exists and compiles.
#include "actlens/report/writers.hpp"  // first: the compiler stops at it

#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
