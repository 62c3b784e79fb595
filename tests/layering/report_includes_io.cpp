// Positive control (layering.report_can_include_io, layering_tests.cmake): built as a file of
// report/ is (include dirs of actlens_report + src/report), it must compile: report/ sees its own
// headers, io's and core's. Also keeps the *_includes_report.cpp tests honest: writers.hpp exists.
#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/report/writers.hpp"
