#include "web/web.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "api/errors.h"
#include "common/gzip.h"
#include "web/embedded.h"

namespace forest::web {
namespace {

namespace fs = std::filesystem;

class EmbeddedFiles final : public WebFiles {
 public:
  explicit EmbeddedFiles(std::span<const internal::EmbeddedFile> table) {
    for (const internal::EmbeddedFile& f : table) {
      files_.emplace(f.path, WebFile{std::make_shared<const std::string>(f.gzip, f.gzip_size),
                                     "gzip"});
    }
  }
  std::optional<WebFile> Find(const std::string& path) const override {
    const auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, WebFile, std::less<>> files_;
};

bool IsUnder(const fs::path& path, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), path.begin(), path.end()).first == root.end();
}

class DirectoryFiles final : public WebFiles {
 public:
  explicit DirectoryFiles(const fs::path& root) : root_(fs::weakly_canonical(root)) {}
  std::optional<WebFile> Find(const std::string& path) const override {
    // Segments only: no "..", no ".", nothing that could leave the root.
    fs::path relative;
    size_t start = 0;
    while (start < path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      const std::string segment = path.substr(start, end - start);
      if (segment.starts_with('.') || segment.find('\0') != std::string::npos ||
          segment.find('\\') != std::string::npos) {
        return std::nullopt;  // "..", ".", and hidden files
      }
      if (!segment.empty()) relative /= segment;
      start = end + 1;
    }
    if (relative.empty()) return std::nullopt;
    std::error_code ec;
    // Links are followed only while they stay under the root.
    const fs::path file = fs::weakly_canonical(root_ / relative, ec);
    if (ec || !IsUnder(file, root_) || !fs::is_regular_file(file, ec)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    return WebFile{std::make_shared<const std::string>(content.str()), ""};
  }

 private:
  const fs::path root_;
};

std::string Extension(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

void AddCommonHeaders(api::Response& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
}

constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

constexpr char kNotBuiltPage[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Forest</title></head><body>"
    "<h1>Forest</h1><p>This binary was built without the web UI (<code>-DFOREST_WEB=OFF</code>). "
    "Build it with the normal CMake build, or serve a UI build with <code>--web-dir</code>. "
    "The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></body></html>";

api::Response Serve(const api::Request& request, const std::string& path, const WebFile& file) {
  api::Response r;
  r.content_type = ContentType(path);
  if (file.encoding.empty()) {
    r.body = *file.body;
  } else if (api::AcceptsGzip(request.Header("accept-encoding"))) {
    r.body = *file.body;
    r.headers.emplace_back("Content-Encoding", file.encoding);
  } else {
    absl::StatusOr<std::string> plain = Gunzip(*file.body);
    if (!plain.ok()) return api::ErrorResponse(plain.status());
    r.body = *std::move(plain);
  }
  r.headers.emplace_back("Vary", "Accept-Encoding");
  // Vite names what it builds under assets/ by content hash: a name never
  // changes its bytes. The rest (index.html) must be checked every time.
  r.headers.emplace_back("Cache-Control", path.rfind("/assets/", 0) == 0
                                              ? "public, max-age=31536000, immutable"
                                              : "no-cache");
  if (r.content_type.rfind("text/html", 0) == 0) {
    r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  }
  AddCommonHeaders(r);
  return r;
}

}  // namespace

std::unique_ptr<WebFiles> internal::TableWebFiles(std::span<const internal::EmbeddedFile> table) {
  return std::make_unique<EmbeddedFiles>(table);
}

std::unique_ptr<WebFiles> EmbeddedWebFiles() {
  return internal::TableWebFiles(internal::EmbeddedUi());
}

absl::StatusOr<std::unique_ptr<WebFiles>> DirectoryWebFiles(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(fmt::format("\"{}\" is not a directory", root));
  }
  if (!fs::is_regular_file(fs::path(root) / "index.html", ec)) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" has no index.html (give the directory the web build wrote)", root));
  }
  return std::make_unique<DirectoryFiles>(fs::path(root));
}

std::string ContentType(const std::string& path) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
  };
  const auto it = kTypes.find(Extension(path));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

api::Handler WebHandler(const WebFiles& files) {
  return [&files](api::Request& request) -> api::Response {
    const std::string& path = request.path;
    if (path == "/api" || path.rfind("/api/", 0) == 0) {
      return api::ErrorResponse(absl::NotFoundError("no route for " + path));
    }
    if (path != "/" && path != "/index.html") {
      if (std::optional<WebFile> file = files.Find(path)) return Serve(request, path, *file);
      const bool page_load = request.Header("accept").find("text/html") != std::string::npos;
      if (path.rfind("/assets/", 0) == 0 || (!Extension(path).empty() && !page_load)) {
        return api::ErrorResponse(absl::NotFoundError("no file " + path));
      }
    }
    // A page of the app: its router shows it.
    if (std::optional<WebFile> index = files.Find("/index.html")) {
      return Serve(request, "/index.html", *index);
    }
    api::Response r;
    r.status = 404;
    r.content_type = "text/html; charset=utf-8";
    r.body = kNotBuiltPage;
    AddCommonHeaders(r);
    return r;
  };
}

}  // namespace forest::web
