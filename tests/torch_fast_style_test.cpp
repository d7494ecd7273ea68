// Fidelity of the feed-forward style networks (src/models/fast_style.cpp)
// against an independent PyTorch implementation of both originals,
// tests/reference/fast_style_reference.py, run with Debian's /usr/bin/python3
// (python3-torch): small random-weight networks on awkward sizes, the real
// pretrained models from ../shared, .pth vs safetensors, and weight validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "atelier/image.hpp"
#include "atelier/safetensors.hpp"
#include "torch/tensor_image.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

using Weights = std::map<std::string, torch::Tensor>;

const std::string kPython = "/usr/bin/python3";

std::string reference_script() {
  return (std::filesystem::path(__FILE__).parent_path() / "reference" / "fast_style_reference.py").string();
}

bool python_has_torch() {
  static const bool has = testing::run_command(kPython + " -c 'import torch'") == 0;
  return has;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::string quoted(const std::string& text) { return "'" + text + "'"; }

std::string shape_string(torch::IntArrayRef sizes, const char* separator = ",") {
  std::ostringstream out;
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? separator : "") << sizes[i];
  return out.str();
}

// Writes `weights` as safetensors; kernels other than conv2's and conv3's
// are stored F16 (like the published files), the rest F32.
void write_weights(const std::string& path, const Weights& weights) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : weights) {
    auto contiguous = tensor.to(torch::kFloat32).contiguous();
    TensorToWrite out;
    out.dtype = contiguous.dim() == 4 && !starts_with(key, "conv2") && !starts_with(key, "conv3") ? DType::F16
                                                                                                   : DType::F32;
    out.shape = contiguous.sizes().vec();
    out.values.assign(contiguous.data_ptr<float>(), contiguous.data_ptr<float>() + contiguous.numel());
    tensors[key] = std::move(out);
  }
  write_safetensors(path, tensors);
}

struct Difference {
  double max_abs = 0;
  double psnr = 0;  // dB, on the 0..255 scale
};

Difference compare(const torch::Tensor& a, const torch::Tensor& b) {
  const auto diff = (a.to(torch::kFloat64) - b.to(torch::kFloat64));
  const double mse = diff.pow(2).mean().item<double>();
  return {diff.abs().max().item<double>(),
          mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse)};
}

// RGB 0..255 [1,3,H,W] from an image file, optionally cropped (x, y, w, h).
torch::Tensor image_tensor(const std::string& path, const cv::Rect& crop = {}) {
  Image image = load_image(path);
  cv::Mat rgb = crop.area() > 0 ? image.rgb(crop).clone() : image.rgb;
  return image_to_tensor(rgb) * 255.0;
}

// Expected output size: two stride-2 stages (ceil each), then two x2 stages.
int64_t output_size(int64_t n) { return 4 * ((((n + 1) / 2) + 1) / 2); }

class FastStyleReference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_has_torch()) GTEST_SKIP() << "SKIPPED: " << kPython << " has no torch (install python3-torch)";
    ASSERT_TRUE(std::filesystem::exists(reference_script())) << "missing " << reference_script();
  }

  // Runs the Python reference on `input` ([N,3,H,W], 0..255); returns its
  // output. Throws (the test then fails with the script's output) on error.
  torch::Tensor reference(const std::string& weights_path, const torch::Tensor& input) {
    const auto x = input.to(torch::kCPU, torch::kFloat32).contiguous();
    const std::string in = scratch_.file("input.f32"), out = scratch_.file("output.f32");
    testing::write_all(in, std::string(reinterpret_cast<const char*>(x.data_ptr<float>()), x.numel() * sizeof(float)));
    std::remove(out.c_str());
    const std::string command = kPython + " " + quoted(reference_script()) + " --weights " + quoted(weights_path) +
                                " --input " + quoted(in) + " --shape " + shape_string(x.sizes()) + " --output " +
                                quoted(out);
    std::string log;
    if (testing::run_command(command, &log) != 0) throw std::runtime_error("reference failed: " + command + "\n" + log);
    // Its last line is the output shape "N,3,H,W".
    const auto lines = testing::lines_of(log);
    std::vector<int64_t> shape;
    if (!lines.empty()) {
      std::stringstream fields(lines.back());
      for (std::string field; std::getline(fields, field, ',');) shape.push_back(std::stoll(field));
    }
    if (shape.size() != 4) throw std::runtime_error("reference printed no output shape:\n" + log);
    const std::string bytes = testing::read_all(out);
    int64_t count = 1;
    for (auto s : shape) count *= s;
    if (static_cast<int64_t>(bytes.size()) != count * 4)
      throw std::runtime_error("reference output holds " + std::to_string(bytes.size()) + " bytes, shape " +
                               lines.back() + " needs " + std::to_string(count * 4));
    torch::Tensor result = torch::empty(shape, torch::kFloat32);
    std::memcpy(result.data_ptr<float>(), bytes.data(), bytes.size());
    return result;
  }

  testing::ScratchDir scratch_;
};

