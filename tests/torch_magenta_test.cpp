// Magenta's arbitrary style networks (src/models/magenta.cpp) and the
// torch-free API on them (src/pipeline/arbitrary_style.cpp), checked against
// an independent PyTorch implementation written from the shared README,
// tests/reference/magenta_reference.py (Debian's /usr/bin/python3 with
// python3-torch): random weights on odd sizes (no shared data needed), then
// the real pretrained networks on real photos and paintings from ../shared.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "atelier/arbitrary_style.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/safetensors.hpp"
#include "models/magenta.hpp"
#include "torch/tensor_image.hpp"
#include "random_magenta_network.hpp"
#include "test_support.hpp"

namespace atelier {
// Named, not anonymous: test files compile in unity batches.
namespace magenta_test {

using Weights = std::map<std::string, torch::Tensor>;

std::string sizes_text(torch::IntArrayRef sizes) {
  std::ostringstream out;
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? "," : "") << sizes[i];
  return out.str();
}

void write_f32(const std::string& path, const torch::Tensor& tensor) {
  const auto t = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
  testing::write_all(path, std::string(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float)));
}

// Runs tests/reference/magenta_reference.py MODE on `input` (and `style` for
// "transfer"); returns its output with the shape it printed last.
torch::Tensor run_reference(const testing::ScratchDir& scratch, const std::string& mode, const std::string& weights,
                            const torch::Tensor& input, const torch::Tensor& style = {}) {
  const std::string script =
      (std::filesystem::path(__FILE__).parent_path() / "reference" / "magenta_reference.py").string();
  const std::string in = scratch.file("in.f32"), out = scratch.file("out.f32"), s = scratch.file("style.f32");
  write_f32(in, input);
  std::string command = "/usr/bin/python3 '" + script + "' " + mode + " --weights '" + weights + "' --input '" + in +
                        "' --shape " + sizes_text(input.sizes()) + " --output '" + out + "'";
  if (style.defined()) {
    write_f32(s, style);
    command += " --style '" + s + "'";
  }
  std::string log;
  if (testing::run_command(command, &log) != 0) throw std::runtime_error("reference failed: " + command + "\n" + log);
  const auto lines = testing::lines_of(log);
  std::vector<int64_t> shape;
  std::stringstream fields(lines.empty() ? "" : lines.back());
  for (std::string field; std::getline(fields, field, ',');) shape.push_back(std::stoll(field));
  const std::string bytes = testing::read_all(out);
  auto result = torch::empty(shape, torch::kFloat32);
  if (static_cast<int64_t>(bytes.size()) != result.numel() * 4) throw std::runtime_error("bad reference output:\n" + log);
  std::memcpy(result.data_ptr<float>(), bytes.data(), bytes.size());
  return result;
}

bool python_has_torch() {
  static const bool has = testing::run_command("/usr/bin/python3 -c 'import torch'") == 0;
  return has;
}

double psnr(const torch::Tensor& a, const torch::Tensor& b) {  // images in [0,1]
  const double mse = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).mean().item<double>();
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::cosine_similarity(a.to(torch::kFloat64).flatten(), b.to(torch::kFloat64).flatten(), 0).item<double>();
}

// Max |a - b| relative to the rms of b.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.pow(2).mean().sqrt().item<double>();
}

using testing::random_magenta_weights;

void write_weights(const std::string& path, const Weights& weights) { testing::write_tensors_f32(path, weights); }

class MagentaReference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_has_torch()) GTEST_SKIP() << "SKIPPED: /usr/bin/python3 has no torch (install python3-torch)";
  }
  testing::ScratchDir scratch_;
};

// ------------------------------------------------------- 1. random weights

