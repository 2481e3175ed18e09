// SPDX-License-Identifier: MIT
#pragma once

// The kernel's control socket (`nooks run --control PATH`), what `nooks ctl`
// and the user-mode agent talk to. A UNIX stream socket; each request is one
// line of JSON ({"command": "list", ...}) answered by one line of JSON
// ({"ok": true, ...} or {"ok": false, "error": "..."}).
//
// Only root or the kernel's own user may connect (SO_PEERCRED); anyone else
// gets one error line and is disconnected. The socket file is created 0600.
//
// Threads: one acceptor thread; each connection is served on its own thread,
// requests in order. Handlers run on those threads.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nk {

class ControlServer {
public:
    // Returns the reply object (without "ok"), or an error (sent as {"ok": false}).
    using Handler = std::function<Result<nlohmann::json>(nlohmann::json const& request)>;

    // Binds `path` (a stale socket file is replaced; a live one is an error).
    static Result<std::unique_ptr<ControlServer>> listen(std::string path);
    ~ControlServer();
    ControlServer(ControlServer const&) = delete;
    ControlServer& operator=(ControlServer const&) = delete;

    void add(std::string command, Handler handler);
    // Starts accepting (after every handler is added).
    void start();
    // Stops accepting, disconnects everyone, removes the socket file.
    void stop();

    std::string const& path() const { return m_path; }

    // Handles one request line (for tests and the connection threads).
    std::string handle_line(std::string const& line);

private:
    ControlServer(int fd, std::string path)
        : m_fd(fd)
        , m_path(std::move(path))
    {
    }
    void accept_loop();
    void serve(int client);

    int m_fd;
    std::string m_path;
    std::map<std::string, Handler> m_handlers;
    std::atomic<bool> m_stopping { false };
    std::thread m_acceptor;
    Mutex m_clients_mutex;
    std::vector<int> m_clients NK_GUARDED_BY(m_clients_mutex);
    std::vector<std::thread> m_threads NK_GUARDED_BY(m_clients_mutex);
};

// The client side: one request, one reply.
Result<nlohmann::json> control_request(std::string const& path, nlohmann::json const& request,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Reads one '\n'-terminated line from `fd` (without the newline). Empty on EOF.
Result<std::string> read_line(int fd, std::string& buffer, std::chrono::milliseconds timeout);
// Writes all of `text` and a newline.
Result<void> write_line(int fd, std::string const& text);

} // namespace nk
