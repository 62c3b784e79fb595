#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "actlens/error.hpp"

namespace actlens::io {

InputFile::InputFile(const std::filesystem::path& path, const std::string& kind,
                     std::string truncated)
    : path_(path), truncated_(std::move(truncated)) {
  // O_NONBLOCK: open() of a FIFO would otherwise wait forever for a writer. Only regular files
  // pass the fstat below, and for them the flag is cleared again.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(path.string() + ": no such file; check the path");
    if (err == ENOTDIR)
      throw Error(path.string() +
                  ": no such file (a part of the path is not a folder); check "
                  "the path");
    throw Error(path.string() + ": cannot open (" + std::strerror(err) + "); check permissions");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    const char* is = S_ISDIR(st.st_mode)                          ? " (it is a folder)"
                     : S_ISFIFO(st.st_mode)                       ? " (it is a pipe)"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? " (it is a device)"
                     : S_ISSOCK(st.st_mode)                       ? " (it is a socket)"
                                                                  : "";
    throw Error(path.string() + ": not a regular file" + is + "; give the path of " + kind);
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(path.string() + ": cannot open (" + std::strerror(err) + "); check the file");
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
