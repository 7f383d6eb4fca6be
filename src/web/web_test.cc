#include "web/web.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/errors.h"
#include "api/http_server.h"
#include "web/embedded.h"

namespace forest::web {
namespace internal {
std::span<const EmbeddedFile> TestUi();  // test_files.cc, from testdata/
}  // namespace internal
namespace {

using ::testing::HasSubstr;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(FOREST_WEB_TESTDATA) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string HeaderOf(const api::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

api::Response Get(const api::Handler& handler, const std::string& path,
                  const std::string& accept_encoding = "gzip, deflate, br") {
  api::Request request;
  request.method = "GET";
  request.path = path;
  if (!accept_encoding.empty()) request.headers["accept-encoding"] = accept_encoding;
  return handler(request);
}

TEST(WebContentTypeTest, ByExtension) {
  EXPECT_EQ(ContentType("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentType("/assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentType("/assets/a-1.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentType("/assets/font.woff2"), "font/woff2");
  EXPECT_EQ(ContentType("/favicon.svg"), "image/svg+xml");
  EXPECT_EQ(ContentType("/a.dir/noext"), "application/octet-stream");
  EXPECT_EQ(ContentType("/x.unknown"), "application/octet-stream");
}

// Both sources must behave the same; the table is gzip, the directory plain.
class WebHandlerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      files_ = internal::TableWebFiles(internal::TestUi());
    } else {
      auto dir = DirectoryWebFiles(FOREST_WEB_TESTDATA);
      ASSERT_TRUE(dir.ok()) << dir.status();
      files_ = *std::move(dir);
    }
    handler_ = WebHandler(*files_);
  }
  std::unique_ptr<WebFiles> files_;
  api::Handler handler_;
};

TEST_P(WebHandlerTest, RootAndPagePathsGetIndexHtmlRevalidatedWithCsp) {
  const std::string index = ReadTestdata("index.html");
  for (const std::string path : {"/", "/index.html", "/jobs", "/jobs/20261124093000123456",
                                 "/executions/"}) {
    SCOPED_TRACE(path);
    const api::Response r = Get(handler_, path, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.body, index);
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
    EXPECT_THAT(HeaderOf(r, "Content-Security-Policy"), HasSubstr("script-src 'self'"));
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  }
}

TEST_P(WebHandlerTest, HashedAssetsAreImmutableAndGzipOnlyWhenAccepted) {
  const std::string js = ReadTestdata("assets/app-1a2b3c.js");
  const api::Response plain = Get(handler_, "/assets/app-1a2b3c.js", "");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.body, js);
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(plain, "Cache-Control"), "public, max-age=31536000, immutable");

  const api::Response refused = Get(handler_, "/assets/app-1a2b3c.js", "gzip;q=0, br");
  EXPECT_EQ(refused.body, js);
  EXPECT_EQ(HeaderOf(refused, "Content-Encoding"), "");

  const api::Response gz = Get(handler_, "/assets/app-1a2b3c.js", "gzip, deflate, br");
  EXPECT_EQ(gz.status, 200);
  if (GetParam()) {
    EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
    EXPECT_EQ(gz.body.substr(0, 2), "\x1f\x8b");
  } else {
    EXPECT_EQ(gz.body, js);  // the directory is plain; the server may compress it
  }
  EXPECT_EQ(HeaderOf(gz, "Vary"), "Accept-Encoding");
}

TEST_P(WebHandlerTest, OtherFilesAreRevalidated) {
  const api::Response r = Get(handler_, "/robots.txt", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, ReadTestdata("robots.txt"));
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
}

// Regression: a page whose last segment has a dot (a job id like
// report.daily) answered a JSON 404 on reload.
TEST_P(WebHandlerTest, PageLoadsOfDottedPathsGetIndexHtml) {
  api::Request request;
  request.method = "GET";
  request.path = "/jobs/report.daily";
  request.headers["accept"] = "text/html,application/xhtml+xml,*/*;q=0.8";
  const api::Response page = handler_(request);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  request.path = "/assets/gone-123.js";  // never a page, even asked for as one
  EXPECT_EQ(handler_(request).status, 404);
}

TEST_P(WebHandlerTest, MissingFilesAndApiPathsAre404NeverIndexHtml) {
  for (const std::string path : {"/assets/gone-123.js", "/favicon.ico", "/api/v1/nothing",
                                 "/api", "/../CMakeLists.txt", "/assets/../../web.cc"}) {
    SCOPED_TRACE(path);
    const api::Response r = Get(handler_, path);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.body, HasSubstr("\"not_found\""));
  }
}

TEST_P(WebHandlerTest, FindRefusesPathsLeavingTheRoot) {
  EXPECT_FALSE(files_->Find("/../web.cc").has_value());
  EXPECT_FALSE(files_->Find("/assets/../../CMakeLists.txt").has_value());
  EXPECT_FALSE(files_->Find("/assets").has_value());  // a directory is no file
  EXPECT_TRUE(files_->Find("/assets/app-1a2b3c.js").has_value());
  EXPECT_TRUE(files_->HasIndex());
}

