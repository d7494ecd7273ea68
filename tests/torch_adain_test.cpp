// AdaIN (src/models/adain.cpp): the normalisation checked by hand on tiny
// tensors, and the whole encoder -> AdaIN -> decoder pass checked against an
// independent PyTorch implementation, tests/reference/adain_reference.py
// (Debian's /usr/bin/python3 with python3-torch), on random weights in the
// real layouts (naoto0804's vgg_normalised + decoder at relu4_1, and a
// torchvision-keyed VGG19 at relu3_1) and small pictures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "atelier/adain_style.hpp"
#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"
#include "models/adain.hpp"
#include "random_adain_network.hpp"
#include "test_support.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
// Named, not anonymous: test files compile in unity batches.
namespace adain_test {

std::string sizes_text(torch::IntArrayRef sizes) {
  std::ostringstream out;
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? "," : "") << sizes[i];
  return out.str();
}

void write_f32(const std::string& path, const torch::Tensor& tensor) {
  const auto t = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
  testing::write_all(path, std::string(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float)));
}

bool python_has_torch() {
  static const bool has = testing::run_command("/usr/bin/python3 -c 'import torch'") == 0;
  return has;
}

struct ReferenceJob {
  torch::Tensor content;  // [1,3,H,W]
  torch::Tensor styles;   // [K,3,h,w]
  std::string weights;    // "0.7,0.3" or ""
  double alpha = 1.0;
  torch::Tensor mask;  // [H,W] or undefined
  int multiple = 1;
};

// Runs tests/reference/adain_reference.py; returns the decoded picture.
torch::Tensor run_reference(const testing::ScratchDir& scratch, const testing::AdainFiles& files,
                            const ReferenceJob& job) {
  const std::string script =
      (std::filesystem::path(__FILE__).parent_path() / "reference" / "adain_reference.py").string();
  write_f32(scratch.file("content.f32"), job.content);
  write_f32(scratch.file("styles.f32"), job.styles);
  std::ostringstream command;
  command << "/usr/bin/python3 '" << script << "' --encoder '" << files.encoder << "' --decoder '" << files.decoder
          << "' --content '" << scratch.file("content.f32") << "' --content-shape " << sizes_text(job.content.sizes())
          << " --styles '" << scratch.file("styles.f32") << "' --style-shape " << sizes_text(job.styles.sizes())
          << " --alpha " << job.alpha << " --multiple " << job.multiple << " --output '" << scratch.file("out.f32")
          << "'";
  if (!job.weights.empty()) command << " --weights " << job.weights;
  if (job.mask.defined()) {
    write_f32(scratch.file("mask.f32"), job.mask);
    command << " --mask '" << scratch.file("mask.f32") << "' --mask-shape " << sizes_text(job.mask.sizes());
  }
  std::string log;
  if (testing::run_command(command.str(), &log) != 0) throw std::runtime_error("reference failed: " + command.str() + "\n" + log);
  const auto lines = testing::lines_of(log);
  std::vector<int64_t> shape;
  std::stringstream fields(lines.empty() ? "" : lines.back());
  for (std::string field; std::getline(fields, field, ',');) shape.push_back(std::stoll(field));
  const std::string bytes = testing::read_all(scratch.file("out.f32"));
  auto result = torch::empty(shape, torch::kFloat32);
  if (static_cast<int64_t>(bytes.size()) != result.numel() * 4) throw std::runtime_error("bad reference output:\n" + log);
  std::memcpy(result.data_ptr<float>(), bytes.data(), bytes.size());
  return result;
}

// PSNR with the reference's own range as the peak (outputs are not clamped).
double psnr(const torch::Tensor& ours, const torch::Tensor& reference) {
  const auto a = ours.to(torch::kFloat64), b = reference.to(torch::kFloat64);
  const double peak = (b.max() - b.min()).item<double>();
  const double mse = (a - b).pow(2).mean().item<double>();
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(peak * peak / mse);
}

