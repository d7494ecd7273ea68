// The training machinery (src/train, src/data): Adam against libtorch's,
// exact state round trips, the perceptual loss against its definition, the
// batch loader's determinism and sharding, IDX files and loss logs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>

#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "losses/losses.hpp"
#include "train/style_training.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

bool same_values(const torch::Tensor& a, const torch::Tensor& b) { return torch::equal(a.contiguous(), b.contiguous()); }

// Our Adam computes what torch::optim::Adam computes, step for step.
TEST(Adam, MatchesLibtorchAdam) {
  torch::manual_seed(1);
  auto ours = torch::randn({5, 4}).requires_grad_(true);
  auto theirs = ours.detach().clone().requires_grad_(true);
  Adam adam({{"w", ours}}, 0.01);
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(0.01));
  for (int step = 0; step < 10; ++step) {
    const auto target = torch::randn({5, 4});
    (ours - target).pow(3).abs().sum().backward();
    (theirs - target).pow(3).abs().sum().backward();
    adam.step();
    reference.step();
    reference.zero_grad();
  }
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-6, 1e-7)) << (ours - theirs).abs().max().item<float>();
}

// Saving the state after k steps and loading it into a fresh optimizer
// continues exactly as an uninterrupted run.
TEST(Adam, StateRoundTripContinuesExactly) {
  auto run = [](int steps, const NamedTensors* resume_from, NamedTensors* state_out, torch::Tensor* weights) {
    torch::manual_seed(2);
    auto w = torch::randn({3, 3}).requires_grad_(true);
    Adam adam({{"w", w}}, 0.05);
    int first = 0;
    if (resume_from) {
      torch::NoGradGuard no_grad;
      w.copy_(resume_from->at("model.w"));
      adam.load_state(*resume_from);
      first = static_cast<int>(adam.steps());
    }
    for (int step = first; step < steps; ++step) {
      torch::manual_seed(100 + step);
      (w * torch::randn({3, 3})).sum().pow(2).backward();
      adam.step();
    }
    if (state_out) {
      *state_out = adam.state();
      (*state_out)["model.w"] = w.detach().clone();
    }
    *weights = w.detach().clone();
  };
  torch::Tensor straight, half, resumed;
  NamedTensors state;
  run(8, nullptr, nullptr, &straight);
  run(4, nullptr, &state, &half);
  testing::ScratchDir scratch;
  save_tensors(scratch.file("state.safetensors"), state);
  const NamedTensors loaded = load_tensors(scratch.file("state.safetensors"));
  run(8, &loaded, nullptr, &resumed);
  EXPECT_TRUE(same_values(straight, resumed));
  EXPECT_FALSE(same_values(straight, half));
}

class PerceptualLossTest : public ::testing::Test {
 protected:
  PerceptualLossTest()
      : features_("vgg19", testing::tiny_vgg_weights("vgg19", 4), Preprocess::Torchvision, Pooling::Max) {
    cv::Mat style(40, 48, CV_32FC3);
    cv::randu(style, 0.0, 1.0);
    style_ = style;
    options_.content_layer = "relu2_1";
    options_.style_layers = {"relu1_1", "relu2_2"};
    options_.content_weight = 2.0, options_.style_weight = 30.0, options_.tv_weight = 5.0;
  }
  VggFeatures features_;
  cv::Mat style_;
  StyleTrainingOptions options_;
};