INSTANTIATE_TEST_SUITE_P(Sources, WebHandlerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Embedded" : "Directory";
                         });

TEST(WebFilesTest, DirectoryServesNoHiddenFilesAndNoLinksOut) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(::testing::TempDir()) / "forest_web_dir_test";
  fs::remove_all(root);
  fs::create_directories(root / "assets");
  std::ofstream(root / "index.html") << "<!doctype html>";
  std::ofstream(root / ".env") << "SECRET=1";
  std::ofstream(root / "assets" / "a.js") << "1";
  const fs::path outside = fs::path(::testing::TempDir()) / "forest_web_dir_outside.txt";
  std::ofstream(outside) << "outside";
  fs::create_symlink(outside, root / "link.txt");
  fs::create_symlink(root / "assets" / "a.js", root / "inside.js");
  auto files = DirectoryWebFiles(root.string());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE((*files)->Find("/.env").has_value());
  EXPECT_FALSE((*files)->Find("/link.txt").has_value());
  EXPECT_TRUE((*files)->Find("/inside.js").has_value());
  EXPECT_TRUE((*files)->Find("/assets/a.js").has_value());
  fs::remove_all(root);
  fs::remove(outside);
}

TEST(WebFilesTest, DirectoryMustHoldAnIndexHtml) {
  EXPECT_EQ(DirectoryWebFiles("/nonexistent/forest-web").status().code(),
            absl::StatusCode::kInvalidArgument);
  const auto no_index = DirectoryWebFiles(std::string(FOREST_WEB_TESTDATA) + "/assets");
  EXPECT_EQ(no_index.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_index.status().message()), HasSubstr("no index.html"));
}

TEST(WebFilesTest, WithoutUiPagesSayHowToGetOne) {
  const std::unique_ptr<WebFiles> none = internal::TableWebFiles({});
  EXPECT_FALSE(none->HasIndex());
  const api::Response r = Get(WebHandler(*none), "/jobs");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("--web-dir"));
}

TEST(WebRouterTest, FallbackServesOnlyGetPathsNoRouteMatches) {
  api::Router router;
  router.Add("GET", "/api/v1/jobs", api::Access::kViewer, [](api::Request&) {
    api::Response r;
    r.body = "jobs";
    return r;
  });
  router.Add("POST", "/job/list", api::Access::kViewer, [](api::Request&) { return api::Response{}; });
  router.SetAuthorizer([](api::Request&, api::Access) {
    return absl::UnauthenticatedError("log in");
  });
  router.SetFallback([](api::Request&) {
    api::Response r;
    r.body = "page";
    return r;
  });
  auto call = [&](const std::string& method, const std::string& path) {
    api::Request request;
    request.method = method;
    request.path = path;
    return router.Dispatch(request);
  };
  EXPECT_EQ(call("GET", "/jobs").body, "page");        // public, no login needed
  EXPECT_EQ(call("HEAD", "/groups").body, "page");
  EXPECT_EQ(call("GET", "/api/v1/jobs").status, 401);  // routes keep their rules
  EXPECT_EQ(call("GET", "/job/list").status, 405);     // a route's path, other method
  EXPECT_EQ(call("POST", "/jobs").status, 404);
}

