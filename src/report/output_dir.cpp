#include "actlens/report/output_dir.hpp"

#include <unistd.h>

#include <string>

#include "actlens/core/error.hpp"

namespace actlens::report {
namespace fs = std::filesystem;

OutputDir::OutputDir(fs::path target) : target_(std::move(target)) {
  std::error_code ec;
  if (target_.empty()) throw UsageError("--out: give an output folder");
  if (fs::exists(target_, ec)) {
    if (!fs::is_directory(target_, ec))
      throw UsageError("--out " + target_.string() + ": exists and is not a folder");
    if (!fs::is_empty(target_, ec) && !fs::exists(target_ / "run.json", ec))
      throw UsageError("--out " + target_.string() +
                       ": folder exists and is not an actlens result (no run.json); choose a new "
                       "folder or empty it");
  }
  const fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string() + ": cannot create output folder (" + ec.message() + ")");
  staging_ = parent / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  fs::create_directories(staging_, ec);
  if (ec) throw Error(staging_.string() + ": cannot create folder (" + ec.message() + ")");
}

OutputDir::~OutputDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void OutputDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(target_, ec)) {
    old = staging_.parent_path() /
          ("." + target_.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(target_, old, ec);
    if (ec)
      throw Error(target_.string() + ": cannot replace earlier results (" + ec.message() + ")");
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, target_, ec);
    throw Error(target_.string() + ": cannot move results into place (" + ec.message() + ")");
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace actlens::report