// The loss is the documented formula, computed here independently.
TEST_F(PerceptualLossTest, MatchesTheDefinition) {
  const PerceptualLoss loss(features_, style_, options_);
  torch::manual_seed(3);
  const auto photos = torch::rand({2, 3, 32, 32}), stylised = torch::rand({2, 3, 32, 32});
  StyleLosses parts;
  const double total = loss(stylised, photos, &parts).item<double>();

  const auto y = features_.extract(stylised, {"relu1_1", "relu2_1", "relu2_2"});
  const auto x = features_.extract(photos, {"relu2_1"});
  const auto s = features_.extract(image_to_tensor(style_), {"relu1_1", "relu2_2"});
  double content = 0;
  for (int i = 0; i < 2; ++i) {
    const auto fy = y.at("relu2_1")[i], fx = x.at("relu2_1")[i];
    content += ((fy - fx).pow(2).mean() / fx.pow(2).mean()).item<double>() / 2;
  }
  double style = 0;
  for (const char* layer : {"relu1_1", "relu2_2"}) {
    const auto g_s = gram_matrix(s.at(layer))[0];
    for (int i = 0; i < 2; ++i) {
      const auto f = y.at(layer)[i];  // [C,H,W]
      const auto flat = f.reshape({f.size(0), -1});
      const auto g = flat.mm(flat.t()) / static_cast<double>(f.numel());
      style += ((g - g_s).pow(2).mean() / g_s.pow(2).mean()).item<double>() / 4;  // 2 layers x 2 photos
    }
  }
  const double tv = total_variation_loss(stylised).item<double>();
  EXPECT_NEAR(parts.content, content, 1e-5 * content);
  EXPECT_NEAR(parts.style, style, 1e-5 * style);
  EXPECT_NEAR(total, 2.0 * content + 30.0 * style + 5.0 * tv, 1e-5 * total);
}

// Per-photo losses: a batch's loss is the mean of its photos' losses, so
// processes that each take part of a batch average to the whole batch.
TEST_F(PerceptualLossTest, BatchLossIsTheMeanOfPhotoLosses) {
  const PerceptualLoss loss(features_, style_, options_);
  torch::manual_seed(4);
  const auto photos = torch::rand({2, 3, 32, 32}), stylised = torch::rand({2, 3, 32, 32});
  const double both = loss(stylised, photos, nullptr).item<double>();
  const double first = loss(stylised.narrow(0, 0, 1), photos.narrow(0, 0, 1), nullptr).item<double>();
  const double second = loss(stylised.narrow(0, 1, 1), photos.narrow(0, 1, 1), nullptr).item<double>();
  // Total variation is a mean over the batch's pixels: the same for equal sizes.
  EXPECT_NEAR(both, (first + second) / 2, 1e-5 * both);
}

// The same for the gradients through a style network: what data-parallel
// training relies on (each process's mean gradient, averaged).
TEST_F(PerceptualLossTest, BatchGradientIsTheMeanOfPhotoGradients) {
  const PerceptualLoss loss(features_, style_, options_);
  FastStyleNetwork network(FastStyleArchitecture::PytorchExamples, initial_style_network_weights(3));
  for (auto& [key, weight] : network.weights()) weight.requires_grad_(true);
  torch::manual_seed(6);
  const auto photos = torch::rand({2, 3, 32, 32});
  auto gradients = [&](const torch::Tensor& x) {
    for (auto& [key, weight] : network.weights()) weight.mutable_grad() = torch::Tensor();
    loss(network.forward(x * 255.0, false) / 255.0, x, nullptr).backward();
    NamedTensors out;
    for (auto& [key, weight] : network.weights()) out[key] = weight.grad().clone();
    return out;
  };
  const NamedTensors both = gradients(photos), first = gradients(photos.narrow(0, 0, 1)),
                     second = gradients(photos.narrow(0, 1, 1));
  // Relative to the largest gradient: some biases' gradients are rounding
  // noise (a conv bias before an instance norm has none in exact arithmetic).
  double scale = 0;
  for (const auto& [key, gradient] : both) scale = std::max(scale, gradient.abs().max().item<double>());
  for (const auto& [key, gradient] : both) {
    const auto mean = (first.at(key) + second.at(key)) / 2;
    EXPECT_LT((gradient - mean).abs().max().item<double>(), 1e-5 * scale) << key;
  }
}

TEST_F(PerceptualLossTest, MissingLayerIsAnError) {
  options_.style_layers = {"relu5_1"};
  EXPECT_THROW(PerceptualLoss(features_, style_, options_), Error);
}

