# Writes OUT: a C++ file defining forest::api::OpenApiFragments() with the
# text of each file of FILES (a |-separated list), in order.
string(REPLACE "|" ";" files "${FILES}")
set(body "")
foreach(f ${files})
  file(READ ${f} text)
  set(body "${body}      R\"FOREST_OPENAPI(${text})FOREST_OPENAPI\",\n")
endforeach()
file(WRITE ${OUT}.tmp
  "// Generated from src/api/openapi/*.json by embed.cmake; do not edit.\n"
  "#include <string>\n#include <vector>\n\n"
  "namespace forest::api {\n"
  "const std::vector<std::string>& OpenApiFragments();\n"
  "const std::vector<std::string>& OpenApiFragments() {\n"
  "  static const std::vector<std::string> fragments = {\n${body}  };\n"
  "  return fragments;\n}\n}  // namespace forest::api\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
