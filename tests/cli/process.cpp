// tests/cli/process.cpp: fork + exec with three pipes, fed and drained with poll().
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#ifndef SOFTLAB_CLI_PATH
#error "SOFTLAB_CLI_PATH must name the softlab executable"
#endif
#ifndef SOFTLAB_CLI_WITHOUT_PEERS_PATH
#define SOFTLAB_CLI_WITHOUT_PEERS_PATH SOFTLAB_CLI_PATH
#endif

namespace softlab::cli_test {

namespace {

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
}

}  // namespace

namespace {

run_result run_program(const char* path, const std::vector<std::string>& args,
                       const std::string& input) {
  // A child that exits before reading all its input must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  make_pipe(in);
  make_pipe(out);
  make_pipe(err);

  std::vector<std::string> argv_strings{path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);

  run_result result;
  std::size_t written = 0;
  int stdin_fd = in[1];
  if (input.empty()) {
    ::close(stdin_fd);
    stdin_fd = -1;
  }
  bool out_open = true, err_open = true;
  while (out_open || err_open || stdin_fd >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (stdin_fd >= 0) fds[n++] = {stdin_fd, POLLOUT, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == stdin_fd) {
        const ssize_t k = ::write(stdin_fd, input.data() + written, input.size() - written);
        if (k > 0) written += static_cast<std::size_t>(k);
        if (k < 0 || written == input.size()) {  // done, or the child closed its end
          ::close(stdin_fd);
          stdin_fd = -1;
        }
      } else {
        char buffer[4096];
        const ssize_t k = ::read(fds[i].fd, buffer, sizeof buffer);
        if (k > 0) {
          (fds[i].fd == out[0] ? result.out : result.err)
              .append(buffer, static_cast<std::size_t>(k));
        } else if (k == 0 || errno != EINTR) {
          (fds[i].fd == out[0] ? out_open : err_open) = false;
        }
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

run_result run_softlab(const std::vector<std::string>& args, const std::string& input) {
  return run_program(SOFTLAB_CLI_PATH, args, input);
}

run_result run_softlab_without_peers(const std::vector<std::string>& args,
                                     const std::string& input) {
  return run_program(SOFTLAB_CLI_WITHOUT_PEERS_PATH, args, input);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    result.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

}  // namespace softlab::cli_test
