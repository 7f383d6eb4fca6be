// The Authenticator on an in-memory EmbeddedStore and a FakeClock.
#include "auth/auth.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/records.h"
#include "common/time_zone.h"
#include "coord/embedded/embedded_store.h"

// Updates and options are written as designated initializers naming only
// the fields a case sets; the others keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::auth {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kBadLogin[] = "invalid user name or password";
constexpr char kBadSession[] = "invalid or expired session";
constexpr char kBadToken[] = "invalid or revoked token";

std::unique_ptr<coord::EmbeddedStore> OpenStore(Clock& clock) {
  coord::EmbeddedStoreOptions options;
  options.clock = &clock;
  return coord::EmbeddedStore::Open(options).value();
}

// A fresh directory under the test temp dir.
std::string TempDir() {
  std::string pattern = ::testing::TempDir() + "forest_auth_XXXXXX";
  const char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(clock_);
    auth_ = Make(*store_);
  }

  std::unique_ptr<Authenticator> Make(coord::Store& store, AuthOptions options = {}) {
    auto auth = Authenticator::Create(store, clock_, options);
    EXPECT_TRUE(auth.ok()) << auth.status();
    return auth.ok() ? std::move(auth).value() : nullptr;
  }

  void AddUser(const std::string& name, Role role, const std::string& password = "password1") {
    auto user = auth_->CreateUser(name, password, role);
    ASSERT_TRUE(user.ok()) << user.status();
  }

  Session LoginOrDie(const std::string& user, const std::string& password = "password1",
                     const std::string& address = "10.0.0.1") {
    auto session = auth_->Login(user, password, address);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *session : Session{};
  }

  FakeClock clock_{ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value()};
  std::unique_ptr<coord::EmbeddedStore> store_;
  std::unique_ptr<Authenticator> auth_;
};

TEST(RoleTest, AllowsFollowsAdminOverOperatorOverViewer) {
  const Role roles[] = {Role::kViewer, Role::kOperator, Role::kAdmin};
  // allowed[have][need]
  const bool allowed[3][3] = {{true, false, false}, {true, true, false}, {true, true, true}};
  for (int have = 0; have < 3; ++have) {
    for (int need = 0; need < 3; ++need) {
      EXPECT_EQ(Allows(roles[have], roles[need]), allowed[have][need])
          << Name(roles[have]) << " needs " << Name(roles[need]);
    }
  }
}