TEST_F(MagentaReference, RandomWeightsMatchTheReferenceOnOddSizes) {
  const std::string predict = scratch_.file("predict.safetensors"), transfer = scratch_.file("transfer.safetensors");
  write_weights(predict, random_magenta_weights(MagentaPredictor::expected_shapes(), 1));
  write_weights(transfer, random_magenta_weights(MagentaTransfer::expected_shapes(), 2));
  const MagentaPredictor predictor = load_magenta_predictor(predict);
  const MagentaTransfer network = load_magenta_transfer(transfer);
  torch::manual_seed(3);
  // Odd and even sizes: TF SAME pads 1/1, 0/1 or 1/2 depending on them.
  const auto styles = torch::rand({2, 3, 45, 38});
  const auto ours = predictor.forward(styles);
  const auto theirs = run_reference(scratch_, "predict", predict, styles);
  ASSERT_EQ(ours.sizes().vec(), (std::vector<int64_t>{2, kMagentaStyleSize}));
  ASSERT_EQ(theirs.sizes(), ours.sizes());
  std::printf("[ measure  ] random predictor 45x38: cosine %.9f, max rel diff %.3g\n", cosine(ours, theirs),
              relative_error(ours, theirs));
  EXPECT_GT(theirs.std().item<double>(), 0.01);
  EXPECT_LT(relative_error(ours, theirs), 1e-4);

  const auto content = torch::rand({2, 3, 36, 52});
  const auto style = torch::randn({2, kMagentaStyleSize});
  const auto painted = network.forward(content, style);
  const auto expected = run_reference(scratch_, "transfer", transfer, content, style);
  ASSERT_EQ(painted.sizes(), content.sizes());
  ASSERT_EQ(expected.sizes(), content.sizes());
  std::printf("[ measure  ] random transfer 52x36: PSNR %.1f dB\n", psnr(painted, expected));
  EXPECT_GT(expected.std().item<double>(), 0.05);
  EXPECT_GE(psnr(painted, expected), 80.0);
}

// ------------------------------------------------------ 2. the real networks

TEST_F(MagentaReference, RealPredictorMatchesTheReferenceOnPaintingsAndPhotos) {
  ATELIER_REQUIRE_SHARED(weights, "models/magenta-arbitrary/style_predict.safetensors");
  ATELIER_REQUIRE_SHARED(starry, "images/style/starry_night.jpg");
  ATELIER_REQUIRE_SHARED(scream, "images/style/the_scream.jpg");
  ATELIER_REQUIRE_SHARED(tubingen, "images/content/tubingen.jpg");
  configure_runtime(0);
  const MagentaPredictor predictor = load_magenta_predictor(weights);
  std::vector<torch::Tensor> inputs;
  for (const auto& path : {starry, scream, tubingen})
    inputs.push_back(image_to_tensor(style_picture_input(load_image(path).rgb, {StyleFit::CentreCrop, 256})));
  const auto batch = torch::cat(inputs);
  const auto ours = predictor.forward(batch);
  const auto theirs = run_reference(scratch_, "predict", weights, batch);
  ASSERT_EQ(theirs.sizes(), ours.sizes());
  for (int64_t i = 0; i < batch.size(0); ++i) {
    const double c = cosine(ours[i], theirs[i]), r = relative_error(ours[i], theirs[i]);
    std::printf("[ measure  ] real predictor, picture %lld: cosine %.9f, max |diff| / rms %.3g\n",
                static_cast<long long>(i), c, r);
    EXPECT_GE(c, 0.9999);
    EXPECT_LT(r, 1e-4);
  }
  // The vectors tell the pictures apart, and have the README's scale (rms
  // about 0.8; 0.815 for starry night resized bilinearly, 0.848 by area).
  EXPECT_LT(cosine(theirs[0], theirs[1]), 0.97);  // 0.90 measured
  EXPECT_NEAR(theirs[0].pow(2).mean().sqrt().item<double>(), 0.85, 0.05);
}

