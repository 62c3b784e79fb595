#include "actlens/report/output_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/report/interrupt.hpp"

namespace actlens::report {
namespace fs = std::filesystem;

namespace {

std::vector<fs::path>& inputs() {
  static std::vector<fs::path> v;
  return v;
}

fs::path canonical_or_absolute(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  if (ec) c = fs::absolute(p, ec).lexically_normal();
  return c;
}

// True when `inner` is `outer` or lies below it (both canonical).
bool is_within(const fs::path& inner, const fs::path& outer) {
  const fs::path rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

fs::path parent_of(const fs::path& target) {
  return target.has_parent_path() ? target.parent_path() : fs::path(".");
}

// The PID at the end of `.NAME.tmp-PID` / `.NAME.old-PID`, or -1.
long pid_suffix(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return -1;
  const std::string digits = name.substr(prefix.size());
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stol(digits);
}

// Every entry under `dir` that is not a folder, relative, '/'-separated.
std::vector<std::string> list_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
    out.push_back(fs::relative(it->path(), dir, ec).generic_string());
  }
  if (ec) throw Error(dir.string() + ": cannot list the folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

// The files a committed run lists in its marker; throws UsageError when there is no readable
// marker.
std::set<std::string> marker_files(const fs::path& target, const std::string& flag) {
  const fs::path marker = target / kRunMarker;
  std::error_code ec;
  if (!fs::is_regular_file(marker, ec)) {
    const bool old = fs::exists(target / "run.json", ec);
    throw UsageError(flag + " " + target.string() +
                     (old ? ": holds a result without actlens' " + std::string(kRunMarker) +
                                " file list (an older actlens, or edited by hand), so actlens "
                                "cannot tell its files from yours; delete the folder yourself or "
                                "choose a new one"
                          : ": folder exists and is not an actlens result; choose a new folder or "
                            "empty it"));
  }
  nlohmann::json j;
  const auto size = fs::file_size(marker, ec);
  if (!ec && size < (std::uintmax_t{64} << 20)) {
    std::string text(static_cast<std::size_t>(size), '\0');
    if (FILE* f = std::fopen(marker.c_str(), "rb")) {
      const std::size_t got = std::fread(text.data(), 1, text.size(), f);
      std::fclose(f);
      text.resize(got);
      j = nlohmann::json::parse(text, nullptr, false);
    }
  }
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array())
    throw UsageError(flag + " " + target.string() + ": its " + kRunMarker +
                     " is damaged, so actlens cannot tell its files from yours; delete the folder "
                     "yourself or choose a new one");
  std::set<std::string> files;
  for (const auto& f : j["files"])
    if (f.is_string()) files.insert(f.get<std::string>());
  return files;
}

// Throws UsageError unless replacing `target` would delete only files an actlens run wrote.
void check_replaceable(const fs::path& target, const std::string& flag) {
  std::error_code ec;
  const auto st = fs::symlink_status(target, ec);
  if (ec || !fs::exists(st)) return;
  if (!fs::is_directory(st))
    throw UsageError(flag + " " + target.string() + ": exists and is not a folder");
  if (fs::is_empty(target, ec)) return;
  const std::set<std::string> ours = marker_files(target, flag);
  std::vector<std::string> foreign;
  for (const auto& f : list_files(target))
    if (f != kRunMarker && !ours.count(f)) foreign.push_back(f);
  if (!foreign.empty())
    throw UsageError(flag + " " + target.string() + ": holds " + foreign.front() +
                     (foreign.size() > 1
                          ? " and " + std::to_string(foreign.size() - 1) + " more file(s)"
                          : std::string()) +
                     " that this actlens run did not write; move them away or choose a new "
                     "folder (nothing was replaced)");
}

// With the lock held nobody else writes beside `target`: staging folders there belong to runs
// that died (kill -9, power loss). A `.NAME.old-PID` with no target is the previous result,
// hidden by a kill between the two renames of commit(): it is put back.
void clean_leftovers(const fs::path& target) {
  const fs::path parent = parent_of(target);
  const std::string name = target.filename().string();
  const std::string tmp_prefix = "." + name + ".tmp-", old_prefix = "." + name + ".old-";
  std::vector<fs::path> stale, old;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (pid_suffix(entry, tmp_prefix) >= 0) stale.push_back(it->path());
    if (pid_suffix(entry, old_prefix) >= 0) old.push_back(it->path());
  }
  for (const auto& p : stale) {
    fs::remove_all(p, ec);
    spdlog::debug("removed {} (left by a run that was killed)", p.string());
  }
  if (!old.empty() && !fs::exists(fs::symlink_status(target, ec))) {
    fs::rename(old.front(), target, ec);
    if (!ec) {
      spdlog::warn(
          "{}: restored the earlier results from {} (a run was killed while replacing "
          "them)",
          target.string(), old.front().filename().string());
      old.erase(old.begin());
    }
  }
  for (const auto& p : old) fs::remove_all(p, ec);
}

}  // namespace

