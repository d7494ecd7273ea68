// `atelier models export`: fast styles as ONNX models, run in ONNX Runtime
// (the npm package onnxruntime-node, tests/onnx) against Atelier's own
// output and checked by Debian's python3-onnx. Each part skips, saying so,
// when its tool is absent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "atelier/image.hpp"
#include "atelier/safetensors.hpp"
#include "models/fast_style.hpp"
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

// The model's output for `rgb` (CV_32FC3, [0,1]) through ONNX Runtime: the
// model takes and gives 0..255 NCHW.
cv::Mat run_in_onnxruntime(const testing::ScratchDir& scratch, const std::string& model, const cv::Mat& rgb) {
  std::vector<cv::Mat> planes;
  cv::split(rgb * 255.0, planes);
  std::string input;
  for (const auto& plane : planes) input.append(reinterpret_cast<const char*>(plane.data), plane.total() * sizeof(float));
  testing::write_all(scratch.file("input.f32"), input);
  const std::string command = "node '" + (kOnnxTools / "run_onnx.mjs").string() + "' '" + model + "' '" +
                              scratch.file("input.f32") + "' 1 3 " + std::to_string(rgb.rows) + " " +
                              std::to_string(rgb.cols) + " '" + scratch.file("output.f32") + "'";
  std::string log;
  EXPECT_EQ(testing::run_command(command, &log), 0) << log;
  const std::string output = testing::read_all(scratch.file("output.f32"));
  const size_t plane_bytes = rgb.total() * sizeof(float);
  if (output.size() != 3 * plane_bytes) {
    ADD_FAILURE() << "ONNX Runtime wrote " << output.size() << " bytes, expected " << 3 * plane_bytes << ": " << log;
    return {};
  }
  std::vector<cv::Mat> out_planes;
  for (int c = 0; c < 3; ++c)
    out_planes.push_back(cv::Mat(rgb.rows, rgb.cols, CV_32F, const_cast<char*>(output.data()) + c * plane_bytes).clone());
  cv::Mat merged;
  cv::merge(out_planes, merged);
  return merged / 255.0;
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
// what FastStyleNetwork paints.
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
    const cv::Mat theirs = run_in_onnxruntime(scratch_, model, picture);
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
  }
}

// Debian's onnx.checker (with shape inference) accepts both, and the
// conventions are where an app reads them.
TEST_F(CliOnnxExportTest, ModelsPassTheOnnxCheckerAndStateTheirConventions) {
  REQUIRE_PYTHON_ONNX();
  for (const auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom}) {
    const std::string name = architecture_name(architecture);
    const std::string weights = scratch_.file(name + ".safetensors"), model = scratch_.file(name + ".onnx");
    write_random_network(weights, architecture, 3);
    const CliResult exported = run("models export '" + weights + "' -o '" + model + "'");
    ASSERT_EQ(exported.code, 0) << exported.err;
    EXPECT_NE(exported.err.find("wrote " + model + " (" + name + ", ONNX opset 17"), std::string::npos)
        << exported.err;
    const std::string check =
        "import onnx, sys\n"
        "m = onnx.load(sys.argv[1])\n"
        "onnx.checker.check_model(m, full_check=True)\n"
        "props = {p.key: p.value for p in m.metadata_props}\n"
        "assert [(o.domain, o.version) for o in m.opset_import] == [('', 17)], m.opset_import\n"
        "assert props['opset'] == '17' and props['architecture'] == sys.argv[2], props\n"
        "assert (props['layout'], props['channel_order'], props['input_range']) == ('NCHW', 'RGB', '0..255'), props\n"
        "assert props['weights.style'] == 'random' and props['weights.license'] == 'test weights', props\n"
        "for v in list(m.graph.input) + list(m.graph.output):\n"
        "    dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]\n"
        "    assert dims == ['N', 3, 'H', 'W'] and v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, (v.name, dims)\n"
        "assert [v.name for v in m.graph.input] == ['image'] and [v.name for v in m.graph.output] == ['stylized']\n"
        "print('checked', sys.argv[1])\n";
    testing::write_all(scratch_.file("check.py"), check);
    std::string log;
    EXPECT_EQ(testing::run_command("/usr/bin/python3 '" + scratch_.file("check.py") + "' '" + model + "' " + name, &log),
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
                        "arbitrary-style networks cannot be exported to ONNX yet");
  write_safetensors(scratch_.file("other.safetensors"), {{"features.0.weight", {DType::F32, {1}, {0.f}}}});
  expect_one_line_error(run("models export '" + scratch_.file("other.safetensors") + "' -o '" + model + "'"),
                        "not a fast style network");
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
    const cv::Mat theirs = run_in_onnxruntime(scratch_, model, pixels);
    ASSERT_EQ(theirs.size(), ours.size());
    const double psnr = psnr_8bit(ours, theirs);
    std::printf("[ measure  ] %s on chicago 301x198: PSNR %.1f dB (ONNX Runtime against the CLI's PNG)\n",
                style.c_str(), psnr);
    EXPECT_GE(psnr, 45.0);
    EXPECT_LT(psnr_8bit(ours, pixels), 20.0) << "the photo is really painted";
  }
}

}  // namespace
}  // namespace atelier
