// SPDX-License-Identifier: MIT
// The net class's rows: a network file transfer (curl from a peer's web
// server), a remote session (one ssh connection running commands on a peer)
// and a network analyzer (tcpdump, promiscuous, watching two other hosts talk),
// all through the nknet driver. The applications' outputs are files on the
// host, checked against what was sent.

#include "base/Clock.h"
#include "base/net/NamespaceLock.h"
#include "base/net/NamespaceProcess.h"
#include "base/net/NetNamespace.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "tools/eval/ClassEvaluation.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace nk::eval {

namespace {

constexpr char const* subnet = "10.84.0";
constexpr char const* interface_name = "nke0";

// This process's names: stacks are built one after another, each removes its
// namespaces when it stops, and two evaluations on one machine never share one.
struct Sides {
    std::string app = fmt::format("nke{}-app", ::getpid());
    std::string peer_prefix = fmt::format("nke{}-peer", ::getpid());
    std::string peer(int index) const { return peer_prefix + std::to_string(index); }
    std::string address(int index) const { return fmt::format("{}.{}", subnet, index + 1); } // 0: ours, 1: peer0, 2: peer1
};

Sides const& sides()
{
    static Sides const names;
    return names;
}

Result<ExitStatus> run_in(std::string const& ns_name, std::vector<std::string> const& argv, std::chrono::milliseconds timeout)
{
    auto ns = TRY(NetNamespace::open(ns_name));
    return NamespaceProcess::run(ns, argv, timeout, { .quiet = true });
}

Result<NamespaceProcess> start_in(std::string const& ns_name, std::vector<std::string> const& argv)
{
    auto ns = TRY(NetNamespace::open(ns_name));
    return NamespaceProcess::start(ns, argv, { .quiet = true });
}

double wall_clock_seconds()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string read_file(std::string const& path)
{
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class NetEvalStack final : public EvalStack {
public:
    NetEvalStack(std::unique_ptr<harness::KernelProcess> kernel, std::string dir)
        : m_kernel(std::move(kernel))
        , m_dir(std::move(dir))
    {
    }
    ~NetEvalStack() override { (void)stop(); }

    harness::KernelProcess& kernel() override { return *m_kernel; }
    std::string control() const override { return m_dir + "/control.sock"; }
    Result<std::string> workspace(std::string const& app) override
    {
        auto dir = m_dir + "/" + app;
        std::error_code error;
        std::filesystem::create_directories(dir, error);
        if (error)
            return make_error(ErrorCode::IoError, "{}: {}", dir, error.message());
        return dir;
    }
    // The applications' outputs are files on the host: nothing to read back from a device.
    Result<void> reread() override { return {}; }
    Result<std::string> check() override
    {
        auto ping = TRY(run_in(sides().app, { "ping", "-c", "1", "-W", "2", sides().address(1) }, std::chrono::seconds(5)));
        if (!ping.success())
            return make_error(ErrorCode::IoError, "the peer does not answer a ping after the faults");
        return std::string("the peer answers");
    }
    Result<void> stop() override
    {
        if (m_stopped)
            return {};
        m_stopped = true;
        bool died = !m_kernel->running();
        if (!died)
            TRY(m_kernel->stop());
        // A kernel that died (native mode) left its namespaces: they go with the stack.
        for (auto const& name : { sides().app, sides().peer(0), sides().peer(1) }) {
            if (NetNamespace::exists(name))
                (void)harness::run_command({ "ip", "netns", "delete", name });
            std::error_code error;
            std::filesystem::remove(NamespaceLock::path_of(name), error);
        }
        if (died)
            return {};
        if (auto how = m_kernel->exit_description(); how != "exit 0")
            return make_error(ErrorCode::Internal, "the kernel did not exit cleanly ({})", how);
        return {};
    }

private:
    std::unique_ptr<harness::KernelProcess> m_kernel;
    std::string m_dir;
    bool m_stopped { false };
};

// Until the interface has carrier and peer 0 answers.
Result<void> wait_for_path(harness::KernelProcess& kernel)
{
    auto deadline = monotonic_ns() + 30'000'000'000ull;
    while (monotonic_ns() < deadline) {
        if (!kernel.running())
            return make_error(ErrorCode::Unavailable, "the kernel died at boot ({})", kernel.exit_description());
        if (NetNamespace::exists(sides().app)) {
            auto ping = run_in(sides().app, { "ping", "-c", "1", "-W", "1", sides().address(1) }, std::chrono::seconds(3));
            if (ping && ping->success())
                return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return make_error(ErrorCode::DeadlineExceeded, "{} never reached {} within 30 s", interface_name, sides().address(1));
}

// ---- The applications ----

constexpr size_t transfer_mib = 48;

Result<harness::WorkloadReport> run_transfer(std::string const& dir)
{
    auto start = monotonic_ns();
    auto served = dir + "/www";
    std::filesystem::create_directories(served);
    {
        std::vector<uint64_t> chunk(1u << 17); // 1 MiB
        std::mt19937_64 random(1234);
        std::ofstream out(served + "/blob", std::ios::binary);
        for (size_t i = 0; i < transfer_mib; ++i) {
            for (auto& word : chunk)
                word = random();
            out.write(reinterpret_cast<char const*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * sizeof(uint64_t)));
        }
    }
    auto server = TRY(start_in(sides().peer(0),
        { "/usr/bin/python3", "-m", "http.server", "8080", "--bind", sides().address(1), "--directory", served }));
    auto url = fmt::format("http://{}:8080/", sides().address(1));
    auto up = TRY(run_in(sides().app,
        { "sh", "-c", fmt::format("for i in $(seq 100); do curl -s -o /dev/null {} && exit 0; sleep 0.1; done; exit 1", url) },
        std::chrono::seconds(30)));
    if (!up.success())
        return make_error(ErrorCode::Unavailable, "the peer's web server never answered");
    // Throttled, so the transfer outlasts the faults (a few seconds).
    auto fetched = TRY(run_in(sides().app,
        { "curl", "-s", "-S", "--limit-rate", "12M", "--max-time", "120", "-o", dir + "/fetched", url + "blob" }, std::chrono::seconds(150)));
    if (!fetched.success())
        return make_error(ErrorCode::Unavailable, "curl failed: {}", fetched.describe());
    return harness::WorkloadReport { fmt::format("{} MiB fetched with curl", transfer_mib), monotonic_ns() - start };
}

Result<harness::WorkloadReport> verify_transfer(std::string const& dir)
{
    auto got = TRY(harness::checksum_file(dir + "/fetched"));
    auto sent = TRY(harness::checksum_file(dir + "/www/blob"));
    if (got != sent)
        return make_error(ErrorCode::IoError, "the file curl fetched differs from the one served");
    return harness::WorkloadReport { "the fetched file is identical to the served one", 0 };
}

constexpr int session_lines = 40;

Result<harness::WorkloadReport> run_session(std::string const& dir)
{
    auto start = monotonic_ns();
    auto keys = dir + "/ssh";
    std::filesystem::create_directories(keys);
    std::filesystem::create_directories("/run/sshd"); // sshd's privilege separation directory
    TRY(harness::run_checked({ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys + "/host" }));
    TRY(harness::run_checked({ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys + "/user" }));
    std::filesystem::copy_file(keys + "/user.pub", keys + "/authorized_keys", std::filesystem::copy_options::overwrite_existing);
    std::ofstream(keys + "/sshd_config") << fmt::format(
        "ListenAddress {}\nHostKey {}/host\nPermitRootLogin prohibit-password\nAuthorizedKeysFile {}/authorized_keys\n"
        "StrictModes no\nUsePAM no\nPidFile {}/sshd.pid\nClientAliveInterval 1\nClientAliveCountMax 5\n",
        sides().address(1), keys, keys, keys);
    auto server = TRY(start_in(sides().peer(0), { "/usr/sbin/sshd", "-D", "-e", "-f", keys + "/sshd_config" }));
    auto ssh = fmt::format("ssh -i {}/user -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 "
                           "root@{}",
        keys, sides().address(1));
    auto up = TRY(run_in(sides().app,
        { "sh", "-c", fmt::format("for i in $(seq 50); do {} true && exit 0; sleep 0.2; done; exit 1", ssh) }, std::chrono::seconds(60)));
    if (!up.success())
        return make_error(ErrorCode::Unavailable, "the peer's sshd never accepted a session");
    // One connection, commands answering one after another for a few seconds.
    auto session = TRY(run_in(sides().app,
        { "sh", "-c",
            fmt::format("{} 'for i in $(seq {}); do echo line-$i; sleep 0.1; done' > {}/session.out", ssh, session_lines, dir) },
        std::chrono::seconds(120)));
    if (!session.success())
        return make_error(ErrorCode::Unavailable, "the ssh session ended with {}", session.describe());
    return harness::WorkloadReport { fmt::format("one ssh session, {} commands answered", session_lines), monotonic_ns() - start };
}

Result<harness::WorkloadReport> verify_session(std::string const& dir)
{
    std::istringstream in(read_file(dir + "/session.out"));
    int expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
        if (line != fmt::format("line-{}", expected))
            return make_error(ErrorCode::IoError, "the session's output has '{}' where line-{} belongs", line, expected);
    }
    if (expected - 1 != session_lines)
        return make_error(ErrorCode::IoError, "the session's output has {} of {} lines", expected - 1, session_lines);
    return harness::WorkloadReport { "every command's output arrived, in order", 0 };
}

// The analyzer watches peer 0 ping peer 1 (frames for neither of our
// addresses: only a promiscuous NIC passes them): 40 pings while the faults
// come, then 20 more after them, each of which it must see.
constexpr int analyzer_during = 40;
constexpr int analyzer_after = 20;

Result<harness::WorkloadReport> run_analyzer(std::string const& dir)
{
    auto start = monotonic_ns();
    auto tcpdump = TRY(start_in(sides().app, { "sh", "-c",
        fmt::format("exec tcpdump -i {} -n -l -tt 'icmp[icmptype] = icmp-echo and dst host {}' > {}/capture.txt 2> {}/tcpdump.err",
            interface_name, sides().address(2), dir, dir) }));
    // Until it listens (its packet socket made the interface promiscuous).
    for (int i = 0; i < 100 && read_file(dir + "/tcpdump.err").find("listening") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto ping = [&](int count) { return run_in(sides().peer(0), { "ping", "-c", std::to_string(count), "-i", "0.1", "-W", "1", sides().address(2) },
                                     std::chrono::seconds(count + 30)); };
    TRY(ping(analyzer_during));
    auto after_since = wall_clock_seconds();
    TRY(ping(analyzer_after));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bool ran_through = tcpdump.running();
    tcpdump.stop();
    std::ofstream(dir + "/window") << fmt::format("{:.6f} {}\n", after_since, ran_through ? "running" : "exited");
    return harness::WorkloadReport { fmt::format("tcpdump watched {} pings between two other hosts", analyzer_during + analyzer_after),
        monotonic_ns() - start };
}

Result<harness::WorkloadReport> verify_analyzer(std::string const& dir)
{
    double after_since = 0;
    std::string how;
    std::istringstream(read_file(dir + "/window")) >> after_since >> how;
    int during = 0;
    int after = 0;
    std::istringstream in(read_file(dir + "/capture.txt"));
    for (std::string line; std::getline(in, line);) {
        double stamp = 0;
        if (!(std::istringstream(line) >> stamp))
            continue;
        (stamp >= after_since ? after : during)++;
    }
    // tcpdump's own complaint, if it ended by itself ("tcpdump: pcap_loop: ...").
    std::string last_error = "no message";
    std::istringstream err(read_file(dir + "/tcpdump.err"));
    for (std::string line; std::getline(err, line);) {
        if (line.starts_with("tcpdump: ") && line.find("verbose output") == std::string::npos)
            last_error = line;
    }
    auto seen = fmt::format("it saw {} of {} frames between the peers during the faults and {} of {} after them{}", during, analyzer_during,
        after, analyzer_after, how == "exited" ? fmt::format(" (tcpdump ended on its own: {})", last_error) : "");
    if (after < analyzer_after || how != "running")
        return make_error(ErrorCode::IoError, "it stopped capturing: {}", seen);
    return harness::WorkloadReport { seen, 0 };
}

class NetEvaluation final : public ClassEvaluation {
public:
    std::string_view name() const override { return "net"; }
    std::string_view driver() const override { return "nknet"; }
    std::vector<std::string> stack_programs() const override { return { "ip", "ping" }; }

    // Crashes in the receive poll and the transmit path, a panic, a bad
    // parameter, a hang, a corrupted stack.
    std::vector<FaultStep> fault_schedule() const override
    {
        return { { "null-deref", "napi_poll" }, { "wild-write-kernel", "net_start_xmit" }, { "panic", "napi_poll" },
            { "bad-param", "net_start_xmit" }, { "hang", "napi_poll" }, { "stack-corrupt", "net_start_xmit" } };
    }

    Result<std::vector<Application>> applications(std::string const&) const override
    {
        return std::vector<Application> {
            { "transfer", "network file transfer (curl)", { "curl", "python3" }, run_transfer, verify_transfer },
            { "session", "remote session (ssh)", { "ssh", "sshd", "ssh-keygen" }, run_session, verify_session },
            { "analyzer", "network analyzer (tcpdump)", { "tcpdump" }, run_analyzer, verify_analyzer },
        };
    }

    Result<std::unique_ptr<EvalStack>> build(EvalContext const& context, std::string const& mode, std::string const& dir) const override
    {
        auto const& names = sides();
        auto config = dir + "/machine.toml";
        // A hung driver is declared failed after 1 s here (3 s by default), and no agent is asked.
        std::ofstream(config) << fmt::format(
            "disk = []\n\n[isolation]\nlivelock_ms = 1000\nagent = \"\"\n\n[[nic]]\nname = \"nic0\"\nnamespace = \"{}\"\ninterface = \"{}\"\n"
            "address = \"{}/24\"\npeers = \"{}/24,{}/24\"\npeer_namespace = \"{}\"\nlink_delay_ms = 100\n",
            names.app, interface_name, names.address(0), names.address(1), names.address(2), names.peer_prefix);
        auto kernel = TRY(harness::KernelProcess::start({ .nooks_binary = context.nooks_binary,
            .args = { "--config", config, "--mode", mode, "--mount", dir + "/disks", "--control", dir + "/control.sock" },
            .log_path = dir + "/kernel.log" }));
        if (context.on_step)
            context.on_step("kernel", fmt::format("nooks run --mode {} (pid {}), {} in namespace {}", mode, kernel->pid(), interface_name, names.app));
        auto stack = std::make_unique<NetEvalStack>(std::move(kernel), dir);
        TRY(wait_for_path(stack->kernel()));
        return stack;
    }

    // Frames are not requests: a lost one is retransmitted by its protocol, or
    // shows in the application's output.
    uint64_t failed_requests(nlohmann::json const&) const override { return 0; }
    std::string_view verified_how() const override { return "checked against what was sent"; }
};

} // namespace

std::unique_ptr<ClassEvaluation const> make_net_evaluation() { return std::make_unique<NetEvaluation>(); }

} // namespace nk::eval
