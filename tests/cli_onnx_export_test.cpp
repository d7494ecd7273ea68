// `atelier models export`: fast styles, Magenta's and AdaIN's networks as ONNX models,
// run in ONNX Runtime (the npm package onnxruntime-node, tests/onnx) against
// Atelier's own output and checked by Debian's python3-onnx. Each part skips,
// saying so, when its tool is absent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "atelier/arbitrary_style.hpp"
#include "atelier/image.hpp"
#include "atelier/safetensors.hpp"
#include "models/fast_style.hpp"
#include "models/adain.hpp"
#include "models/magenta.hpp"
#include "random_adain_network.hpp"
#include "random_magenta_network.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;
using testing::lines_of;

// tests/onnx, beside this file: run_onnx.mjs and its node_modules.
const fs::path kOnnxTools = fs::path(__FILE__).parent_path() / "onnx";

bool have_onnxruntime() { return fs::is_directory(kOnnxTools / "node_modules" / "onnxruntime-node"); }
bool have_python_onnx() { return testing::run_command("/usr/bin/python3 -c 'import onnx'") == 0; }

#define REQUIRE_ONNXRUNTIME()                                                                                   \
  if (!have_onnxruntime())                                                                                      \
  GTEST_SKIP() << "SKIPPED: tests/onnx/node_modules/onnxruntime-node is absent "                                \
                  "(scripts/setup.sh installs it: cd tests/onnx && npm ci --ignore-scripts)"
#define REQUIRE_PYTHON_ONNX() \
  if (!have_python_onnx()) GTEST_SKIP() << "SKIPPED: /usr/bin/python3 has no onnx (apt install python3-onnx)"

void write_random_network(const std::string& path, FastStyleArchitecture architecture, std::uint64_t seed) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : testing::random_style_weights(architecture, seed)) {
    const auto values = tensor.contiguous();
    tensors[key] = {DType::F32, values.sizes().vec(),
                    std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }
  write_safetensors(path, tensors, {{"style", "random"}, {"license", "test weights"}});
}

struct OnnxInput {
  std::string name;
  std::vector<float> values;
  std::vector<int> dims;
};

// The model's first output, run in ONNX Runtime (tests/onnx/run_onnx.mjs).
std::vector<float> run_in_onnxruntime(const testing::ScratchDir& scratch, const std::string& model,
                                      const std::vector<OnnxInput>& inputs, size_t expected_count) {
  std::string command = "node '" + (kOnnxTools / "run_onnx.mjs").string() + "' '" + model + "' '" +
                        scratch.file("output.f32") + "'";
  for (const auto& input : inputs) {
    const std::string file = scratch.file(input.name + ".f32");
    testing::write_all(file, std::string(reinterpret_cast<const char*>(input.values.data()),
                                         input.values.size() * sizeof(float)));
    std::string dims;
    for (const int dim : input.dims) dims += (dims.empty() ? "" : "x") + std::to_string(dim);
    command += " " + input.name + " '" + file + "' " + dims;
  }
  std::string log;
  EXPECT_EQ(testing::run_command(command, &log), 0) << log;
  const std::string output = testing::read_all(scratch.file("output.f32"));
  if (output.size() != expected_count * sizeof(float)) {
    ADD_FAILURE() << "ONNX Runtime wrote " << output.size() << " bytes, expected " << expected_count * sizeof(float)
                  << ": " << log;
    return {};
  }
  std::vector<float> values(expected_count);
  std::memcpy(values.data(), output.data(), output.size());
  return values;
}

// A picture (CV_32FC3, [0,1]) as a [1,3,H,W] input in the model's range.
OnnxInput picture_input(const std::string& name, const cv::Mat& rgb, double scale) {
  std::vector<cv::Mat> planes;
  cv::split(rgb * scale, planes);
  OnnxInput input{name, {}, {1, 3, rgb.rows, rgb.cols}};
  for (const auto& plane : planes) input.values.insert(input.values.end(), plane.begin<float>(), plane.end<float>());
  return input;
}