TEST_F(MagentaReference, RealTransferAndPipelineMatchTheReference) {
  ATELIER_REQUIRE_SHARED(predict, "models/magenta-arbitrary/style_predict.safetensors");
  ATELIER_REQUIRE_SHARED(transfer, "models/magenta-arbitrary/style_transfer.safetensors");
  ATELIER_REQUIRE_SHARED(starry, "images/style/starry_night.jpg");
  ATELIER_REQUIRE_SHARED(chicago, "images/content/chicago_640x480.jpg");
  configure_runtime(0);
  const MagentaPainter painter(predict, transfer);
  const Image photo = load_image(chicago);  // 640x480: multiples of 4, no padding
  const StyleVector style = painter.style_vector(load_image(starry).rgb);

  // The reference's own vector, from the same square input.
  const auto style_input = image_to_tensor(style_picture_input(load_image(starry).rgb));
  const auto reference_style = run_reference(scratch_, "predict", predict, style_input);
  const auto content = image_to_tensor(photo.rgb);
  const auto expected = run_reference(scratch_, "transfer", transfer, content, reference_style);

  // Transfer alone, the same vector on both sides.
  const MagentaTransfer network = load_magenta_transfer(transfer);
  const auto alone = network.forward(content, reference_style);
  std::printf("[ measure  ] real transfer 640x480: PSNR %.1f dB\n", psnr(alone, expected));
  EXPECT_GE(psnr(alone, expected), 50.0);

  // The whole pipeline through the public API (8-bit-free, float output).
  const auto start = std::chrono::steady_clock::now();
  const cv::Mat painted = painter.paint(photo.rgb, style);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(painted.size(), photo.rgb.size());
  const double full = psnr(image_to_tensor(painted), expected);
  std::printf("[ measure  ] real pipeline starry night on chicago 640x480: PSNR %.1f dB (%.2f s)\n", full, seconds);
  EXPECT_GE(full, 50.0);
  // It is a painting, not the photo: the colours move (README: mean RGB
  // moves towards the painting's).
  EXPECT_LT(psnr(image_to_tensor(painted), content), 20.0);
}

// ---------------------------------------- 3. the public API (random weights)

class MagentaApi : public ::testing::Test {
 protected:
  void SetUp() override {
    write_weights(predict_, random_magenta_weights(MagentaPredictor::expected_shapes(), 4));
    write_weights(transfer_, random_magenta_weights(MagentaTransfer::expected_shapes(), 5));
  }
  testing::ScratchDir scratch_;
  const std::string predict_ = scratch_.file("p.safetensors"), transfer_ = scratch_.file("t.safetensors");
};

TEST(MagentaPadding, TfSameArithmetic) {
  using Pads = std::pair<int64_t, int64_t>;  // (before, after)
  auto pads = [](int64_t h, int64_t kernel, int64_t stride) {
    const auto x = torch::ones({1, 1, h, h});
    const auto y = pad_tf_same(x, kernel, stride);
    // Padding rows are zero: count them above and below the ones.
    const auto column = y[0][0].select(1, y.size(3) / 2);
    int64_t top = 0;
    while (column[top].item<float>() == 0) ++top;
    return Pads(top, y.size(2) - h - top);
  };
  EXPECT_EQ(pads(256, 3, 2), Pads(0, 1));  // even, stride 2: all after
  EXPECT_EQ(pads(45, 3, 2), Pads(1, 1));   // odd, stride 2
  EXPECT_EQ(pads(16, 3, 1), Pads(1, 1));
  EXPECT_EQ(pads(16, 1, 1), Pads(0, 0));
  EXPECT_EQ(pads(10, 4, 1), Pads(1, 2));
}

TEST_F(MagentaApi, PaintsAnySizeBackToExactlyThatSize) {
  const MagentaPainter painter(predict_, transfer_);
  torch::manual_seed(6);
  const StyleVector style = painter.style_vector(tensor_to_image(torch::rand({1, 3, 40, 70})));
  ASSERT_EQ(style.values.size(), 100u);
  for (const cv::Size size : {cv::Size(37, 23), cv::Size(5, 3), cv::Size(1, 1), cv::Size(64, 48)}) {
    const cv::Mat rgb = tensor_to_image(torch::rand({1, 3, size.height, size.width}));
    const cv::Mat painted = painter.paint(rgb, style);
    EXPECT_EQ(painted.size(), size);
    EXPECT_EQ(painted.type(), CV_32FC3);
  }
  // A size the network takes as it is: the painter adds nothing.
  const cv::Mat rgb = tensor_to_image(torch::rand({1, 3, 48, 64}));
  const MagentaTransfer network = load_magenta_transfer(transfer_);
  StyleVector copy = style;
  const auto direct = network.forward(image_to_tensor(rgb),
                                      torch::from_blob(copy.values.data(), {1, kMagentaStyleSize}).clone());
  EXPECT_GE(psnr(image_to_tensor(painter.paint(rgb, style)), direct), 100.0);
}

