#include "model/keys.h"

#include <fmt/format.h>

#include <vector>

#include "common/strings.h"

namespace forest::model::keys {
namespace {

constexpr std::string_view kClientRoot = "/forest/client/";

}  // namespace

std::string Conf(std::string_view job_id) { return fmt::format("{}{}", kConfPrefix, job_id); }
std::string Group(std::string_view group) { return fmt::format("{}{}", kGroupPrefix, group); }
std::string Node(std::string_view node_id) { return fmt::format("{}{}", kNodePrefix, node_id); }
std::string NodeInfo(std::string_view node_id) {
  return fmt::format("{}{}", kNodeInfoPrefix, node_id);
}
std::string Cursor(std::string_view job_id) { return fmt::format("{}{}", kCursorPrefix, job_id); }
std::string Retry(std::string_view job_id, std::string_view snapshot_id) {
  return fmt::format("{}{}/{}", kRetryPrefix, job_id, snapshot_id);
}
std::string Run(std::string_view job_id, std::string_view request_id) {
  return fmt::format("{}{}/{}", kRunPrefix, job_id, request_id);
}
std::string Client(std::string_view group, std::string_view worker) {
  return fmt::format("{}{}", ClientPrefix(group), worker);
}
std::string ClientPrefix(std::string_view group) {
  return fmt::format("{}{}/clients/", kClientRoot, group);
}
std::string Snapshot(std::string_view group, std::string_view worker, std::string_view id) {
  return fmt::format("{}{}", SnapshotPrefix(group, worker), id);
}
std::string SnapshotPrefix(std::string_view group, std::string_view worker) {
  return fmt::format("{}{}/{}/", kSnapshotPrefix, group, worker);
}
std::string Execute(std::string_view group, std::string_view worker, std::string_view id) {
  return fmt::format("{}{}/{}/{}", kExecutePrefix, group, worker, id);
}
std::string Kill(std::string_view group, std::string_view worker, std::string_view id) {
  return fmt::format("{}{}/{}/{}", kKillPrefix, group, worker, id);
}

std::string WorkerFacts(std::string_view group, std::string_view worker) {
  return fmt::format("{}{}/{}", kWorkerPrefix, group, worker);
}
std::string Claim(std::string_view group, std::string_view id) {
  return fmt::format("{}{}/{}", kClaimPrefix, group, id);
}

std::optional<Parsed> Parse(std::string_view key) {
  // s[0] is the empty piece before the leading '/'; s[1] must be "forest".
  const std::vector<std::string_view> s = Split(key, '/');
  if (s.size() < 5 || !s[0].empty() || s[1] != "forest") return std::nullopt;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].empty()) return std::nullopt;
  }
  using Kind = Parsed::Kind;
  // The segments after "forest", by count: the count alone tells the
  // client-side kinds apart, so any name (a group called "snapshot") parses.
  const size_t n = s.size() - 1;
  if (s[2] == "server") {
    if (n == 4) {
      if (s[3] == "elect" && s[4] == "leader") return Parsed{Kind::kLeader, {}, {}, {}};
      if (s[3] == "node") return Parsed{Kind::kNode, s[4], {}, {}};
      if (s[3] == "group") return Parsed{Kind::kGroup, s[4], {}, {}};
      if (s[3] == "conf") return Parsed{Kind::kConf, s[4], {}, {}};
      if (s[3] == "cursor") return Parsed{Kind::kCursor, s[4], {}, {}};
    } else if (n == 5) {
      if (s[3] == "retry") return Parsed{Kind::kRetry, s[4], s[5], {}};
      if (s[3] == "run") return Parsed{Kind::kRun, s[4], s[5], {}};
    }
  } else if (s[2] == "client") {
    if (n == 5 && s[4] == "clients") return Parsed{Kind::kClient, s[3], s[5], {}};
    if (n == 6 && s[3] == "snapshot") return Parsed{Kind::kSnapshot, s[4], s[5], s[6]};
    if (n == 6 && s[3] == "kill") return Parsed{Kind::kKill, s[4], s[5], s[6]};
    if (n == 7 && s[3] == "execute" && s[4] == "snapshot") {
      return Parsed{Kind::kExecute, s[5], s[6], s[7]};
    }
  } else if (s[2] == "worker") {
    if (n == 4) return Parsed{Kind::kWorkerFacts, s[3], s[4], {}};
    if (n == 5 && s[3] == "claim") return Parsed{Kind::kClaim, s[4], s[5], {}};
  }
  return std::nullopt;
}

}  // namespace forest::model::keys
