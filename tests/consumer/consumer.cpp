// Uses the installed package as a consumer would: the one include, the one target.
#include <softlab/softlab.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
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

  // Rows across threads (the library's OpenMP region: the package must bring libgomp): 4 rows
  // of 16384 on 2 threads, the same bits as on 1.
  std::vector<float> scores(4 * 16384), one(scores.size()), two(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = float(i % 97) * 0.125f;
  softlab::softmax_rows<softlab::fast>(scores, 4, 16384, one, {.threads = 1});
  softlab::softmax_rows<softlab::fast>(scores, 4, 16384, two, {.threads = 2});
  const bool same_bits = std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0;
  std::printf("rows on 2 threads: %s\n", same_bits ? "same bits as on 1" : "DIFFERENT");

  const double total = y[0] + y[1] + y[2];
  std::printf("stable: %.6f %.6f %.6f\n", y[0], y[1], y[2]);
  std::printf("attention: %.6f %.6f %.6f %.6f\n", w[0], w[1], w[2], w[3]);
  std::printf("isa: %s\n", std::string(softlab::isa_name(softlab::active_isa())).c_str());
  return std::abs(total - 1.0) < 1e-15 && std::abs(w[0] - 0.207538f) < 1e-6f && same_bits ? 0 : 1;
}