// The PSNR, shown in the log.
double reported_psnr(const torch::Tensor& ours, const torch::Tensor& reference) {
  const double db = psnr(ours, reference);
  EXPECT_GT(reference.std().item<double>(), 0.05) << "a flat picture would prove little";
  std::cout << "    PSNR against the reference: " << db << " dB" << std::endl;
  return db;
}

// The C++ pass the painter makes, on tensors.
torch::Tensor paint_with(const testing::AdainFiles& files, const ReferenceJob& job) {
  const auto encoder = load_adain_encoder(files.encoder);
  AdainDecoder decoder = load_adain_decoder(files.decoder);
  const std::string level = adain_level(*encoder);
  torch::NoGradGuard no_grad;
  const auto content = encoder->extract(job.content, {level}).at(level);
  std::vector<torch::Tensor> styles;
  for (int64_t i = 0; i < job.styles.size(0); ++i)
    styles.push_back(encoder->extract(job.styles.slice(0, i, i + 1), {level}).at(level));
  if (job.mask.defined())
    return decoder->forward(adain_masked_target(content, styles[0], styles[1],
                                                mask_at_size(job.mask, content.size(2), content.size(3)), job.alpha));
  std::vector<double> weights;
  std::stringstream fields(job.weights);
  for (std::string field; std::getline(fields, field, ',');) weights.push_back(std::stod(field));
  if (weights.empty()) weights.assign(styles.size(), 1.0);
  return decoder->forward(adain_target(content, styles, weights, job.alpha));
}

class AdainReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_has_torch()) GTEST_SKIP() << "SKIPPED: /usr/bin/python3 has no torch (apt install python3-torch)";
  }
  testing::ScratchDir scratch;
};

