// The libFuzzer build of fuzz_config compiles apps/actlens/cli_common.cpp for its --config reader
// but not report/ (figures, run.json), which the rest of that file calls. These stand-ins satisfy
// the linker; fuzz_config never reaches them (each aborts, which would show as a finding). The
// replay build links the real report/ library instead.
#include <cstdio>
#include <cstdlib>

#include "actlens/report/figure.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/run_info.hpp"

namespace {
[[noreturn]] void not_in_fuzz_build(const char* what) {
  std::fprintf(stderr, "fuzz_config: %s is not part of the fuzz build\n", what);
  std::abort();
}
}  // namespace

namespace actlens::report {

PlotlySource parse_plotly_source(const std::string&, const std::string&) {
  not_in_fuzz_build("report::parse_plotly_source");
}
nlohmann::json draw_run_figures(const std::string&, const std::filesystem::path&,
                                const std::string&, const FigureOptions&) {
  not_in_fuzz_build("report::draw_run_figures");
}
void RunInfo::start(const std::string&) {
  not_in_fuzz_build("report::RunInfo::start");
}
void RunInfo::stop(const std::string&) {
  not_in_fuzz_build("report::RunInfo::stop");
}

}  // namespace actlens::report
