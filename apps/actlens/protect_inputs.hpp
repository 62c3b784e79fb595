#pragma once
// Every existing file or folder named on the command line (other than the --out/-o value) is an
// input of the run: report::OutputDir refuses an --out that is, holds or lies inside one, so that
// `pca --activations CAP --out CAP` or `dbscan --on T --out T` cannot replace what they read.
#include <string>
#include <vector>

namespace actlens::cli {

// `args`: the command line after --config expansion (args[0] is the program).
void protect_named_inputs(const std::vector<std::string>& args);

}  // namespace actlens::cli
