// The Gatys styliser's options on a tiny random VGG: each test fails if its
// option were ignored.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "stylize/gatys.hpp"
#include "stylize/gatys_pyramid.hpp"
#include "losses/losses.hpp"
#include "torch/tensor_image.hpp"
#include "atelier/gatys_checkpoint.hpp"
#include "atelier/painters.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace atelier {
namespace {

cv::Mat gradient_image(int width, int height) {
  cv::Mat rgb(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      rgb.at<cv::Vec3f>(y, x) = {float(x) / width, float(y) / height, 0.5f};
  return rgb;
}

// Random texture tinted towards `tint` (RGB).
cv::Mat tinted_noise(int size, cv::Vec3f tint, int seed) {
  cv::Mat noise(size, size, CV_32FC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::Mat tinted;
  cv::multiply(noise, cv::Scalar(tint[0], tint[1], tint[2]), tinted);
  return tinted;
}

class GatysTest : public ::testing::Test {
 protected:
  GatysTest() : network_("vgg19", testing::tiny_vgg_weights("vgg19", 5), Preprocess::Caffe, Pooling::Max) {}

  GatysOptions base_options() const {
    GatysOptions options;
    options.content_layers = {"relu2_2"};
    options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
    options.iterations = 40;
    options.style_weight = 100;
    options.tv_weight = 0;  // the noise styles are all high frequencies
    return options;
  }

  // Distance between the style statistics (Gram matrices over the style
  // layers) of two images: what the style loss drives down.
  double gram_distance(const cv::Mat& a, const cv::Mat& b) const {
    torch::NoGradGuard no_grad;
    const auto layers = base_options().style_layers;
    auto features_a = network_.extract(image_to_tensor(a), layers);
    auto features_b = network_.extract(image_to_tensor(b), layers);
    double distance = 0;
    for (const auto& layer : layers)
      distance += style_loss(gram_matrix(features_a.at(layer)), gram_matrix(features_b.at(layer))).item<double>();
    return distance;
  }

  double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) const {
    cv::Mat difference;
    cv::absdiff(a, b, difference);
    const cv::Scalar mean = cv::mean(difference);
    return (mean[0] + mean[1] + mean[2]) / 3;
  }

  VggFeatures network_;
  cv::Mat content_ = gradient_image(32, 24);
  cv::Mat red_ = tinted_noise(32, {1.0f, 0.1f, 0.1f}, 1);
  cv::Mat blue_ = tinted_noise(32, {0.1f, 0.1f, 1.0f}, 2);
};

TEST_F(GatysTest, LossFallsAndTheImageTakesTheStyle) {
  std::vector<double> losses;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) { losses.push_back(step.total); };
  GatysResult result = stylize_gatys(network_, content_, {red_}, base_options(), callbacks);
  ASSERT_TRUE(result.finite);
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses.back(), losses.front() / 5);
  EXPECT_EQ(result.rgb.size(), content_.size());
  EXPECT_LT(gram_distance(result.rgb, red_), gram_distance(content_, red_) / 5);
}

TEST_F(GatysTest, StyleBlendWeightsChooseBetweenStyles) {
  GatysOptions options = base_options();
  options.style_blend = {1.0, 0.0};
  const cv::Mat reddish = stylize_gatys(network_, content_, {red_, blue_}, options).rgb;
  options.style_blend = {0.0, 1.0};
  const cv::Mat bluish = stylize_gatys(network_, content_, {red_, blue_}, options).rgb;
  EXPECT_LT(gram_distance(reddish, red_), gram_distance(reddish, blue_) / 2);
  EXPECT_LT(gram_distance(bluish, blue_), gram_distance(bluish, red_) / 2);
  options.style_blend = {0.5, 0.5};
  const cv::Mat both = stylize_gatys(network_, content_, {red_, blue_}, options).rgb;
  EXPECT_GT(mean_abs_difference(both, reddish), 0.01);
  EXPECT_GT(mean_abs_difference(both, bluish), 0.01);
}