TEST(AdainMath, InstanceNormByHand) {
  // Channel 0: content 1,2,3 (mean 2, unbiased variance 1), style 0,4 (mean 2,
  // variance 8). Channel 1: constant content (variance 0: only eps), style 1,3.
  const auto content = torch::tensor({1.0, 2.0, 3.0, 5.0, 5.0, 5.0}, torch::kFloat64).view({1, 2, 1, 3});
  const auto style = torch::tensor({0.0, 4.0, 1.0, 3.0}, torch::kFloat64).view({1, 2, 1, 2});
  const auto [mean, std] = channel_mean_std(style);
  EXPECT_EQ(mean.sizes().vec(), (std::vector<int64_t>{1, 2, 1, 1}));
  EXPECT_DOUBLE_EQ(mean[0][0][0][0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(std[0][0][0][0].item<double>(), std::sqrt(8.0 + 1e-5));
  EXPECT_DOUBLE_EQ(std[0][1][0][0].item<double>(), std::sqrt(2.0 + 1e-5));

  const auto out = adaptive_instance_norm(content, style);
  const double scale = std::sqrt(8.0 + 1e-5) / std::sqrt(1.0 + 1e-5);
  EXPECT_NEAR(out[0][0][0][0].item<double>(), 2.0 - scale, 1e-12);
  EXPECT_NEAR(out[0][0][0][1].item<double>(), 2.0, 1e-12);
  EXPECT_NEAR(out[0][0][0][2].item<double>(), 2.0 + scale, 1e-12);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out[0][1][0][i].item<double>(), 2.0, 1e-12);  // the style's mean

  // Blend 3:1 of AdaIN to `style` and to its negation, then alpha 0.5 toward the content.
  const auto target = adain_target(content, {style, -style}, {3.0, 1.0}, 0.5);
  const auto expected = 0.5 * (0.75 * out + 0.25 * adaptive_instance_norm(content, -style)) + 0.5 * content;
  EXPECT_TRUE(torch::allclose(target, expected, 0, 1e-12));
  EXPECT_TRUE(torch::equal(adain_target(content, {style}, {1.0}, 0.0), content));
}

TEST(AdainMath, MaskedTargetGivesEachRegionItsStyle) {
  torch::manual_seed(3);
  const auto content = torch::randn({1, 4, 3, 5}, torch::kFloat64);
  const auto fg_style = torch::randn({1, 4, 6, 2}, torch::kFloat64) * 3 + 1;
  const auto bg_style = torch::randn({1, 4, 2, 2}, torch::kFloat64) - 2;
  auto mask = torch::zeros({3, 5}, torch::kBool);
  mask.index_put_({torch::indexing::Slice(0, 2), torch::indexing::Slice(1, 4)}, true);  // 6 pixels of 15
  const auto target = adain_masked_target(content, fg_style, bg_style, mask, 1.0);
  // Each region, gathered as a picture of its own, is plain AdaIN of that region.
  for (const bool fg : {true, false}) {
    const auto where = fg ? mask : mask.logical_not();
    const auto region = content.index({torch::indexing::Slice(), torch::indexing::Slice(), where}).unsqueeze(2);
    const auto expected = adaptive_instance_norm(region, fg ? fg_style : bg_style);
    const auto got = target.index({torch::indexing::Slice(), torch::indexing::Slice(), where}).unsqueeze(2);
    EXPECT_TRUE(torch::allclose(got, expected, 0, 1e-12)) << (fg ? "foreground" : "background");
  }
  // An all-foreground mask is plain AdaIN; alpha mixes as without a mask.
  const auto all = torch::ones({3, 5}, torch::kBool);
  EXPECT_TRUE(torch::allclose(adain_masked_target(content, fg_style, bg_style, all, 0.3),
                              adain_target(content, {fg_style}, {1.0}, 0.3), 0, 1e-12));
  // The mask picture is resized by nearest neighbour and thresholded at 0.5.
  const auto picture = torch::tensor({0.0f, 0.6f, 0.4f, 1.0f}).view({2, 2});
  EXPECT_TRUE(torch::equal(mask_at_size(picture, 4, 4),
                           torch::tensor({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}, torch::kBool).view({4, 4})));
}

TEST(AdainMath, RefusesBadWeightsAndAlpha) {
  const auto x = torch::randn({1, 2, 3, 3});
  EXPECT_THROW(adain_target(x, {x, x}, {1.0}, 1.0), Error);
  EXPECT_THROW(adain_target(x, {x}, {-1.0}, 1.0), Error);
  EXPECT_THROW(adain_target(x, {x, x}, {0.0, 0.0}, 1.0), Error);
  EXPECT_THROW(adain_target(x, {x}, {1.0}, 1.5), Error);
  EXPECT_THROW(adain_target(x, {x}, {std::nan("")}, 1.0), Error);
}

TEST(AdainNetwork, LayoutsFollowNaotosSequentials) {
  std::map<std::string, int> index;
  for (const auto& [name, i] : NormalisedVgg::layer_indices()) index[name] = i;
  EXPECT_EQ(index.at("conv1_1"), 2);
  EXPECT_EQ(index.at("relu1_1"), 3);
  EXPECT_EQ(index.at("pool1"), 7);
  EXPECT_EQ(index.at("relu2_1"), 10);
  EXPECT_EQ(index.at("relu3_1"), 17);
  EXPECT_EQ(index.at("relu4_1"), 30);
  EXPECT_EQ(index.at("relu5_4"), 52);
  const auto vgg = NormalisedVgg::expected_shapes();
  EXPECT_EQ(vgg.size(), 34u);  // the 1x1 conv and 16 3x3 convs, weight and bias
  EXPECT_EQ(vgg.at("0.weight"), (std::vector<int64_t>{3, 3, 1, 1}));
  EXPECT_EQ(vgg.at("29.weight"), (std::vector<int64_t>{512, 256, 3, 3}));
  const auto full = AdainDecoderImpl::expected_shapes("relu4_1");
  std::vector<std::string> keys;
  for (const auto& [key, shape] : full)
    if (key.find("weight") != std::string::npos) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"1.weight", "11.weight", "14.weight", "18.weight", "21.weight",
                                            "25.weight", "28.weight", "5.weight", "8.weight"}));
  EXPECT_EQ(full.at("1.weight"), (std::vector<int64_t>{256, 512, 3, 3}));
  EXPECT_EQ(full.at("28.weight"), (std::vector<int64_t>{3, 64, 3, 3}));
  const auto tail = AdainDecoderImpl::expected_shapes("relu3_1");
  EXPECT_EQ(tail.size(), 10u);
  EXPECT_EQ(tail.at("1.weight"), (std::vector<int64_t>{128, 256, 3, 3}));
  EXPECT_EQ(tail.at("5.weight"), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(tail.at("15.weight"), (std::vector<int64_t>{3, 64, 3, 3}));
  EXPECT_EQ(adain_style_layers("relu4_1"), (std::vector<std::string>{"relu1_1", "relu2_1", "relu3_1", "relu4_1"}));
  EXPECT_THROW(check_adain_level("relu5_1"), Error);

  // A stride of 8 with ceil-mode pooling: 20x13 -> 3x2 at relu4_1.
  const NormalisedVgg encoder(testing::random_normalised_vgg_weights(1));
  EXPECT_EQ(adain_level(encoder), "relu4_1");
  EXPECT_EQ(encoder.layers().back(), "relu4_1");
  torch::NoGradGuard no_grad;
  EXPECT_EQ(encoder.extract(torch::rand({1, 3, 20, 13}), {"relu4_1"}).at("relu4_1").sizes().vec(),
            (std::vector<int64_t>{1, 512, 3, 2}));
}