// A [1,3,H,W] output back to a picture in [0,1].
cv::Mat output_picture(const std::vector<float>& values, int height, int width, double scale) {
  if (values.size() != static_cast<size_t>(3 * height * width)) return {};
  std::vector<cv::Mat> planes;
  for (int c = 0; c < 3; ++c)
    planes.push_back(cv::Mat(height, width, CV_32F, const_cast<float*>(values.data()) + c * height * width) / scale);
  cv::Mat merged;
  cv::merge(planes, merged);
  return merged;
}

// A fast style model (0..255 in and out) on `rgb` in ONNX Runtime.
cv::Mat fast_style_in_onnxruntime(const testing::ScratchDir& scratch, const std::string& model, const cv::Mat& rgb) {
  const auto values = run_in_onnxruntime(scratch, model, {picture_input("image", rgb, 255.0)}, 3 * rgb.total());
  return output_picture(values, rgb.rows, rgb.cols, 255.0);
}

// Magenta's two models on a photo (sides multiples of 4) and a prepared style
// square, in ONNX Runtime: the style vector, then the painting.
std::pair<std::vector<float>, cv::Mat> magenta_in_onnxruntime(const testing::ScratchDir& scratch,
                                                              const std::string& predictor,
                                                              const std::string& transfer, const cv::Mat& photo,
                                                              const cv::Mat& style_square) {
  const auto vector = run_in_onnxruntime(scratch, predictor, {picture_input("style_image", style_square, 1.0)}, 100);
  if (vector.empty()) return {};
  const auto painted = run_in_onnxruntime(
      scratch, transfer, {picture_input("image", photo, 1.0), OnnxInput{"style_vector", vector, {1, 100}}},
      3 * photo.total());
  return {vector, output_picture(painted, photo.rows, photo.cols, 1.0)};
}