TEST_F(GatysTest, StyleBlendMustMatchTheStyleCount) {
  GatysOptions options = base_options();
  options.style_blend = {1.0};
  EXPECT_THROW(stylize_gatys(network_, content_, {red_, blue_}, options), Error);
  options.style_blend = {0.0, 0.0};
  EXPECT_THROW(stylize_gatys(network_, content_, {red_, blue_}, options), Error);
}

TEST_F(GatysTest, StyleScaleChangesTheStyleTargets) {
  // Stripes 4 px wide: at scale 0.25 the style image shrinks to 8 px and
  // its stripes blur; each result should match the statistics of the style
  // image at its own scale better than those at the other.
  cv::Mat stripes(32, 32, CV_32FC3);
  for (int x = 0; x < 32; ++x) stripes.col(x).setTo(cv::Scalar((x / 4) % 2, 0.2, 1 - (x / 4) % 2));
  cv::Mat stripes_small;
  cv::resize(stripes, stripes_small, {8, 8}, 0, 0, cv::INTER_AREA);
  GatysOptions options = base_options();
  options.content_weight = 0;
  options.iterations = 60;
  cv::Mat full = stylize_gatys(network_, content_, {stripes}, options).rgb;
  options.style_scale = 0.25;
  cv::Mat small = stylize_gatys(network_, content_, {stripes}, options).rgb;
  EXPECT_GT(mean_abs_difference(full, small), 0.02);
  EXPECT_LT(gram_distance(full, stripes), gram_distance(small, stripes));
  EXPECT_LT(gram_distance(small, stripes_small), gram_distance(full, stripes_small));
}

TEST_F(GatysTest, AdamOptimisesToo) {
  GatysOptions options = base_options();
  options.optimizer = GatysOptions::Optimizer::Adam;
  options.learning_rate = 0.05;
  options.iterations = 60;
  std::vector<double> losses;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) { losses.push_back(step.total); };
  GatysResult adam = stylize_gatys(network_, content_, {red_}, options, callbacks);
  EXPECT_LT(losses.back(), losses.front() / 2);
  options.optimizer = GatysOptions::Optimizer::LBFGS;
  options.iterations = 60;
  GatysResult lbfgs = stylize_gatys(network_, content_, {red_}, options);
  EXPECT_GT(mean_abs_difference(adam.rgb, lbfgs.rgb), 1e-3);
}

TEST_F(GatysTest, MultiScaleRunsCoarseThenFine) {
  GatysOptions options = base_options();
  options.scales = {16, 40};
  options.iterations = 10;
  std::vector<std::pair<int, int>> sizes;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) {
    if (step.iteration == 1) sizes.emplace_back(step.width, step.height);
  };
  GatysResult result = stylize_gatys(network_, content_, {red_}, options, callbacks);
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], std::make_pair(16, 12));
  EXPECT_EQ(sizes[1], std::make_pair(40, 30));
  EXPECT_EQ(result.rgb.cols, 40);
  EXPECT_EQ(result.rgb.rows, 30);
}

TEST_F(GatysTest, CoarseScalesRunTheirOwnIterationCount) {
  GatysOptions options = base_options();
  options.scales = {16, 24, 40};
  options.iterations = 6;
  options.coarse_iterations = 2;
  std::vector<std::pair<int, int>> steps;  // (scale, iteration)
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) {
    steps.emplace_back(step.scale_index, step.iteration);
    EXPECT_EQ(step.iterations, step.scale_index < 2 ? 2 : 6);
  };
  stylize_gatys(network_, content_, {red_}, options, callbacks);
  const std::vector<std::pair<int, int>> expected = {{0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 1}, {2, 2},
                                                     {2, 3}, {2, 4}, {2, 5}, {2, 6}};
  EXPECT_EQ(steps, expected);
  EXPECT_EQ(gatys_iterations_at(options, 0, 3), 2);
  EXPECT_EQ(gatys_iterations_at(options, 2, 3), 6);
  options.coarse_iterations = 0;  // 0: every scale runs `iterations`
  EXPECT_EQ(gatys_iterations_at(options, 0, 3), 6);
}

