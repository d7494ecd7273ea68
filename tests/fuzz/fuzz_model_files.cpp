// A bounded fuzz run of what Atelier reads from files a user hands it:
// pictures (our header parser, then OpenCV's decoders), safetensors
// (our parser), PyTorch .pth checkpoints (libtorch's zip and pickle
// readers, behind our checks) and TFLite flatbuffers (our reader and the
// Magenta import; the seed is a small model built by hand). Built with AddressSanitizer and UBSan on
// Atelier's own code (see CMakeLists.txt). Every mutant must load or fail
// with an exception; a crash or a sanitizer report fails the run.
//
//   fuzz_model_files [--seconds N] [--seed S]
#include <unistd.h>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <map>
#include <random>

#include "fuzz_run.hpp"
#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_tools.hpp"
#include "atelier/safetensors.hpp"
#include "models/fast_style.hpp"
#include "../tiny_tflite.hpp"
#include "weights/tflite_reader.hpp"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

namespace {

using Bytes = std::vector<unsigned char>;

Bytes encoded(const char* extension, int width, int height) {
  cv::Mat pixels(height, width, CV_8UC3);
  cv::randu(pixels, 0, 255);
  Bytes bytes;
  cv::imencode(extension, pixels, bytes);
  return bytes;
}

Bytes safetensors_seed() {
  std::map<std::string, atelier::TensorToWrite> tensors;
  tensors["conv.weight"] = {atelier::DType::F32, {2, 3, 1, 1}, {1, 2, 3, 4, 5, 6}};
  tensors["conv.bias"] = {atelier::DType::F16, {2}, {0.5f, -1}};
  tensors["norm.weight"] = {atelier::DType::BF16, {3}, {1, 2, 3}};
  return atelier::serialize_safetensors(tensors, {{"title", "seed"}});
}

Bytes checkpoint_seed() {
  c10::impl::GenericDict state(c10::StringType::get(), c10::TensorType::get());
  state.insert("conv.weight", torch::arange(6, torch::kFloat32).reshape({2, 3, 1, 1}));
  state.insert("conv.bias", torch::ones({2}, torch::kFloat16));
  const std::vector<char> bytes = torch::pickle_save(state);
  return Bytes(bytes.begin(), bytes.end());
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : random_(seed) {}
  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }

  Bytes mutate(Bytes bytes) {
    const int steps = 1 + static_cast<int>(below(6));
    for (int i = 0; i < steps; ++i) {
      const std::size_t at = below(bytes.size() + 1);
      switch (below(7)) {
        case 0: if (!bytes.empty()) bytes[below(bytes.size())] ^= static_cast<unsigned char>(1u << below(8)); break;
        case 1: if (!bytes.empty()) bytes[below(bytes.size())] = static_cast<unsigned char>(below(256)); break;
        case 2: bytes.insert(bytes.begin() + at, 1 + below(16), static_cast<unsigned char>(below(256))); break;
        case 3: bytes.erase(bytes.begin() + at, bytes.begin() + std::min(bytes.size(), at + below(64))); break;
        case 4: bytes.resize(at); break;  // truncated
        case 5: {  // an interesting number where a length or offset may be
          static const std::uint32_t values[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 65535, 65536};
          const std::uint32_t value = values[below(7)];
          for (int b = 0; b < 4 && at + b < bytes.size(); ++b) bytes[at + b] = static_cast<unsigned char>(value >> (8 * b));
          break;
        }
        default: {  // a copied run, as in a repeated chunk
          const std::size_t from = below(bytes.size());
          const Bytes run(bytes.begin() + from, bytes.begin() + std::min(bytes.size(), from + below(128)));
          bytes.insert(bytes.begin() + at, run.begin(), run.end());
        }
      }
    }
    return bytes;
  }

 private:
  std::mt19937_64 random_;
};

}  // namespace

int main(int argc, char** argv) {
  const FuzzRun run = parse_fuzz_run(argc, argv);
  const int seconds = run.seconds;
  const std::uint64_t seed = run.seed;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("atelier-fuzz-files-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<Bytes> pictures = {encoded(".png", 24, 16), encoded(".jpg", 24, 16), encoded(".bmp", 8, 8),
                                       encoded(".webp", 9, 7), encoded(".tiff", 5, 6)};
  const Bytes safetensors = safetensors_seed(), checkpoint = checkpoint_seed();
  // TFLite seeds: a small model built by hand, and Magenta's fp16 transfer file when ../shared is
  // beside the repository (this binary lives in <repo>/build).
  std::vector<Bytes> tflites = {atelier::testing::tiny_tflite()};
  std::error_code error;
  const std::filesystem::path magenta =
      std::filesystem::canonical("/proc/self/exe", error).parent_path().parent_path().parent_path() /
      "shared/models/magenta-arbitrary/source/magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite";
  if (!error && std::filesystem::is_regular_file(magenta)) {
    std::ifstream in(magenta, std::ios::binary);
    tflites.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Mutator mutator(seed), tflite_mutator(seed + 1000003);
  std::uint64_t turn = 0;
  std::map<std::string, std::pair<long, long>> runs;  // kind -> (loaded, refused)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    // Every fourth run is a TFLite file from its own mutator, so that the other kinds see the same
    // sequence of mutants for a given seed as before TFLite was added.
    const bool tflite_turn = ++turn % 4 == 0;
    Mutator& draw = tflite_turn ? tflite_mutator : mutator;
    const std::size_t kind = tflite_turn ? 3 : draw.below(3);
    const char* name = kind == 0 ? "picture" : kind == 1 ? "safetensors" : kind == 2 ? "pth" : "tflite";
    const Bytes& base = kind == 0   ? pictures[draw.below(pictures.size())]
                        : kind == 1 ? safetensors
                        : kind == 2 ? checkpoint
                                    : tflites[draw.below(tflites.size())];
    const Bytes bytes = draw.below(20) == 0 ? base : draw.mutate(base);
    try {
      if (kind == 0) {
        atelier::decode_image(bytes, "fuzz", atelier::LoadOptions{1 << 20});
      } else if (kind == 3) {
        const atelier::tflite::Model model = atelier::tflite::parse_model(bytes, "fuzz.tflite");
        for (const auto& tensor : model.tensors) {
          try {  // an integer tensor without scales (shapes, paddings) is refused alone
            std::size_t size = 0;
            if (model.data(tensor, &size)) model.to_float(tensor);
          } catch (const atelier::Error&) {
          }
        }
        // Read (counted as loaded); then the import, which refuses anything but Magenta's networks.
        const std::string path = (dir / "m.tflite").string();
        atelier::write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
        try {
          atelier::import_magenta_tflite(path, (dir / "out.safetensors").string());
          ++runs["tflite import"].first;
        } catch (const atelier::Error&) {
          ++runs["tflite import"].second;
        }
      } else {
        const std::string path = (dir / (kind == 1 ? "m.safetensors" : "m.pth")).string();
        atelier::write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
        if (kind == 1)
          for (const auto& tensor_name : atelier::SafetensorsFile::open(path).names())
            atelier::SafetensorsFile::open(path).tensor(tensor_name).to_float();
        atelier::load_state_dict(path);
      }
      ++runs[name].first;
    } catch (const std::exception&) {  // refused with a message: what must happen to a broken file
      ++runs[name].second;
    }
  }
  std::filesystem::remove_all(dir);
  std::cout << "ok - no crash and no sanitizer error in " << seconds << " s:";
  for (const auto& [kind, counts] : runs)
    std::cout << ' ' << kind << " " << counts.first << " loaded/" << counts.second << " refused;";
  std::cout << std::endl;
  return 0;
}
