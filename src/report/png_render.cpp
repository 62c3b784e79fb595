// --png: one headless Chromium process per figure page (`--screenshot`), with a private
// profile folder and a time limit, so a hung browser cannot hang the analysis.
#include "actlens/report/png_render.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "actlens/error.hpp"

extern char** environ;

namespace actlens::report {
namespace fs = std::filesystem;

std::optional<fs::path> find_chromium() {
  if (const char* env = std::getenv("ACTLENS_CHROMIUM"); env && *env) {
    if (fs::exists(env)) return fs::path(env);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    for (const char* name :
         {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
      const fs::path p = fs::path(dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return std::nullopt;
}

namespace {

std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

namespace {

// One Chromium run; false when it hangs past `limit` (Chromium's --screenshot occasionally never
// exits: about one run in twenty here) or fails. `why` gets its last output line.
bool render_once(const fs::path& chromium, const fs::path& html, const fs::path& tmp_png,
                 const fs::path& profile, const fs::path& log, int width, int height,
                 std::chrono::seconds limit, std::string& why) {
  std::vector<std::string> args = {
      chromium.string(), "--headless", "--no-sandbox", "--disable-dev-shm-usage",
      // WebGL (3-D scatters) on the CPU: Chromium's SwiftShader.
      "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--hide-scrollbars",
      "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
      "--virtual-time-budget=20000", "--user-data-dir=" + profile.string(),
      "--window-size=" + std::to_string(width) + "," + std::to_string(height),
      "--screenshot=" + tmp_png.string(), "file://" + fs::absolute(html).string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: kill all on timeout
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, chromium.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error("--png: cannot run " + chromium.string() + ": " + std::strerror(rc));
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      why = "no answer within " + std::to_string(limit.count()) + " s";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);  // helper processes it may have left behind
  why = last_line(log);
  std::error_code ec;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::exists(tmp_png, ec) &&
         fs::file_size(tmp_png, ec) > 0;
}

}  // namespace

void render_png(const fs::path& chromium, const fs::path& html, const fs::path& png, int width,
                int height) {
  const std::string tag = ".tmp-" + std::to_string(::getpid());
  const fs::path tmp_png = png.string() + tag + ".png";
  const fs::path profile = png.parent_path() / ("chromium-profile" + tag);
  const fs::path log = png.parent_path() / ("chromium" + tag + ".log");
  std::error_code ec;
  auto cleanup = [&] {
    fs::remove_all(profile, ec);
    fs::remove(log, ec);
    fs::remove(tmp_png, ec);
  };
  std::string why;
  bool ok = false;
  for (int attempt = 0; attempt < 3 && !ok; ++attempt) {
    try {
      ok = render_once(chromium, html, tmp_png, profile, log, width, height,
                       std::chrono::seconds(40), why);
    } catch (...) {
      cleanup();
      throw;
    }
    if (!ok) fs::remove_all(profile, ec);
  }
  if (!ok) {
    cleanup();
    throw Error("--png: Chromium could not render " + png.filename().string() + " (" + why +
                ", 3 tries); the HTML figures are kept");
  }
  fs::rename(tmp_png, png, ec);
  if (ec) {
    cleanup();
    throw Error(png.string() + ": cannot write it: " + ec.message());
  }
  cleanup();
}

}  // namespace actlens::report