TEST(GatysAutoScales, FromAQuarterUpBySqrtTwo) {
  EXPECT_EQ(gatys_auto_scales(512), (std::vector<int>{128, 181, 256, 362, 512}));
  EXPECT_EQ(gatys_auto_scales(1024), (std::vector<int>{256, 362, 512, 724, 1024}));
  EXPECT_EQ(gatys_auto_scales(256), (std::vector<int>{128, 181, 256}));
  EXPECT_EQ(gatys_auto_scales(150), (std::vector<int>{128, 150}));
  EXPECT_EQ(gatys_auto_scales(100), (std::vector<int>{100})) << "nothing coarser than 128 px";
}

// The CPU's VGG runs channels-last; its features, Gram matrices and losses
// are those of the plain layout.
TEST_F(GatysTest, ChannelsLastGivesThePlainLayoutsFeatures) {
  VggFeatures plain("vgg19", testing::tiny_vgg_weights("vgg19", 5), Preprocess::Caffe, Pooling::Max);
  plain.set_channels_last(false);
  ASSERT_TRUE(network_.channels_last()) << "on by default on the CPU";
  const auto layers = base_options().style_layers;
  const auto image = image_to_tensor(red_);
  const auto a = network_.extract(image, layers);
  const auto b = plain.extract(image, layers);
  for (const auto& layer : layers) {
    EXPECT_TRUE(a.at(layer).is_contiguous(torch::MemoryFormat::ChannelsLast)) << layer;
    // Another summation order (oneDNN's kernels): equal to float rounding.
    const double scale = b.at(layer).abs().max().item<double>();
    EXPECT_LT((a.at(layer) - b.at(layer)).abs().max().item<double>(), 1e-5 * scale) << layer;
    const auto gram_a = gram_matrix(a.at(layer)), gram_b = gram_matrix(b.at(layer));
    EXPECT_LT((gram_a - gram_b).abs().max().item<double>(), 1e-5 * gram_b.abs().max().item<double>()) << layer;
  }
}

TEST_F(GatysTest, NoiseInitIsSeeded) {
  GatysOptions options = base_options();
  options.init = GatysOptions::Init::Noise;
  options.iterations = 5;
  options.seed = 11;
  cv::Mat first = stylize_gatys(network_, content_, {red_}, options).rgb;
  cv::Mat again = stylize_gatys(network_, content_, {red_}, options).rgb;
  options.seed = 12;
  cv::Mat other = stylize_gatys(network_, content_, {red_}, options).rgb;
  EXPECT_EQ(mean_abs_difference(first, again), 0.0);
  EXPECT_GT(mean_abs_difference(first, other), 1e-3);
  options.init = GatysOptions::Init::Content;
  EXPECT_GT(mean_abs_difference(first, stylize_gatys(network_, content_, {red_}, options).rgb), 1e-3);
}

TEST_F(GatysTest, InitFromAnImageStartsThere) {
  GatysOptions options = base_options();
  options.init = GatysOptions::Init::Image;
  options.init_image = cv::Mat(48, 64, CV_32FC3, cv::Scalar(0.9, 0.9, 0.1));  // resized to the content
  options.iterations = 1;
  std::vector<double> losses;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) { losses.push_back(step.content); };
  stylize_gatys(network_, content_, {red_}, options, callbacks);
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_GT(losses[0], 0.0) << "content init would start with zero content loss";
}

