// layering.model_cannot_include_report (layering_tests.cmake; only with ACTLENS_WITH_TORCH): built
// as a file of model/ is, this must NOT compile: model/ hands its results to the CLI, which writes
// them; it never sees report/ ("actlens/report/writers.hpp: No such file or directory"). The rest
// is model_includes_io.cpp, which must compile (the control).
#include "actlens/report/writers.hpp"  // first: the compiler stops at it (before LibTorch's headers)

#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/hooks.hpp"
