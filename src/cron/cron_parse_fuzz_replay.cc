// Runs the fuzz entry point without libFuzzer: over every file of the seed
// corpus given on the command line, then over random mutations of them
// (fixed seed, so a failure reproduces). Exits non-zero only by crashing.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  for (const std::string& input : corpus) Run(input);

  // Mutations: replace, insert and delete bytes drawn from cron's alphabet.
  static constexpr char kAlphabet[] = "0123456789*/?,-#LW @ \tMONFRIJANSUNeveryhms.";
  std::mt19937 rng(20261124);
  const int kMutations = 200000;
  for (int i = 0; i < kMutations && !corpus.empty(); ++i) {
    std::string s = corpus[rng() % corpus.size()];
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      const char c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
      switch (rng() % 3) {
        case 0:
          if (pos < s.size()) s[pos] = c;
          break;
        case 1:
          s.insert(s.begin() + long(pos), c);
          break;
        default:
          if (pos < s.size()) s.erase(pos, 1);
      }
    }
    Run(s);
  }
  std::printf("ran %zu corpus inputs and %d mutations\n", corpus.size(), kMutations);
  return 0;
}
