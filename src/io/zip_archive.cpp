// A small ZIP reader (APPNOTE.TXT 6.3): enough for the archives numpy.savez and torch.save write.
// Every offset and size read from the file is checked against the file size before use, so a
// truncated or hostile archive gives an actlens::Error, never a read past a buffer. Entries may
// not overlap each other or the central directory (no writer does that; a crafted archive could
// make a tensor's bytes alias its pickle, or inflate one stream many times), and deflated entries
// are inflated into memory that grows with what the stream really produces, stopping at the
// first byte past the recorded size.
#include "actlens/io/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <unordered_map>

#include "actlens/error.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kEocd64Sig = 0x06064b50;
constexpr std::uint32_t kEocd64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kEocd64Size = 56;
constexpr std::size_t kEocd64LocatorSize = 20;
// The EOCD record plus the longest possible archive comment.
constexpr std::size_t kEocdSearch = kEocdSize + 0xFFFF;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
// Deflate cannot expand data by more than ~1032:1 (a 258-byte match per 2-bit code, at best);
// a larger claimed size is corrupt.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Inflated output grows by at least this much (and at most doubles) per step.
constexpr std::uint64_t kInflateStep = std::uint64_t{1} << 20;

std::uint16_t le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

// a + b <= limit without overflow.
bool fits(std::uint64_t a, std::uint64_t b, std::uint64_t limit) {
  return a <= limit && b <= limit - a;
}

// Fields of the end-of-central-directory record(s) that locate the central directory.
struct CentralDirectory {
  std::uint64_t entries = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  std::uint64_t end_limit = 0;  // the central directory must end before this offset
};

}  // namespace

struct ZipArchive::Impl {
  InputFile file;
  std::vector<ZipEntry> entries;
  std::unordered_map<std::string, std::size_t> index;

  explicit Impl(const fs::path& p) : file(p, "a .npz or .pt file") {}

  const fs::path& path() const { return file.path(); }
  std::uint64_t size() const { return file.size(); }

  [[noreturn]] void corrupt(const std::string& detail) const {
    throw Error(path().string() + ": truncated or corrupt ZIP archive (" + detail +
                "); re-create the file");
  }

  [[noreturn]] void bad_entry(const ZipEntry& e, const std::string& detail) const {
    throw Error(path().string() + ": entry '" + e.name + "' " + detail + "; re-create the file");
  }

  // Reads exactly `len` bytes at `offset`; a short read means the file is shorter than it says.
  void read_exact(std::uint64_t offset, void* dst, std::size_t len, const char* what) const {
    if (file.read_up_to(offset, dst, len) < len) {
      corrupt(std::string(what) + " extends past the end of the file");
    }
  }

