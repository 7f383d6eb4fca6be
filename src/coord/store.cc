#include "coord/store.h"

namespace forest::coord {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  // Increment the last byte that is not 0xff, dropping the 0xff bytes after it.
  while (!end.empty()) {
    unsigned char& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

namespace {
Compare Make(std::string key, Compare::Target target, Compare::Result r, int64_t number) {
  Compare c;
  c.key = std::move(key);
  c.target = target;
  c.result = r;
  c.number = number;
  return c;
}
}  // namespace

Compare Compare::Value(std::string key, Result r, std::string value) {
  Compare c = Make(std::move(key), Target::kValue, r, 0);
  c.value = std::move(value);
  return c;
}
Compare Compare::Version(std::string key, Result r, int64_t version) {
  return Make(std::move(key), Target::kVersion, r, version);
}
Compare Compare::CreateRevision(std::string key, Result r, Revision rev) {
  return Make(std::move(key), Target::kCreateRevision, r, rev);
}
Compare Compare::ModRevision(std::string key, Result r, Revision rev) {
  return Make(std::move(key), Target::kModRevision, r, rev);
}
Compare Compare::Lease(std::string key, Result r, LeaseId lease) {
  return Make(std::move(key), Target::kLease, r, lease);
}
Compare Compare::Absent(std::string key) {
  return CreateRevision(std::move(key), Result::kEqual, 0);
}

}  // namespace forest::coord
