// AdaIN arbitrary style transfer (Huang & Belongie 2017): a VGG encoder up to
// relu4_1 (or relu3_1), adaptive instance normalisation of the photo's
// features to a painting's per-channel mean and std, and a mirrored decoder.
//
// The encoder is any FeatureNetwork that has relu1_1, relu2_1, relu3_1 (and
// relu4_1 for a full VGG): the project's VggFeatures (e.g. the shared partial
// Caffe VGG19, which ends at conv3_4, so AdaIN works at relu3_1 with it), or
// NormalisedVgg, the vgg_normalised layout of naoto0804/pytorch-AdaIN.
// Weights and keys follow that release, so its vgg_normalised.pth and
// decoder.pth import exactly (`models import`).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "models/feature_network.hpp"
#include "models/staged_network.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {

inline constexpr const char* kNormalisedVggArchitecture = "vgg-normalised";
inline constexpr const char* kAdainDecoderArchitecture = "adain-decoder";
inline constexpr double kAdainEps = 1e-5;  // added to the variance, as naoto0804's calc_mean_std does

// naoto0804/pytorch-AdaIN's `vgg` Sequential: a leading 1x1 conv ("0.*") that
// turns RGB [0,1] into the Caffe VGG's input convention, then VGG19 with a
// reflection pad before every 3x3 conv and ceil-mode 2x2 max pooling. Keys are
// the Sequential indices ("0.weight", "2.weight", "5.weight", ... "50.weight").
// The weights may stop after any conv (the release holds all to relu5_4;
// AdaIN needs relu4_1, key "29.*"); the network then ends there.
class NormalisedVgg : public FeatureNetwork {
 public:
  // Throws atelier::Error for a missing "0.*", a misshapen tensor or a key
  // that is not in the layout.
  explicit NormalisedVgg(const std::map<std::string, torch::Tensor>& weights,
                         const torch::Device& device = torch::kCPU);
  static NormalisedVgg load(const std::string& path, const torch::Device& device = torch::kCPU);

  // Every key of the full layout and its shape.
  static std::map<std::string, std::vector<int64_t>> expected_shapes();
  // Layer names (conv1_1, relu1_1, ..., pool1, ..., relu5_4) and their
  // Sequential indices; the 1x1 input conv is index 0 and not named.
  static std::vector<std::pair<std::string, int>> layer_indices();

  const std::string& architecture() const override { return architecture_; }
  const torch::Device& device() const override { return device_; }
  std::vector<std::string> layers() const override;
  // RGB [0,1] in; the dtype of the weights (float32 from files).
  std::map<std::string, torch::Tensor> extract(const torch::Tensor& rgb01,
                                               const std::vector<std::string>& layer_names) const override;
  // The deepest of relu4_1 / relu3_1 present; relu1_1 .. that level.
  std::string default_content_layer() const override;
  std::vector<std::string> default_style_layers() const override;

  // The weights as loaded (keys as above), for saving.
  const std::map<std::string, torch::Tensor>& weights() const { return weights_; }

 private:
  std::string architecture_ = kNormalisedVggArchitecture;
  torch::Device device_;
  std::map<std::string, torch::Tensor> weights_;
  size_t usable_layers_ = 0;  // prefix of layer_indices() the weights cover
  std::map<int, winograd::Conv3x3> winograd_;  // Sequential index -> that conv by Winograd (fp32 CPU passes)
};

// Loads either layout from safetensors, told apart by metadata "architecture"
// ("vgg-normalised") or the keys ("0.weight" vs "features.0.weight"). A
// VggFeatures file uses its metadata "preprocess" and max pooling. Errors
// name the file.
std::shared_ptr<const FeatureNetwork> load_adain_encoder(const std::string& path,
                                                         const torch::Device& device = torch::kCPU);

// "relu4_1" when the encoder has it, else "relu3_1"; throws atelier::Error
// when it has neither.
std::string adain_level(const FeatureNetwork& encoder);
// Throws atelier::Error unless `level` is "relu3_1" or "relu4_1".
void check_adain_level(const std::string& level);
// The style loss layers: relu1_1 .. level.
std::vector<std::string> adain_style_layers(const std::string& level);
// How much smaller than the picture the level's features are: 4 or 8.
int64_t adain_level_stride(const std::string& level);

// Per-channel mean and std of [N,C,H,W] features over H,W: [N,C,1,1] each;
// std = sqrt(unbiased variance + eps) (naoto0804's calc_mean_std).
std::pair<torch::Tensor, torch::Tensor> channel_mean_std(const torch::Tensor& features);
// AdaIN: `content` normalised per channel, then given the per-channel mean
// and std of `style` ([N,C,h,w], any h,w; N equal or 1).
torch::Tensor adaptive_instance_norm(const torch::Tensor& content, const torch::Tensor& style);

// A style as AdaIN sees it: the per-channel mean and std of its features
// ([1,C,1,1] each), computed once and reused for any number of pictures.
using AdainStatistics = std::pair<torch::Tensor, torch::Tensor>;
// AdaIN to given statistics.
torch::Tensor adaptive_instance_norm_to(const torch::Tensor& content, const AdainStatistics& style);

// The decoder's target (naoto0804's style_transfer): sum_i weights[i] *
// AdaIN(content, styles[i]) with the weights normalised to sum 1, then
// alpha * that + (1 - alpha) * content. `content` [1,C,H,W], each style
// [1,C,h,w]. Throws atelier::Error on a count mismatch, a negative or
// non-finite weight, all-zero weights, or alpha outside [0,1].
torch::Tensor adain_target(const torch::Tensor& content, const std::vector<torch::Tensor>& styles,
                           const std::vector<double>& weights, double alpha);
