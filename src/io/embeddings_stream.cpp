// The bytes of an embeddings file, plain (pread) or gzip (zlib), and the buffered reader over
// them. See embeddings_detail.hpp.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "actlens/error.hpp"
#include "embeddings_detail.hpp"
#include "input_file.hpp"

namespace actlens::io::embeddings_detail {

namespace fs = std::filesystem;

// Bytes of a file, plain (pread) or gzip (zlib), read front to back.

class ByteSource {
 public:
  explicit ByteSource(const fs::path& path)
      : file_(path, "an embeddings file (GloVe/word2vec text or binary)") {
    unsigned char magic[2] = {0, 0};
    if (file_.read_up_to(0, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      // The descriptor already checked to be a regular file (not the path again: it may have
      // been replaced by a FIFO or a device since).
      const int fd = ::dup(file_.fd());
      if (fd >= 0) gz_ = gzdopen(fd, "rb");
      if (gz_ == nullptr) {
        if (fd >= 0) ::close(fd);
        throw Error(path.string() + ": cannot open the gzip stream; check the file");
      }
      gzbuffer(gz_, 1u << 17);
    }
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource() {
    if (gz_ != nullptr) gzclose(gz_);
  }

  const fs::path& path() const { return file_.path(); }
  bool compressed() const { return gz_ != nullptr; }

  // Up to n bytes; 0 at the end.
  std::size_t read(char* dst, std::size_t n) {
    if (gz_ == nullptr) {
      const std::size_t got = file_.read_up_to(pos_, dst, n);
      pos_ += got;
      return got;
    }
    const int want = static_cast<int>(std::min<std::size_t>(n, std::size_t{1} << 30));
    const int got = gzread(gz_, dst, static_cast<unsigned>(want));
    if (got < 0) gz_fail();
    if (got == 0) {  // the end, or a stream cut short (zlib: "unexpected end of file")
      int err = Z_OK;
      gzerror(gz_, &err);
      if (err != Z_OK) gz_fail();
    }
    pos_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }

  // Skips n bytes; false when the data ends first (then everything was skipped).
  bool skip(std::uint64_t n) {
    if (gz_ == nullptr) {
      if (pos_ + n > file_.size()) {
        pos_ = file_.size();
        return false;
      }
      pos_ += n;
      return true;
    }
    std::vector<char> sink(std::min<std::uint64_t>(n, kBufferSize));
    while (n > 0) {
      const std::size_t got = read(sink.data(), std::min<std::uint64_t>(n, sink.size()));
      if (got == 0) return false;
      n -= got;
    }
    return true;
  }

 private:
  [[noreturn]] void gz_fail() {
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    throw Error(file_.path().string() + ": damaged or truncated gzip data (" +
                (msg != nullptr ? msg : "zlib error") + "); re-download or re-compress the file");
  }

  InputFile file_;
  gzFile gz_ = nullptr;
  std::uint64_t pos_ = 0;
};

Reader::Reader(const fs::path& path)
    : src_(std::make_unique<ByteSource>(path)), buf_(kBufferSize) {}

Reader::~Reader() = default;

const fs::path& Reader::path() const {
  return src_->path();
}

bool Reader::compressed() const {
  return src_->compressed();
}

std::size_t Reader::fill(std::size_t n) {
  if (end_ - begin_ >= n || eof_) return end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() < n) buf_.resize(std::max(n, buf_.size() * 2));
  while (end_ < n && !eof_) {
    const std::size_t got = src_->read(buf_.data() + end_, buf_.size() - end_);
    if (got == 0) eof_ = true;
    end_ += got;
  }
  return end_ - begin_;
}

bool Reader::skip(std::uint64_t n) {
  if (n <= available()) {
    consume(static_cast<std::size_t>(n));
    return true;
  }
  n -= available();
  begin_ = end_ = 0;
  return src_->skip(n);
}

bool Reader::next_line(std::string_view& line) {
  std::size_t scanned = 0;
  for (;;) {
    const char* start = buf_.data() + begin_;
    const std::size_t avail = end_ - begin_;
    const void* nl =
        avail > scanned ? std::memchr(start + scanned, '\n', avail - scanned) : nullptr;
    if (nl != nullptr || (eof_ && avail > 0)) {
      const std::size_t len =
          nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : avail;
      line = std::string_view(start, len);
      begin_ += nl != nullptr ? len + 1 : len;
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return true;
    }
    if (eof_) return false;
    scanned = avail;
    if (avail >= kMaxLine)
      throw Error(name() + ": line " + std::to_string(line_no_ + 1) +
                  " is longer than 64 MiB; this is not a GloVe/word2vec text file");
    fill(avail + 1);
  }
}

}  // namespace actlens::io::embeddings_detail
