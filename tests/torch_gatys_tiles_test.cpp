// Gatys in tiles (print sizes in bounded memory) on a tiny random VGG: the
// style targets are the whole picture's, the tiles take the style, and
// their boundaries leave no seam.
#include <gtest/gtest.h>

#include <set>

#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "atelier/painters.hpp"
#include "test_support.hpp"
#include "losses/losses.hpp"
#include "stylize/gatys.hpp"
#include "stylize/gatys_tiles.hpp"
#include "torch/tensor_image.hpp"
#include "tiny_vgg.hpp"

namespace atelier {
namespace {

cv::Mat noise(cv::Size size, cv::Vec3f tint, int seed) {
  cv::Mat picture(size, CV_32FC3);
  cv::RNG rng(seed);
  rng.fill(picture, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::multiply(picture, cv::Scalar(tint[0], tint[1], tint[2]), picture);
  return picture;
}

// A smooth photo-like content: gradients and a soft disc.
cv::Mat smooth_content(cv::Size size) {
  cv::Mat rgb(size, CV_32FC3);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const float dx = x - size.width * 0.6f, dy = y - size.height * 0.4f;
      const float disc = std::exp(-(dx * dx + dy * dy) / (0.05f * size.area()));
      rgb.at<cv::Vec3f>(y, x) = {float(x) / size.width, float(y) / size.height, 0.3f + 0.6f * disc};
    }
  return rgb;
}

// Energy of the step into each column x >= 1 (from x - 1), or into each row:
// the mean squared difference of neighbouring pixels across that line.
std::vector<double> step_energy(const cv::Mat& rgb, bool columns) {
  std::vector<double> energy(columns ? rgb.cols : rgb.rows, 0.0);
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      if ((columns ? x : y) == 0) continue;
      const cv::Vec3f d = rgb.at<cv::Vec3f>(y, x) - (columns ? rgb.at<cv::Vec3f>(y, x - 1) : rgb.at<cv::Vec3f>(y - 1, x));
      energy[columns ? x : y] += d.dot(d) / (columns ? rgb.rows : rgb.cols);
    }
  return energy;
}

// The step energy across the given lines over that across the lines near
// them (2, 4, 6 and 8 pixels away: the same parity, as VGG's pooling leaves
// a 2 px period in the strokes): a seam is a line unlike its neighbourhood,
// whatever the texture does across the picture.
double boundary_gradient_ratio(const cv::Mat& rgb, const std::vector<int>& columns, const std::vector<int>& rows) {
  double on = 0, near = 0;
  for (bool vertical : {true, false}) {
    const std::vector<double> energy = step_energy(rgb, vertical);
    for (int at : vertical ? columns : rows) {
      double sum = 0;
      int count = 0;
      for (int d = 2; d <= 8; d += 2)
        for (int i : {at - d, at + d})
          if (i >= 1 && i < static_cast<int>(energy.size())) sum += energy[i], ++count;
      on += energy[at];
      near += sum / count;
    }
  }
  return on / near;
}

class GatysTiles : public ::testing::Test {
 protected:
  GatysTiles() : network_("vgg19", testing::tiny_vgg_weights("vgg19", 5), Preprocess::Caffe, Pooling::Max) {}

  GatysOptions options() const {
    GatysOptions options;
    options.content_layers = {"relu2_2"};
    options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
    options.style_weight = 100;
    options.tv_weight = 0;
    options.iterations = 15;
    return options;
  }

  double gram_distance(const cv::Mat& a, const cv::Mat& b) const {
    const auto layers = options().style_layers;
    const auto ga = gram_matrices_in_tiles(network_, a, layers, 0), gb = gram_matrices_in_tiles(network_, b, layers, 0);
    double distance = 0;
    for (const auto& layer : layers) distance += style_loss(ga.at(layer), gb.at(layer)).item<double>();
    return distance;
  }