// Steps on one batch lower the loss: gradients flow through the whole
// network (reflection padding by copies included). 30 steps halved it on
// some CPUs and not on others (31.6 -> 16.7 without AMX): rounding differs
// between oneDNN's kernels, so the run is long enough that every CPU ends
// well past the same bar.
TEST_F(PerceptualLossTest, TrainingLowersTheLoss) {
  configure_runtime(0);
  ProcessGroup single(DistributedOptions{});
  options_.learning_rate = 1e-2;
  StyleTrainer trainer(features_, style_, options_, single);
  torch::manual_seed(5);
  const auto photos = torch::rand({2, 3, 32, 32});
  const double before = trainer.evaluate(photos).total;
  for (int i = 0; i < 80; ++i) trainer.step(photos);
  const double after = trainer.evaluate(photos).total;
  EXPECT_LT(after, before / 2) << before << " -> " << after;
  EXPECT_EQ(trainer.steps(), 80);
}

class BatchLoaderTest : public ::testing::Test {
 protected:
  BatchLoaderTest() {
    for (int i = 0; i < 10; ++i) {
      cv::Mat rgb(30 + i, 40, CV_32FC3, cv::Scalar(i / 10.0, 0.5, 1.0 - i / 10.0));
      cv::rectangle(rgb, {i, i}, {i + 10, i + 5}, cv::Scalar(1, 1, 1), -1);
      files_.push_back(scratch_.file("photo" + std::to_string(i) + ".png"));
      save_image(Image{rgb, {}}, files_.back());
    }
    options_.batch_size = 4;
    options_.image_size = 16;
    options_.crop = CropMode::Random;
    options_.flip = true;
    options_.color_jitter = 0.2;
    options_.seed = 9;
  }
  testing::ScratchDir scratch_;
  std::vector<std::string> files_;
  LoaderOptions options_;
};

TEST_F(BatchLoaderTest, SameSeedSameBatchesWhateverTheThreadsOrOrder) {
  BatchLoader one(files_, options_);
  options_.threads = 3;
  BatchLoader three(files_, options_);
  const auto batch5 = one.batch(5);
  EXPECT_EQ(batch5.sizes(), (std::vector<int64_t>{4, 3, 16, 16}));
  EXPECT_TRUE(same_values(three.batch(5), batch5));  // straight to step 5, as a resumed run does
  EXPECT_TRUE(same_values(one.batch(6), three.batch(6)));
  EXPECT_FALSE(same_values(one.batch(7), batch5));
  options_.seed = 10;
  BatchLoader other(files_, options_);
  EXPECT_FALSE(same_values(other.batch(5), batch5));
}

// Rank r of W gets rows [r*B, (r+1)*B) of the single-process batch of W*B.
TEST_F(BatchLoaderTest, RanksShareTheGlobalBatch) {
  options_.batch_size = 2;
  options_.world_size = 2;
  BatchLoader rank0(files_, options_);
  options_.rank = 1;
  BatchLoader rank1(files_, options_);
  options_.rank = 0, options_.world_size = 1, options_.batch_size = 4;
  BatchLoader single(files_, options_);
  for (int64_t step : {0, 1, 2, 3}) {
    const auto whole = single.batch(step);
    EXPECT_TRUE(same_values(rank0.batch(step), whole.narrow(0, 0, 2))) << step;
    EXPECT_TRUE(same_values(rank1.batch(step), whole.narrow(0, 2, 2))) << step;
  }
}