TEST(AdainNetwork, RefusesForeignWeightsNamingTheKey) {
  auto weights = testing::random_normalised_vgg_weights(1);
  auto without_input = weights;
  without_input.erase("0.weight");
  try {
    NormalisedVgg bad(without_input);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("\"0.weight\""), std::string::npos) << error.what();
  }
  auto misshapen = weights;
  misshapen["5.weight"] = torch::zeros({64, 64, 1, 1});
  EXPECT_THROW(NormalisedVgg{misshapen}, Error);
  auto foreign = weights;
  foreign["features.0.weight"] = torch::zeros({1});
  EXPECT_THROW(NormalisedVgg{foreign}, Error);
  auto gap = weights;
  gap.erase("9.weight");  // conv2_1 missing but deeper convs present
  EXPECT_THROW(NormalisedVgg{gap}, Error);

  auto decoder = testing::random_conv_weights(AdainDecoderImpl::expected_shapes("relu4_1"), 2);
  auto short_decoder = decoder;
  short_decoder.erase("28.bias");
  EXPECT_THROW(adain_decoder_from_state(short_decoder, ""), Error);
  EXPECT_THROW(adain_decoder_from_state(decoder, "relu3_1"), Error);  // the full decoder is not the tail
  EXPECT_EQ(adain_decoder_from_state(decoder, "")->level, "relu4_1");
}

TEST(AdainNetwork, DecoderSavesAndLoadsExactly) {
  testing::ScratchDir scratch;
  const NormalisedVgg encoder(testing::random_normalised_vgg_weights(1));
  AdainDecoder decoder = testing::random_adain_decoder(encoder, "relu4_1", 5);
  save_adain_decoder(decoder, scratch.file("d.safetensors"), {{"trained_on", "test"}});
  const auto file = SafetensorsFile::open(scratch.file("d.safetensors"));
  EXPECT_EQ(file.metadata_value("architecture"), "adain-decoder");
  EXPECT_EQ(file.metadata_value("level"), "relu4_1");
  EXPECT_EQ(file.metadata_value("trained_on"), "test");
  AdainDecoder loaded = load_adain_decoder(scratch.file("d.safetensors"));
  const auto a = decoder->named_parameters(), b = loaded->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  // Each loader refuses the other's file.
  save_tensors(scratch.file("vgg.safetensors"), encoder.weights(), {{"architecture", "vgg-normalised"}});
  EXPECT_THROW(load_adain_decoder(scratch.file("vgg.safetensors")), Error);
  EXPECT_THROW(load_adain_encoder(scratch.file("d.safetensors")), Error);
  EXPECT_EQ(load_adain_encoder(scratch.file("vgg.safetensors"))->architecture(), "vgg-normalised");
}

