#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "actlens/core/error.hpp"

namespace actlens::io {

InputFile::InputFile(const std::filesystem::path& path, const std::string& kind,
                     std::string truncated)
    : path_(path), truncated_(std::move(truncated)) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(path.string() + ": no such file; check the path");
    throw Error(path.string() + ": cannot open (" + std::strerror(err) + "); check permissions");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(path.string() + ": not a regular file; give the path of " + kind);
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)),
      truncated_(std::move(other.truncated_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    truncated_ = std::move(other.truncated_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read(std::uint64_t offset, void* dst, std::size_t len) const {
  if (read_up_to(offset, dst, len) < len) throw Error(path_.string() + ": " + truncated_);
}

std::size_t InputFile::read_up_to(std::uint64_t offset, void* dst, std::size_t len) const {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n =
        ::pread(fd_, out + done, std::min<std::size_t>(len - done, std::size_t{1} << 30),
                static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      throw Error(path_.string() + ": cannot read (" + std::strerror(err) +
                  "); check the file and the disk");
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace actlens::io
