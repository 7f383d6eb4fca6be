#include "web/web.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