TEST(RoleTest, NamesParseBackAndNothingElseDoes) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin})
    EXPECT_EQ(ParseRole(Name(r)).value(), r);
  EXPECT_EQ(Name(Role::kOperator), "operator");
  for (const char* bad : {"", "Admin", "root", "admin "}) {
    EXPECT_EQ(ParseRole(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, UserNamesAndPasswords) {
  for (const char* ok : {"a", "alice", "A.b_c-9",
                         "x234567890123456789012345678901234567890"
                         "12345678901234567890123"}) {
    EXPECT_TRUE(ValidateUserName(ok).ok()) << ok;
  }
  for (const std::string& bad : {std::string(""), std::string(65, 'a'), std::string("a b"),
                                 std::string("a/b"), std::string("é"), std::string("a\0b", 3)}) {
    EXPECT_EQ(ValidateUserName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidatePassword("12345678").ok());
  EXPECT_TRUE(ValidatePassword("пароль12").ok());                    // 8 characters
  const absl::Status short_one = ValidatePassword("密码密码密码1");  // 7 characters, 19 bytes
  EXPECT_EQ(short_one.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(short_one.message()).find("密码"), std::string::npos);
  EXPECT_FALSE(ValidatePassword("1234567").ok());
  EXPECT_FALSE(ValidatePassword(std::string(1025, 'x')).ok());
}

TEST_F(AuthTest, UsersAreStoredWithAnArgon2idHashOnly) {
  AddUser("alice", Role::kOperator, "s3cret-pass");
  auto kv = store_->Range({internal::UserKey("alice")});
  ASSERT_TRUE(kv.ok() && kv->kvs.size() == 1);
  EXPECT_EQ(kv->kvs[0].value.find("s3cret-pass"), std::string::npos);
  EXPECT_NE(kv->kvs[0].value.find("$argon2id$"), std::string::npos);

  auto got = auth_->GetUser("alice");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->role, Role::kOperator);
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->created_at, clock_.Now());
  EXPECT_EQ(auth_->CreateUser("alice", "password1", Role::kAdmin).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(auth_->CreateUser("a b", "password1", Role::kAdmin).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateUser("bob", "short", Role::kAdmin).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->GetUser("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, ListsUsersByName) {
  AddUser("carol", Role::kViewer);
  AddUser("alice", Role::kAdmin);
  AddUser("bob", Role::kOperator);
  auto users = auth_->ListUsers();
  ASSERT_TRUE(users.ok()) << users.status();
  std::vector<std::string> names;
  for (const UserInfo& u : *users) names.push_back(u.name);
  EXPECT_EQ(names, (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST_F(AuthTest, LoginIssuesASessionForTheRightPassword) {
  AddUser("alice", Role::kOperator);
  const Session s = LoginOrDie("alice");
  EXPECT_EQ(s.principal.user, "alice");
  EXPECT_EQ(s.principal.role, Role::kOperator);
  EXPECT_EQ(s.principal.how, Principal::How::kSession);
  EXPECT_EQ(s.expires_at, clock_.Now() + hours(12));
  auto p = auth_->VerifySession(s.cookie);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->user, "alice");
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_EQ(p->how, Principal::How::kSession);
}

TEST_F(AuthTest, UnknownUserWrongPasswordAndDisabledUserGetOneMessage) {
  AddUser("alice", Role::kViewer);
  AddUser("dave", Role::kViewer);
  ASSERT_TRUE(auth_->UpdateUser("dave", {.disabled = true}).ok());
  for (auto [user, password] : {std::pair{"nobody", "password1"}, std::pair{"alice", "password2"},
                                std::pair{"dave", "password1"}, std::pair{"bad name", "x"}}) {
    const absl::Status s = auth_->Login(user, password, "10.0.0.1").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << user;
    EXPECT_EQ(s.message(), kBadLogin) << user;
  }
}

TEST_F(AuthTest, FailedLoginsAreLimitedPerUserAndAddressAndReleasedAfterTheWindow) {
  AddUser("alice", Role::kViewer);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth_->Login("alice", "wrong-pass", "10.0.0.1").status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  // Even the right password waits, from that address.
  const absl::Status limited = auth_->Login("alice", "password1", "10.0.0.1").status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limited.message(), "too many failed logins; try again in 300 seconds");
  // Regression: anyone could lock a user out with five bad logins.
  LoginOrDie("alice", "password1", "10.0.0.9");
  clock_.Advance(minutes(5));
  LoginOrDie("alice", "password1", "10.0.0.1");
}

TEST_F(AuthTest, FailedLoginsAreLimitedPerUserAcrossAddresses) {
  AddUser("alice", Role::kViewer);
  for (int i = 0; i < 50; ++i) {
    (void)auth_->Login("alice", "wrong-pass", "10.0.1." + std::to_string(i));
  }
  EXPECT_EQ(auth_->Login("alice", "password1", "10.0.2.1").status().code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(minutes(5));
  LoginOrDie("alice", "password1", "10.0.2.1");
}

TEST_F(AuthTest, FailedLoginsAreLimitedPerAddress) {
  AddUser("alice", Role::kViewer);
  for (int i = 0; i < 20; ++i) {
    (void)auth_->Login("user" + std::to_string(i), "password1", "192.0.2.7");
  }
  EXPECT_EQ(auth_->Login("alice", "password1", "192.0.2.7").status().code(),
            absl::StatusCode::kResourceExhausted);
  LoginOrDie("alice", "password1", "192.0.2.8");
  clock_.Advance(minutes(5));
  LoginOrDie("alice", "password1", "192.0.2.7");
}

TEST_F(AuthTest, ASuccessfulLoginClearsThatUsersFailuresFromThatAddress) {
  AddUser("alice", Role::kViewer);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) (void)auth_->Login("alice", "wrong-pass", "10.0.0.1");
    LoginOrDie("alice");
  }
}

TEST_F(AuthTest, TokensVerifyUntilRevoked) {
  AddUser("ci", Role::kOperator);
  auto token = auth_->CreateToken("ci", "deploy pipeline");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->text.rfind("fst_" + token->info.id + "_", 0), 0u);
  EXPECT_EQ(token->info.last4, token->text.substr(token->text.size() - 4));
  EXPECT_EQ(token->info.user, "ci");
  EXPECT_EQ(token->info.name, "deploy pipeline");

  for (const std::string& header :
       {"Bearer " + token->text, "bearer " + token->text, token->text}) {
    auto p = auth_->VerifyBearer(header);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->user, "ci");
    EXPECT_EQ(p->role, Role::kOperator);
    EXPECT_EQ(p->how, Principal::How::kToken);
    EXPECT_EQ(p->token_id, token->info.id);
  }
  // The same id with another secret.
  std::string forged = token->text;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {forged, std::string("Bearer "), std::string("Basic abc"), std::string("fst_nonsense")}) {
    const absl::Status s = auth_->VerifyBearer(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(s.message(), kBadToken);
  }

  ASSERT_TRUE(auth_->RevokeToken(token->info.id).ok());
  EXPECT_EQ(auth_->VerifyBearer(token->text).status().message(), kBadToken);
  EXPECT_EQ(auth_->RevokeToken(token->info.id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(auth_->CreateToken("nobody", "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(auth_->CreateToken("ci", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateToken("ci", "a\nb").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuthTest, TokenListsAndTheStoreNeverHoldTheSecret) {
  AddUser("ci", Role::kOperator);
  AddUser("ops", Role::kAdmin);
  auto a = auth_->CreateToken("ci", "one").value();
  clock_.Advance(seconds(1));
  auto b = auth_->CreateToken("ops", "two").value();
  clock_.Advance(seconds(1));
  auto c = auth_->CreateToken("ci", "three").value();

  auto all = auth_->ListTokens();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a.info.id);
  EXPECT_EQ((*all)[1].id, b.info.id);
  EXPECT_EQ((*all)[2].id, c.info.id);
  auto ci = auth_->ListTokens("ci").value();
  ASSERT_EQ(ci.size(), 2u);
  EXPECT_EQ(ci[1].name, "three");
  EXPECT_EQ(auth_->GetToken(b.info.id)->user, "ops");

  auto stored =
      store_->Range({internal::TokensPrefix(), coord::PrefixEnd(internal::TokensPrefix())});
  ASSERT_TRUE(stored.ok());
  for (const coord::KeyValue& kv : stored->kvs) {
    for (const NewToken* t : {&a, &b, &c}) {
      EXPECT_EQ(kv.value.find(t->text.substr(17)), std::string::npos) << kv.value;
    }
  }
}

TEST_F(AuthTest, DeletingAUserEndsTheirTokensAndSessions) {
  AddUser("alice", Role::kAdmin);
  AddUser("bob", Role::kOperator);
  const Session session = LoginOrDie("bob");
  auto token = auth_->CreateToken("bob", "t").value();
  auto other = auth_->CreateToken("alice", "t").value();

  ASSERT_TRUE(auth_->DeleteUser("bob").ok());
  EXPECT_EQ(auth_->VerifySession(session.cookie).status().message(), kBadSession);
  EXPECT_EQ(auth_->VerifyBearer(token.text).status().message(), kBadToken);
  EXPECT_EQ(auth_->GetToken(token.info.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(auth_->VerifyBearer(other.text).ok());
  EXPECT_EQ(auth_->DeleteUser("bob").code(), absl::StatusCode::kNotFound);

  // A new bob is someone else: the old cookie stays dead.
  AddUser("bob", Role::kOperator);
  EXPECT_EQ(auth_->VerifySession(session.cookie).status().message(), kBadSession);
}

TEST_F(AuthTest, DisablingAUserSuspendsTheirTokensAndSessions) {
  AddUser("alice", Role::kAdmin);
  AddUser("bob", Role::kOperator);
  const Session session = LoginOrDie("bob");
  auto token = auth_->CreateToken("bob", "t").value();

  auto disabled = auth_->UpdateUser("bob", {.disabled = true});
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  EXPECT_TRUE(disabled->disabled);
  EXPECT_EQ(auth_->VerifySession(session.cookie).status().message(), kBadSession);
  EXPECT_EQ(auth_->VerifyBearer(token.text).status().message(), kBadToken);

  ASSERT_TRUE(auth_->UpdateUser("bob", {.disabled = false}).ok());
  EXPECT_TRUE(auth_->VerifySession(session.cookie).ok());
  EXPECT_TRUE(auth_->VerifyBearer(token.text).ok());
}

TEST_F(AuthTest, RoleChangesApplyToLiveSessionsAndPasswordChangesEndThem) {
  AddUser("alice", Role::kAdmin);
  AddUser("bob", Role::kOperator);
  const Session session = LoginOrDie("bob");
  clock_.Advance(seconds(1));
  auto updated = auth_->UpdateUser("bob", {.role = Role::kViewer});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->updated_at, clock_.Now());
  EXPECT_EQ(auth_->VerifySession(session.cookie)->role, Role::kViewer);

  ASSERT_TRUE(auth_->UpdateUser("bob", {.password = std::string("new-password")}).ok());
  EXPECT_EQ(auth_->VerifySession(session.cookie).status().message(), kBadSession);
  EXPECT_EQ(auth_->Login("bob", "password1", "10.0.0.1").status().message(), kBadLogin);
  LoginOrDie("bob", "new-password");
  EXPECT_EQ(auth_->UpdateUser("bob", {.password = std::string("short")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->UpdateUser("nobody", {.role = Role::kAdmin}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, TheLastEnabledAdminCannotBeRemoved) {
  AddUser("root", Role::kAdmin);
  AddUser("bob", Role::kOperator);
  for (const absl::Status& s :
       {auth_->DeleteUser("root"), auth_->UpdateUser("root", {.role = Role::kOperator}).status(),
        auth_->UpdateUser("root", {.disabled = true}).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  }
  AddUser("root2", Role::kAdmin);
  EXPECT_TRUE(auth_->UpdateUser("root", {.disabled = true}).ok());
  EXPECT_EQ(auth_->DeleteUser("root2").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(auth_->DeleteUser("root").ok());
  EXPECT_TRUE(auth_->UpdateUser("root2", {.password = std::string("another-pass")}).ok());
}

TEST_F(AuthTest, SessionsFailWhenTamperedExpiredOrLoggedOut) {
  AddUser("alice", Role::kAdmin);
  const Session s = LoginOrDie("alice");
  const size_t dot = s.cookie.find('.');
  ASSERT_NE(dot, std::string::npos);
  std::string bad_signature = s.cookie;
  bad_signature.back() = bad_signature.back() == 'A' ? 'B' : 'A';
  std::string bad_payload = s.cookie;
  bad_payload[dot / 2] = bad_payload[dot / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {bad_signature, bad_payload, s.cookie.substr(0, dot),
                                 std::string(""), std::string("x.y"), s.cookie + "."}) {
    const absl::Status st = auth_->VerifySession(bad).status();
    EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(st.message(), kBadSession) << bad;
  }

  clock_.Advance(hours(12) - seconds(1));
  EXPECT_TRUE(auth_->VerifySession(s.cookie).ok());
  clock_.Advance(seconds(1));
  EXPECT_EQ(auth_->VerifySession(s.cookie).status().message(), kBadSession);
}

TEST_F(AuthTest, LogoutEndsTheSessionOnEveryNodeUntilItWouldHaveExpired) {
  AddUser("alice", Role::kAdmin);
  auto other_node = Make(*store_);  // the same store: the same cluster
  const Session s = LoginOrDie("alice");
  const Session kept = LoginOrDie("alice");
  ASSERT_TRUE(other_node->VerifySession(s.cookie).ok());
  clock_.Advance(hours(1));

  ASSERT_TRUE(auth_->Logout(s.cookie).ok());
  EXPECT_EQ(auth_->VerifySession(s.cookie).status().message(), kBadSession);
  EXPECT_EQ(other_node->VerifySession(s.cookie).status().message(), kBadSession);
  EXPECT_TRUE(other_node->VerifySession(kept.cookie).ok());
  EXPECT_TRUE(auth_->Logout(s.cookie).ok());  // again: nothing to do
  EXPECT_TRUE(auth_->Logout("garbage").ok());

  // The revocation lasts as long as the session would have, then goes.
  auto count = [&] {
    auto r = store_->Range({internal::RevokedKey(""), coord::PrefixEnd(internal::RevokedKey(""))});
    return r.ok() ? r->kvs.size() : 999u;
  };
  EXPECT_EQ(count(), 1u);
  clock_.Advance(hours(11) - seconds(1));
  store_->ExpireLeases();
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(auth_->VerifySession(s.cookie).status().message(), kBadSession);
  clock_.Advance(seconds(5));
  store_->ExpireLeases();
  EXPECT_EQ(count(), 0u);
  EXPECT_EQ(auth_->VerifySession(s.cookie).status().message(), kBadSession);  // expired now
}

TEST_F(AuthTest, ASessionOfAnotherClusterFails) {
  AddUser("alice", Role::kAdmin);
  auto other_store = OpenStore(clock_);
  auto other = Make(*other_store);
  ASSERT_TRUE(other->CreateUser("alice", "password1", Role::kAdmin).ok());
  const Session theirs = other->Login("alice", "password1", "10.0.0.1").value();
  ASSERT_TRUE(other->VerifySession(theirs.cookie).ok());
  EXPECT_EQ(auth_->VerifySession(theirs.cookie).status().message(), kBadSession);
  EXPECT_EQ(auth_->CheckCsrf(theirs.cookie, theirs.csrf_token).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthTest, CsrfTokenBelongsToItsSession) {
  AddUser("alice", Role::kAdmin);
  const Session s = LoginOrDie("alice");
  const Session t = LoginOrDie("alice");
  EXPECT_FALSE(s.csrf_token.empty());
  EXPECT_NE(s.csrf_token, t.csrf_token);
  EXPECT_EQ(auth_->CsrfToken(s.cookie).value(), s.csrf_token);
  EXPECT_TRUE(auth_->CheckCsrf(s.cookie, s.csrf_token).ok());
  for (const std::string& bad : {t.csrf_token, std::string(""), s.csrf_token + "x",
                                 s.csrf_token.substr(1), std::string("Bearer x")}) {
    EXPECT_EQ(auth_->CheckCsrf(s.cookie, bad).code(), absl::StatusCode::kPermissionDenied) << bad;
  }
  EXPECT_EQ(auth_->CheckCsrf("forged.cookie", s.csrf_token).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->CsrfToken("forged.cookie").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, SessionTtlIsAnOption) {
  auto auth = Make(*store_, {.session_ttl = minutes(30)});
  AddUser("alice", Role::kAdmin);
  const Session s = auth->Login("alice", "password1", "10.0.0.1").value();
  EXPECT_EQ(s.expires_at, clock_.Now() + minutes(30));
  clock_.Advance(minutes(30));
  EXPECT_FALSE(auth->VerifySession(s.cookie).ok());
  EXPECT_EQ(Authenticator::Create(*store_, clock_, {.session_ttl = seconds(0)}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AuthTest, EnsureAdminWritesARandomPasswordToAPrivateFile) {
  const std::string dir = TempDir();
  auto made = auth_->EnsureAdmin(std::nullopt, dir);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->created);
  ASSERT_TRUE(made->generated_password.has_value());
  const std::string password = *made->generated_password;
  EXPECT_GE(password.size(), 20u);
  EXPECT_EQ(made->password_file, dir + "/admin-password");

  struct stat st {};
  ASSERT_EQ(stat(made->password_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(ReadFile(made->password_file), password + "\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temp left

  const Session s = LoginOrDie("admin", password);
  EXPECT_EQ(s.principal.role, Role::kAdmin);

  auto again = auth_->EnsureAdmin(std::nullopt, dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_FALSE(again->generated_password.has_value());
  EXPECT_EQ(ReadFile(made->password_file), password + "\n");
  LoginOrDie("admin", password);
}

TEST_F(AuthTest, EnsureAdminTakesAnExplicitPasswordAndWritesNoFile) {
  const std::string dir = TempDir();
  EXPECT_EQ(auth_->EnsureAdmin(std::string("short"), dir).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto made = auth_->EnsureAdmin(std::string("explicit-pass"), dir);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->created);
  EXPECT_FALSE(made->generated_password.has_value());
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  LoginOrDie("admin", "explicit-pass");
}

TEST_F(AuthTest, EnsureAdminDoesNothingWhenUsersExist) {
  AddUser("ops", Role::kViewer);
  const std::string dir = TempDir();
  auto made = auth_->EnsureAdmin(std::nullopt, dir);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_FALSE(made->created);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_EQ(auth_->GetUser("admin").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, EnsureAdminReplacesAStalePasswordFile) {
  const std::string dir = TempDir();
  {
    std::ofstream stale(dir + "/admin-password");
    stale << "old\n";
  }
  auto made = auth_->EnsureAdmin(std::nullopt, dir);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(ReadFile(dir + "/admin-password"), *made->generated_password + "\n");
  struct stat st {};
  ASSERT_EQ(stat((dir + "/admin-password").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(AuthTest, EnsureAdminFailsCleanlyWithoutADataDirectory) {
  auto made = auth_->EnsureAdmin(std::nullopt, TempDir() + "/missing");
  EXPECT_EQ(made.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(auth_->GetUser("admin").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, TwoNodesRacingToBootstrapCreateOneAdmin) {
  for (int round = 0; round < 3; ++round) {
    auto store = OpenStore(clock_);
    auto a = Make(*store);
    auto b = Make(*store);
    const std::string dir_a = TempDir(), dir_b = TempDir();
    absl::StatusOr<AdminBootstrap> result_a, result_b;
    std::thread ta([&] { result_a = a->EnsureAdmin(std::nullopt, dir_a); });
    std::thread tb([&] { result_b = b->EnsureAdmin(std::nullopt, dir_b); });
    ta.join();
    tb.join();
    ASSERT_TRUE(result_a.ok()) << result_a.status();
    ASSERT_TRUE(result_b.ok()) << result_b.status();
    ASSERT_NE(result_a->created, result_b->created);
    const AdminBootstrap& winner = result_a->created ? *result_a : *result_b;
    const std::string& loser_dir = result_a->created ? dir_b : dir_a;
    EXPECT_TRUE(std::filesystem::is_empty(loser_dir));
    EXPECT_EQ(a->ListUsers()->size(), 1u);
    EXPECT_TRUE(a->Login("admin", *winner.generated_password, "10.0.0.1").ok());
  }
}

}  // namespace
}  // namespace forest::auth