void protect_input(const fs::path& path) {
  if (path.empty()) return;
  const fs::path c = canonical_or_absolute(path);
  auto& v = inputs();
  if (std::find(v.begin(), v.end(), c) == v.end()) v.push_back(c);
}

const std::vector<fs::path>& protected_inputs() {
  return inputs();
}

void check_not_an_input(const fs::path& target, const std::string& flag) {
  const fs::path t = canonical_or_absolute(target);
  for (const auto& in : inputs()) {
    std::string why;
    if (t == in)
      why = "is an input of this run";
    else if (is_within(in, t))
      why = "holds " + in.string() + ", an input of this run";
    else if (is_within(t, in))
      why = "lies inside " + in.string() + ", an input of this run";
    if (!why.empty())
      throw UsageError(flag + " " + target.string() + ": " + why +
                       "; write the results to another folder");
  }
}

fs::path clean_output_path(const fs::path& target, const std::string& flag) {
  std::string s = target.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s.empty()) throw UsageError(flag + ": give an output folder");
  fs::path p(s);
  const std::string name = p.filename().string();
  if (name == "." || name == ".." || s == "/")
    throw UsageError(flag + " " + s + ": name the results folder itself (e.g. " + flag +
                     " results/run1), not . or .. or /");
  return p;
}

namespace {
void write_run_marker_list(const fs::path& dir, const std::string& command,
                           const std::vector<std::string>& files) {
  const nlohmann::json j = {{"tool", "actlens"},
                            {"command", command},
                            {"note",
                             "the files an actlens run wrote; actlens replaces this folder only "
                             "while it holds nothing else"},
                            {"files", files}};
  io::write_file_atomic(dir / kRunMarker, j.dump(1) + "\n");
}
}  // namespace

void write_run_marker(const fs::path& dir, const std::string& command) {
  std::vector<std::string> files;
  for (auto& f : list_files(dir))
    if (f != kRunMarker) files.push_back(std::move(f));
  write_run_marker_list(dir, command, files);
}

void refresh_run_marker_figures(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kRunMarker, ec)) return;
  const std::set<std::string> before = marker_files(dir, "run folder");
  nlohmann::json j = {{"tool", "actlens"}};
  std::vector<std::string> files;
  for (auto& f : list_files(dir))
    if (f != kRunMarker && (before.count(f) || f == "index.html" || f.rfind("figures/", 0) == 0))
      files.push_back(std::move(f));
  std::string command;
  {
    std::ifstream in(dir / kRunMarker);
    const auto old = nlohmann::json::parse(in, nullptr, false);
    if (old.is_object()) command = old.value("command", "");
  }
  write_run_marker_list(dir, command, files);
}

OutputLock::OutputLock(const fs::path& target) {
  const fs::path parent = parent_of(target);
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string() + ": cannot create output folder (" + ec.message() + ")");
  lock_path_ = parent / ("." + target.filename().string() + ".lock");
  for (int attempt = 0; attempt < 20; ++attempt) {
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(lock_path_.string() + ": cannot create the lock file (" + std::strerror(errno) +
                  "); check the output location");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(fd_);
      fd_ = -1;
      throw UsageError("--out " + target.string() + ": another actlens run" +
                       (holder.empty() ? std::string() : " (PID " + holder + ")") +
                       " is writing this folder; wait for it to finish or choose another --out");
    }
    // The holder before us may have removed the file after we opened it: then our lock is on a
    // file nobody else will look at; start again on the one at the path.
    struct stat a {
    }, b{};
    if (::fstat(fd_, &a) == 0 && ::stat(lock_path_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
  throw Error(lock_path_.string() + ": cannot take the lock (the file keeps changing)");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still holding it: see the inode check above
  ::close(fd_);
}

namespace {
// Checked before the lock file is created beside it, which must not happen inside an input.
fs::path checked_target(const fs::path& target) {
  fs::path t = clean_output_path(target);
  check_not_an_input(t);
  return t;
}
}  // namespace

OutputDir::OutputDir(fs::path target, std::string command)
    : target_(checked_target(target)), command_(std::move(command)), lock_(target_) {
  clean_leftovers(target_);
  check_replaceable(target_, "--out");
  std::error_code ec;
  staging_ = parent_of(target_) /
             ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
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

void OutputDir::commit(bool keep_interrupted) {
  if (!keep_interrupted) {
    signal_test_point("commit");
    check_interrupted();
  }
  check_not_an_input(target_);  // inputs found while running count too
  check_replaceable(target_, "--out");
  write_run_marker(staging_, command_);
  if (!keep_interrupted) check_interrupted();
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(target_, ec))) {
    old = parent_of(target_) /
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
