// Atomic output: write a temporary beside the target, fsync it, rename it over the target. A
// small streambuf over a POSIX descriptor is used instead of std::ofstream because fsync needs
// the descriptor and std::ofstream does not expose it.
#include "actlens/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <streambuf>
#include <string>
#include <system_error>
#include <vector>

#include "actlens/error.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;

// Buffered writes to a descriptor; remembers the first errno so the caller can report it.
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  FdStreamBuf(const FdStreamBuf&) = delete;
  FdStreamBuf& operator=(const FdStreamBuf&) = delete;

  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
    return ch;
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    // Large blocks (tensor data) go straight to the descriptor instead of through the buffer.
    if (n >= static_cast<std::streamsize>(buffer_.size())) {
      if (!flush_buffer() || !write_all(s, static_cast<std::size_t>(n))) return 0;
      return n;
    }
    return std::streambuf::xsputn(s, n);
  }

  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const auto n = static_cast<std::size_t>(pptr() - pbase());
    if (n > 0 && !write_all(pbase(), n)) return false;
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return true;
  }

  bool write_all(const char* p, std::size_t n) {
    if (error_ != 0) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

// Owns the temporary until commit(): the destructor closes and removes it on every error path.
class TempFile {
 public:
  explicit TempFile(const fs::path& target)
      : target_(target), tmp_(target.string() + ".tmp-" + std::to_string(::getpid())) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) fail("cannot create temporary file " + tmp_.string(), errno);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }

  int fd() const { return fd_; }

  void commit() {
    if (::fsync(fd_) != 0) fail("cannot write", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot write", errno);
    if (::rename(tmp_.c_str(), target_.c_str()) != 0)
      fail("cannot rename temporary into place", errno);
    committed_ = true;
    sync_parent_dir();
  }

  [[noreturn]] void fail(const std::string& what, int err) const {
    throw Error(target_.string() + ": " + what + " (" + std::strerror(err) +
                "); check the output location (permissions, free space)");
  }

 private:
  // Makes the rename itself durable; best effort, as some filesystems refuse fsync on folders.
  void sync_parent_dir() const {
    const fs::path dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;
    (void)::fsync(dfd);
    ::close(dfd);
  }

  fs::path target_;
  fs::path tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void create_parent_dirs(const fs::path& path) {
  if (!path.has_parent_path()) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    throw Error(path.string() + ": cannot create folder " + path.parent_path().string() + " (" +
                ec.message() + "); check the output location");
  }
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  if (path.empty()) throw Error("output path is empty; give a file name");
  create_parent_dirs(path);
  TempFile tmp(path);
  FdStreamBuf buf(tmp.fd());
  std::ostream out(&buf);
  try {
    write(out);
  } catch (const Error&) {
    throw;  // already names the file (writers prefix their messages with it)
  } catch (const std::exception& e) {
    throw Error(path.string() + ": writing failed (" + e.what() + ")");
  }
  out.flush();
  if (buf.error() != 0) tmp.fail("cannot write", buf.error());
  if (!out) tmp.fail("cannot write", EIO);
  tmp.commit();
}

void write_file_atomic(const fs::path& path, std::string_view contents) {
  write_file_atomic(path, [contents](std::ostream& out) {
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  });
}

}  // namespace actlens::io