// cpp-httplib compresses bodies on its own: a gzip file must go out once
// compressed, not gzip inside br (the browser would run gzip bytes as JS).
TEST(WebServerTest, GzipFilesAreNotCompressedTwiceByTheServer) {
  const std::unique_ptr<WebFiles> files = internal::TableWebFiles(internal::TestUi());
  api::Router router;
  router.SetFallback(WebHandler(*files));
  api::HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.threads = 2;
  auto server = api::HttpServer::Start(router, options);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  for (const std::string encodings : {"gzip, deflate, br", "br, gzip", "gzip"}) {
    SCOPED_TRACE(encodings);
    const auto r = client.Get("/assets/app-1a2b3c.js", {{"Accept-Encoding", encodings}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Encoding"), "gzip");
    EXPECT_EQ(r->get_header_value_count("Content-Encoding"), 1u);
    EXPECT_EQ(r->body, ReadTestdata("assets/app-1a2b3c.js"));  // the client inflated it once
  }
  const auto head = client.Head("/jobs");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

// cpp-httplib alone answers with brotli at its slowest setting: seconds for
// a large job list. Large answers go out gzipped, once; small ones as they are.
TEST(WebServerTest, LargeAnswersAreGzippedOnceWhenTheClientTakesGzip) {
  std::string large = "[";
  for (int i = 0; i < 2000; ++i) large += (i ? "," : "") + std::to_string(i);
  large += "]";
  api::Router router;
  router.Add("GET", "/large", api::Access::kPublic, [&](api::Request&) {
    api::Response r;
    r.body = large;
    return r;
  });
  router.Add("GET", "/small", api::Access::kPublic, [](api::Request&) {
    api::Response r;
    r.body = "[1]";
    return r;
  });
  api::HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.threads = 2;
  auto server = api::HttpServer::Start(router, options);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  const auto gz = client.Get("/large", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gz->get_header_value_count("Content-Encoding"), 1u);
  EXPECT_EQ(gz->body, large);
  const auto plain = client.Get("/large", {{"Accept-Encoding", "identity"}});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(plain->body, large);
  const auto small = client.Get("/small", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(small);
  EXPECT_EQ(small->body, "[1]");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = internal::TableWebFiles(internal::TestUi());
    router_.SetFallback(WebHandler(*files_));
    router_.Add("POST", "/api/v1/echo", api::Access::kPublic, [](api::Request& r) {
      api::Response answer;
      answer.body = r.body.empty() ? "{}" : r.body;
      return answer;
    });
    router_.Add("POST", "/job/list", api::Access::kPublic, [](api::Request&) {
      api::Response answer;
      answer.body = "{}";
      return answer;
    });
    router_.Add("GET", "/api/v1/fail", api::Access::kPublic, [](api::Request&) {
      return api::ErrorResponse(absl::InvalidArgumentError(std::string(3000, 'x')));
    });
    api::HttpServerOptions options;
    options.address = "127.0.0.1:0";
    options.threads = 2;
    options.cors_origins = {"https://ops.example.com"};
    auto server = api::HttpServer::Start(router_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  httplib::Client Client() { return httplib::Client("127.0.0.1", server_->port()); }

  std::unique_ptr<WebFiles> files_;
  api::Router router_;
  std::unique_ptr<api::HttpServer> server_;
};

// Regression: an error answer over 1 KiB was gzipped by us, then replaced
// by the library's error handler ("the request was refused") under a second
// Content-Encoding header: browsers could not decode it.
TEST_F(HttpServerTest, LargeErrorAnswersArriveWhole) {
  auto client = Client();
  const auto r = client.Get("/api/v1/fail", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->get_header_value_count("Content-Encoding"), 1u);
  EXPECT_NE(r->body.find(std::string(3000, 'x')), std::string::npos) << r->body.substr(0, 200);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
}

// Regression: a Range request got 200 with a part of the file, which a
// cache would keep for a year as the whole asset.
TEST_F(HttpServerTest, RangeRequestsGetPartialContent) {
  auto client = Client();
  const std::string js = ReadTestdata("assets/app-1a2b3c.js");
  const auto part = client.Get("/assets/app-1a2b3c.js", {{"Range", "bytes=0-4"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, js.substr(0, 5));
  const auto whole = client.Get("/assets/app-1a2b3c.js");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, js);
}

// Pages of other origins may not make the server change things (a form or a
// text/plain POST needs no preflight; with --auth=off it could create jobs).
TEST_F(HttpServerTest, WritesFromPagesOfOtherOriginsAreRefused) {
  auto client = Client();
  const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
  const auto foreign = client.Post("/api/v1/echo", {{"Origin", "https://evil.example.com"}},
                                   "{}", "application/json");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_NE(foreign->body.find("evil.example.com"), std::string::npos) << foreign->body;
  const auto legacy = client.Post("/job/list", {{"Origin", "https://evil.example.com"}}, "{}",
                                  "application/x-www-form-urlencoded");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->status, 403);
  for (const std::string& origin : {self, std::string("https://ops.example.com")}) {
    const auto ok = client.Post("/api/v1/echo", {{"Origin", origin}}, "{}", "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << origin << ": " << ok->body;
  }
  const auto proxied = client.Post(
      "/api/v1/echo", {{"Origin", "https://ops.internal"}, {"X-Forwarded-Host", "ops.internal"}},
      "{}", "application/json");
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->status, 200) << proxied->body;
  // Scripts send no Origin.
  const auto script = client.Post("/api/v1/echo", "{}", "application/json");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
}

TEST_F(HttpServerTest, RestBodiesMustBeJson) {
  auto client = Client();
  const auto text = client.Post("/api/v1/echo", R"({"a":1})", "text/plain");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 415);
  EXPECT_NE(text->body.find("application/json"), std::string::npos) << text->body;
  for (const char* type : {"application/json", "application/json; charset=utf-8",
                           "application/merge-patch+json"}) {
    const auto json = client.Post("/api/v1/echo", R"({"a":1})", type);
    ASSERT_TRUE(json);
    EXPECT_EQ(json->status, 200) << type;
  }
  // The original's endpoints keep taking forms; an empty body needs no type.
  const auto form = client.Post("/job/list", "a=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200);
  const auto empty = client.Post("/api/v1/echo", "", "text/plain");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
}

TEST(AcceptsGzipTest, ReadsTheHeader) {
  EXPECT_TRUE(api::AcceptsGzip("gzip"));
  EXPECT_TRUE(api::AcceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(api::AcceptsGzip("br;q=1.0, gzip;q=0.8"));
  EXPECT_TRUE(api::AcceptsGzip("*"));
  EXPECT_FALSE(api::AcceptsGzip(""));
  EXPECT_FALSE(api::AcceptsGzip("identity"));
  EXPECT_FALSE(api::AcceptsGzip("br"));
  EXPECT_FALSE(api::AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(api::AcceptsGzip("gzip; q=0.0, br"));
}

}  // namespace
}  // namespace forest::web
