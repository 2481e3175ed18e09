// SPDX-License-Identifier: MIT
#include "control/ControlServer.h"

#include "base/Log.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace nk {

static auto logger() { return log::get("control"); }

static Result<sockaddr_un> socket_address(std::string const& path)
{
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(address.sun_path))
        return make_error(ErrorCode::InvalidArgument, "control socket path '{}' is empty or longer than {} bytes", path,
            sizeof(address.sun_path) - 1);
    std::memcpy(address.sun_path, path.c_str(), path.size());
    return address;
}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(std::string path)
{
    auto address = TRY(socket_address(path));
    // A socket file nobody listens on is a leftover of a kernel that died: replace it.
    struct stat st { };
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return make_error(ErrorCode::AlreadyExists, "control socket {}: a file that is not a socket is in the way", path);
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr const*>(&address), sizeof(address)) == 0;
        if (probe >= 0)
            ::close(probe);
        if (live)
            return make_error(ErrorCode::AlreadyExists, "control socket {} is in use by another running kernel", path);
        ::unlink(path.c_str());
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno_error("control socket");
    // Created 0600 from the start: no window in which others could connect.
    auto old_mask = ::umask(0177);
    int bound = ::bind(fd, reinterpret_cast<sockaddr const*>(&address), sizeof(address));
    int saved = errno;
    ::umask(old_mask);
    if (bound != 0 || ::listen(fd, 16) != 0) {
        ::close(fd);
        return std::unexpected(Error::from_errno(bound != 0 ? saved : errno, fmt::format("control socket {}", path)));
    }
    return std::unique_ptr<ControlServer>(new ControlServer(fd, std::move(path)));
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::add(std::string command, Handler handler) { m_handlers[std::move(command)] = std::move(handler); }

void ControlServer::start()
{
    if (!m_acceptor.joinable())
        m_acceptor = std::thread([this] { accept_loop(); });
}

void ControlServer::stop()
{
    if (m_stopping.exchange(true))
        return;
    ::shutdown(m_fd, SHUT_RDWR);
    if (m_acceptor.joinable())
        m_acceptor.join();
    ::close(m_fd);
    std::vector<std::thread> threads;
    {
        MutexLocker lock(m_clients_mutex);
        for (int client : m_clients)
            ::shutdown(client, SHUT_RDWR);
        threads = std::move(m_threads);
    }
    for (auto& thread : threads)
        thread.join();
    ::unlink(m_path.c_str());
}

void ControlServer::accept_loop()
{
    while (!m_stopping.load()) {
        pollfd pfd { m_fd, POLLIN, 0 };
        if (::poll(&pfd, 1, 200) <= 0)
            continue;
        int client = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0)
            continue;
        // Least privilege: root, or the user the kernel runs as.
        ucred peer {};
        socklen_t length = sizeof(peer);
        if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || (peer.uid != 0 && peer.uid != ::geteuid())) {
            (void)write_line(client, nlohmann::json { { "ok", false }, { "error", "permission denied: only root or the kernel's user may control it" } }.dump());
            logger()->warn("refused a control connection from uid {}", peer.uid);
            ::close(client);
            continue;
        }
        MutexLocker lock(m_clients_mutex);
        m_clients.push_back(client);
        m_threads.emplace_back([this, client] { serve(client); });
    }
}

void ControlServer::serve(int client)
{
    std::string buffer;
    while (!m_stopping.load()) {
        auto line = read_line(client, buffer, std::chrono::hours(24));
        if (!line || line->empty())
            break;
        if (!write_line(client, handle_line(*line)))
            break;
    }
    MutexLocker lock(m_clients_mutex);
    std::erase(m_clients, client);
    ::close(client);
}

std::string ControlServer::handle_line(std::string const& line)
{
    nlohmann::json reply;
    auto request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("command") || !request["command"].is_string()) {
        reply = { { "ok", false }, { "error", "bad request: expected a JSON object with a \"command\" string" } };
        return reply.dump();
    }
    auto command = request["command"].get<std::string>();
    auto handler = m_handlers.find(command);
    if (handler == m_handlers.end()) {
        std::string known;
        for (auto const& [name, unused] : m_handlers)
            known += (known.empty() ? "" : ", ") + name;
        reply = { { "ok", false }, { "error", fmt::format("unknown command '{}' (known: {})", command, known) } };
        return reply.dump();
    }
    auto result = handler->second(request);
    if (!result) {
        reply = { { "ok", false }, { "error", result.error().message() } };
        return reply.dump();
    }
    reply = std::move(*result);
    if (!reply.is_object())
        reply = nlohmann::json { { "result", reply } };
    reply["ok"] = true;
    return reply.dump();
}

Result<std::string> read_line(int fd, std::string& buffer, std::chrono::milliseconds timeout)
{
    for (;;) {
        if (auto newline = buffer.find('\n'); newline != std::string::npos) {
            auto line = buffer.substr(0, newline);
            buffer.erase(0, newline + 1);
            return line;
        }
        pollfd pfd { fd, POLLIN, 0 };
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(timeout.count(), INT32_MAX)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return make_error(ErrorCode::DeadlineExceeded, "no answer within {} ms", timeout.count());
        char chunk[4096];
        auto n = ::read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return std::string();
        buffer.append(chunk, static_cast<size_t>(n));
        if (buffer.size() > (16u << 20))
            return make_error(ErrorCode::ResourceExhausted, "line longer than 16 MiB");
    }
}

Result<void> write_line(int fd, std::string const& text)
{
    auto data = text + "\n";
    size_t done = 0;
    while (done < data.size()) {
        auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno_error("write to control socket");
        done += static_cast<size_t>(n);
    }
    return {};
}

Result<nlohmann::json> control_request(std::string const& path, nlohmann::json const& request, std::chrono::milliseconds timeout)
{
    auto address = TRY(socket_address(path));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno_error("socket");
    if (::connect(fd, reinterpret_cast<sockaddr const*>(&address), sizeof(address)) != 0) {
        auto error = Error::from_errno(fmt::format("connect to {} (is `nooks run` running?)", path));
        ::close(fd);
        return std::unexpected(std::move(error));
    }
    auto written = write_line(fd, request.dump());
    // Read even if the write failed: a kernel that refuses us says why, then hangs up.
    std::string buffer;
    auto line = read_line(fd, buffer, timeout);
    ::close(fd);
    if (line && line->empty() && !written)
        return std::unexpected(std::move(written.error()));
    if (!line)
        return std::unexpected(std::move(line.error()));
    if (line->empty())
        return make_error(ErrorCode::Unavailable, "{} closed the connection without an answer", path);
    auto reply = nlohmann::json::parse(*line, nullptr, false);
    if (reply.is_discarded() || !reply.is_object())
        return make_error(ErrorCode::Internal, "malformed answer from {}", path);
    return reply;
}

} // namespace nk
