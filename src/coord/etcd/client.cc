#include "coord/etcd/client.h"

#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "common/strings.h"

namespace forest::coord::etcd_internal {

namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(fmt::format("etcd: cannot read {} {}", what, path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The channel could not connect: the request never left this process.
bool NeverSent(const grpc::Status& status) {
  const std::string& m = status.error_message();
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         (Contains(m, "failed to connect to all addresses") ||
          Contains(m, "Failed to connect to remote host") ||
          Contains(m, "connections to all backends failing"));
}

const char* StateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "idle";
    case GRPC_CHANNEL_CONNECTING:
      return "connecting";
    case GRPC_CHANNEL_READY:
      return "ready";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "unreachable";
    case GRPC_CHANNEL_SHUTDOWN:
      return "shut down";
  }
  return "?";
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status, std::string_view what,
                      std::string_view endpoint) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& m = status.error_message();
  if (code == absl::StatusCode::kUnavailable && Contains(m, "etcdserver: request timed out")) {
    // The proposal may still commit: the outcome is unknown, like a deadline.
    code = absl::StatusCode::kDeadlineExceeded;
  } else if (code == absl::StatusCode::kInvalidArgument &&
             (Contains(m, "etcdserver: authentication failed") ||
              Contains(m, "etcdserver: user name is empty") ||
              Contains(m, "etcdserver: revision of auth store is old"))) {
    code = absl::StatusCode::kUnauthenticated;
  }
  return absl::Status(code, fmt::format("etcd {} at {}: {}", what, endpoint, m));
}

absl::Status FromCancelReason(std::string_view reason) {
  const std::string text = fmt::format("etcd watch canceled by the server: {}", reason);
  if (Contains(reason, "permission denied")) return absl::PermissionDeniedError(text);
  if (Contains(reason, "compacted")) return absl::OutOfRangeError(text);
  if (Contains(reason, "auth token") || Contains(reason, "user name is empty")) {
    return absl::UnauthenticatedError(text);
  }
  return absl::AbortedError(text);
}

absl::StatusOr<std::shared_ptr<Client>> Client::Create(const EtcdStoreOptions& options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("etcd: no endpoint given");
  if (options.request_timeout.count() <= 0 || options.dial_timeout.count() <= 0) {
    return absl::InvalidArgumentError("etcd: timeouts must be positive");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("etcd: no clock");
  std::shared_ptr<Client> client(new Client(options));

  bool https = false;
  std::vector<std::string> addresses;
  for (const std::string& e : options.endpoints) {
    std::string_view address = Trim(e);
    if (StartsWithIgnoreCase(address, "https://")) {
      https = true;
      address.remove_prefix(8);
    } else if (StartsWithIgnoreCase(address, "http://")) {
      address.remove_prefix(7);
    }
    while (!address.empty() && address.back() == '/') address.remove_suffix(1);
    if (address.empty())
      return absl::InvalidArgumentError(fmt::format("etcd: bad endpoint '{}'", e));
    addresses.emplace_back(address);
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.ca_file.empty() || https) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.ca_file, "CA file"));
    }
    if (!options.cert_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(options.cert_file, "certificate file"));
    }
    if (!options.key_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(options.key_file, "key file"));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  // Fast reconnects after a member comes back. (Not GRPC_ARG_MIN_RECONNECT_
  // BACKOFF_MS: gRPC also takes it as the connect timeout, and an attempt
  // nobody polls -- see Connected() -- must not time out while it waits.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Detect a dead connection under an idle watch stream (a partition). etcd
  // closes connections that ping more often than every 5 s
  // (--grpc-keepalive-min-time) or without an open call.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // One store's connections are its own (not shared with another store's
  // channels to the same address).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);

  for (std::string& address : addresses) {
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->address = std::move(address);
    endpoint->channel = grpc::CreateCustomChannel(endpoint->address, credentials, args);
    endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
    endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
    endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
    endpoint->auth = etcdserverpb::Auth::NewStub(endpoint->channel);
    client->endpoints_.push_back(std::move(endpoint));
  }
  return client;
}

absl::Status Client::Connect() {
  // Dial every endpoint at once and take the first, in the given order, that
  // is connected. gRPC retries a failed attempt (short backoff) until the dial
  // timeout, so a member that is slow or restarting right now is not skipped,
  // and a dead first endpoint costs nothing. The waiting is done on a
  // completion queue: gRPC's sync client only makes progress while polled.
  const auto deadline = std::chrono::system_clock::now() + options_.dial_timeout;
  std::optional<size_t> found;
  grpc::CompletionQueue cq;
  std::vector<grpc_connectivity_state> states(size());
  while (true) {
    for (size_t i = 0; i < size(); ++i) states[i] = endpoints_[i]->channel->GetState(true);
    for (size_t i = 0; i < size() && !found; ++i) {
      if (states[i] == GRPC_CHANNEL_READY) found = i;
    }
    const auto now = std::chrono::system_clock::now();
    if (found || now >= deadline) break;
    // Wait for any change; the other watches expire within the slice.
    const auto slice = std::min(deadline, now + std::chrono::milliseconds(50));
    for (size_t i = 0; i < size(); ++i) {
      endpoints_[i]->channel->NotifyOnStateChange(states[i], slice, &cq,
                                                  reinterpret_cast<void*>(i));
    }
    void* tag = nullptr;
    bool ok = false;
    for (size_t i = 0; i < size(); ++i) cq.Next(&tag, &ok);
  }
  cq.Shutdown();
  if (!found) {
    std::vector<std::string> tried;
    for (size_t i = 0; i < size(); ++i) {
      tried.push_back(fmt::format("{} ({})", endpoints_[i]->address, StateName(states[i])));
    }
    return absl::UnavailableError(fmt::format("etcd: no endpoint answered within {} ms: {}",
                                              options_.dial_timeout.count(), Join(tried, ", ")));
  }
  current_ = *found;
  if (options_.user.empty()) return absl::OkStatus();
  std::lock_guard lock(auth_mu_);
  return Authenticate(current_);
}

