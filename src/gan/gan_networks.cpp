#include <algorithm>
#include <cmath>

#include "atelier/error.hpp"
#include "gan/gan.hpp"
#include "train/training.hpp"
#include "util/text.hpp"

namespace atelier {
namespace {

// Blocks between 4x4 and the image size: 3, 4 or 5.
int64_t block_count(const GanArchitecture& architecture) {
  int64_t blocks = 0;
  for (int64_t side = 4; side < architecture.image_size; side *= 2) ++blocks;
  return blocks;
}

// Generator block k (0 = the 4x4 map) has width * 2^(blocks - k), at most 8x.
int64_t generator_channels(const GanArchitecture& architecture, int64_t k) {
  const int64_t blocks = block_count(architecture);
  return architecture.g_width * std::min<int64_t>(8, int64_t{1} << (blocks - k));
}

// Discriminator block k (0 = full size) has width * 2^k, at most 8x.
int64_t discriminator_channels(const GanArchitecture& architecture, int64_t k) {
  return architecture.d_width * std::min<int64_t>(8, int64_t{1} << k);
}

// Random (PyTorch's default) or, with random false, uninitialised: only
// the shapes matter then, and the global generator is left alone.
void add_layer(NamedTensors& weights, const std::string& name, std::vector<int64_t> shape, bool random) {
  if (!random) {
    weights[name + ".weight"] = torch::empty(shape);
    weights[name + ".bias"] = torch::empty({shape[0]});
    return;
  }
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weights[name + ".weight"] = torch::rand(shape) * (2 * bound) - bound;
  weights[name + ".bias"] = torch::rand({shape[0]}) * (2 * bound) - bound;
}

void add_batch_norm(NamedTensors& weights, const std::string& name, int64_t channels) {
  weights[name + ".weight"] = torch::ones({channels});
  weights[name + ".bias"] = torch::zeros({channels});
}

// Normalises with batch statistics (recording them when asked) or stored ones.
torch::Tensor generator_norm(const NamedTensors& g, const std::string& name, torch::Tensor x, NormStatistics statistics,
                             NamedTensors* record) {
  x = x.to(torch::kFloat32);  // batch norm in fp32, also under bf16 autocast
  if (statistics == NormStatistics::Stored)
    return torch::batch_norm(x, g.at(name + ".weight"), g.at(name + ".bias"), g.at(name + ".running_mean"),
                             g.at(name + ".running_var"), false, 0.0, 1e-5, false);
  if (record) {
    const auto detached = x.detach();
    (*record)[name + ".running_mean"] = detached.mean({0, 2, 3});
    (*record)[name + ".running_var"] = detached.var({0, 2, 3}, /*unbiased=*/false);
  }
  return torch::batch_norm(x, g.at(name + ".weight"), g.at(name + ".bias"), {}, {}, true, 0.0, 1e-5, false);
}

torch::Tensor run_generator(const NamedTensors& g, const GanArchitecture& architecture, const torch::Tensor& latents,
                            NormStatistics statistics, NamedTensors* record) {
  const int64_t blocks = block_count(architecture);
  auto x = torch::linear(latents, g.at("fc.weight"), g.at("fc.bias"))
               .view({latents.size(0), generator_channels(architecture, 0), 4, 4});
  x = generator_norm(g, "bn0", x, statistics, record).relu();
  for (int64_t k = 1; k <= blocks; ++k) {
    const std::string block = std::to_string(k);
    x = torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
    x = torch::conv2d(x, g.at("conv" + block + ".weight"), g.at("conv" + block + ".bias"), 1, 1);
    x = generator_norm(g, "bn" + block, x, statistics, record).relu();
  }
  return torch::conv2d(x, g.at("out.weight"), g.at("out.bias"), 1, 1).to(torch::kFloat32).tanh();
}

torch::Tensor normalized(const torch::Tensor& v) { return v / (v.norm() + 1e-12); }

// W^T u and W v as elementwise products and sums, which autocast leaves in
// fp32 (it would run mv in bf16 on CUDA): power iteration needs the digits.
torch::Tensor transposed_times(const torch::Tensor& matrix, const torch::Tensor& u) {
  return (matrix * u.unsqueeze(1)).sum(0);
}
torch::Tensor times(const torch::Tensor& matrix, const torch::Tensor& v) { return (matrix * v.unsqueeze(0)).sum(1); }

// W / sigma(W), sigma from one power-iteration vector u (Miyato et al. 2018).
torch::Tensor spectrally_normalized(NamedTensors& d, const std::string& name, bool update) {
  const auto& weight = d.at(name);
  const auto matrix = weight.reshape({weight.size(0), -1});
  torch::Tensor u, v;
  {
    torch::NoGradGuard no_grad;
    const auto plain = matrix.detach().to(torch::kFloat32);
    // A new tensor, not an in-place update: earlier graphs keep their u.
    if (update) d[name + ".u"] = normalized(times(plain, normalized(transposed_times(plain, d.at(name + ".u")))));
    u = d.at(name + ".u");
    v = normalized(transposed_times(plain, u));
  }
  const auto sigma = (matrix.to(torch::kFloat32) * torch::outer(u, v)).sum();  // u^T W v
  return weight / sigma;
}

}  // namespace

void check_gan_architecture(const GanArchitecture& architecture) {
  const int64_t size = architecture.image_size;
  if (size != 32 && size != 64 && size != 128)
    throw Error("--size " + std::to_string(size) + " is not supported (32, 64 or 128)");
  if (architecture.channels != 1 && architecture.channels != 3)
    throw Error("channels must be 1 (grey) or 3 (colour), not " + std::to_string(architecture.channels));
  if (architecture.latent_dim < 1 || architecture.g_width < 1 || architecture.d_width < 1)
    throw Error("latent size and network widths must be positive");
}

std::map<std::string, std::string> gan_architecture_metadata(const GanArchitecture& architecture) {
  return {{"architecture", "dcgan"},
          {"image_size", std::to_string(architecture.image_size)},
          {"channels", std::to_string(architecture.channels)},
          {"latent_dim", std::to_string(architecture.latent_dim)},
          {"g_width", std::to_string(architecture.g_width)},
          {"d_width", std::to_string(architecture.d_width)}};
}

GanArchitecture gan_architecture_from_metadata(const std::map<std::string, std::string>& metadata) {
  auto number = [&](const std::string& key) -> int64_t {
    auto found = metadata.find(key);
    if (found == metadata.end()) throw Error("not an atelier GAN: its metadata lacks \"" + key + "\"");
    try {
      return std::stoll(found->second);
    } catch (const std::exception&) {
      throw Error("not an atelier GAN: metadata \"" + key + "\" is not a number");
    }
  };
  auto found = metadata.find("architecture");
  if (found == metadata.end() || found->second != "dcgan") throw Error("not an atelier GAN (architecture is not dcgan)");
  GanArchitecture architecture;
  architecture.image_size = number("image_size");
  architecture.channels = number("channels");
  architecture.latent_dim = number("latent_dim");
  architecture.g_width = number("g_width");
  architecture.d_width = number("d_width");
  check_gan_architecture(architecture);
  return architecture;
}

namespace {

NamedTensors build_generator(const GanArchitecture& architecture, bool random) {
  check_gan_architecture(architecture);
  NamedTensors g;
  const int64_t blocks = block_count(architecture);
  add_layer(g, "fc", {generator_channels(architecture, 0) * 16, architecture.latent_dim}, random);
  add_batch_norm(g, "bn0", generator_channels(architecture, 0));
  for (int64_t k = 1; k <= blocks; ++k) {
    const std::string block = std::to_string(k);
    add_layer(g, "conv" + block,
              {generator_channels(architecture, k), generator_channels(architecture, k - 1), 3, 3}, random);
    add_batch_norm(g, "bn" + block, generator_channels(architecture, k));
  }
  add_layer(g, "out", {architecture.channels, generator_channels(architecture, blocks), 3, 3}, random);
  return g;
}

}  // namespace

NamedTensors initial_generator_weights(const GanArchitecture& architecture, uint64_t seed) {
  check_gan_architecture(architecture);
  torch::manual_seed(seed);
  return build_generator(architecture, true);
}

NamedTensors generator_shapes(const GanArchitecture& architecture) { return build_generator(architecture, false); }

NamedTensors initial_discriminator_weights(const GanArchitecture& architecture, uint64_t seed) {
  check_gan_architecture(architecture);
  torch::manual_seed(seed ^ 0xD15C);
  NamedTensors d;
  const int64_t blocks = block_count(architecture);
  add_layer(d, "conv0", {discriminator_channels(architecture, 0), architecture.channels, 3, 3}, true);
  for (int64_t k = 1; k <= blocks; ++k)
    add_layer(d, "conv" + std::to_string(k),
              {discriminator_channels(architecture, k), discriminator_channels(architecture, k - 1), 4, 4}, true);
  add_layer(d, "fc", {1, discriminator_channels(architecture, blocks) * 16}, true);
  for (const auto& name : trainable_names(d))
    if (ends_with(name, ".weight")) d[name + ".u"] = normalized(torch::randn({d.at(name).size(0)}));
  return d;
}

std::vector<std::string> trainable_names(const NamedTensors& weights) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights)
    if (!ends_with(name, ".u") && !ends_with(name, ".running_mean") && !ends_with(name, ".running_var"))
      names.push_back(name);
  return names;
}