// ------------------------------------------------------------ 1. random weights

TEST_F(FastStyleReference, RandomWeightsMatchTheReferenceOnAwkwardSizes) {
  for (auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom}) {
    const std::string name = architecture_name(architecture);
    const std::string path = scratch_.file(name + ".safetensors");
    write_weights(path, testing::random_style_weights(architecture, architecture == FastStyleArchitecture::Engstrom ? 2 : 1));
    const FastStyleNetwork network = load_fast_style_network(path);
    ASSERT_EQ(network.architecture(), architecture) << name;

    torch::manual_seed(7);
    for (const auto& input : {torch::rand({1, 3, 37, 45}) * 255.0, torch::rand({2, 3, 32, 32}) * 255.0}) {
      SCOPED_TRACE(name + " on " + shape_string(input.sizes(), "x"));
      const torch::Tensor ours = network.forward(input);
      const torch::Tensor theirs = reference(path, input);
      // Both agree on the size (larger than the input when not a multiple of 4).
      const std::vector<int64_t> expected = {input.size(0), 3, output_size(input.size(2)), output_size(input.size(3))};
      EXPECT_EQ(ours.sizes().vec(), expected);
      ASSERT_EQ(theirs.sizes().vec(), expected);
      const Difference difference = compare(ours, theirs);
      std::printf("[ measure  ] %s %s: max |C++ - reference| = %.3g, PSNR %.1f dB\n", name.c_str(),
                  shape_string(input.sizes(), "x").c_str(), difference.max_abs, difference.psnr);
      EXPECT_LT(difference.max_abs, 1e-2);
      // For inference (no gradients) pytorch/examples' decoder runs rewritten (resampled_conv.hpp).
      const torch::Tensor inferred = [&] {
        torch::InferenceMode inference;
        return network.forward(input);
      }();
      const Difference rewritten = compare(inferred, theirs);
      std::printf("[ measure  ] %s %s for inference: max |C++ - reference| = %.3g, PSNR %.1f dB\n", name.c_str(),
                  shape_string(input.sizes(), "x").c_str(), rewritten.max_abs, rewritten.psnr);
      EXPECT_LT(rewritten.max_abs, 1e-2);
      // The weights give a real spread of values, not a flat clamped image.
      EXPECT_GT(ours.std().item<double>(), 10.0);
      EXPECT_GT(((ours > 0) & (ours < 255)).to(torch::kFloat).mean().item<double>(), 0.5);
    }
  }
}

// ------------------------------------------------------------ 2. real models