  VggFeatures network_;
};

TEST_F(GatysTiles, GramMatricesGatheredInTilesAreTheWholePictures) {
  const cv::Mat picture = noise({300, 200}, {1, 0.8f, 0.6f}, 4);
  const auto layers = options().style_layers;
  const auto whole = gram_matrices_in_tiles(network_, picture, layers, 0);
  const auto tiled = gram_matrices_in_tiles(network_, picture, layers, 40);  // 48 px tiles: 7 x 5 of them
  for (const auto& layer : layers) {
    const double error = (tiled.at(layer) - whole.at(layer)).abs().max().item<double>();
    EXPECT_LT(error, 1e-5 * whole.at(layer).abs().max().item<double>()) << layer;
  }
}

TEST_F(GatysTiles, TilesPartitionThePictureAndTheirHalosStayInside) {
  const auto tiles = gatys_tiles({100, 70}, 32);
  ASSERT_EQ(tiles.size(), 12u);  // 4 columns x 3 rows
  cv::Mat covered(70, 100, CV_8U, cv::Scalar(0));
  for (const auto& tile : tiles) {
    covered(tile.inner) += 1;
    EXPECT_EQ(tile.outer & cv::Rect(0, 0, 100, 70), tile.outer);
    EXPECT_EQ(tile.outer & tile.inner, tile.inner);
  }
  EXPECT_EQ(cv::countNonZero(covered != 1), 0) << "every pixel belongs to exactly one tile";
}

// The acceptance's seam measure, on a small picture with small tiles: the
// picture takes the style, and the gradient energy across tile boundaries
// is within 10% of elsewhere.
TEST_F(GatysTiles, ATiledScaleTakesTheStyleWithoutSeams) {
  const cv::Mat content = smooth_content({192, 128});
  const cv::Mat style = noise({96, 96}, {1.0f, 0.3f, 0.2f}, 1);
  GatysOptions tiled = options();
  tiled.tile = 48;
  std::vector<GatysProgress> steps;
  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) { steps.push_back(step); };
  const GatysResult result = stylize_gatys(network_, content, {style}, tiled, callbacks);
  ASSERT_TRUE(result.finite);
  ASSERT_EQ(result.rgb.size(), content.size());
  ASSERT_EQ(steps.size(), 12u * 15u);  // 4 x 3 tiles of 15 iterations
  EXPECT_EQ(steps.back().tiles, 12);
  EXPECT_EQ(steps.back().iteration, 180);
  EXPECT_EQ(steps.back().iterations, 180);
  EXPECT_LT(gram_distance(result.rgb, style), gram_distance(content, style) / 4) << "the tiles take the style";
  // The tiles' own boundaries and their halos' far edges (blended from 0).
  std::set<int> columns, rows;
  for (const auto& tile : gatys_tiles(content.size(), 48)) {
    for (int edge : {tile.inner.x, tile.outer.x, tile.outer.br().x})
      if (edge > 0 && edge < content.cols) columns.insert(edge);
    for (int edge : {tile.inner.y, tile.outer.y, tile.outer.br().y})
      if (edge > 0 && edge < content.rows) rows.insert(edge);
  }
  EXPECT_EQ(columns, (std::set<int>{16, 48, 64, 80, 96, 112, 128, 144, 176}));
  EXPECT_EQ(rows, (std::set<int>{32, 48, 64, 80, 112}));  // on multiples of 16: 0-32, 32-80, 80-128
  const double ratio = boundary_gradient_ratio(result.rgb, {columns.begin(), columns.end()}, {rows.begin(), rows.end()});
  EXPECT_GT(ratio, 0.9);
  EXPECT_LT(ratio, 1.1) << "tile boundaries show";
}

TEST_F(GatysTiles, AStopBetweenTilesResumesWithTheSameSteps) {
  const cv::Mat content = smooth_content({96, 64});
  const cv::Mat style = noise({64, 64}, {0.2f, 0.3f, 1.0f}, 2);
  GatysOptions tiled = options();
  tiled.tile = 48;
  tiled.iterations = 5;
  const GatysResult whole_run = stylize_gatys(network_, content, {style}, tiled);

  std::optional<GatysCheckpoint> saved;
  int seen = 0;
  GatysCallbacks stopping;
  stopping.on_progress = [&](const GatysProgress&) { ++seen; };
  stopping.stop_requested = [&] { return seen == 7; };  // inside the second tile
  stopping.on_checkpoint = [&](const GatysCheckpoint& checkpoint) { saved = checkpoint; };
  const GatysResult stopped = stylize_gatys(network_, content, {style}, tiled, stopping);
  ASSERT_TRUE(stopped.stopped);
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->iteration, 5) << "the checkpoint is at the start of the unfinished tile";

  tiled.resume_from = saved;
  const GatysResult resumed = stylize_gatys(network_, content, {style}, tiled);
  EXPECT_LT(cv::norm(resumed.rgb, whole_run.rgb, cv::NORM_INF), 1e-5);
}

TEST_F(GatysTiles, MemoryBudgetChoosesTilesOnlyWhenOnePassDoesNotFit) {
  GatysOptions budget = options();
  EXPECT_EQ(gatys_tile_side({512, 384}, budget), 0) << "no budget: one pass";
  budget.max_memory = std::int64_t{8} << 30;
  EXPECT_EQ(gatys_tile_side({512, 384}, budget), 0);
  const std::int64_t tile = gatys_tile_side({8000, 6000}, budget);
  EXPECT_GT(tile, 255);
  EXPECT_LT(tile, 2000);
  budget.max_memory = std::int64_t{64} << 20;
  EXPECT_THROW(gatys_tile_side({8000, 6000}, budget), Error) << "not even small tiles fit 64 MB";
}

// The style measure video-metrics reports: the Gram loss Gatys minimises,
// zero for the painting itself, larger the further a picture is from it.
TEST(StyleDistance, IsZeroForThePaintingAndGrowsAwayFromIt) {
  testing::ScratchDir scratch;
  const std::string weights = scratch.file("tiny_vgg.safetensors");
  testing::write_tiny_vgg_file(weights, "vgg19", 5, {});
  const GatysPainter network({weights});
  const cv::Mat painting = noise({96, 64}, {1.0f, 0.4f, 0.2f}, 3);
  cv::Mat half_way;
  cv::addWeighted(painting, 0.5, smooth_content({96, 64}), 0.5, 0, half_way);
  const double itself = network.style_distance(painting, painting, 64);
  const double near = network.style_distance(half_way, painting, 64);
  const double far = network.style_distance(smooth_content({96, 64}), painting, 64);
  EXPECT_LT(itself, 1e-10);
  EXPECT_GT(near, 0.0);
  EXPECT_GT(far, near);
}

}  // namespace
}  // namespace atelier
