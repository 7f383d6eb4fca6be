#include "common/gzip.h"

#include <zlib.h>

#include "common/check.h"

namespace forest {
namespace {

Bytef* In(std::string_view data) {
  return reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
}

}  // namespace

std::string Gzip(std::string_view data, int level) {
  z_stream z{};
  // 15 + 16: window bits with a gzip header and trailer.
  FOREST_CHECK(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = In(data);
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  // deflateBound is enough for one Z_FINISH call.
  FOREST_CHECK(rc == Z_STREAM_END);
  out.resize(z.total_out);
  return out;
}

absl::StatusOr<std::string> Gunzip(std::string_view data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return absl::InternalError("inflateInit2 failed");
  std::string out;
  char buf[64 * 1024];
  z.next_in = In(data);
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.avail_in != 0) {
    return absl::DataLossError("not one complete gzip stream");
  }
  return out;
}

}  // namespace forest