TEST_F(MagentaApi, StrengthInterpolatesTowardsThePicturesOwnVector) {
  const MagentaPainter painter(predict_, transfer_);
  torch::manual_seed(7);
  const cv::Mat rgb = tensor_to_image(torch::rand({1, 3, 32, 40}));
  const StyleVector style = painter.style_vector(tensor_to_image(torch::rand({1, 3, 50, 50})));
  const StyleVector own = painter.style_vector(rgb);
  const auto as_mat = [&](const StyleVector& s) { return image_to_tensor(painter.paint(rgb, s)); };
  EXPECT_GE(psnr(image_to_tensor(painter.paint(rgb, style, 0.0)), as_mat(own)), 100.0);
  EXPECT_GE(psnr(image_to_tensor(painter.paint(rgb, style, 1.0)), as_mat(style)), 100.0);
  const StyleVector half = interpolate_style_vectors(style, own, 0.25);
  for (int k = 0; k < kMagentaStyleLength; ++k)
    EXPECT_NEAR(half.values[k], 0.25 * style.values[k] + 0.75 * own.values[k], 1e-5);
  EXPECT_GE(psnr(image_to_tensor(painter.paint(rgb, style, 0.25)), as_mat(half)), 100.0);
  EXPECT_THROW(painter.paint(rgb, style, 1.5), Error);
}

TEST(MagentaStyleVectors, BlendSaveAndLoad) {
  StyleVector a, b;
  for (int k = 0; k < kMagentaStyleLength; ++k) {
    a.values.push_back(static_cast<float>(k));
    b.values.push_back(1.0f);
  }
  const StyleVector blend = blend_style_vectors({a, b}, {0.7, 0.3});
  EXPECT_NEAR(blend.values[10], 0.7 * 10 + 0.3, 1e-5);
  EXPECT_NEAR(blend_style_vectors({a, b}, {7, 3}).values[10], blend.values[10], 1e-5);  // weights are normalised
  EXPECT_THROW(blend_style_vectors({a, b}, {1.0}), Error);
  EXPECT_THROW(blend_style_vectors({a, b}, {0.0, 0.0}), Error);
  EXPECT_THROW(blend_style_vectors({a, b}, {-1.0, 2.0}), Error);

  testing::ScratchDir scratch;
  save_style_vector(blend, scratch.file("v.style.json"));
  const StyleVector back = load_style_vector(scratch.file("v.style.json"));
  EXPECT_EQ(back.values, blend.values);  // exact: floats survive JSON
  auto message = [&](const std::string& text) {
    testing::write_all(scratch.file("bad.json"), text);
    try {
      load_style_vector(scratch.file("bad.json"));
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::string head = R"({"format":"atelier-style-vector","version":1,"model":"magenta-arbitrary-image-stylization-v1-256",)";
  EXPECT_NE(message(head + R"("values":[1,2,3]})").find("holds 3 numbers; a Magenta style vector has 100"),
            std::string::npos);
  EXPECT_NE(message("not json").find("not an Atelier style vector"), std::string::npos);
  EXPECT_NE(message(R"({"format":"atelier-style-vector","model":"adain","values":[]})").find("a style vector of \"adain\""),
            std::string::npos);
  EXPECT_NE(message(head + R"("values":[1,"x"]})").find("finite numbers"), std::string::npos);
  EXPECT_THROW(load_style_vector(scratch.file("missing.json")), Error);
}

TEST_F(MagentaApi, RefusesForeignAndMismatchedWeightsAndTinyStyles) {
  auto message = [](const std::function<void()>& load) {
    try {
      load();
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  // The two files swapped.
  EXPECT_NE(message([&] { MagentaPainter(transfer_, predict_); }).find("lack \"predictor.block0.depthwise.bias\""),
            std::string::npos);
  Weights weights = random_magenta_weights(MagentaTransfer::expected_shapes(), 8);
  weights["transfer.expand.conv3.weight"] = torch::zeros({3, 8, 3, 3});
  write_weights(scratch_.file("bad.safetensors"), weights);
  EXPECT_NE(message([&] { load_magenta_transfer(scratch_.file("bad.safetensors")); })
                .find("\"transfer.expand.conv3.weight\" has shape [3,8,3,3], expected [3,8,9,9]"),
            std::string::npos);
  const MagentaPainter painter(predict_, transfer_);
  EXPECT_NE(message([&] { painter.style_vector(cv::Mat(1, 1, CV_32FC3, cv::Scalar::all(0.5))); })
                .find("a style picture of 1x1 is too small"),
            std::string::npos);
}

}  // namespace magenta_test
}  // namespace atelier