// Video: the temporal term is temporal_weight times the masked squared
// difference to the target, averaged over every pixel and channel.
TEST_F(GatysTest, TemporalTermIsTheMaskedMeanSquareDifference) {
  GatysOptions options = base_options();
  options.iterations = 1;
  cv::add(content_, cv::Scalar(0.1, 0.1, 0.1), options.temporal_target);  // 0.1 away everywhere
  options.temporal_mask = cv::Mat(content_.size(), CV_32FC1, cv::Scalar(0));
  options.temporal_mask(cv::Rect(0, 0, content_.cols / 2, content_.rows)).setTo(1);  // reliable on the left half
  options.temporal_weight = 300;
  std::vector<GatysProgress> steps;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) { steps.push_back(step); };
  stylize_gatys(network_, content_, {red_}, options, callbacks);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_NEAR(steps[0].temporal, 300 * 0.01 * 0.5, 1e-4);  // first evaluation: the content itself
  EXPECT_NEAR(steps[0].total, steps[0].content + steps[0].style + steps[0].tv + steps[0].temporal, 1e-3);
}

// Where the flow is reliable the result stays near the warped previous
// output; elsewhere the style is free.
TEST_F(GatysTest, TemporalTermHoldsTheReliablePixelsToTheTarget) {
  GatysOptions options = base_options();
  const cv::Mat target(content_.size(), CV_32FC3, cv::Scalar(0.2, 0.6, 0.3));
  const cv::Rect left(0, 0, content_.cols / 2, content_.rows), right(content_.cols / 2, 0, content_.cols / 2, content_.rows);
  const GatysResult free_run = stylize_gatys(network_, content_, {red_}, options);
  options.temporal_target = target;
  options.temporal_mask = cv::Mat(content_.size(), CV_32FC1, cv::Scalar(0));
  options.temporal_mask(left).setTo(1);
  options.temporal_weight = 1e4;
  const GatysResult held = stylize_gatys(network_, content_, {red_}, options);
  ASSERT_TRUE(held.finite);
  const double free_left = mean_abs_difference(free_run.rgb(left), target(left));
  const double held_left = mean_abs_difference(held.rgb(left), target(left));
  const double held_right = mean_abs_difference(held.rgb(right), target(right));
  EXPECT_LT(held_left, free_left / 4) << "reliable pixels follow the target";
  EXPECT_GT(held_right, 2 * held_left) << "unreliable pixels are left to the style";
}

TEST_F(GatysTest, NonFiniteLossStopsAndKeepsTheLastGoodImage) {
  GatysOptions options = base_options();
  options.style_weight = 1e39;  // beyond float range: the loss is infinite
  options.iterations = 10;
  int evaluations = 0;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress&) { ++evaluations; };
  GatysResult result = stylize_gatys(network_, content_, {red_}, options, callbacks);
  EXPECT_FALSE(result.finite);
  EXPECT_EQ(evaluations, 0) << "no progress is reported for a non-finite loss";
  EXPECT_NE(result.message.find("NaN or infinite at iteration 1"), std::string::npos) << result.message;
  EXPECT_TRUE(cv::checkRange(result.rgb));
  EXPECT_LT(mean_abs_difference(result.rgb, content_), 1e-6) << "the last finite image is the starting one";
}

TEST_F(GatysTest, SnapshotsEveryNIterations) {
  GatysOptions options = base_options();
  options.iterations = 12;
  std::vector<int> snapshots;
  GatysCallbacks callbacks;
  callbacks.snapshot_every = 5;
  callbacks.on_snapshot = [&](const cv::Mat& rgb, const GatysProgress& step) {
    EXPECT_EQ(rgb.size(), content_.size());
    snapshots.push_back(step.iteration);
  };
  stylize_gatys(network_, content_, {red_}, options, callbacks);
  EXPECT_EQ(snapshots, (std::vector<int>{5, 10}));
}

TEST_F(GatysTest, CheckpointsEveryNIterationsButNotAtTheEnd) {
  GatysOptions options = base_options();
  options.iterations = 10;
  std::vector<int> iterations;
  GatysCallbacks callbacks;
  callbacks.checkpoint_every = 3;
  callbacks.on_checkpoint = [&](const GatysCheckpoint& checkpoint) {
    EXPECT_EQ(checkpoint.rgb.size(), content_.size());
    iterations.push_back(checkpoint.iteration);
  };
  stylize_gatys(network_, content_, {red_}, options, callbacks);
  EXPECT_EQ(iterations, (std::vector<int>{3, 6, 9}));
}

