// SPDX-License-Identifier: MIT
// Data integrity through driver crashes at random points, mid-request
// included: random blocks, each carrying its sequence number and checksum,
// flushes in between; afterwards every block holds the last write
// acknowledged for it, and every write acknowledged before a flush is in the
// image file itself after shutdown.

#include "ShadowFixture.h"

#include <fcntl.h>
#include <map>
#include <random>
#include <unistd.h>

namespace nk {
namespace {

constexpr size_t block_size = 4096;
constexpr uint64_t blocks = 2048; // 8 MiB of the disk

std::vector<std::byte> make_block(uint64_t block, uint64_t sequence)
{
    auto data = test::pattern(block_size, static_cast<uint32_t>(block * 7919 + sequence));
    std::memcpy(data.data(), &block, sizeof(block));
    std::memcpy(data.data() + 8, &sequence, sizeof(sequence));
    uint64_t sum = 0;
    for (size_t i = 24; i < block_size; ++i)
        sum = sum * 31 + static_cast<uint8_t>(data[i]);
    std::memcpy(data.data() + 16, &sum, sizeof(sum));
    return data;
}

class DataIntegrity : public test::ShadowFixture {
protected:
    void SetUp() override { boot({}, 300); }
};

TEST_F(DataIntegrity, RandomCrashes_EveryFlushedWriteSurvives)
{
    std::mt19937_64 random(12345);
    std::map<uint64_t, uint64_t> last_written;  // block -> sequence acknowledged
    std::map<uint64_t, uint64_t> last_flushed;  // snapshot at the last acknowledged flush
    std::atomic<bool> done { false };
    std::atomic<bool> stop { false }; // a failed assertion ends the writer early
    std::atomic<int> errors { 0 };

    std::thread writer([&] {
        std::mt19937_64 local(777);
        for (uint64_t sequence = 1; sequence <= 3000 && !stop; ++sequence) {
            auto block = local() % blocks;
            // Some writes durable at once (FUA), most not.
            if (!block_io::write(*disk, block * block_size, make_block(block, sequence), sequence % 11 == 0)) {
                errors++;
                continue;
            }
            last_written[block] = sequence;
            if (sequence % 50 == 0) {
                if (block_io::flush(*disk))
                    last_flushed = last_written;
                else
                    errors++;
            }
        }
        if (block_io::flush(*disk))
            last_flushed = last_written;
        done = true;
    });

    // Crashes at random points: on submission, in the interrupt handler (the
    // device has done the transfer, the completion is lost), on flushes.
    char const* entries[] = { "blk_queue_rq", "irq_handler", "blk_queue_rq" };
    char const* kinds[] = { "null-deref", "panic", "wild-write-own", "stack-corrupt" };
    // Joined on every path out of the test, a failed assertion included.
    test::StopAndJoin join_writer(writer, stop);
    // At most 8: the built-in policy gives up on the 10th failure within a
    // minute, and a slow machine (or a sanitizer build) gets through fewer
    // writes between crashes.
    unsigned crashes = 0;
    while (!done && crashes < 8) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + random() % 40));
        if (done)
            break;
        inject({ { "fault", kinds[random() % std::size(kinds)] }, { "entry", entries[random() % std::size(entries)] },
            { "after", 1 + random() % 20 } });
        ++crashes;
        auto target = restarts() + 1;
        // The armed fault fires on a later call; wait for it (or for the end).
        test::wait_until(std::chrono::seconds(2), [&] { return restarts() >= target || done; });
        ASSERT_TRUE(wait_restarts(std::min(target, restarts()))) << "not recovered";
    }
    writer.join();
    inject({ { "fault", "none" } });
    EXPECT_EQ(errors.load(), 0);
    EXPECT_GE(restarts(), 3u) << "too few crashes happened to mean anything";

    // Through the block layer: every block holds its last acknowledged write.
    for (auto [block, sequence] : last_written) {
        std::vector<std::byte> back(block_size);
        ASSERT_TRUE(block_io::read(*disk, block * block_size, back));
        ASSERT_EQ(back, make_block(block, sequence)) << "block " << block;
    }
    auto flushed = last_flushed;
    auto image = dir.file("disk0.img");
    disk.reset();
    system.reset(); // clean shutdown

    // In the image file, read without any nooks code: every block written
    // before the last flush holds a write at least as new as the flushed one.
    int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (auto [block, sequence] : flushed) {
        std::vector<std::byte> stored(block_size);
        ASSERT_EQ(::pread(fd, stored.data(), block_size, static_cast<off_t>(block * block_size)), static_cast<ssize_t>(block_size));
        uint64_t stored_sequence = 0;
        std::memcpy(&stored_sequence, stored.data() + 8, sizeof(stored_sequence));
        ASSERT_GE(stored_sequence, sequence) << "block " << block << " lost a flushed write";
        ASSERT_EQ(stored, make_block(block, stored_sequence)) << "block " << block << " is torn or corrupt";
    }
    ::close(fd);
}

} // namespace
} // namespace nk