// A real network on a real picture against the reference, with gradients
// (the plain convolutions) and for inference (the rewritten ones: the
// decoder's, resampled_conv.hpp, and the residual blocks by Winograd).
void expect_real_network_matches(const std::string& weights, const std::string& image, FastStyleArchitecture architecture,
                                 const std::string& label, const std::function<torch::Tensor(const std::string&, const torch::Tensor&)>& reference) {
  configure_runtime(0);
  const torch::Tensor input = image_tensor(image);
  const FastStyleNetwork network = load_fast_style_network(weights);
  ASSERT_EQ(network.architecture(), architecture);
  const torch::Tensor theirs = reference(weights, input);
  ASSERT_EQ(theirs.sizes(), input.sizes());
  for (const bool inference : {false, true}) {
    const torch::Tensor ours = [&] {
      c10::InferenceMode mode(inference);
      return network.forward(input);
    }();
    ASSERT_EQ(ours.sizes(), input.sizes());
    const Difference difference = compare(ours, theirs);
    std::printf("[ measure  ] %s %s%s: max |C++ - reference| = %.3g, PSNR %.1f dB\n", label.c_str(),
                shape_string(input.sizes(), "x").c_str(), inference ? " for inference" : "", difference.max_abs,
                difference.psnr);
    EXPECT_GE(difference.psnr, 50.0);
    EXPECT_LT(difference.max_abs, 1.0);
  }
}

TEST_F(FastStyleReference, PytorchExamplesUdnieOnAmberMatchesTheReference) {
  ATELIER_REQUIRE_SHARED(weights, "models/fast-style/pytorch-examples/udnie.safetensors");
  ATELIER_REQUIRE_SHARED(image, "images/content/amber.jpg");
  expect_real_network_matches(weights, image, FastStyleArchitecture::PytorchExamples, "udnie (pytorch-examples) on amber",
                              [&](const std::string& w, const torch::Tensor& x) { return reference(w, x); });
}

TEST_F(FastStyleReference, EngstromScreamOnChicagoMatchesTheReference) {
  ATELIER_REQUIRE_SHARED(weights, "models/fast-style/engstrom/scream.safetensors");
  ATELIER_REQUIRE_SHARED(image, "images/content/chicago_640x480.jpg");
  expect_real_network_matches(weights, image, FastStyleArchitecture::Engstrom, "scream (engstrom) on chicago",
                              [&](const std::string& w, const torch::Tensor& x) { return reference(w, x); });
}

// The rewritten convolutions are made from the weights as they are: an
// update in place (an optimiser's, between a training step and its preview) is seen.
TEST(FastStyleInference, RewrittenConvolutionsFollowWeightUpdates) {
  FastStyleNetwork network(FastStyleArchitecture::PytorchExamples,
                           testing::random_style_weights(FastStyleArchitecture::PytorchExamples, 3));
  torch::manual_seed(8);
  const auto input = torch::rand({1, 3, 40, 48}) * 255.0;
  auto inferred = [&] {
    torch::NoGradGuard no_gradients;
    return network.forward(input, /*clamp=*/false);
  };
  const auto before = inferred();
  EXPECT_LT((before - network.forward(input, false)).abs().max().item<float>(), 1e-2);
  {
    torch::NoGradGuard no_gradients;
    network.weights().at("deconv3.conv2d.weight").mul_(0.5);
    network.weights().at("deconv2.conv2d.bias").add_(1.0);
    network.weights().at("res3.conv1.conv2d.weight").mul_(-1.0);
  }
  const auto after = inferred();
  EXPECT_GT((after - before).abs().max().item<float>(), 10.0);
  EXPECT_LT((after - network.forward(input, false)).abs().max().item<float>(), 1e-2);
}

// ------------------------------------------------------ 3. .pth vs safetensors

