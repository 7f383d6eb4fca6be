// The web UI's files and the handler that serves them (single-page app).
//
// Files come from one of two places:
//  - the copy built into the binary (EmbeddedWebFiles): the normal build runs
//    the web build (web/, npm) and compiles its output in, each file gzip
//    compressed; a binary built with -DFOREST_WEB=OFF has none;
//  - a directory (DirectoryWebFiles, `--web-dir`), read on every request, for
//    UI development: a rebuilt UI shows without restarting the server. Hidden
//    files (a segment starting with '.') and links leading out of it are
//    not served.
//
// WebHandler answers GET and HEAD for paths no API route claims (the router's
// fallback):
//  - a file that exists is served with its type; hashed files under /assets/
//    are cached for a year (immutable), everything else is revalidated
//    (no-cache), so a new binary's UI is picked up at once;
//  - any other path a browser navigates to (it accepts text/html:
//    /jobs/42, /jobs/report.daily) gets index.html: the app's router shows
//    the page;
//  - /api/..., missing files under /assets/, and missing files with an
//    extension asked for by anything but a page load get a JSON 404, never
//    index.html (a stale page would otherwise run HTML as JavaScript);
//  - gzip-stored files go out as they are to clients that accept gzip
//    (Content-Encoding: gzip) and are inflated for the rest.
//
// Thread safety: WebFiles and the handler are immutable after construction;
// call them from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "api/router.h"
#include "common/status.h"

namespace forest::web {

// One file of the UI. `body` is `encoding`-encoded ("gzip" or "" for
// identity).
struct WebFile {
  std::shared_ptr<const std::string> body;
  std::string encoding;
};

class WebFiles {
 public:
  virtual ~WebFiles() = default;
  // `path` is the decoded request path ("/index.html", "/assets/x.js").
  // nullopt when there is no such file (or the path tries to leave the root).
  virtual std::optional<WebFile> Find(const std::string& path) const = 0;
  // Whether the UI is there at all (index.html exists).
  bool HasIndex() const { return Find("/index.html").has_value(); }
};

// The files compiled into this binary (possibly none: HasIndex() false).
std::unique_ptr<WebFiles> EmbeddedWebFiles();

// The files under `root`. InvalidArgument when it is not a directory with an
// index.html in it.
absl::StatusOr<std::unique_ptr<WebFiles>> DirectoryWebFiles(const std::string& root);

// The Content-Type for a file name, by extension ("application/octet-stream"
// when unknown).
std::string ContentType(const std::string& path);

// Serves `files` as described above. `files` must outlive the handler. When
// `files` has no index.html, page paths get a short HTML page saying the UI
// was not built in and how to get it.
api::Handler WebHandler(const WebFiles& files);

}  // namespace forest::web