torch::Tensor generate(const NamedTensors& generator, const GanArchitecture& architecture, const torch::Tensor& latents,
                       NormStatistics statistics) {
  return run_generator(generator, architecture, latents, statistics, nullptr);
}

void store_standing_statistics(NamedTensors& generator, const GanArchitecture& architecture, uint64_t seed,
                               int64_t samples) {
  torch::NoGradGuard no_grad;
  const int64_t batch = 64;
  const int64_t batches = std::max<int64_t>(1, samples / batch);
  NamedTensors sums;
  for (int64_t b = 0; b < batches; ++b) {
    NamedTensors record;
    const auto z = latents_for(seed, b * batch, batch, architecture.latent_dim).to(generator.at("fc.weight").device());
    run_generator(generator, architecture, z, NormStatistics::Batch, &record);
    for (const auto& [name, value] : record) sums[name] = sums.count(name) ? sums[name] + value : value.clone();
  }
  for (const auto& [name, sum] : sums) generator[name] = sum / static_cast<double>(batches);
}

torch::Tensor discriminate(NamedTensors& d, const GanArchitecture& architecture, const torch::Tensor& images,
                           bool update_power_iteration) {
  const int64_t blocks = block_count(architecture);
  auto x = torch::conv2d(images, spectrally_normalized(d, "conv0.weight", update_power_iteration), d.at("conv0.bias"),
                         1, 1);
  x = torch::leaky_relu(x, 0.2);
  for (int64_t k = 1; k <= blocks; ++k) {
    const std::string block = "conv" + std::to_string(k);
    x = torch::conv2d(x, spectrally_normalized(d, block + ".weight", update_power_iteration), d.at(block + ".bias"), 2,
                      1);
    x = torch::leaky_relu(x, 0.2);
  }
  x = x.flatten(1);
  return torch::linear(x, spectrally_normalized(d, "fc.weight", update_power_iteration), d.at("fc.bias"))
      .to(torch::kFloat32)
      .view({-1});
}

torch::Tensor spectral_norm_estimate(const NamedTensors& d, const std::string& name) {
  torch::NoGradGuard no_grad;
  const auto& weight = d.at(name);
  const auto matrix = weight.reshape({weight.size(0), -1});
  const auto& u = d.at(name + ".u");
  return torch::dot(u, times(matrix, normalized(transposed_times(matrix, u))));
}

torch::Tensor image_grid(const torch::Tensor& images, int64_t columns) {
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3), gap = 2;
  columns = std::max<int64_t>(1, std::min(columns, n));
  const int64_t rows = (n + columns - 1) / columns;
  auto grid = torch::ones({1, c, rows * (h + gap) - gap, columns * (w + gap) - gap}, images.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = (i / columns) * (h + gap), x = (i % columns) * (w + gap);
    grid.narrow(2, y, h).narrow(3, x, w).copy_(images[i]);
  }
  return grid;
}

}  // namespace atelier