TEST(FastStyleCheckpoint, PthMatchesSafetensorsUpToF16KernelRounding) {
  ATELIER_REQUIRE_SHARED(pth, "models/fast-style/pytorch-examples/udnie.pth");
  ATELIER_REQUIRE_SHARED(safetensors, "models/fast-style/pytorch-examples/udnie.safetensors");
  ATELIER_REQUIRE_SHARED(image, "images/content/amber.jpg");
  const Weights from_pth = load_state_dict(pth);
  const Weights from_safetensors = load_state_dict(safetensors);
  ASSERT_EQ(from_pth.size(), from_safetensors.size());
  Weights rounded;
  for (const auto& [key, tensor] : from_pth) {
    SCOPED_TRACE(key);
    ASSERT_EQ(from_safetensors.count(key), 1u);
    ASSERT_EQ(tensor.scalar_type(), torch::kFloat32);
    ASSERT_EQ(tensor.sizes(), from_safetensors.at(key).sizes());
    rounded[key] = tensor.dim() == 4 ? tensor.to(torch::kHalf).to(torch::kFloat) : tensor;
    EXPECT_TRUE(torch::equal(rounded[key], from_safetensors.at(key)));
  }
  EXPECT_EQ(FastStyleNetwork::detect({"in1.weight", "conv1.conv2d.weight"}), FastStyleArchitecture::PytorchExamples);

  const torch::Tensor input = image_tensor(image, cv::Rect(500, 500, 64, 48));
  ASSERT_EQ(input.sizes(), (std::vector<int64_t>{1, 3, 48, 64}));
  const auto from_file = load_fast_style_network(safetensors).forward(input);
  const auto rounded_pth = FastStyleNetwork(FastStyleArchitecture::PytorchExamples, rounded).forward(input);
  EXPECT_TRUE(torch::equal(from_file, rounded_pth));
  // The unrounded F32 checkpoint differs only by the F16 rounding of its kernels.
  const auto full_pth = load_fast_style_network(pth).forward(input);
  const Difference difference = compare(full_pth, from_file);
  std::printf("[ measure  ] udnie.pth (F32) vs udnie.safetensors (F16 kernels): max diff %.3g, PSNR %.1f dB\n",
              difference.max_abs, difference.psnr);
  EXPECT_GE(difference.psnr, 40.0);
}

// ------------------------------------------------------------- 4. validation

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no atelier::Error thrown";
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A batch gives each image what it gets alone (instance norm is per image),
// at a size where libtorch's kernels run in parallel, in both memory formats.
TEST(FastStyleBatch, BatchMatchesImagesOneByOne) {
  configure_runtime(0);
  for (const auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom}) {
    FastStyleNetwork network(architecture, testing::random_style_weights(architecture, 9));
    for (const auto& [channels_last, side] : std::vector<std::pair<bool, int64_t>>{
             {true, 192}, {false, 192}, {true, 32}, {true, 48}}) {
      network.set_channels_last(channels_last);
      torch::manual_seed(10);
      const auto batch = torch::rand({4, 3, side, side + 8}) * 255.0;
      // With autograd on, as in training (libtorch 1.13's instance_norm gave
      // NaN on small channels-last batches there).
      const auto together = network.forward(batch.requires_grad_(side < 100)).detach();
      ASSERT_TRUE(torch::isfinite(together).all().item<bool>()) << architecture_name(architecture);
      for (int64_t i = 0; i < 4; ++i) {
        const auto alone = network.forward(batch.narrow(0, i, 1)).detach();
        EXPECT_LT((together.narrow(0, i, 1) - alone).abs().max().item<double>(), 1e-2)
            << architecture_name(architecture) << (channels_last ? " channels-last" : " NCHW") << " image " << i;
      }
    }
  }
}

TEST(FastStyleValidation, MissingKeyIsNamed) {
  for (auto architecture : {FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom}) {
    Weights weights = testing::random_style_weights(architecture, 3);
    const std::string key =
        architecture == FastStyleArchitecture::Engstrom ? "res3.conv2.norm.shift" : "res3.in2.bias";
    weights.erase(key);
    const std::string message = error_of([&] { FastStyleNetwork(architecture, weights); });
    EXPECT_TRUE(contains(message, "\"" + key + "\"")) << message;
    EXPECT_FALSE(contains(message, "\n")) << message;

    // Through a file: the error also names the file.
    testing::ScratchDir scratch;
    const std::string path = scratch.file("partial.safetensors");
    write_weights(path, weights);
    const std::string from_file = error_of([&] { load_fast_style_network(path); });
    EXPECT_TRUE(contains(from_file, key)) << from_file;
    EXPECT_TRUE(contains(from_file, path)) << from_file;
  }
}

