// peers/src/onednn_context.hpp: what both oneDNN peers (the softmax, onednn_peer.cpp, and the
// attention composition, onednn_attention.cpp) share: the library's version for their origin,
// and one CPU engine and stream per thread.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#define SOFTLAB_STRINGIFY_(x) #x
#define SOFTLAB_STRINGIFY(x) SOFTLAB_STRINGIFY_(x)
#define SOFTLAB_DNNL_VERSION            \
  SOFTLAB_STRINGIFY(DNNL_VERSION_MAJOR) \
  "." SOFTLAB_STRINGIFY(DNNL_VERSION_MINOR) "." SOFTLAB_STRINGIFY(DNNL_VERSION_PATCH)

namespace softlab::peers::detail {

/// One thread's engine and stream.
struct onednn_context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

/// The calling thread's, made on its first call (onednn_peer.cpp). A thread_local cache of
/// primitives calls this before it is first touched, so that the context is made first and
/// destroyed last: primitives must not outlive their engine.
onednn_context& this_thread_onednn_context();

}  // namespace softlab::peers::detail
