// What both fuzz targets take on the command line: [--seconds N] [--seed S].
#pragma once
#include <opencv2/core/utils/logger.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

struct FuzzRun {
  int seconds = 30;
  std::uint64_t seed = 1;
};

inline FuzzRun parse_fuzz_run(int argc, char** argv) {
  FuzzRun run;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) run.seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) run.seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);  // decoders complain of every mutant
  return run;
}