void Client::Close() { closed_ = true; }

void Client::Rotate(size_t index) {
  size_t expected = index;
  current_.compare_exchange_strong(expected, (index + 1) % size());
}

bool Client::Connected(size_t index, std::chrono::system_clock::time_point deadline) {
  // gRPC's sync client makes progress on a connection attempt only while some
  // thread polls, as WaitForStateChange does: so wait here even when the
  // channel reports a failure (gRPC keeps retrying in the background), but
  // only briefly, to move on soon from a dead member.
  grpc::Channel& channel = *endpoints_[index]->channel;
  const auto grace = std::min(deadline, std::chrono::system_clock::now() + kFailureGrace);
  grpc_connectivity_state state = channel.GetState(true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state,
                                    state == GRPC_CHANNEL_TRANSIENT_FAILURE ? grace : deadline)) {
      return false;
    }
    state = channel.GetState(true);
  }
  return true;
}

std::string Client::token() const {
  std::lock_guard lock(token_mu_);
  return token_;
}

std::string Client::AddAuth(grpc::ClientContext& context) {
  std::lock_guard lock(token_mu_);
  if (!token_.empty()) context.AddMetadata("token", token_);
  return token_;
}

bool Client::NeedsReauth(const grpc::Status& status) const {
  if (options_.user.empty()) return false;
  const std::string& m = status.error_message();
  return Contains(m, "etcdserver: invalid auth token") ||
         Contains(m, "etcdserver: revision of auth store is old") ||
         Contains(m, "etcdserver: user name is empty");
}

absl::Status Client::Reauthenticate(const std::string& stale) {
  if (options_.user.empty()) return absl::OkStatus();
  std::lock_guard lock(auth_mu_);
  {
    std::lock_guard token_lock(token_mu_);
    if (token_ != stale) return absl::OkStatus();  // someone else already renewed it
  }
  return Authenticate(current_);
}

absl::Status Client::Authenticate(size_t first) {
  absl::Status status;
  for (size_t i = 0; i < size(); ++i) {
    const size_t index = (first + i) % size();
    Endpoint& endpoint = *endpoints_[index];
    const auto now = std::chrono::system_clock::now();
    if (!Connected(index, now + options_.dial_timeout)) {
      status = absl::UnavailableError(
          fmt::format("etcd Authenticate at {}: not reachable", endpoint.address));
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(now + options_.request_timeout);
    etcdserverpb::AuthenticateRequest request;
    request.set_name(options_.user);
    request.set_password(options_.password);
    etcdserverpb::AuthenticateResponse response;
    const grpc::Status s = endpoint.auth->Authenticate(&context, request, &response);
    if (s.ok() || (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                   Contains(s.error_message(), "authentication is not enabled"))) {
      // Auth off on the server: requests go without a token.
      std::lock_guard lock(token_mu_);
      token_ = response.token();
      return absl::OkStatus();
    }
    status = FromGrpc(s, "Authenticate", endpoint.address);
    if (status.code() != absl::StatusCode::kUnavailable) return status;
  }
  return status;
}

absl::Status Client::Call(std::string_view what, Kind kind,
                          const std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>& call,
                          std::chrono::milliseconds timeout) {
  std::vector<std::string> failures;
  bool reauthenticated = false;
  for (size_t attempt = 0; attempt < size();) {
    if (closed_) return absl::CancelledError(fmt::format("etcd {}: the store is closing", what));
    const size_t index = current();
    Endpoint& endpoint = *endpoints_[index];
    const auto now = std::chrono::system_clock::now();
    const auto deadline = now + std::min(options_.request_timeout, timeout);
    if (!Connected(index, std::min(deadline, now + options_.dial_timeout))) {
      // Never sent: safe to try the next endpoint, for writes too.
      failures.push_back(fmt::format("{} not reachable", endpoint.address));
      Rotate(index);
      ++attempt;
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(deadline);
    const std::string token = AddAuth(context);
    const grpc::Status s = call(endpoint, context);
    if (s.ok()) return absl::OkStatus();
    if (!reauthenticated && NeedsReauth(s)) {
      reauthenticated = true;
      RETURN_IF_ERROR(Reauthenticate(token));
      continue;
    }
    absl::Status status = FromGrpc(s, what, endpoint.address);
    if (status.code() == absl::StatusCode::kUnavailable) {
      Rotate(index);
      if (kind == Kind::kRead || NeverSent(s)) {
        failures.emplace_back(status.message());
        ++attempt;
        continue;
      }
      // Sent, and the answer lost: the write may or may not have been
      // applied. Never kUnavailable, which promises it was not.
      return absl::UnknownError(
          fmt::format("{} (outcome unknown: the write may have been applied; read before retrying)",
                      std::string(status.message())));
    } else if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      Rotate(index);  // a slow or stuck member: the next request tries another
    }
    return status;
  }
  return absl::UnavailableError(
      fmt::format("etcd {}: no endpoint available: {}", what, Join(failures, "; ")));
}

}  // namespace forest::coord::etcd_internal
