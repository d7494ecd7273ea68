// GAN building blocks (src/gan): network shapes, spectral norm against the
// SVD, batch-independent sampling, latents, DiffAugment, exact trainer
// state, and the KID/FID metrics on cases with known answers.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "gan/gan.hpp"
#include "gan/gan_metrics.hpp"
#include "gan/gan_training.hpp"
#include "atelier/image.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

GanArchitecture small(int64_t size, int64_t channels) {
  GanArchitecture a;
  a.image_size = size;
  a.channels = channels;
  a.latent_dim = 16;
  a.g_width = 4;
  a.d_width = 4;
  return a;
}

TEST(GanNetworks, ShapesForEverySizeAndChannelCount) {
  for (int64_t size : {32, 64, 128})
    for (int64_t channels : {1, 3}) {
      const auto architecture = small(size, channels);
      const auto g = initial_generator_weights(architecture, 1);
      auto d = initial_discriminator_weights(architecture, 1);
      const auto images = generate(g, architecture, torch::randn({2, 16}), NormStatistics::Batch);
      EXPECT_EQ(images.sizes(), (std::vector<int64_t>{2, channels, size, size}));
      EXPECT_LE(images.abs().max().item<double>(), 1.0);
      EXPECT_EQ(discriminate(d, architecture, images, true).sizes(), (std::vector<int64_t>{2}));
    }
  try {
    check_gan_architecture(small(48, 3));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("--size 48 is not supported"), std::string::npos) << error.what();
  }
}

// Power iteration converges to the largest singular value, and the
// normalised weight's is then 1.
TEST(GanNetworks, SpectralNormMatchesTheLargestSingularValue) {
  const auto architecture = small(32, 3);
  auto d = initial_discriminator_weights(architecture, 2);
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 100; ++i) discriminate(d, architecture, torch::zeros({1, 3, 32, 32}), true);
  for (const char* name : {"conv0.weight", "conv2.weight", "fc.weight"}) {
    const auto matrix = d.at(name).reshape({d.at(name).size(0), -1});
    const double largest = torch::linalg_svdvals(matrix)[0].item<double>();
    EXPECT_NEAR(spectral_norm_estimate(d, name).item<double>(), largest, 1e-3 * largest) << name;
  }
}

TEST(GanNetworks, StoredStatisticsMakeSamplesIndependentOfTheBatch) {
  const auto architecture = small(32, 3);
  auto g = initial_generator_weights(architecture, 3);
  store_standing_statistics(g, architecture, 5, 256);
  const auto z = latents_for(9, 0, 4, 16);
  torch::NoGradGuard no_grad;
  const auto four = generate(g, architecture, z, NormStatistics::Stored);
  const auto one = generate(g, architecture, z.narrow(0, 0, 1), NormStatistics::Stored);
  EXPECT_LT((four[0] - one[0]).abs().max().item<double>(), 1e-5);
  const auto batch_four = generate(g, architecture, z, NormStatistics::Batch);
  const auto batch_two = generate(g, architecture, z.narrow(0, 0, 2), NormStatistics::Batch);
  EXPECT_GT((batch_four[0] - batch_two[0]).abs().max().item<double>(), 1e-3);  // the check can fail
}

TEST(Latents, SameSeedSameLatentWhateverTheCount) {
  EXPECT_TRUE(torch::equal(latents_for(7, 0, 8, 32).narrow(0, 0, 3), latents_for(7, 0, 3, 32)));
  EXPECT_FALSE(torch::equal(latents_for(7, 0, 1, 32), latents_for(8, 0, 1, 32)));
  const auto many = latents_for(1, 0, 400, 64);
  EXPECT_NEAR(many.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(many.std().item<double>(), 1.0, 0.02);
  EXPECT_LE(latents_for(1, 0, 100, 64, 0.7).abs().max().item<double>(), 0.7);
}

TEST(Latents, SlerpFollowsTheArc) {
  const auto a = latent_for(1, 0, 64), b = latent_for(2, 0, 64);
  EXPECT_TRUE(torch::allclose(slerp(a, b, 0), a, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(slerp(a, b, 1), b, 1e-5, 1e-5));
  const auto c = b / b.norm() * a.norm();  // equal norms: the arc keeps the norm
  EXPECT_NEAR(slerp(a, c, 0.5).norm().item<double>(), a.norm().item<double>(), 1e-4);
}

// Two marked pixels move together by the same whole-pixel offset, within
// an eighth of the side; most images move, along both axes.
TEST(DiffAugment, TranslationMovesByWholePixelsWithinAnEighth) {
  auto image = torch::zeros({32, 1, 32, 32});
  image.select(2, 16).select(2, 16).fill_(1);
  image.select(2, 12).select(2, 20).fill_(0.5);
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < 32; ++i) seeds.push_back(100 + i);
  const auto moved = diff_augment(image, parse_augment_policy("translation"), seeds);
  int moved_rows = 0, moved_columns = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const int64_t at = moved[i].flatten().argmax().item<int64_t>();
    const int64_t dy = at / 32 - 16, dx = at % 32 - 16;
    EXPECT_LE(std::abs(dy), 4);
    EXPECT_LE(std::abs(dx), 4);
    EXPECT_EQ(moved[i][0][12 + dy][20 + dx].item<float>(), 0.5f);
    EXPECT_EQ(moved[i].sum().item<double>(), 1.5);
    moved_rows += dy != 0;
    moved_columns += dx != 0;
  }
  EXPECT_GT(moved_rows, 16);
  EXPECT_GT(moved_columns, 16);
  EXPECT_TRUE(torch::equal(moved, diff_augment(image, parse_augment_policy("translation"), seeds)));
}