TEST_F(GatysTest, StopTakesACheckpointAndResumeFinishesTheRun) {
  GatysOptions options = base_options();
  options.scales = {16, 32};
  options.iterations = 8;
  std::optional<GatysCheckpoint> saved;
  int evaluations = 0;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress&) { ++evaluations; };
  callbacks.stop_requested = [&] { return evaluations == 11; };  // iteration 3 of scale 2
  callbacks.on_checkpoint = [&](const GatysCheckpoint& checkpoint) { saved = checkpoint; };
  GatysResult stopped = stylize_gatys(network_, content_, {red_}, options, callbacks);
  EXPECT_TRUE(stopped.stopped);
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->scale_index, 1);
  EXPECT_EQ(saved->iteration, 3);
  EXPECT_EQ(saved->rgb.size(), cv::Size(32, 24));

  options.resume_from = saved;
  std::vector<std::pair<int, int>> resumed;  // (scale, iteration)
  GatysCallbacks resume_callbacks;
  resume_callbacks.on_progress = [&](const GatysProgress& step) {
    resumed.emplace_back(step.scale_index, step.iteration);
  };
  GatysResult finished = stylize_gatys(network_, content_, {red_}, options, resume_callbacks);
  EXPECT_FALSE(finished.stopped);
  ASSERT_EQ(resumed.size(), 5u) << "iterations 4..8 of the second scale remain";
  EXPECT_EQ(resumed.front(), std::make_pair(1, 4));
  EXPECT_EQ(resumed.back(), std::make_pair(1, 8));
  EXPECT_LT(finished.first_loss, stopped.first_loss) << "the resumed run starts from the stylised checkpoint";
  EXPECT_EQ(finished.rgb.size(), cv::Size(32, 24));
}

// Issue 13: a resumed L-BFGS run was not the uninterrupted one (loss 163 vs 58
// at the same iteration): the optimiser's history was not in the checkpoint.
// Stopped, written to a checkpoint file, read back and resumed, a run takes
// the same steps as one never stopped, for L-BFGS on pixels and on a pyramid,
// and Adam.
TEST_F(GatysTest, ResumeThroughACheckpointFileIsExact) {
  testing::ScratchDir scratch;
  for (const auto& [optimizer, pyramid] : {std::pair{GatysOptions::Optimizer::LBFGS, 1},
                                           std::pair{GatysOptions::Optimizer::LBFGS, 2},
                                           std::pair{GatysOptions::Optimizer::Adam, 1}}) {
    SCOPED_TRACE("pyramid " + std::to_string(pyramid));
    GatysOptions options = base_options();
    options.optimizer = optimizer;
    options.pyramid = pyramid;
    options.iterations = 30;
    std::map<int, double> straight;  // iteration -> loss
    GatysCallbacks record;
    record.on_progress = [&](const GatysProgress& step) { straight[step.iteration] = step.total; };
    const GatysResult uninterrupted = stylize_gatys(network_, content_, {red_}, options, record);

    const std::string path = scratch.file("run.checkpoint.safetensors");
    GatysCallbacks stopping;
    stopping.stop_requested = [evaluations = 0]() mutable { return ++evaluations == 12; };
    GatysCheckpointWriter writer(path, "job");  // in the background, as the CLI and the studio write them
    stopping.on_checkpoint = [&](GatysCheckpoint checkpoint) { writer.write(std::move(checkpoint)); };
    ASSERT_TRUE(stylize_gatys(network_, content_, {red_}, options, stopping).stopped);
    writer.finish();

    options.resume_from = read_gatys_checkpoint(path, "job");
    ASSERT_EQ(options.resume_from->iteration, 12);
    std::map<int, double> resumed;
    GatysCallbacks again;
    again.on_progress = [&](const GatysProgress& step) { resumed[step.iteration] = step.total; };
    const GatysResult finished = stylize_gatys(network_, content_, {red_}, options, again);
    ASSERT_EQ(resumed.size(), 18u);
    for (const auto& [iteration, loss] : resumed)
      EXPECT_NEAR(loss, straight.at(iteration), 1e-5 * std::abs(straight.at(iteration)))
          << "iteration " << iteration << (optimizer == GatysOptions::Optimizer::LBFGS ? " (L-BFGS)" : " (Adam)");
    EXPECT_LE(cv::norm(finished.rgb, uninterrupted.rgb, cv::NORM_INF), 1e-4);
  }
}

