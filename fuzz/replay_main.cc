// Driver for fuzz targets in ordinary (non-libFuzzer) builds: runs every file of the seed corpus
// directories given as arguments, then a fixed number of deterministic mutations of them
// (byte flips, truncations, splices), so each parser's fuzz target runs under ctest on every build.
// A crash or trap fails the test; the mutation stream is reproducible (fixed seed).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kMutations = 3000;

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(std::mt19937& rng, const std::vector<std::string>& seeds) {
  std::string s = seeds[rng() % seeds.size()];
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 5) {
      case 0:
        if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng());
        break;
      case 1:
        if (!s.empty()) s.resize(rng() % s.size());
        break;
      case 2: s.insert(s.begin() + (s.empty() ? 0 : rng() % s.size()), static_cast<char>(rng())); break;
      case 3: {
        const std::string& other = seeds[rng() % seeds.size()];
        if (!other.empty()) s += other.substr(rng() % other.size());
        break;
      }
      case 4:
        if (s.size() > 1) s.erase(rng() % s.size(), 1 + rng() % (s.size() / 2 + 1));
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      seeds.push_back(content.str());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seed files found\n");
    return 1;
  }
  for (const auto& seed : seeds) Run(seed);
  std::mt19937 rng(20261126);
  for (int i = 0; i < kMutations; ++i) Run(Mutate(rng, seeds));
  std::printf("ran %zu seeds and %d mutations\n", seeds.size(), kMutations);
  return 0;
}