// Each epoch visits every file once (10 files, batch 4: 2 batches, 8 files).
TEST_F(BatchLoaderTest, EpochsAreShuffledPermutations) {
  options_.crop = CropMode::None, options_.flip = false, options_.color_jitter = 0;
  options_.batch_size = 5;
  BatchLoader loader(files_, options_);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  auto colours = [&](int64_t first_step) {
    std::vector<int> seen;
    for (int64_t step = first_step; step < first_step + 2; ++step) {
      const auto batch = loader.batch(step);
      for (int64_t i = 0; i < batch.size(0); ++i)  // red channel encodes the file
        seen.push_back(static_cast<int>(std::lround(batch[i][0][15][15].item<float>() * 10)));
    }
    return seen;
  };
  auto epoch0 = colours(0), epoch1 = colours(2);
  EXPECT_NE(epoch0, epoch1);
  std::sort(epoch0.begin(), epoch0.end());
  std::sort(epoch1.begin(), epoch1.end());
  EXPECT_EQ(epoch0, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(epoch1, epoch0);
}

TEST_F(BatchLoaderTest, BadInputIsAClearError) {
  options_.batch_size = 11;
  EXPECT_THROW(BatchLoader(files_, options_), Error);
  options_.batch_size = 2;
  std::vector<std::string> with_bad = files_;
  testing::write_all(scratch_.file("bad.png"), "not an image");
  with_bad.assign(4, scratch_.file("bad.png"));
  BatchLoader loader(with_bad, options_);
  try {
    loader.batch(0);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("bad.png"), std::string::npos) << error.what();
  }
  EXPECT_THROW(list_training_images(scratch_.file("nothing-here")), Error);
  fs::create_directories(scratch_.file("empty"));
  EXPECT_THROW(list_training_images(scratch_.file("empty")), Error);
}

TEST_F(BatchLoaderTest, CentreCropKeepsTheMiddle) {
  cv::Mat wide(20, 60, CV_32FC3, cv::Scalar(0, 0, 0));
  wide(cv::Rect(20, 0, 20, 20)).setTo(cv::Scalar(1, 1, 1));  // white middle third
  options_.crop = CropMode::Center, options_.flip = false, options_.color_jitter = 0;
  const cv::Mat out = augment_image(wide, options_, 1);
  EXPECT_EQ(out.size(), cv::Size(16, 16));
  EXPECT_GT(cv::mean(out)[0], 0.95);
}

std::string write_idx(const std::string& path, const std::vector<unsigned char>& bytes, bool gzip) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(file);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return path;
}

TEST(Idx, ReadsPlainAndGzippedFiles) {
  testing::ScratchDir scratch;
  std::vector<unsigned char> bytes = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2};
  for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<unsigned char>(i * 20));
  for (bool gzip : {false, true}) {
    const auto data = read_idx(write_idx(scratch.file(gzip ? "a.gz" : "a.idx"), bytes, gzip));
    EXPECT_EQ(data.sizes(), (std::vector<int64_t>{2, 3, 2}));
    EXPECT_EQ(data[1][2][1].item<int>(), 220);
  }
  bytes.pop_back();
  EXPECT_THROW(read_idx(write_idx(scratch.file("short.idx"), bytes, false)), Error);
  EXPECT_THROW(read_idx(write_idx(scratch.file("text.idx"), {'h', 'e', 'l', 'l', 'o'}, false)), Error);
  EXPECT_THROW(read_idx(scratch.file("missing.idx")), Error);
}

TEST(Idx, FashionMnistFromDebian) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << "SKIPPED: " << path << " absent (apt install dataset-fashion-mnist)";
  const auto images = read_idx(path);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  const auto labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_EQ(labels.max().item<int>(), 9);
}

TEST(LossLogTest, WritesCsvAndPlotAndResumesUpToAStep) {
  testing::ScratchDir scratch;
  LossLog log(scratch.file("losses.csv"), {"a", "b"});
  for (int step = 1; step <= 5; ++step) log.add(step, {1.0 / step, 2.0});
  log.write(scratch.file("losses.png"));
  EXPECT_EQ(load_image(scratch.file("losses.png")).width(), 800);
  LossLog resumed(scratch.file("losses.csv"), {"a", "b"});
  resumed.resume(3);
  ASSERT_EQ(resumed.rows().size(), 3u);
  EXPECT_NEAR(resumed.rows()[2].second[0], 1.0 / 3, 1e-8);  // written with 9 digits
}

}  // namespace
}  // namespace atelier