// PSNR (dB) of two [0,1] pictures as 8-bit files hold them.
double psnr_8bit(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat a8, b8;
  a.convertTo(a8, CV_8UC3, 255.0);
  b.convertTo(b8, CV_8UC3, 255.0);
  const double mse = cv::norm(a8, b8, cv::NORM_L2SQR) / static_cast<double>(a8.total() * 3);
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// A smooth, non-square picture of awkward size (not a multiple of 4: the
// networks' padding and the crop back to the input are exercised).
cv::Mat gradient_picture(int width, int height) {
  cv::Mat rgb(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      rgb.at<cv::Vec3f>(y, x) = {0.5f + 0.4f * std::sin(0.21f * x), static_cast<float>(y) / height,
                                 0.5f + 0.4f * std::cos(0.17f * (x + y))};
  return rgb;
}

class CliOnnxExportTest : public ::testing::Test {
 protected:
  CliResult run(const std::string& arguments, const std::string& environment = "") const {
    return testing::run_atelier(scratch_, arguments, environment);
  }
  void expect_one_line_error(const CliResult& result, const std::string& fragment) const {
    EXPECT_EQ(result.code, 1) << result.err;
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << result.err;
    EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(fragment), std::string::npos) << lines[0];
  }

  testing::ScratchDir scratch_;
};

// Both architectures, random weights, a 37x29 picture: ONNX Runtime paints
// what FastStyleNetwork paints, alone or in a batch.
TEST_F(CliOnnxExportTest, BothArchitecturesMatchAtelierInOnnxRuntime) {
  REQUIRE_ONNXRUNTIME();
  const cv::Mat picture = gradient_picture(37, 29);
  for (const auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom}) {
    const std::string name = architecture_name(architecture);
    const std::string weights = scratch_.file(name + ".safetensors"), model = scratch_.file(name + ".onnx");
    write_random_network(weights, architecture, 7);
    const CliResult exported = run("models export '" + weights + "' -o '" + model + "' --json");
    ASSERT_EQ(exported.code, 0) << exported.err;
    const auto summary = nlohmann::json::parse(exported.out);
    EXPECT_EQ(summary["architecture"], name);
    EXPECT_EQ(summary["opset"], 17);
    EXPECT_EQ(summary["bytes"], fs::file_size(model));

    const cv::Mat ours = stylize_image(load_fast_style_network(weights), picture);
    const cv::Mat theirs = fast_style_in_onnxruntime(scratch_, model, picture);
    ASSERT_EQ(theirs.size(), ours.size());
    const double max_difference = cv::norm(ours, theirs, cv::NORM_INF) * 255.0;
    const double psnr = psnr_8bit(ours, theirs);
    std::printf("[ measure  ] %s random 37x29: max |Atelier - ONNX Runtime| = %.3g of 255, PSNR %.1f dB\n",
                name.c_str(), max_difference, psnr);
    EXPECT_LT(max_difference, 0.05);
    EXPECT_GE(psnr, 45.0);
    cv::Scalar mean, deviation;
    cv::meanStdDev(ours.reshape(1), mean, deviation);
    EXPECT_GT(deviation[0], 0.05) << "a flat picture would prove little";

    // A batch of two (N is symbolic): each image as it is painted alone.
    cv::Mat flipped;
    cv::flip(picture, flipped, 1);
    OnnxInput batch = picture_input("image", picture, 255.0);
    const auto second = picture_input("image", flipped, 255.0).values;
    batch.values.insert(batch.values.end(), second.begin(), second.end());
    batch.dims[0] = 2;
    const auto both = run_in_onnxruntime(scratch_, model, {batch}, 6 * picture.total());
    ASSERT_EQ(both.size(), 6 * picture.total());
    const size_t half = 3 * picture.total();
    const cv::Mat first_of_two = output_picture({both.begin(), both.begin() + half}, picture.rows, picture.cols, 255.0);
    const cv::Mat second_of_two = output_picture({both.begin() + half, both.end()}, picture.rows, picture.cols, 255.0);
    EXPECT_LT(cv::norm(first_of_two, theirs, cv::NORM_INF) * 255.0, 1e-3) << name;
    EXPECT_LT(cv::norm(second_of_two, stylize_image(load_fast_style_network(weights), flipped), cv::NORM_INF) * 255.0,
              0.05)
        << name;
  }
}

