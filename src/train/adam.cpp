#include <cmath>

#include "atelier/error.hpp"
#include "train/training.hpp"

namespace atelier {

Adam::Adam(NamedTensors parameters, double learning_rate, double beta1, double beta2, double eps)
    : parameters_(std::move(parameters)), learning_rate_(learning_rate), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& [name, parameter] : parameters_) {
    exp_avg_[name] = torch::zeros_like(parameter, torch::MemoryFormat::Preserve).detach();
    exp_avg_sq_[name] = torch::zeros_like(parameter, torch::MemoryFormat::Preserve).detach();
  }
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
  for (auto& [name, parameter] : parameters_) {
    auto& grad = parameter.mutable_grad();
    if (!grad.defined()) continue;
    auto& m = exp_avg_.at(name);
    auto& v = exp_avg_sq_.at(name);
    m.mul_(beta1_).add_(grad, 1.0 - beta1_);
    v.mul_(beta2_).addcmul_(grad, grad, 1.0 - beta2_);
    const auto denominator = (v.sqrt() / std::sqrt(bias2)).add_(eps_);
    parameter.addcdiv_(m, denominator, -learning_rate_ / bias1);
    grad.zero_();
  }
}

NamedTensors Adam::state() const {
  NamedTensors state;
  for (const auto& [name, m] : exp_avg_) state["adam.m." + name] = m;
  for (const auto& [name, v] : exp_avg_sq_) state["adam.v." + name] = v;
  state["adam.step"] = torch::tensor({static_cast<float>(steps_)});
  return state;
}

void Adam::load_state(const NamedTensors& state) {
  torch::NoGradGuard no_grad;
  auto take = [&](const std::string& key, torch::Tensor& into) {
    auto found = state.find(key);
    if (found == state.end()) throw Error("optimizer state lacks \"" + key + "\"");
    if (found->second.sizes() != into.sizes()) throw Error("optimizer state \"" + key + "\" has the wrong shape");
    into.copy_(found->second);
  };
  for (auto& [name, m] : exp_avg_) take("adam.m." + name, m);
  for (auto& [name, v] : exp_avg_sq_) take("adam.v." + name, v);
  auto step = state.find("adam.step");
  if (step == state.end()) throw Error("optimizer state lacks \"adam.step\"");
  steps_ = static_cast<int64_t>(step->second.item<float>());
}

}  // namespace atelier
