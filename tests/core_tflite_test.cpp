// `models import` of Magenta's original TFLite files (src/weights/
// tflite_reader.cpp, magenta_import.cpp): the same tensors as the shared
// safetensors that were converted from them, and one-line errors for files
// that are damaged, foreign or another network.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "atelier/error.hpp"
#include "atelier/model_tools.hpp"
#include "atelier/safetensors.hpp"
#include "test_support.hpp"
#include "tiny_tflite.hpp"
#include "weights/tflite_reader.hpp"

namespace atelier {
namespace {

using testing::read_all;
using testing::ScratchDir;
using testing::write_all;

const std::string kDir = "models/magenta-arbitrary/";
const std::string kPredictor = kDir + "source/magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite";
const std::string kTransfer = kDir + "source/magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite";
const std::string kTransferInt8 = kDir + "source/magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite";

// Distance in units in the last place between two finite floats.
std::int64_t ulps(float a, float b) {
  std::int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  const auto ordered = [](std::int32_t v) { return v < 0 ? std::int64_t{INT32_MIN} - v : std::int64_t{v}; };
  return std::llabs(ordered(x) - ordered(y));
}

// Every tensor of `imported` has the name, shape and (within one float32
// rounding) the values of the same tensor in `reference`, and no tensor is
// missing or extra.
void expect_same_tensors(const std::string& imported, const std::string& reference) {
  const SafetensorsFile mine = SafetensorsFile::open(imported), theirs = SafetensorsFile::open(reference);
  ASSERT_EQ(mine.names(), theirs.names());
  std::int64_t values = 0, exact = 0;
  for (const std::string& name : theirs.names()) {
    const TensorView& a = mine.tensor(name);
    const TensorView& b = theirs.tensor(name);
    ASSERT_EQ(a.shape, b.shape) << name;
    EXPECT_EQ(a.dtype, DType::F32) << name;
    const std::vector<float> x = a.to_float(), y = b.to_float();
    std::int64_t worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      worst = std::max(worst, ulps(x[i], y[i]));
      exact += x[i] == y[i];
    }
    values += static_cast<std::int64_t>(x.size());
    EXPECT_LE(worst, 1) << name << " differs by more than float32 rounding";
  }
  std::cout << imported << ": " << theirs.names().size() << " tensors, " << exact << " of " << values
            << " values bit-identical, the rest within 1 ulp" << std::endl;
}

// The reader on a flatbuffer built by hand: names, shapes, types,
// operators, and int8 per-channel dequantisation and fp16 widening.
TEST(TfliteReader, ReadsHandBuiltModel) {
  const tflite::Model model = tflite::parse_model(testing::tiny_tflite(), "tiny.tflite");
  EXPECT_EQ(model.version, 3u);
  ASSERT_EQ(model.builtin_codes, std::vector<std::int32_t>{3});
  ASSERT_EQ(model.tensors.size(), 2u);
  EXPECT_EQ(model.tensors[0].name, "layer/weights");
  EXPECT_EQ(model.tensors[0].shape, (std::vector<std::int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(model.tensors[0].type, tflite::kInt8);
  EXPECT_EQ(model.to_float(model.tensors[0]), (std::vector<float>{1.0f, -1.0f, 1.0f, 0.0f}));
  EXPECT_EQ(model.tensors[1].type, tflite::kFloat16);
  EXPECT_EQ(model.to_float(model.tensors[1]), (std::vector<float>{1.5f, -2.0f}));
  ASSERT_EQ(model.operators.size(), 1u);
  EXPECT_EQ(model.operators[0].inputs, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(model.operators[0].outputs, (std::vector<std::int32_t>{1}));
}

// Every truncation and every single-byte change of the hand-built model is
// read or refused with an atelier::Error naming the file, never a crash
// (run under AddressSanitizer by the fuzz target).
TEST(TfliteReader, EveryCutAndByteChangeIsReadOrRefused) {
  const std::vector<unsigned char> bytes = testing::tiny_tflite();
  int refused = 0;
  const auto attempt = [&](std::vector<unsigned char> mutant) {
    try {
      const tflite::Model model = tflite::parse_model(std::move(mutant), "m.tflite");
      for (const auto& tensor : model.tensors) {
        std::size_t size = 0;
        if (model.data(tensor, &size)) model.to_float(tensor);
      }
    } catch (const Error& error) {
      ++refused;
      EXPECT_EQ(std::string(error.what()).rfind("m.tflite: ", 0), 0u) << error.what();
    }
  };
  for (std::size_t size = 0; size < bytes.size(); ++size)
    attempt(std::vector<unsigned char>(bytes.begin(), bytes.begin() + size));
  for (std::size_t at = 0; at < bytes.size(); ++at)
    for (const unsigned char value : {0x00, 0x7f, 0x80, 0xff}) {
      std::vector<unsigned char> mutant = bytes;
      mutant[at] = value;
      attempt(mutant);
    }
  EXPECT_GT(refused, static_cast<int>(bytes.size()));
}

TEST(MagentaTfliteImport, OtherTfliteModelIsOneLineError) {
  ScratchDir dir;
  const std::vector<unsigned char> bytes = testing::tiny_tflite();
  write_all(dir.file("tiny.tflite"), std::string(bytes.begin(), bytes.end()));
  ScratchDir out;
  try {
    import_magenta_tflite(dir.file("tiny.tflite"), out.file("x.safetensors"));
    ADD_FAILURE() << "imported";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()),
              dir.file("tiny.tflite") + ": a TFLite model, but not Magenta's arbitrary style predictor or transfer network");
  }
}

TEST(MagentaTfliteImport, PredictorInt8EqualsSharedSafetensors) {
  ATELIER_REQUIRE_SHARED(source, kPredictor);
  ATELIER_REQUIRE_SHARED(reference, kDir + "style_predict.safetensors");
  ScratchDir dir;
  EXPECT_EQ(import_magenta_tflite(source, dir.file("p.safetensors")), "magenta-predictor");
  expect_same_tensors(dir.file("p.safetensors"), reference);
  const SafetensorsFile file = SafetensorsFile::open(dir.file("p.safetensors"));
  EXPECT_EQ(file.metadata_value("source_sha256"), "af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2");
  EXPECT_EQ(file.metadata_value("licence"), SafetensorsFile::open(reference).metadata_value("licence"));
  EXPECT_EQ(nlohmann::json::parse(file.metadata_value("blocks")),
            nlohmann::json::parse(SafetensorsFile::open(reference).metadata_value("blocks")));
}

TEST(MagentaTfliteImport, TransferFp16EqualsSharedSafetensors) {
  ATELIER_REQUIRE_SHARED(source, kTransfer);
  ATELIER_REQUIRE_SHARED(reference, kDir + "style_transfer.safetensors");
  ScratchDir dir;
  EXPECT_EQ(import_magenta_tflite(source, dir.file("t.safetensors")), "magenta-transfer");
  expect_same_tensors(dir.file("t.safetensors"), reference);
  const SafetensorsFile file = SafetensorsFile::open(dir.file("t.safetensors"));
  const SafetensorsFile shared = SafetensorsFile::open(reference);
  for (const char* key : {"instance_norm_eps", "padding", "input", "output"})
    EXPECT_EQ(file.metadata_value(key), shared.metadata_value(key)) << key;
  EXPECT_EQ(nlohmann::json::parse(file.metadata_value("layers")), nlohmann::json::parse(shared.metadata_value("layers")));
}

TEST(MagentaTfliteImport, TransferInt8EqualsSharedSafetensors) {
  ATELIER_REQUIRE_SHARED(source, kTransferInt8);
  ATELIER_REQUIRE_SHARED(reference, kDir + "style_transfer_int8.safetensors");
  ScratchDir dir;
  EXPECT_EQ(import_magenta_tflite(source, dir.file("t8.safetensors")), "magenta-transfer");
  expect_same_tensors(dir.file("t8.safetensors"), reference);
}

// The import of `path` fails with one line that names it and contains
// `problem`, and writes nothing.
void expect_import_error(const std::string& path, const std::string& problem) {
  ScratchDir out;
  try {
    import_magenta_tflite(path, out.file("x.safetensors"));
    ADD_FAILURE() << path << " was imported";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(out.file("x.safetensors")));
}

TEST(MagentaTfliteImport, TruncatedFilesAreOneLineErrors) {
  ATELIER_REQUIRE_SHARED(source, kPredictor);
  const std::string bytes = read_all(source);
  ScratchDir dir;
  // Cut at many places: every cut is refused with a message, none crashes.
  // (Not the last bytes: the file ends with an empty zip archive after the flatbuffer, which import does not read.)
  for (const std::size_t size : {std::size_t{0}, std::size_t{7}, std::size_t{64}, bytes.size() / 3,
                                 bytes.size() / 2, bytes.size() - 1000}) {
    const std::string path = dir.file("cut" + std::to_string(size) + ".tflite");
    write_all(path, bytes.substr(0, size));
    expect_import_error(path, size < 8 ? "not a TFLite model" : "");
  }
}

TEST(MagentaTfliteImport, PictureRenamedTfliteIsOneLineError) {
  ScratchDir dir;
  const std::string path = dir.file("painting.tflite");
  cv::Mat pixels(8, 8, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::imwrite(path + ".png", pixels);
  std::filesystem::rename(path + ".png", path);
  expect_import_error(path, "not a TFLite model (no \"TFL3\" file identifier)");
}

TEST(MagentaTfliteImport, FlatbufferWithWildOffsetsIsOneLineError) {
  ScratchDir dir;
  // The identifier is right, but the root offset points past the end.
  const std::string path = dir.file("wild.tflite");
  write_all(path, std::string("\xff\xff\xff\x7f", 4) + "TFL3" + std::string(16, '\0'));
  expect_import_error(path, "not a valid TFLite model");
  // A vtable offset that points before the file.
  write_all(path, std::string("\x08\x00\x00\x00", 4) + "TFL3" + std::string("\x00\x00\x00\x70", 4));
  expect_import_error(path, "not a valid TFLite model");
}

// A file of `source` with one tensor name changed (same length; the whole
// name, up to its terminating zero, so that "x/weights_dequantize" is not
// taken for "x/weights").
std::string renamed(const std::string& source, const std::string& from, const std::string& to, const ScratchDir& dir) {
  std::string bytes = read_all(source);
  const std::size_t at = bytes.find(from + std::string(1, '\0'));
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  const std::string path = dir.file("renamed.tflite");
  write_all(path, bytes);
  return path;
}

TEST(MagentaTfliteImport, OtherNetworksAreOneLineErrors) {
  ATELIER_REQUIRE_SHARED(predictor, kPredictor);
  ATELIER_REQUIRE_SHARED(transfer, kTransfer);
  ScratchDir dir;
  // A valid TFLite model of neither network.
  expect_import_error(renamed(predictor, "MobilenetV2/Conv/weights", "MobilenetV2/Xonv/weights", dir),
                      "not Magenta's arbitrary style predictor or transfer network");
  // A transfer network with a layer it should not have.
  expect_import_error(renamed(transfer, "residual5/conv2/weights", "residual5/conv9/weights", dir),
                      "is not part of the magenta-transfer network");
  // A predictor without one of its layers.
  expect_import_error(renamed(predictor, "expanded_conv_16/project/weights", "expanded_conv_16/prXject/weights", dir),
                      "without its predictor.block16.project.weight");
}

TEST(MagentaTfliteImport, MissingFileIsOneLineError) {
  ScratchDir dir;
  expect_import_error(dir.file("absent.tflite"), "cannot be read");
}

}  // namespace
}  // namespace atelier