// Debian's onnx.checker (with shape inference) accepts every kind, and the
// conventions are where an app reads them.
TEST_F(CliOnnxExportTest, ModelsPassTheOnnxCheckerAndStateTheirConventions) {
  REQUIRE_PYTHON_ONNX();
  testing::write_random_magenta_models(scratch_.path(), 5);
  testing::write_random_adain_models(scratch_.path(), "relu4_1", 5);
  for (const auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom})
    write_random_network(scratch_.file(std::string(architecture_name(architecture)) + ".safetensors"), architecture, 3);
  // (weights, kind, architecture, inputs, outputs): the shapes as python lists.
  const std::vector<std::array<std::string, 5>> expected = {
      {"pytorch-examples.safetensors", "fast-style", "pytorch-examples", "[('image', ['N', 3, 'H', 'W'])]",
       "[('stylized', ['N', 3, 'H', 'W'])]"},
      {"engstrom.safetensors", "fast-style", "engstrom", "[('image', ['N', 3, 'H', 'W'])]",
       "[('stylized', ['N', 3, 'H', 'W'])]"},
      {"magenta-arbitrary/style_predict.safetensors", "magenta-style-predictor", "magenta-arbitrary-v1-256",
       "[('style_image', ['N', 3, 'H', 'W'])]", "[('style_vector', ['N', 100])]"},
      {"magenta-arbitrary/style_transfer.safetensors", "magenta-style-transfer", "magenta-arbitrary-v1-256",
       "[('image', ['N', 3, 'H', 'W']), ('style_vector', ['N', 100])]", "[('stylized', ['N', 3, 'H', 'W'])]"},
      {"adain/vgg_normalised.safetensors", "adain-encoder", "vgg-normalised", "[('image', ['N', 3, 'H', 'W'])]",
       "[('features', ['N', 512, 'h', 'w'])]"},
      {"adain/decoder.safetensors", "adain-decoder", "adain-decoder", "[('features', ['N', 512, 'h', 'w'])]",
       "[('image', ['N', 3, 'H', 'W'])]"}};
  const std::string check =
      "import onnx, sys\n"
      "path, kind, architecture, inputs, outputs = sys.argv[1:]\n"
      "m = onnx.load(path)\n"
      "onnx.checker.check_model(m, full_check=True)\n"
      "props = {p.key: p.value for p in m.metadata_props}\n"
      "assert [(o.domain, o.version) for o in m.opset_import] == [('', 17)], m.opset_import\n"
      "assert (props['atelier.kind'], props['architecture'], props['opset']) == (kind, architecture, '17'), props\n"
      "assert (props['layout'], props['dtype'], props['channel_order']) == ('NCHW', 'float32', 'RGB'), props\n"
      "assert kind == 'adain-decoder' or props['input_range'] == ('0..255' if kind == 'fast-style' else '0..1'), props\n"
      "def values(vs): return [(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])\n"
      "                        for v in vs if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT]\n"
      "assert values(m.graph.input) == eval(inputs), values(m.graph.input)\n"
      "assert values(m.graph.output) == eval(outputs), values(m.graph.output)\n"
      "print('checked', path)\n";
  testing::write_all(scratch_.file("check.py"), check);
  for (const auto& [weights, kind, architecture, inputs, outputs] : expected) {
    const std::string model = scratch_.file(kind + "-" + architecture + ".onnx");
    const CliResult exported = run("models export '" + scratch_.file(weights) + "' -o '" + model + "'");
    ASSERT_EQ(exported.code, 0) << exported.err;
    EXPECT_NE(exported.err.find("wrote " + model + " (" + kind + ", " + architecture + ", ONNX opset 17"),
              std::string::npos)
        << exported.err;
    std::string log;
    EXPECT_EQ(testing::run_command("/usr/bin/python3 '" + scratch_.file("check.py") + "' '" + model + "' " + kind +
                                       " " + architecture + " \"" + inputs + "\" \"" + outputs + "\"",
                                   &log),
              0)
        << log;
  }
}

// Unknown model, an arbitrary-style network, a checkpoint, something else,
// an unwritable or existing output: one line, exit 1, no file written.
TEST_F(CliOnnxExportTest, BadInputIsAOneLineErrorAndNoFile) {
  const std::string weights = scratch_.file("style.safetensors"), out_dir = scratch_.file("out");
  fs::create_directories(out_dir);
  write_random_network(weights, FastStyleArchitecture::PytorchExamples, 1);
  const std::string model = out_dir + "/style.onnx";

  expect_one_line_error(run("models export no_such_style -o '" + model + "'"), "no_such_style");
  write_safetensors(scratch_.file("magenta.safetensors"), {{"transfer.contract.conv1.weight", {DType::F32, {1}, {0.f}}}});
  expect_one_line_error(run("models export '" + scratch_.file("magenta.safetensors") + "' -o '" + model + "'"),
                        "\"transfer.contract.conv1.weight\" has shape [1], expected [8,3,9,9]");
  write_safetensors(scratch_.file("other.safetensors"), {{"features.0.weight", {DType::F32, {1}, {0.f}}}});
  expect_one_line_error(run("models export '" + scratch_.file("other.safetensors") + "' -o '" + model + "'"),
                        "cannot be exported to ONNX");
  testing::write_all(scratch_.file("style.pth"), "not really");
  expect_one_line_error(run("models export '" + scratch_.file("style.pth") + "' -o '" + model + "'"),
                        "atelier models import");
  // A cut-down network: the first missing key is named.
  std::map<std::string, TensorToWrite> partial = {{"conv1.norm.scale", {DType::F32, {32}, std::vector<float>(32, 1)}}};
  write_safetensors(scratch_.file("partial.safetensors"), partial);
  expect_one_line_error(run("models export '" + scratch_.file("partial.safetensors") + "' -o '" + model + "'"),
                        "lack \"conv1.weight\"");
  expect_one_line_error(run("models export '" + weights + "' -o '" + scratch_.file("missing/style.onnx") + "'"),
                        "missing/style.onnx");
  expect_one_line_error(run("models export '" + weights + "' -o '" + weights + "' --force"), weights);
  EXPECT_TRUE(fs::is_empty(out_dir)) << "no partial or temporary file";

  ASSERT_EQ(run("models export '" + weights + "' -o '" + model + "' --quiet").code, 0);
  const auto written = fs::file_size(model);
  expect_one_line_error(run("models export '" + weights + "' -o '" + model + "'"), "--force");
  EXPECT_EQ(fs::file_size(model), written);
  const CliResult forced = run("models export '" + weights + "' -o '" + model + "' --force --quiet");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(forced.err + forced.out, "");
}

