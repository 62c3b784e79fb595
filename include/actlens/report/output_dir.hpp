#pragma once
// A results folder that appears whole or not at all, and never costs a file actlens did not
// write.
//
// - Files are written into a staging folder beside the target (`.NAME.tmp-PID`); commit() swaps
//   it into place. Destroyed without commit(), the staging folder is removed, so an error or a
//   Ctrl-C never leaves partial results (commit() itself refuses once a signal has arrived).
// - Every committed folder holds a marker, `.actlens.json`: the command and the list of files it
//   wrote. An existing target is replaced only when it is empty or holds exactly such a run (no
//   foreign file beside it); never when it is, holds or lies inside an input of the same run.
// - A lock file beside the target (`.NAME.lock`, flock) keeps two runs from writing one folder;
//   while holding it, staging folders of killed runs are removed, and a result hidden by a kill
//   between the two renames of commit (`.NAME.old-PID` with no target) is put back.
#include <filesystem>
#include <string>
#include <vector>

namespace actlens::report {

// The marker's file name inside every committed results folder.
inline constexpr const char* kRunMarker = ".actlens.json";

// Inputs of this run (files or folders): an --out equal to one, holding one or inside one is
// refused. main() registers every existing path named on the command line; commands may add
// more (e.g. files found inside an input folder).
void protect_input(const std::filesystem::path& path);
// The registered inputs, canonical.
const std::vector<std::filesystem::path>& protected_inputs();

// An exclusive lock on an output location, held for the object's lifetime. Throws UsageError
// naming --out and the holder's PID when another process holds it.
class OutputLock {
 public:
  explicit OutputLock(const std::filesystem::path& target);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::filesystem::path lock_path_;
  int fd_ = -1;
};

// Throws UsageError when `target` is, holds or is inside a protected input.
void check_not_an_input(const std::filesystem::path& target, const std::string& flag = "--out");

// `target` without trailing separators ("res/" -> "res"); UsageError when empty.
std::filesystem::path clean_output_path(const std::filesystem::path& target,
                                        const std::string& flag = "--out");

// Writes (atomically) `dir`/.actlens.json listing every file under `dir`, for `command`.
void write_run_marker(const std::filesystem::path& dir, const std::string& command);

// After `actlens report` re-drew the figures of a committed run: the marker lists the new
// figures/ files and index.html (and drops files that are gone). No-op without a marker.
void refresh_run_marker_figures(const std::filesystem::path& dir);

class OutputDir {
 public:
  // Locks the target, cleans what killed runs left beside it, and refuses (UsageError) a target
  // that is not a folder, holds files actlens did not write, or overlaps an input.
  // `command` names the run in the marker.
  explicit OutputDir(std::filesystem::path target, std::string command = "");
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // Where to write now (the staging folder).
  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  // Writes the marker and atomically replaces `target` with the staged results. Throws
  // Interrupted (nothing replaced) when Ctrl-C/SIGTERM arrived before, unless
  // `keep_interrupted`: a run that turns Ctrl-C into "stop early and keep what was done" (train).
  void commit(bool keep_interrupted = false);

 private:
  std::filesystem::path target_, staging_;
  std::string command_;
  OutputLock lock_;
  bool committed_ = false;
};

}  // namespace actlens::report
