// SPDX-License-Identifier: MIT
#include "agent/AgentProtocol.h"

#include "control/ControlServer.h"

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace nk {

Result<PolicyDecision> ask_agent(std::string const& socket_path, FailureEvent const& event, std::chrono::milliseconds timeout)
{
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof(address.sun_path))
        return make_error(ErrorCode::InvalidArgument, "agent socket path '{}' unusable", socket_path);
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno_error("socket");
    if (::connect(fd, reinterpret_cast<sockaddr const*>(&address), sizeof(address)) != 0) {
        auto error = Error::from_errno(fmt::format("agent {}", socket_path));
        ::close(fd);
        return std::unexpected(std::move(error));
    }
    // The agent decides what the kernel does: it must be root or the kernel's own user.
    ucred peer {};
    socklen_t length = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || (peer.uid != 0 && peer.uid != ::geteuid())) {
        ::close(fd);
        return make_error(ErrorCode::PermissionDenied, "agent {} runs as uid {}: not trusted", socket_path, peer.uid);
    }
    nlohmann::json request { { "command", "failure" }, { "driver", event.driver }, { "class", event.driver_class }, { "path", event.path },
        { "cause", event.cause }, { "message", event.message }, { "time_ms", event.time_ms } };
    auto written = write_line(fd, request.dump());
    std::string buffer;
    auto line = written ? read_line(fd, buffer, timeout) : std::unexpected(written.error());
    ::close(fd);
    if (!line)
        return std::unexpected(std::move(line.error()).with_context("agent"));
    auto reply = nlohmann::json::parse(*line, nullptr, false);
    if (reply.is_discarded() || !reply.is_object() || !reply.value("ok", false))
        return make_error(ErrorCode::Internal, "agent answered nonsense: {}", line->substr(0, 200));
    PolicyDecision decision;
    auto action = parse_recovery_action(reply.value("action", std::string()));
    if (!action)
        return std::unexpected(std::move(action.error()).with_context("agent"));
    decision.action = *action;
    auto delay = reply.value("delay_ms", int64_t(0));
    if (delay < 0 || delay > 3'600'000)
        return make_error(ErrorCode::Internal, "agent asked for a delay of {} ms", delay);
    decision.delay_ms = static_cast<uint64_t>(delay);
    decision.replacement = reply.value("replacement", std::string());
    decision.reason = reply.value("reason", std::string("agent's policy"));
    if (decision.action == RecoveryAction::Replace && decision.replacement.empty())
        return make_error(ErrorCode::Internal, "agent said replace but named no driver");
    return decision;
}

} // namespace nk