// Issue 17, acceptance 2: a pytorch-examples and an Engstrom style from
// ../shared on a real, non-square photo (301x198), in ONNX Runtime, against
// `atelier stylize`'s PNG.
TEST_F(CliOnnxExportTest, SharedStylesMatchTheCliOnARealPhoto) {
  ATELIER_REQUIRE_SHARED(photo_path, "images/content/chicago.jpg");
  ATELIER_REQUIRE_SHARED(models, "models");
  REQUIRE_ONNXRUNTIME();
  const Image photo = resize_to(load_image(photo_path), 301, 198);
  const std::string photo_png = scratch_.file("photo.png");
  save_image(photo, photo_png);
  const cv::Mat pixels = load_image(photo_png).rgb;  // exactly what the CLI reads
  const std::string environment = "ATELIER_MODELS='" + models + "'";
  for (const std::string style : {"fast-style/pytorch-examples/candy", "fast-style/engstrom/la_muse"}) {
    const std::string model = scratch_.file("style.onnx"), painted = scratch_.file("painted.png");
    const CliResult exported = run("models export " + style + " -o '" + model + "' --force --quiet", environment);
    ASSERT_EQ(exported.code, 0) << exported.err;
    const CliResult stylized = run("stylize -c '" + photo_png + "' --model " + style + " -o '" + painted +
                                       "' --precision fp32 --threads 1 --quiet",
                                   environment);
    ASSERT_EQ(stylized.code, 0) << stylized.err;
    const cv::Mat ours = load_image(painted).rgb;
    const cv::Mat theirs = fast_style_in_onnxruntime(scratch_, model, pixels);
    ASSERT_EQ(theirs.size(), ours.size());
    const double psnr = psnr_8bit(ours, theirs);
    std::printf("[ measure  ] %s on chicago 301x198: PSNR %.1f dB (ONNX Runtime against the CLI's PNG)\n",
                style.c_str(), psnr);
    EXPECT_GE(psnr, 45.0);
    EXPECT_LT(psnr_8bit(ours, pixels), 20.0) << "the photo is really painted";
  }
}

