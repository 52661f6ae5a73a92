#include <softlab/softlab.hpp>

#include <cstdio>
#include <vector>

int main() {
  // Attention between one query and four keys: weights = softmax(query * keys).
  const float query = 0.5f;
  const std::vector<float> keys{0.1f, 0.5f, 0.3f, 0.9f};
  std::vector<float> weights(keys.size());
  softlab::pairwise_attention<softlab::online>(query, keys, weights);

  // Any implementation, any range: here the max-subtracted three-pass one, in place.
  std::vector<double> scores{1.0, -INFINITY, 2.0, 3.0};  // -inf: a masked position
  softlab::softmax<softlab::stable>(scores, scores);

  for (float w : weights) std::printf("%.6f ", w);  // 0.207538 0.253487 0.229365 0.309610
  std::printf("\n");
  for (double s : scores) std::printf("%.6f ", s);  // 0.090031 0.000000 0.244728 0.665241
  std::printf("\n");
}