TEST(DiffAugment, CutoutZeroesASquareAndPassesGradients) {
  auto image = torch::ones({8, 3, 32, 32}).requires_grad_(true);
  std::vector<uint64_t> seeds = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto cut = diff_augment(image, parse_augment_policy("cutout"), seeds);
  for (int64_t i = 0; i < 8; ++i) {
    const double zeroed = (cut[i][0] == 0).sum().item<double>();
    EXPECT_GE(zeroed, 8 * 8);    // at least a quarter of the square at a corner
    EXPECT_LE(zeroed, 16 * 16);  // at most the whole square
  }
  cut.sum().backward();
  EXPECT_TRUE(torch::equal(image.grad(), (cut != 0).to(torch::kFloat32)));  // d out / d in = the mask
}

TEST(DiffAugment, ColourChangesEachImageAlikeAcrossPixels) {
  const auto image = torch::rand({4, 3, 8, 8}) * 2 - 1;
  const auto changed = diff_augment(image, parse_augment_policy("color"), {1, 2, 3, 4});
  EXPECT_FALSE(torch::allclose(changed, image));
  EXPECT_TRUE(torch::equal(diff_augment(image, parse_augment_policy("none"), {1, 2, 3, 4}), image));
  EXPECT_THROW(parse_augment_policy("colour,zoom"), Error);
}

