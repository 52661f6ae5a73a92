// Uses the installed package as a consumer would: the one include, the one target.
#include <softlab/softlab.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const std::vector<double> x{1.0, 2.0, 3.0};
  std::vector<double> y(x.size());
  softlab::softmax<softlab::stable>(x, y);

  const std::vector<float> keys{0.1f, 0.5f, 0.3f, 0.9f};
  std::vector<float> w(keys.size());
  softlab::pairwise_attention<softlab::online>(0.5f, keys, w);

  std::vector<float> v(keys.size());
  softlab::softmax<softlab::xsimd>(keys, v);  // the compiled part of the package

  const double total = y[0] + y[1] + y[2];
  std::printf("stable: %.6f %.6f %.6f\n", y[0], y[1], y[2]);
  std::printf("attention: %.6f %.6f %.6f %.6f\n", w[0], w[1], w[2], w[3]);
  std::printf("isa: %s\n", std::string(softlab::isa_name(softlab::active_isa())).c_str());
  return std::abs(total - 1.0) < 1e-15 && std::abs(w[0] - 0.207538f) < 1e-6f ? 0 : 1;
}