// Magenta's predictor and transfer network, random weights, exported one
// file each: ONNX Runtime gives the style vector and the painting that
// MagentaPredictor and MagentaTransfer give.
TEST_F(CliOnnxExportTest, MagentaNetworksMatchAtelierInOnnxRuntime) {
  REQUIRE_ONNXRUNTIME();
  testing::write_random_magenta_models(scratch_.path(), 9);
  const std::string folder = scratch_.file("magenta-arbitrary");
  for (const char* name : {"style_predict", "style_transfer"}) {
    const CliResult exported = run("models export --models-dir '" + scratch_.path() + "' magenta-arbitrary/" + name +
                                   " -o '" + folder + "/" + name + ".onnx' --quiet");
    ASSERT_EQ(exported.code, 0) << exported.err;
  }
  const cv::Mat style = gradient_picture(64, 48), photo = gradient_picture(44, 36).mul(cv::Scalar(0.8, 1.0, 0.6));
  const auto predictor = load_magenta_predictor(folder + "/style_predict.safetensors");
  const auto transfer = load_magenta_transfer(folder + "/style_transfer.safetensors");
  torch::InferenceMode inference;
  const torch::Tensor vector = predictor.forward(image_to_tensor(style));
  const cv::Mat ours = tensor_to_image(transfer.forward(image_to_tensor(photo), vector));
  const auto [their_vector, theirs] = magenta_in_onnxruntime(scratch_, folder + "/style_predict.onnx",
                                                             folder + "/style_transfer.onnx", photo, style);
  ASSERT_EQ(their_vector.size(), 100u);
  const torch::Tensor theirs_vector = torch::tensor(their_vector).view({1, 100});
  const double vector_difference = (theirs_vector - vector).abs().max().item<double>();
  ASSERT_EQ(theirs.size(), ours.size());
  const double max_difference = cv::norm(ours, theirs, cv::NORM_INF) * 255.0;
  std::printf("[ measure  ] magenta random: style vector max |difference| %.3g (values up to %.3g); painting 44x36 "
              "max %.3g of 255, PSNR %.1f dB\n",
              vector_difference, vector.abs().max().item<double>(), max_difference, psnr_8bit(ours, theirs));
  EXPECT_LT(vector_difference, 1e-3 * std::max(1.0, vector.abs().max().item<double>()));
  EXPECT_LT(max_difference, 0.05);
  cv::Scalar mean, deviation;
  cv::meanStdDev(ours.reshape(1), mean, deviation);
  EXPECT_GT(deviation[0], 0.02) << "a flat picture would prove little";
}

// Magenta's released networks from ../shared, as an app would chain them
// (the style square prepared as Atelier prepares it), against `atelier
// stylize --method magenta` on a 300x200 photo.
TEST_F(CliOnnxExportTest, SharedMagentaMatchesTheCliOnARealPhoto) {
  ATELIER_REQUIRE_SHARED(photo_path, "images/content/chicago.jpg");
  ATELIER_REQUIRE_SHARED(style_path, "images/style/hokusai_great_wave.jpg");
  ATELIER_REQUIRE_SHARED(models, "models/magenta-arbitrary");
  REQUIRE_ONNXRUNTIME();
  const std::string photo_png = scratch_.file("photo.png");
  save_image(resize_to(load_image(photo_path), 300, 200), photo_png);
  const std::string environment = "ATELIER_MODELS='" + fs::path(models).parent_path().string() + "'";
  for (const char* name : {"style_predict", "style_transfer"}) {
    const CliResult exported =
        run(std::string("models export magenta-arbitrary/") + name + " -o '" + scratch_.file(name) + ".onnx' --quiet",
            environment);
    ASSERT_EQ(exported.code, 0) << exported.err;
  }
  const std::string painted = scratch_.file("painted.png");
  const CliResult stylized = run("stylize --method magenta -c '" + photo_png + "' -s '" + style_path + "' -o '" +
                                     painted + "' --precision fp32 --threads 1 --quiet",
                                 environment);
  ASSERT_EQ(stylized.code, 0) << stylized.err;
  const cv::Mat ours = load_image(painted).rgb, pixels = load_image(photo_png).rgb;
  const cv::Mat square = style_picture_input(load_image(style_path).rgb);
  const auto [vector, theirs] = magenta_in_onnxruntime(scratch_, scratch_.file("style_predict.onnx"),
                                                       scratch_.file("style_transfer.onnx"), pixels, square);
  ASSERT_EQ(theirs.size(), ours.size());
  const double psnr = psnr_8bit(ours, theirs);
  std::printf("[ measure  ] magenta, hokusai on chicago 300x200: PSNR %.1f dB (ONNX Runtime against the CLI's PNG)\n",
              psnr);
  EXPECT_GE(psnr, 45.0);
  EXPECT_LT(psnr_8bit(ours, pixels), 20.0) << "the photo is really painted";
}