// On a pyramid no L-BFGS step moves the picture by more than the limit on
// average; on pixels (neural-style's steps, not limited) this run takes larger ones.
TEST_F(GatysTest, PyramidStepsAreLimited) {
  const auto largest_move = [&](int pyramid) {
    GatysOptions options = base_options();
    options.pyramid = pyramid;
    options.iterations = 15;
    cv::Mat previous;
    double largest = 0;
    GatysCallbacks callbacks;
    callbacks.snapshot_every = 1;  // every evaluated picture
    callbacks.on_snapshot = [&](const cv::Mat& rgb, const GatysProgress&) {
      if (!previous.empty()) largest = std::max(largest, mean_abs_difference(rgb, previous));
      previous = rgb.clone();
    };
    EXPECT_TRUE(stylize_gatys(network_, content_, {red_}, options, callbacks).finite);
    return largest;
  };
  EXPECT_GT(largest_move(1), 1.5 * kGatysPyramidStepLimit);
  EXPECT_LE(largest_move(2), kGatysPyramidStepLimit * 1.0001);
}

// A checkpoint of another pyramid (or one from before pyramids, which is
// pixels) holds an optimiser state of another shape: the run carries on from
// its picture with a fresh optimiser instead.
TEST_F(GatysTest, CheckpointOfAnotherPyramidResumesFromItsPicture) {
  GatysOptions options = base_options();
  options.pyramid = 1;
  options.iterations = 10;
  std::optional<GatysCheckpoint> saved;
  GatysCallbacks stopping;
  stopping.stop_requested = [evaluations = 0]() mutable { return ++evaluations == 4; };
  stopping.on_checkpoint = [&](GatysCheckpoint checkpoint) { saved = std::move(checkpoint); };
  ASSERT_TRUE(stylize_gatys(network_, content_, {red_}, options, stopping).stopped);
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->optimizer_values.at("pyramid_levels"), "1");

  const GatysObjective objective(network_, image_to_tensor(content_), {image_to_tensor(red_)}, {1.0}, options);
  const double checkpoint_loss = objective(image_to_tensor(saved->rgb)).total.item<double>();
  const auto resume = [&](int pyramid, const std::string& levels_written) {
    SCOPED_TRACE("pyramid " + std::to_string(pyramid) + ", the checkpoint's levels \"" + levels_written + "\"");
    options.pyramid = pyramid;
    options.resume_from = saved;
    options.resume_from->optimizer_values["pyramid_levels"] = levels_written;
    int evaluations = 0;
    GatysCallbacks counting;
    counting.on_progress = [&](const GatysProgress&) { ++evaluations; };
    const GatysResult finished = stylize_gatys(network_, content_, {red_}, options, counting);
    EXPECT_TRUE(finished.finite);
    EXPECT_EQ(evaluations, 6);
    // A fresh optimiser's first evaluation is of the checkpoint's picture.
    EXPECT_NEAR(finished.first_loss, checkpoint_loss, 1e-4 * checkpoint_loss);
  };
  resume(2, "1");
  resume(1, "x");  // an unreadable count matches no pyramid: no error, a fresh optimiser
}