// Rank r of 2 gets rows r*B..r*B+B-1 of the batch one process would load.
TEST(GanDataTest, RanksShareTheGlobalBatch) {
  testing::ScratchDir scratch;
  for (int i = 0; i < 5; ++i) {
    cv::Mat rgb(40 + 3 * i, 50, CV_32FC3, cv::Scalar(i / 5.0, 0.3, 0.9));
    cv::circle(rgb, {10 + i, 20}, 6, cv::Scalar(1, 1, 1), -1);
    save_image(Image{rgb, {}}, scratch.file("p" + std::to_string(i) + ".png"));
  }
  GanDataOptions options;
  options.image_size = 32;
  options.batch_size = 6;
  options.flip = true;
  options.seed = 3;
  const auto whole = GanData(scratch.path(), options).batch(4);
  options.batch_size = 3;
  options.world_size = 2;
  for (int64_t rank = 0; rank < 2; ++rank) {
    options.rank = rank;
    EXPECT_TRUE(torch::equal(GanData(scratch.path(), options).batch(4), whole.narrow(0, 3 * rank, 3))) << rank;
  }
  EXPECT_EQ(whole.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
  EXPECT_LE(whole.abs().max().item<double>(), 1.0);
}

GanTrainingOptions quick_options() {
  GanTrainingOptions options;
  options.augment = parse_augment_policy("color,translation,cutout");
  options.r1_gamma = 0.1;
  options.seed = 4;
  return options;
}

TEST(GanTrainerTest, StateRoundTripContinuesExactly) {
  configure_runtime(1);
  ProcessGroup single(DistributedOptions{});
  const auto architecture = small(32, 1);
  const auto reals = torch::rand({4, 1, 32, 32}) * 2 - 1;
  GanTrainer straight(architecture, quick_options(), single);
  for (int i = 0; i < 3; ++i) straight.step(reals);
  const NamedTensors saved = straight.state();
  NamedTensors copy;
  for (const auto& [name, tensor] : saved) copy[name] = tensor.detach().clone();
  for (int i = 0; i < 2; ++i) straight.step(reals);

  GanTrainer resumed(architecture, quick_options(), single);
  resumed.load(copy);
  EXPECT_EQ(resumed.steps(), 3);
  for (int i = 0; i < 2; ++i) resumed.step(reals);
  const NamedTensors a = straight.state(), b = resumed.state();
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
}

// Real images are a constant light grey; the discriminator soon scores them
// above the generator's, and R1 is reported.
TEST(GanTrainerTest, DiscriminatorLearnsToTellRealFromFake) {
  configure_runtime(1);
  ProcessGroup single(DistributedOptions{});
  GanTrainingOptions options = quick_options();
  options.augment = AugmentPolicy{};
  GanTrainer trainer(small(32, 1), options, single);
  const auto reals = torch::full({8, 1, 32, 32}, 0.6);
  GanLosses losses;
  for (int i = 0; i < 20; ++i) losses = trainer.step(reals);
  EXPECT_GT(losses.d_real, losses.d_fake);
  EXPECT_GT(losses.r1, 0.0);
  EXPECT_TRUE(losses.finite());
  EXPECT_TRUE(trainer.weights_finite());
}

TEST(GanMetrics, IdenticalSetsGiveZero) {
  const auto features = torch::randn({200, 32});
  const KidEstimate kid = kernel_inception_distance(features, features);
  EXPECT_NEAR(kid.kid, 0.0, 1e-12);
  EXPECT_NEAR(frechet_distance(features, features), 0.0, 1e-6);
}

TEST(GanMetrics, KidSeparatesDistributionsWithinItsStandardError) {
  torch::manual_seed(11);
  const auto a = torch::randn({2000, 16}), b = torch::randn({2000, 16}), shifted = torch::randn({2000, 16}) + 0.3;
  const KidEstimate same = kernel_inception_distance(a, b), different = kernel_inception_distance(a, shifted);
  EXPECT_EQ(same.blocks, 10);
  EXPECT_EQ(same.block_size, 200);
  EXPECT_LT(std::abs(same.kid), 3 * same.standard_error) << same.kid << " +- " << same.standard_error;
  EXPECT_GT(different.kid, 10 * different.standard_error) << different.kid << " +- " << different.standard_error;
}

// For Gaussians with diagonal covariances the Frechet distance is
// |mu1 - mu2|^2 + sum (s1 - s2)^2.
TEST(GanMetrics, FidMatchesTheClosedFormForGaussians) {
  torch::manual_seed(12);
  const auto s1 = torch::tensor({1.0, 2.0, 0.5, 1.5}), s2 = torch::tensor({1.5, 1.0, 0.5, 3.0});
  const auto m1 = torch::tensor({0.0, 1.0, -1.0, 2.0}), m2 = torch::tensor({1.0, 1.0, 0.0, 0.0});
  const auto a = torch::randn({50000, 4}, torch::kFloat64) * s1 + m1;
  const auto b = torch::randn({50000, 4}, torch::kFloat64) * s2 + m2;
  const double expected = (m1 - m2).square().sum().item<double>() + (s1 - s2).square().sum().item<double>();
  EXPECT_NEAR(frechet_distance(a, b), expected, 0.03 * expected);
}

// Acceptance 3 on real features: two halves of one Fashion-MNIST class are
// close; two classes are far apart.
TEST(GanMetricsShared, FashionMnistClassesAreFartherThanHalvesOfOne) {
  ATELIER_REQUIRE_SHARED(weights, "models/resnet50-caffe.safetensors");
  const std::string images_path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  const std::string labels_path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(images_path)) GTEST_SKIP() << "SKIPPED: " << images_path << " absent (apt install dataset-fashion-mnist)";
  configure_runtime(0);
  const auto images = read_idx(images_path).to(torch::kFloat32).div(255).unsqueeze(1);
  const auto labels = read_idx(labels_path).to(torch::kLong);
  auto of_class = [&](int64_t label) { return images.index({labels == label}).narrow(0, 0, 400); };
  const auto trousers = of_class(1), bags = of_class(8);
  const ResNet50 network = ResNet50::load(weights);
  const auto trouser_features = pooled_features(network, trousers, 64);
  const auto bag_features = pooled_features(network, bags, 64);
  const KidEstimate halves = kernel_inception_distance(trouser_features.narrow(0, 0, 200),
                                                       trouser_features.narrow(0, 200, 200), 5);
  const KidEstimate classes = kernel_inception_distance(trouser_features.narrow(0, 0, 200),
                                                        bag_features.narrow(0, 0, 200), 5);
  std::printf("[ measure  ] KID halves of trousers %.5f +- %.5f; trousers vs bags %.5f +- %.5f\n", halves.kid,
              halves.standard_error, classes.kid, classes.standard_error);
  EXPECT_LT(std::abs(halves.kid), 3 * halves.standard_error + 1e-4);
  EXPECT_GT(classes.kid, 10 * std::max(halves.kid, halves.standard_error));
  EXPECT_GT(frechet_distance(trouser_features.narrow(0, 0, 200), bag_features.narrow(0, 0, 200)),
            3 * frechet_distance(trouser_features.narrow(0, 0, 200), trouser_features.narrow(0, 200, 200)));
}

}  // namespace
}  // namespace atelier