// AdaIN's encoder and decoder, random weights, exported one file each: the
// features at relu4_1 of a picture whose sides are not multiples of 8
// (ceil-mode pooling), and the decoder's picture from them, as NormalisedVgg
// and AdainDecoder give them; a relu3_1 decoder too. An encoder in
// torchvision's VGG layout cannot be exported.
TEST_F(CliOnnxExportTest, AdainNetworksMatchAtelierInOnnxRuntime) {
  REQUIRE_ONNXRUNTIME();
  const auto files = testing::write_random_adain_models(scratch_.path(), "relu4_1", 13);
  const auto relu3_1 = testing::write_random_adain_models(scratch_.path(), "relu3_1", 17);
  for (const std::string& weights : {files.encoder, files.decoder, relu3_1.decoder}) {
    const CliResult exported = run("models export '" + weights + "' -o '" + weights + ".onnx' --quiet");
    ASSERT_EQ(exported.code, 0) << exported.err;
  }
  expect_one_line_error(run("models export '" + relu3_1.encoder + "' -o '" + scratch_.file("vgg.onnx") + "'"),
                        "cannot be exported to ONNX");

  const cv::Mat picture = gradient_picture(44, 36);
  torch::InferenceMode inference;
  const auto encoder = load_adain_encoder(files.encoder);
  const torch::Tensor features = encoder->extract(image_to_tensor(picture), {"relu4_1"}).at("relu4_1");
  ASSERT_EQ(features.sizes().vec(), (std::vector<int64_t>{1, 512, 5, 6}));
  const auto their_features = run_in_onnxruntime(scratch_, files.encoder + ".onnx",
                                                 {picture_input("image", picture, 1.0)}, features.numel());
  ASSERT_EQ(their_features.size(), static_cast<size_t>(features.numel()));
  const double feature_difference =
      (torch::tensor(their_features).view(features.sizes()) - features).abs().max().item<double>();
  const double feature_scale = features.abs().max().item<double>();

  // Each decoder on its encoder's features (what it was calibrated on).
  for (const auto& [pair, level] : {std::pair{files, std::string("relu4_1")}, std::pair{relu3_1, std::string("relu3_1")}}) {
    // contiguous(): the CPU's VGG gives channels-last features; ONNX reads NCHW.
    const torch::Tensor target =
        load_adain_encoder(pair.encoder)->extract(image_to_tensor(picture), {level}).at(level).contiguous();
    const cv::Mat ours = tensor_to_image(load_adain_decoder(pair.decoder)->forward(target));
    const std::vector<float> values(target.data_ptr<float>(), target.data_ptr<float>() + target.numel());
    const std::vector<int> dims(target.sizes().begin(), target.sizes().end());
    const cv::Mat theirs =
        output_picture(run_in_onnxruntime(scratch_, pair.decoder + ".onnx", {OnnxInput{"features", values, dims}},
                                          3 * static_cast<size_t>(ours.total())),
                       ours.rows, ours.cols, 1.0);
    ASSERT_EQ(theirs.size(), ours.size()) << level;
    const cv::Mat clamped = cv::min(cv::max(theirs, 0.0), 1.0);  // as tensor_to_image does
    const double max_difference = cv::norm(ours, clamped, cv::NORM_INF) * 255.0;
    std::printf("[ measure  ] adain random: relu4_1 features max |difference| %.3g (values up to %.3g); %s decoder "
                "%dx%d max %.3g of 255, PSNR %.1f dB\n",
                feature_difference, feature_scale, level.c_str(), ours.cols, ours.rows, max_difference,
                psnr_8bit(ours, clamped));
    EXPECT_LT(max_difference, 0.05) << level;
    cv::Scalar mean, deviation;
    cv::meanStdDev(ours.reshape(1), mean, deviation);
    EXPECT_GT(deviation[0], 0.01) << "a flat picture would prove little";
  }
  EXPECT_LT(feature_difference, 1e-4 * std::max(1.0, feature_scale));
}

}  // namespace
}  // namespace atelier