TEST_F(AdainReferenceTest, Relu4_1BlendOfTwoStylesMatchesReference) {
  const auto files = testing::write_random_adain_models(scratch.path(), "relu4_1", 11);
  torch::manual_seed(12);
  ReferenceJob job;
  job.content = torch::rand({1, 3, 40, 32});
  job.styles = torch::rand({2, 3, 32, 24});
  job.styles[1] = job.styles[1].pow(3);  // a darker second style
  job.weights = "0.7,0.3";
  job.alpha = 0.8;
  const auto ours = paint_with(files, job);
  const auto reference = run_reference(scratch, files, job);
  ASSERT_EQ(ours.sizes(), reference.sizes());
  EXPECT_GE(reported_psnr(ours, reference), 50.0);
  // The blend matters: a single style paints something else.
  job.weights = "1,0";
  EXPECT_LT(psnr(paint_with(files, job), reference), 40.0);
}

TEST_F(AdainReferenceTest, Relu4_1MaskWithTwoStylesMatchesReference) {
  const auto files = testing::write_random_adain_models(scratch.path(), "relu4_1", 21);
  torch::manual_seed(22);
  ReferenceJob job;
  job.content = torch::rand({1, 3, 32, 48});
  job.styles = torch::rand({2, 3, 24, 24});
  job.styles[1] = 1 - job.styles[1].pow(2);
  job.alpha = 0.9;
  job.mask = torch::zeros({32, 48});
  job.mask.index_put_({torch::indexing::Slice(4, 24), torch::indexing::Slice(8, 40)}, 1.0);
  const auto ours = paint_with(files, job);
  EXPECT_GE(reported_psnr(ours, run_reference(scratch, files, job)), 50.0);
}

TEST_F(AdainReferenceTest, Relu3_1WithTheProjectsVggMatchesReference) {
  const auto files = testing::write_random_adain_models(scratch.path(), "relu3_1", 31);
  ASSERT_EQ(adain_level(*load_adain_encoder(files.encoder)), "relu3_1");
  torch::manual_seed(32);
  ReferenceJob job;
  job.content = torch::rand({1, 3, 32, 40});
  job.styles = torch::rand({1, 3, 28, 36}).pow(2);
  job.alpha = 0.6;
  EXPECT_GE(reported_psnr(paint_with(files, job), run_reference(scratch, files, job)), 50.0);
}

// The torch-free painter (src/pipeline/adain_style.cpp) on pictures whose
// sides are not multiples of the level's stride: padded by reflection,
// painted, cropped back to exactly the picture's size.
cv::Mat picture_of(const torch::Tensor& batch, int64_t i) { return tensor_to_image(batch.slice(0, i, i + 1)); }

TEST_F(AdainReferenceTest, PainterBlendsStylesOnAnOddSizedPicture) {
  const auto files = testing::write_random_adain_models(scratch.path(), "relu4_1", 41);
  const AdainPainter painter(files.encoder, files.decoder);
  EXPECT_EQ(painter.level(), "relu4_1");
  EXPECT_EQ(painter.multiple(), 8);
  torch::manual_seed(42);
  ReferenceJob job;
  job.content = torch::rand({1, 3, 37, 29});
  job.styles = torch::rand({2, 3, 24, 32});
  job.styles[0] = job.styles[0].sqrt();
  job.weights = "2,1";
  job.alpha = 0.7;
  job.multiple = 8;
  AdainOptions options;
  options.weights = {2, 1};
  options.alpha = 0.7;
  const cv::Mat painted = painter.paint(picture_of(job.content, 0),
                                        {painter.style(picture_of(job.styles, 0)), painter.style(picture_of(job.styles, 1))},
                                        options);
  ASSERT_EQ(painted.cols, 29);
  ASSERT_EQ(painted.rows, 37);
  const auto reference = run_reference(scratch, files, job).clamp(0, 1);
  EXPECT_GE(reported_psnr(image_to_tensor(painted), reference), 50.0);
}

