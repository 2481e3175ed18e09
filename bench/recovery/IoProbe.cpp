// SPDX-License-Identifier: MIT
#include "recovery/IoProbe.h"

#include "base/Clock.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace nk::bench {

namespace {
constexpr size_t block_size = 4096;
}

Result<std::unique_ptr<IoProbe>> IoProbe::start(std::string const& path, uint64_t span_bytes, unsigned threads)
{
    if (threads == 0 || span_bytes < block_size)
        return make_error(ErrorCode::InvalidArgument, "io probe: needs a thread and at least one block");
    std::unique_ptr<IoProbe> probe(new IoProbe());
    // Fail here, not silently in the threads, if the file cannot be opened.
    int fd = ::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        return errno_error(fmt::format("io probe: open {}", path));
    ::close(fd);
    probe->m_path = path;
    probe->m_span_blocks = span_bytes / block_size;
    probe->m_logs.resize(threads);
    for (unsigned i = 0; i < threads; ++i)
        probe->m_threads.emplace_back([raw = probe.get(), i] { raw->run(i); });
    return probe;
}

IoProbe::~IoProbe() { stop(); }

void IoProbe::stop()
{
    m_stop.store(true);
    for (auto& thread : m_threads) {
        if (thread.joinable())
            thread.join();
    }
}

void IoProbe::run(unsigned index)
{
    void* raw = nullptr;
    if (::posix_memalign(&raw, block_size, block_size) != 0)
        return;
    auto* buffer = static_cast<char*>(raw);
    std::memset(buffer, static_cast<int>(0x40 + index), block_size);
    std::mt19937_64 random(0x5eed + index);
    auto& log = m_logs[index];
    log.reserve(1 << 20);
    int fd = -1;
    for (uint64_t n = 0; !m_stop.load(std::memory_order_relaxed); ++n) {
        if (fd < 0) {
            fd = ::open(m_path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
            if (fd < 0) {
                // The disk is not back yet: an operation that failed, then a short pause.
                log.push_back({ .start_ns = monotonic_ns(), .end_ns = monotonic_ns(), .error = errno });
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                continue;
            }
        }
        auto offset = static_cast<off_t>((random() % m_span_blocks) * block_size);
        IoOperation op { .start_ns = monotonic_ns(), .write = (n % 2) == 0 };
        auto done = op.write ? ::pwrite(fd, buffer, block_size, offset) : ::pread(fd, buffer, block_size, offset);
        op.end_ns = monotonic_ns();
        op.error = done == static_cast<ssize_t>(block_size) ? 0 : (done < 0 ? errno : EIO);
        log.push_back(op);
        m_completed.fetch_add(1, std::memory_order_relaxed);
        if (op.error != 0) {
            ::close(fd);
            fd = -1;
            m_reopens.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (fd >= 0)
        ::close(fd);
    std::free(raw);
}

std::vector<IoOperation> IoProbe::operations() const
{
    std::vector<IoOperation> all;
    for (auto const& log : m_logs)
        all.insert(all.end(), log.begin(), log.end());
    std::ranges::sort(all, {}, &IoOperation::start_ns);
    return all;
}

} // namespace nk::bench