  // A file that does not even start like a ZIP archive gets a clearer message than "corrupt";
  // one that does (or is a cut-off prefix of one) goes on to the end-record search.
  void check_looks_like_zip() const {
    if (size() == 0) corrupt("the file is empty");
    static constexpr unsigned char kPrefixes[][4] = {{'P', 'K', 3, 4}, {'P', 'K', 5, 6}};
    unsigned char magic[4] = {};
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size(), sizeof magic));
    read_exact(0, magic, n, "signature");
    for (const auto& prefix : kPrefixes) {
      if (std::memcmp(magic, prefix, n) == 0) return;
    }
    throw Error(path().string() + ": not a ZIP archive (expected a .npz or torch.save file); " +
                "check the path and the file format");
  }

  CentralDirectory find_central_directory() const {
    const std::uint64_t tail_len = std::min<std::uint64_t>(size(), kEocdSearch);
    const std::uint64_t tail_start = size() - tail_len;
    std::vector<unsigned char> tail(tail_len);
    read_exact(tail_start, tail.data(), tail.size(), "end of central directory");

    // Scan backwards: the record is at the end unless an archive comment follows it.
    for (std::uint64_t i = tail_len >= kEocdSize ? tail_len - kEocdSize + 1 : 0; i-- > 0;) {
      const unsigned char* p = tail.data() + i;
      if (le32(p) != kEocdSig) continue;
      if (i + kEocdSize + le16(p + 20) > tail_len) continue;  // comment would not fit
      return parse_eocd(p, tail_start + i);
    }
    corrupt("end of central directory not found");
  }

  CentralDirectory parse_eocd(const unsigned char* p, std::uint64_t eocd_offset) const {
    const std::uint16_t disk = le16(p + 4);
    const std::uint16_t cd_disk = le16(p + 6);
    CentralDirectory cd;
    cd.entries = le16(p + 10);
    cd.size = le32(p + 12);
    cd.offset = le32(p + 16);
    cd.end_limit = eocd_offset;

    if (eocd_offset >= kEocd64LocatorSize) {
      unsigned char loc[kEocd64LocatorSize];
      read_exact(eocd_offset - kEocd64LocatorSize, loc, sizeof loc, "ZIP64 locator");
      if (le32(loc) == kEocd64LocatorSig) return parse_eocd64(le64(loc + 8), eocd_offset);
    }
    if ((disk != 0 && disk != 0xFFFF) || (cd_disk != 0 && cd_disk != 0xFFFF)) {
      throw Error(path().string() + ": split (multi-part) ZIP archives are not supported; " +
                  "re-create it as a single file");
    }
    return cd;
  }

  CentralDirectory parse_eocd64(std::uint64_t record_offset, std::uint64_t eocd_offset) const {
    if (!fits(record_offset, kEocd64Size, eocd_offset)) corrupt("ZIP64 record out of range");
    unsigned char rec[kEocd64Size];
    read_exact(record_offset, rec, sizeof rec, "ZIP64 end of central directory");
    if (le32(rec) != kEocd64Sig) corrupt("ZIP64 end of central directory not found");
    if (le32(rec + 16) != 0 || le32(rec + 20) != 0) {
      throw Error(path().string() + ": split (multi-part) ZIP archives are not supported; " +
                  "re-create it as a single file");
    }
    CentralDirectory cd;
    cd.entries = le64(rec + 32);
    cd.size = le64(rec + 40);
    cd.offset = le64(rec + 48);
    cd.end_limit = record_offset;
    return cd;
  }

  void read_central_directory(const CentralDirectory& cd) {
    if (!fits(cd.offset, cd.size, cd.end_limit)) corrupt("central directory out of range");
    std::vector<unsigned char> buf(cd.size);
    read_exact(cd.offset, buf.data(), buf.size(), "central directory");

    // Each entry takes at least 46 bytes, which bounds a hostile entry count.
    if (cd.entries > buf.size() / kCentralHeaderSize) corrupt("central directory too short");
    entries.reserve(cd.entries);
    std::size_t pos = 0;
    for (std::uint64_t i = 0; i < cd.entries; ++i) {
      entries.push_back(parse_central_entry(buf, pos));
    }
    for (ZipEntry& e : entries) locate_data(e);
    check_no_overlap(cd.offset);
    for (std::size_t i = 0; i < entries.size(); ++i) index[entries[i].name] = i;  // last wins
  }

  // Each entry (local header + data) lies in its own span before the central directory.
  void check_no_overlap(std::uint64_t cd_offset) const {
    std::vector<std::size_t> order(entries.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return entries[a].local_header_offset < entries[b].local_header_offset;
    });
    for (std::size_t k = 0; k < order.size(); ++k) {
      const ZipEntry& e = entries[order[k]];
      const std::uint64_t end = e.data_offset + e.compressed_size;  // fits: see locate_data
      if (end > cd_offset) {
        corrupt("data of entry '" + e.name + "' runs into the central directory");
      }
      if (k + 1 < order.size() && entries[order[k + 1]].local_header_offset < end) {
        throw Error(path().string() + ": entries '" + e.name + "' and '" +
                    entries[order[k + 1]].name +
                    "' overlap in the file, which no ZIP writer does (a crafted or corrupt "
                    "archive); re-create the file");
      }
    }
  }

  ZipEntry parse_central_entry(const std::vector<unsigned char>& buf, std::size_t& pos) const {
    if (!fits(pos, kCentralHeaderSize, buf.size())) corrupt("central directory too short");
    const unsigned char* p = buf.data() + pos;
    if (le32(p) != kCentralHeaderSig) corrupt("bad central directory entry signature");
    const std::uint16_t flags = le16(p + 8);
    const std::size_t name_len = le16(p + 28);
    const std::size_t extra_len = le16(p + 30);
    const std::size_t comment_len = le16(p + 32);
    if (!fits(pos + kCentralHeaderSize, name_len + extra_len + comment_len, buf.size())) {
      corrupt("central directory entry overruns the directory");
    }
    ZipEntry e;
    e.method = le16(p + 10);
    e.crc32 = le32(p + 16);
    e.compressed_size = le32(p + 20);
    e.size = le32(p + 24);
    e.local_header_offset = le32(p + 42);
    const std::uint16_t disk_start = le16(p + 34);
    const unsigned char* name = p + kCentralHeaderSize;
    e.name.assign(reinterpret_cast<const char*>(name), name_len);
    apply_zip64_extra(e, disk_start, name + name_len, extra_len);
    if (flags & 0x0001) {
      bad_entry(e, "is encrypted, which is not supported; save it without encryption");
    }
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
    return e;
  }

  // Sizes and offsets that did not fit 32 bits live in the ZIP64 extra field, in a fixed order,
  // present only for the fields whose 32-bit value is saturated.
  void apply_zip64_extra(ZipEntry& e, std::uint32_t disk_start, const unsigned char* extra,
                         std::size_t extra_len) const {
    const bool need_size = e.size == 0xFFFFFFFFu;
    const bool need_csize = e.compressed_size == 0xFFFFFFFFu;
    const bool need_offset = e.local_header_offset == 0xFFFFFFFFu;
    std::size_t pos = 0;
    while (pos + 4 <= extra_len) {
      const std::uint16_t id = le16(extra + pos);
      const std::size_t len = le16(extra + pos + 2);
      if (pos + 4 + len > extra_len) corrupt("bad extra field in entry '" + e.name + "'");
      if (id == kZip64ExtraId) {
        const unsigned char* f = extra + pos + 4;
        std::size_t used = 0;
        auto take = [&](std::uint64_t& field) {
          if (used + 8 > len) corrupt("short ZIP64 extra field in entry '" + e.name + "'");
          field = le64(f + used);
          used += 8;
        };
        if (need_size) take(e.size);
        if (need_csize) take(e.compressed_size);
        if (need_offset) take(e.local_header_offset);
        if (disk_start == 0xFFFF && used + 4 <= len) disk_start = le32(f + used);
        break;
      }
      pos += 4 + len;
    }
    if (disk_start != 0) {
      throw Error(path().string() + ": split (multi-part) ZIP archives are not supported; " +
                  "re-create it as a single file");
    }
  }

  // The data follows the LOCAL header, whose extra field may differ from the central one
  // (torch.save pads it to align tensors), so it has to be read.
  void locate_data(ZipEntry& e) const {
    if (!fits(e.local_header_offset, kLocalHeaderSize, size())) {
      corrupt("entry '" + e.name + "' points outside the file");
    }
    unsigned char h[kLocalHeaderSize];
    read_exact(e.local_header_offset, h, sizeof h, "local header");
    if (le32(h) != kLocalHeaderSig) corrupt("bad local header for entry '" + e.name + "'");
    e.data_offset = e.local_header_offset + kLocalHeaderSize + le16(h + 26) + le16(h + 28);
    if (!fits(e.data_offset, e.compressed_size, size())) {
      corrupt("data of entry '" + e.name + "' extends past the end of the file");
    }
    if (e.method == 0 && e.compressed_size != e.size) {
      corrupt("stored entry '" + e.name + "' has inconsistent sizes");
    }
  }

  void check_entry(const ZipEntry& e) const {
    if (!fits(e.data_offset, e.compressed_size, size())) {
      corrupt("data of entry '" + e.name + "' extends past the end of the file");
    }
  }

  // The first `want` bytes of a stored entry (want <= e.size).
  std::vector<std::byte> read_stored(const ZipEntry& e, std::uint64_t want) const {
    std::vector<std::byte> out(want);
    if (want > 0) read_exact(e.data_offset, out.data(), out.size(), "entry data");
    return out;
  }

  // Refuses a deflated entry whose recorded size no deflate stream of its compressed size can
  // produce, before anything is allocated.
  void check_deflate_ratio(const ZipEntry& e) const {
    if (e.size / kMaxDeflateRatio > e.compressed_size + 1) {
      bad_entry(e, "declares " + std::to_string(e.size) + " bytes from " +
                       std::to_string(e.compressed_size) +
                       " compressed bytes, more than compression can produce (at most " +
                       std::to_string(kMaxDeflateRatio) + " to 1); the archive is corrupt");
    }
  }

  // Inflates the first `want` bytes of a deflated entry (want <= e.size). When `want` is the
  // whole entry, the stream must end exactly there. Memory follows what the stream produces,
  // so a recorded size that lies costs nothing, and inflating stops at the first byte past it.
  std::vector<std::byte> read_deflated(const ZipEntry& e, std::uint64_t want) const {
    check_deflate_ratio(e);
    const bool whole = want == e.size;
    std::vector<std::byte> out;
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw Error(path().string() + ": zlib init failed");
    // inflateEnd on every exit path.
    struct Guard {
      z_stream* s;
      ~Guard() { inflateEnd(s); }
    } guard{&zs};

    std::vector<unsigned char> in(std::min<std::uint64_t>(e.compressed_size, 1 << 20));
    unsigned char overflow = 0;  // catches data beyond the recorded size
    std::uint64_t consumed = 0;
    std::uint64_t produced = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END && (whole || produced < want)) {
      if (zs.avail_in == 0) {
        if (consumed == e.compressed_size) bad_entry(e, "has truncated compressed data");
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(in.size(), e.compressed_size - consumed));
        read_exact(e.data_offset + consumed, in.data(), n, "entry data");
        consumed += n;
        zs.next_in = in.data();
        zs.avail_in = static_cast<uInt>(n);
      }
      if (produced < want) {
        if (out.size() == produced) {
          out.resize(std::min<std::uint64_t>(
              want, produced + std::max<std::uint64_t>(produced, kInflateStep)));
        }
        zs.next_out = reinterpret_cast<Bytef*>(out.data()) + produced;
        zs.avail_out = static_cast<uInt>(std::min<std::uint64_t>(out.size() - produced, UINT_MAX));
      } else {
        zs.next_out = &overflow;
        zs.avail_out = 1;
      }
      const uInt before = zs.avail_out;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (produced >= want && zs.avail_out != before) {
        bad_entry(e, "inflates to more than its recorded " + std::to_string(e.size) +
                         " bytes (corrupt archive)");
      }
      if (produced < want) produced += before - zs.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        bad_entry(e,
                  std::string("has corrupt compressed data (") + (zs.msg ? zs.msg : "zlib") + ")");
      }
    }
    if (produced != want) {
      bad_entry(e, "inflates to " + std::to_string(produced) + " bytes, less than its recorded " +
                       std::to_string(e.size) + " (corrupt archive)");
    }
    out.resize(produced);
    return out;
  }

  std::vector<std::byte> read_prefix(const ZipEntry& e, std::uint64_t want) const {
    check_entry(e);
    if (e.method == 0) return read_stored(e, want);
    if (e.method == 8) return read_deflated(e, want);
    bad_entry(e, "uses compression method " + std::to_string(e.method) +
                     ", which is not supported (only stored and deflate); " +
                     "re-save it with numpy or torch");
  }
};