TEST(FastStyleValidation, WrongShapeNamesTheFirstKeyAndBothShapes) {
  Weights weights = testing::random_style_weights(FastStyleArchitecture::Engstrom, 4);
  // TF's [kh,kw,out,in] vs PyTorch's [in,out,kh,kw] confusion, and a later key also wrong.
  weights["deconv1.weight"] = torch::zeros({64, 128, 3, 3});
  weights["res5.conv2.weight"] = torch::zeros({128, 128, 1, 1});
  std::string message = error_of([&] { FastStyleNetwork(FastStyleArchitecture::Engstrom, weights); });
  EXPECT_TRUE(contains(message, "\"deconv1.weight\"")) << message;
  EXPECT_TRUE(contains(message, "[64,128,3,3]")) << message;
  EXPECT_TRUE(contains(message, "[128,64,3,3]")) << message;
  EXPECT_FALSE(contains(message, "res5")) << message;

  Weights pytorch = testing::random_style_weights(FastStyleArchitecture::PytorchExamples, 5);
  pytorch["conv1.conv2d.bias"] = torch::zeros({33});
  message = error_of([&] { FastStyleNetwork(FastStyleArchitecture::PytorchExamples, pytorch); });
  EXPECT_TRUE(contains(message, "\"conv1.conv2d.bias\"")) << message;
  EXPECT_TRUE(contains(message, "[33]")) << message;
  EXPECT_TRUE(contains(message, "[32]")) << message;
}

TEST(FastStyleValidation, RunningStatisticsAreIgnoredOtherExtraKeysRejected) {
  const Weights weights = testing::random_style_weights(FastStyleArchitecture::PytorchExamples, 6);
  Weights with_statistics = weights;
  const std::vector<std::pair<std::string, int64_t>> norms = {
      {"in1", 32}, {"in2", 64}, {"in3", 128}, {"in4", 64}, {"in5", 32}, {"res1.in1", 128}, {"res5.in2", 128}};
  for (const auto& [norm, channels] : norms) {
    with_statistics[norm + ".running_mean"] = torch::randn({channels});
    with_statistics[norm + ".running_var"] = torch::rand({channels}) + 0.5;
  }
  const FastStyleNetwork plain(FastStyleArchitecture::PytorchExamples, weights);
  std::unique_ptr<FastStyleNetwork> old_checkpoint;
  ASSERT_NO_THROW(old_checkpoint = std::make_unique<FastStyleNetwork>(FastStyleArchitecture::PytorchExamples,
                                                                      with_statistics));
  // Ignored means ignored: instance norm uses the statistics of the image.
  const auto input = torch::rand({1, 3, 20, 24}) * 255.0;
  EXPECT_TRUE(torch::equal(plain.forward(input), old_checkpoint->forward(input)));

  // Only pytorch/examples' own InstanceNorm statistics are excused, not look-alikes.
  for (const std::string& extra : {"conv1.conv2d.weight_orig", "in6.weight", "fc.bias", "bogus_running_mean_x",
                                   "conv1.conv2d.running_mean", "in1.num_batches_tracked"}) {
    Weights bad = weights;
    bad[extra] = torch::zeros({3});
    const std::string message = error_of([&] { FastStyleNetwork(FastStyleArchitecture::PytorchExamples, bad); });
    EXPECT_TRUE(contains(message, "\"" + extra + "\"")) << message;
  }
  Weights engstrom = testing::random_style_weights(FastStyleArchitecture::Engstrom, 7);
  Weights engstrom_statistics = engstrom;
  engstrom_statistics["conv1.norm.running_var"] = torch::zeros({32});  // Engstrom's never has these
  EXPECT_THROW(FastStyleNetwork(FastStyleArchitecture::Engstrom, engstrom_statistics), Error);
  engstrom["conv1.conv2d.weight"] = torch::zeros({32, 3, 9, 9});  // the other architecture's key
  const std::string message = error_of([&] { FastStyleNetwork(FastStyleArchitecture::Engstrom, engstrom); });
  EXPECT_TRUE(contains(message, "conv1.conv2d.weight")) << message;
}