TEST_F(GatysTest, CheckpointFromAnotherScaleCountIsAnError) {
  GatysOptions options = base_options();
  options.resume_from = GatysCheckpoint{2, 1, content_};
  EXPECT_THROW(stylize_gatys(network_, content_, {red_}, options), Error);
}

// bf16 autocast changes the arithmetic (so it is really on) but not the
// meaning: the loss agrees with fp32 to within a few percent.
TEST_F(GatysTest, Bf16ObjectiveIsCloseToFp32) {
  GatysOptions options = base_options();
  options.content_weight = 1;
  options.style_weight = 1;
  torch::manual_seed(5);
  auto content = torch::rand({1, 3, 32, 32});
  auto image = torch::rand({1, 3, 32, 32});
  GatysObjective fp32(network_, content, {image_to_tensor(red_)}, {1.0}, options);
  options.precision = Precision::BF16;
  GatysObjective bf16(network_, content, {image_to_tensor(red_)}, {1.0}, options);
  const double exact = fp32(image).total.item<double>();
  const double reduced = bf16(image).total.item<double>();
  EXPECT_NE(exact, reduced);
  EXPECT_NEAR(reduced, exact, 0.05 * exact);
  EXPECT_EQ(bf16(image).total.scalar_type(), torch::kFloat32);
}

TEST_F(GatysTest, Bf16StylisationStillConverges) {
  GatysOptions options = base_options();
  options.precision = Precision::BF16;
  GatysResult result = stylize_gatys(network_, content_, {red_}, options);
  EXPECT_LT(result.final_loss, result.first_loss / 5);
}

TEST_F(GatysTest, DefaultLayersFollowWhatTheWeightsHold) {
  EXPECT_EQ(default_content_layers(network_), std::vector<std::string>{"relu2_2"});  // 5 convs: up to conv3_1
  VggFeatures partial("vgg19", testing::tiny_vgg_weights("vgg19", 8), Preprocess::Caffe, Pooling::Max);
  EXPECT_EQ(default_content_layers(partial), std::vector<std::string>{"relu3_2"});
  EXPECT_EQ(default_style_layers(partial), (std::vector<std::string>{"relu1_1", "relu2_1", "relu3_1"}));
  VggFeatures full("vgg19", testing::tiny_vgg_weights("vgg19"), Preprocess::Caffe, Pooling::Max);
  EXPECT_EQ(default_content_layers(full), std::vector<std::string>{"relu4_2"});
  EXPECT_EQ(default_style_layers(full).size(), 5u);
}

TEST_F(GatysTest, MissingLayerIsAnError) {
  GatysOptions options = base_options();
  options.style_layers = {"relu4_1"};
  EXPECT_THROW(stylize_gatys(network_, content_, {red_}, options), Error);
  EXPECT_THROW(stylize_gatys(network_, content_, {}, base_options()), Error);
}

TEST(Device, CudaWithoutCudaIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "SKIPPED: a GPU is visible";
  EXPECT_THROW(parse_device("cuda"), Error);
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
}

TEST(GatysCheckpointWriter, AFailedWriteIsReportedByTheNextWriteOrFinish) {
  const GatysCheckpoint checkpoint{0, 3, cv::Mat(4, 5, CV_32FC3, cv::Scalar::all(0.5)), {}, {}};
  GatysCheckpointWriter nowhere("/nonexistent-atelier-dir/run.checkpoint.safetensors", "job");
  nowhere.write(checkpoint);
  EXPECT_THROW(nowhere.finish(), Error);
  testing::ScratchDir scratch;
  GatysCheckpointWriter writer(scratch.file("run.checkpoint.safetensors"), "job");
  writer.write(checkpoint);
  writer.write(checkpoint);  // waits for the first
  writer.finish();
  EXPECT_EQ(read_gatys_checkpoint(scratch.file("run.checkpoint.safetensors"), "job").iteration, 3);
}

}  // namespace
}  // namespace atelier
