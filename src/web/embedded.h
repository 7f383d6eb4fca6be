// The table the build generates (embed_tool.cc): one entry per file of a
// directory, its bytes gzip compressed. Not API: web.h is.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "web/web.h"

namespace forest::web::internal {

struct EmbeddedFile {
  const char* path;  // "/index.html", "/assets/index-3f2a.js"
  const char* gzip;  // the file, gzip compressed
  size_t gzip_size;
};

// The UI the build put in (generated: web_files.cc).
std::span<const EmbeddedFile> EmbeddedUi();

// The files of a table (EmbeddedWebFiles is this over EmbeddedUi()).
std::unique_ptr<WebFiles> TableWebFiles(std::span<const EmbeddedFile> table);

}  // namespace forest::web::internal