TEST_F(AdainReferenceTest, PainterMasksTwoStylesAtRelu3_1) {
  const auto files = testing::write_random_adain_models(scratch.path(), "relu3_1", 51);
  const AdainPainter painter(files.encoder, files.decoder);
  EXPECT_EQ(painter.multiple(), 4);
  torch::manual_seed(52);
  ReferenceJob job;
  job.content = torch::rand({1, 3, 30, 43});
  job.styles = torch::rand({2, 3, 28, 28});
  job.styles[1] = job.styles[1].pow(4);
  job.alpha = 1.0;
  job.multiple = 4;
  job.mask = torch::zeros({30, 43});
  job.mask.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 20)}, 1.0);
  AdainOptions options;
  options.mask = cv::Mat(30, 43, CV_32FC1, job.mask.data_ptr<float>()).clone();
  const std::vector<AdainStyle> styles = {painter.style(picture_of(job.styles, 0)),
                                          painter.style(picture_of(job.styles, 1))};
  const cv::Mat painted = painter.paint(picture_of(job.content, 0), styles, options);
  ASSERT_EQ(painted.cols, 43);
  ASSERT_EQ(painted.rows, 30);
  EXPECT_GE(reported_psnr(image_to_tensor(painted), run_reference(scratch, files, job).clamp(0, 1)), 50.0);
  // Away from the edge of the mask, each side is nearer what its own style
  // paints alone than what the other does (not equal: each region is
  // normalised by its own statistics).
  const cv::Mat first = painter.paint(picture_of(job.content, 0), {styles[0]});
  const cv::Mat second = painter.paint(picture_of(job.content, 0), {styles[1]});
  const auto distance = [](const cv::Mat& a, const cv::Mat& b, const cv::Rect& region) {
    return cv::norm(a(region), b(region), cv::NORM_L2);
  };
  const cv::Rect left(0, 0, 12, 30), right(30, 0, 13, 30);
  EXPECT_LT(distance(painted, first, left), distance(painted, second, left));
  EXPECT_LT(distance(painted, second, right), distance(painted, first, right));
}

TEST(AdainPainter, RefusesWhatItCannotPaint) {
  testing::ScratchDir scratch;
  const auto relu3 = testing::write_random_adain_models(scratch.file("a"), "relu3_1", 61);
  const auto relu4 = testing::write_random_adain_models(scratch.file("b"), "relu4_1", 62);
  auto message_of = [](const std::function<void()>& run) {
    try {
      run();
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  // A relu4_1 decoder needs an encoder that reaches relu4_1.
  EXPECT_NE(message_of([&] { AdainPainter(relu3.encoder, relu4.decoder); }).find("stops at relu3_1"), std::string::npos);
  // A decoder file given as the encoder, and the other way round.
  EXPECT_NE(message_of([&] { AdainPainter(relu4.decoder, relu4.decoder); }).find(relu4.decoder), std::string::npos);
  EXPECT_NE(message_of([&] { AdainPainter(relu4.encoder, relu4.encoder); }).find(relu4.encoder), std::string::npos);

  const AdainPainter painter(relu3.encoder, relu3.decoder);
  const cv::Mat picture(32, 32, CV_32FC3, cv::Scalar(0.2, 0.5, 0.7));
  EXPECT_NE(message_of([&] { painter.style(cv::Mat(1, 1, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5))); }).find("too small"),
            std::string::npos);
  const AdainStyle style = painter.style(picture);
  EXPECT_EQ(style.mean.size(), 256u);
  AdainOptions options;
  options.mask = cv::Mat(32, 32, CV_8UC1, cv::Scalar(255));
  EXPECT_NE(message_of([&] { painter.paint(picture, {style}, options); }).find("two styles"), std::string::npos);
  options.mask = cv::Mat(16, 32, CV_8UC1, cv::Scalar(255));
  EXPECT_NE(message_of([&] { painter.paint(picture, {style, style}, options); }).find("same size"), std::string::npos);
  options = {};
  options.weights = {1, 2};
  EXPECT_NE(message_of([&] { painter.paint(picture, {style}, options); }).find("2 blend weights for 1"),
            std::string::npos);
  AdainStyle other = style;
  other.level = "relu4_1";
  EXPECT_NE(message_of([&] { painter.paint(picture, {other}, {}); }).find("relu4_1"), std::string::npos);
}

}  // namespace adain_test
}  // namespace atelier
