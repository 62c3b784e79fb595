#pragma once
// A results folder that appears whole or not at all: files are written into a staging folder
// beside the target, and commit() swaps it into place. Destroyed without commit(), the staging
// folder is removed, so an error never leaves partial results.
#include <filesystem>

namespace actlens::report {

class OutputDir {
 public:
  // Refuses (actlens::UsageError) a target that exists, is not empty and is not an earlier
  // actlens result (no run.json), so that --out never clobbers unrelated files.
  explicit OutputDir(std::filesystem::path target);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // Where to write now (the staging folder).
  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  // Atomically replaces `target` with the staged results.
  void commit();

 private:
  std::filesystem::path target_, staging_;
  bool committed_ = false;
};

}  // namespace actlens::report