TEST(FastStyleValidation, TinyImagesAreAClearError) {
  const FastStyleNetwork network(FastStyleArchitecture::PytorchExamples,
                                 testing::random_style_weights(FastStyleArchitecture::PytorchExamples, 8));
  const std::string message = error_of([&] { network.forward(torch::rand({1, 3, 4, 30}) * 255.0); });
  EXPECT_TRUE(contains(message, "too small")) << message;
  EXPECT_EQ(network.forward(torch::rand({1, 3, 8, 8}) * 255.0).sizes(), (std::vector<int64_t>{1, 3, 8, 8}));
}

TEST(FastStyleValidation, DetectRecognisesBothArchitecturesAndRejectsVgg) {
  std::vector<std::string> keys;
  for (const auto& [key, shape] : FastStyleNetwork::expected_shapes(FastStyleArchitecture::Engstrom))
    keys.push_back(key);
  EXPECT_EQ(FastStyleNetwork::detect(keys), FastStyleArchitecture::Engstrom);
  keys.clear();
  for (const auto& [key, shape] : FastStyleNetwork::expected_shapes(FastStyleArchitecture::PytorchExamples))
    keys.push_back(key);
  EXPECT_EQ(FastStyleNetwork::detect(keys), FastStyleArchitecture::PytorchExamples);

  const std::vector<std::string> vgg = {"features.0.weight", "features.0.bias", "features.2.weight",
                                        "features.2.bias"};
  const std::string message = error_of([&] { FastStyleNetwork::detect(vgg); });
  EXPECT_TRUE(contains(message, "not a fast style network")) << message;
  EXPECT_THROW(FastStyleNetwork::detect({}), Error);
}

TEST(FastStyleValidation, VggSafetensorsFileIsNotAFastStyleNetwork) {
  ATELIER_REQUIRE_SHARED(vgg, "models/vgg19-caffe-partial.safetensors");
  const std::string message = error_of([&] { load_fast_style_network(vgg); });
  EXPECT_TRUE(contains(message, vgg)) << message;
  EXPECT_TRUE(contains(message, "not a fast style network")) << message;
}

TEST(FastStyleValidation, CorruptCheckpointIsAOneLineErrorNamingTheFile) {
  testing::ScratchDir scratch;
  std::vector<std::pair<std::string, std::string>> files = {
      {"garbage.pth", "this is not a PyTorch checkpoint\n\x01\x02\x03 at all"},
      {"empty.pt", ""},
      {"fake-zip.pth", std::string("PK\x03\x04", 4) + std::string(200, '\x7f')},
  };
  const std::string real = testing::shared_path("models/fast-style/pytorch-examples/udnie.pth");
  if (!real.empty()) {
    const std::string bytes = testing::read_all(real);
    files.push_back({"truncated.pth", bytes.substr(0, bytes.size() / 2)});
  }
  for (const auto& [name, bytes] : files) {
    SCOPED_TRACE(name);
    const std::string path = scratch.file(name);
    testing::write_all(path, bytes);
    for (int via_network = 0; via_network < 2; ++via_network) {
      const std::string message = error_of([&, path = path] {
        if (via_network)
          load_fast_style_network(path);
        else
          load_state_dict(path);
      });
      EXPECT_TRUE(contains(message, path)) << message;
      EXPECT_FALSE(contains(message, "\n")) << message;
    }
  }
  const std::string missing = error_of([&] { load_state_dict(scratch.file("absent.pth")); });
  EXPECT_TRUE(contains(missing, "absent.pth")) << missing;
}

}  // namespace
}  // namespace atelier