ZipArchive::ZipArchive(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ZipArchive::ZipArchive(ZipArchive&&) noexcept = default;
ZipArchive& ZipArchive::operator=(ZipArchive&&) noexcept = default;
ZipArchive::~ZipArchive() = default;

ZipArchive ZipArchive::open(const fs::path& path) {
  auto impl = std::make_unique<Impl>(path);
  impl->check_looks_like_zip();
  impl->read_central_directory(impl->find_central_directory());
  return ZipArchive(std::move(impl));
}

const fs::path& ZipArchive::path() const {
  return impl_->path();
}
std::uint64_t ZipArchive::file_size() const {
  return impl_->size();
}
const std::vector<ZipEntry>& ZipArchive::entries() const {
  return impl_->entries;
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->entries[it->second];
}

std::vector<std::byte> ZipArchive::read(const ZipEntry& entry) const {
  std::vector<std::byte> out = impl_->read_prefix(entry, entry.size);
  const auto crc = out.empty() ? 0u
                               : static_cast<std::uint32_t>(crc32_z(
                                     0L, reinterpret_cast<const Bytef*>(out.data()), out.size()));
  if (crc != entry.crc32) impl_->bad_entry(entry, "fails its CRC-32 check (corrupt archive)");
  return out;
}

std::vector<std::byte> ZipArchive::read_prefix(const ZipEntry& entry,
                                               std::uint64_t max_bytes) const {
  return impl_->read_prefix(entry, std::min(max_bytes, entry.size));
}

void ZipArchive::read_at(const ZipEntry& entry, std::uint64_t offset, void* dst,
                         std::size_t len) const {
  if (entry.method != 0) {
    impl_->bad_entry(entry,
                     "is compressed and cannot be read in parts; re-save it uncompressed "
                     "(torch.save / np.savez, not np.savez_compressed)");
  }
  impl_->check_entry(entry);
  if (!fits(offset, len, entry.size)) {
    throw Error(impl_->path().string() + ": read of " + std::to_string(len) + " bytes at offset " +
                std::to_string(offset) + " is outside entry '" + entry.name + "' (" +
                std::to_string(entry.size) + " bytes); the file is corrupt, re-create it");
  }
  if (len > 0) impl_->read_exact(entry.data_offset + offset, dst, len, "entry data");
}

}  // namespace actlens::io