// The same from the styles' statistics.
torch::Tensor adain_target(const torch::Tensor& content, const std::vector<AdainStatistics>& styles,
                           const std::vector<double>& weights, double alpha);
// Spatial control (the original AdaIN test code): features where
// `foreground` ([H,W] bool at the features' size) is true take the mean and
// std of `style_fg`, the others those of `style_bg`, each region normalised
// by its own statistics (a region of one pixel uses variance 0 + eps); then
// alpha as above.
torch::Tensor adain_masked_target(const torch::Tensor& content, const torch::Tensor& style_fg,
                                  const torch::Tensor& style_bg, const torch::Tensor& foreground, double alpha);
torch::Tensor adain_masked_target(const torch::Tensor& content, const AdainStatistics& style_fg,
                                  const AdainStatistics& style_bg, const torch::Tensor& foreground, double alpha);
// A mask picture ([H,W] float in [0,1], any size) at the features' size:
// nearest-neighbour resize, then >= 0.5 is foreground.
torch::Tensor mask_at_size(const torch::Tensor& mask, int64_t height, int64_t width);

// The mirrored decoder of naoto0804's net.py: reflect pad + 3x3 conv + ReLU,
// nearest upsampling x2; no activation after the last conv. From relu4_1 its
// keys are that Sequential's indices ("1.weight", "5.weight", ...,
// "28.weight"). From relu3_1 it is the same decoder's tail, from its first
// 256->128 conv, keys numbered as a Sequential holding only that tail would
// number them ("1.weight", "5.weight", "8.weight", "12.weight", "15.weight").
// Output RGB about [0,1] (not clamped). Parameters start as PyTorch's default
// Conv2d initialisation (seed with torch::manual_seed).
struct AdainDecoderImpl : torch::nn::Module {
  explicit AdainDecoderImpl(const std::string& level);  // "relu3_1" | "relu4_1"
  torch::Tensor forward(const torch::Tensor& features);
  // Every key (named_parameters()) and its shape for `level`.
  static std::map<std::string, std::vector<int64_t>> expected_shapes(const std::string& level);

  std::string level;

 private:
  struct Step {
    enum class Kind { Conv, Relu, Upsample } kind;
    int index;  // Sequential index of a conv
  };
  std::vector<Step> steps_;
  std::map<int, torch::nn::Conv2d> convs_;
  // The convs by Winograd, made at the first fp32 CPU pass that needs no
  // weight gradients (weights changed in place since are re-transformed).
  std::map<int, winograd::Conv3x3> winograd_;
  std::mutex winograd_mutex_;
};
TORCH_MODULE(AdainDecoder);

// AdaIN as stylize_tiled runs it on a large picture: the encoder tile by
// tile down to the level's map, AdaIN on the whole map (so its content
// statistics are the whole picture's), the decoder tile by tile. Neither
// network has norms. `target` turns the whole map of content features into
// the decoder's input (adain_target or adain_masked_target). The picture's
// sides must be multiples of the level's stride (AdainPainter pads them).
class AdainStages final : public StagedNetwork {
 public:
  using Target = std::function<torch::Tensor(const torch::Tensor& content)>;
  AdainStages(const FeatureNetwork& encoder, AdainDecoderImpl& decoder, Target target)
      : encoder_(encoder), decoder_(decoder), target_(std::move(target)) {}
  const torch::Device& device() const override { return encoder_.device(); }
  int64_t map_stride() const override { return adain_level_stride(decoder_.level); }
  torch::Tensor input(const cv::Mat& rgb) const override;
  torch::Tensor encode(const torch::Tensor& input, const NormPlan& plan, std::array<int64_t, 2> whole) const override;
  torch::Tensor trunk(const torch::Tensor& encoded) const override { return target_(encoded); }
  torch::Tensor decode(const torch::Tensor& trunk_output, const NormPlan&) const override {
    return decoder_.forward(trunk_output);
  }
  std::vector<int64_t> encoder_norm_scales() const override { return {}; }
  std::vector<int64_t> decoder_norm_scales() const override { return {}; }
  // Reflect-padded 3x3 convs and 2x2 pools: to relu4_1 the encoder reaches
  // 2 + 1 + 4 + 2 + 16 + 4 + 8 = 37 picture pixels (under 5 map pixels of
  // 8), to relu3_1 13 (under 4 of 4); the decoders 8 + 16 + 4 + 2 = 30
  // (under 4 of 8) and 4 + 4 + 2 = 10 (under 3 of 4). One more for margin.
  int64_t encoder_reach() const override { return map_stride() == 8 ? 6 : 5; }
  int64_t decoder_reach() const override { return map_stride() == 8 ? 5 : 4; }

 private:
  const FeatureNetwork& encoder_;
  AdainDecoderImpl& decoder_;
  Target target_;
};

// Decoder weights from safetensors (metadata "architecture": "adain-decoder",
// "level"; without metadata the level follows from "1.weight"'s shape).
// Errors name the file and the first missing, misshapen or unknown key.
AdainDecoder load_adain_decoder(const std::string& path, const torch::Device& device = torch::kCPU);
// A decoder from a state dict (keys as above) for `level` ("" : inferred).
AdainDecoder adain_decoder_from_state(const std::map<std::string, torch::Tensor>& state, const std::string& level,
                                      const torch::Device& device = torch::kCPU);
// Writes float32 safetensors atomically with metadata "architecture",
// "level" and any `metadata` given (which may not override those two).
void save_adain_decoder(AdainDecoder& decoder, const std::string& path,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace atelier
