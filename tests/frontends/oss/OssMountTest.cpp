// SPDX-License-Identifier: MIT
// The OSS files through a real FUSE mount, against the sound layer and a
// clocked test card: names and attributes, playback that plays every byte,
// EBUSY, blocking writes paced by the card, O_NONBLOCK, a signal ending a
// blocked write, poll woken by periods, close draining, an application
// killed mid-stream, a card that dies and its replacement, capture, full
// duplex, truncation and the mixer file. Needs root and /dev/fuse.

#include "frontends/oss/OssMount.h"

#include <gtest/gtest.h>

#include <linux/soundcard.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace nk {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Closes on every path out of the test.
struct Fd {
    int fd { -1 };
    explicit Fd(int f)
        : fd(f)
    {
    }
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

int ioctl_int(int fd, unsigned long cmd, int value)
{
    if (::ioctl(fd, cmd, &value) < 0)
        return -errno;
    return value;
}

std::vector<std::byte> pattern(size_t size)
{
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = std::byte(static_cast<uint8_t>(i * 7 + i / 251));
    return bytes;
}

// 48 kHz, S16_LE, stereo: 192000 bytes a second.
void configure_cd_like(int fd)
{
    ASSERT_EQ(ioctl_int(fd, SNDCTL_DSP_SETFMT, AFMT_S16_LE), AFMT_S16_LE);
    ASSERT_EQ(ioctl_int(fd, SNDCTL_DSP_CHANNELS, 2), 2);
    ASSERT_EQ(ioctl_int(fd, SNDCTL_DSP_SPEED, 48000), 48000);
}

class OssMountTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        NK_REQUIRE_OSS_MOUNT();
        mount = std::make_unique<test::OssMount>();
        ASSERT_TRUE(mount->error().empty()) << mount->error();
    }
    void TearDown() override { mount.reset(); }

    std::string dsp() const { return mount->path("dsp"); }
    std::string mixer() const { return mount->path("mixer"); }

    std::unique_ptr<test::OssMount> mount;
};

TEST_F(OssMountTest, Files_DspAndMixer_RootOnly)
{
    for (auto const& path : { dsp(), mixer() }) {
        struct stat st { };
        ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
        EXPECT_TRUE(S_ISREG(st.st_mode));
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        EXPECT_EQ(st.st_uid, 0u);
        EXPECT_EQ(st.st_size, 0);
    }
    auto endpoints = mount->frontend().endpoints();
    ASSERT_EQ(endpoints.size(), 2u);
    EXPECT_EQ(endpoints[0], std::make_pair(std::string("sound0"), dsp()));
}

TEST_F(OssMountTest, Playback_EveryBytePlayed_CloseDrains)
{
    auto const data = pattern(96 * 1024);
    {
        Fd fd(::open(dsp().c_str(), O_WRONLY));
        ASSERT_GE(fd.fd, 0) << std::strerror(errno);
        configure_cd_like(fd.fd);
        ASSERT_EQ(::write(fd.fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    } // close: flush drains
    auto played = mount->port().take_played();
    ASSERT_GE(played.size(), data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), played.begin())) << "the card played other bytes";
}

TEST_F(OssMountTest, Busy_SecondOpenerEbusy_AndReopenAfterClose)
{
    Fd first(::open(dsp().c_str(), O_WRONLY));
    ASSERT_GE(first.fd, 0);
    EXPECT_EQ(::open(dsp().c_str(), O_WRONLY), -1);
    EXPECT_EQ(errno, EBUSY);
    // Capture is a different stream.
    Fd capture(::open(dsp().c_str(), O_RDONLY));
    EXPECT_GE(capture.fd, 0);
    ::close(first.release());
    // Release comes after close() returned: the next opener waits for it.
    for (int i = 0; i < 20; ++i) {
        Fd again(::open(dsp().c_str(), O_WRONLY));
        ASSERT_GE(again.fd, 0) << "round " << i << ": " << std::strerror(errno);
    }
}

TEST_F(OssMountTest, Blocking_WritePacedByTheCard)
{
    Fd fd(::open(dsp().c_str(), O_WRONLY));
    ASSERT_GE(fd.fd, 0);
    configure_cd_like(fd.fd);
    ASSERT_EQ(ioctl_int(fd.fd, SNDCTL_DSP_SETFRAGMENT, (4 << 16) | 12), (4 << 16) | 12); // 16 KiB ring
    auto const data = pattern(192000 / 2 + 16384); // half a second more than the ring
    auto const start = Clock::now();
    ASSERT_EQ(::write(fd.fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    auto const took = Clock::now() - start;
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 3s);
}

TEST_F(OssMountTest, NonBlocking_FillsThenEagain_AndNonblockIoctl)
{
    for (bool by_ioctl : { false, true }) {
        Fd fd(::open(dsp().c_str(), by_ioctl ? O_WRONLY : O_WRONLY | O_NONBLOCK));
        ASSERT_GE(fd.fd, 0) << std::strerror(errno);
        if (by_ioctl) {
            ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_NONBLOCK, nullptr), 0);
        }
        ASSERT_EQ(ioctl_int(fd.fd, SNDCTL_DSP_SETFRAGMENT, (4 << 16) | 12), (4 << 16) | 12);
        auto const data = pattern(1 << 20); // 8 kHz U8 mono: far more than fits
        auto const written = ::write(fd.fd, data.data(), data.size());
        ASSERT_GT(written, 0);
        EXPECT_LE(written, 5 * 4096);
        EXPECT_EQ(::write(fd.fd, data.data(), data.size()), -1);
        EXPECT_EQ(errno, EAGAIN);
        audio_buf_info info {};
        ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_GETOSPACE, &info), 0);
        EXPECT_LT(info.bytes, 4096);
        ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_RESET, nullptr), 0); // close without a drain
    }
}

TEST_F(OssMountTest, Signal_EndsABlockedWrite)
{
    struct sigaction action { };
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    struct sigaction previous { };
    ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0); // no SA_RESTART
    Fd fd(::open(dsp().c_str(), O_WRONLY));
    ASSERT_GE(fd.fd, 0);
    std::atomic<ssize_t> result { 0 };
    std::atomic<int> error { 0 };
    std::atomic<bool> done { false };
    auto const data = pattern(1 << 20); // two minutes at 8 kHz
    std::thread writer([&] {
        result = ::write(fd.fd, data.data(), data.size());
        error = errno;
        done = true;
    });
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(done.load());
    auto const start = Clock::now();
    pthread_kill(writer.native_handle(), SIGUSR1);
    bool const ended = test::wait_until(3s, [&] { return done.load(); });
    if (!ended)
        ::ioctl(fd.fd, SNDCTL_DSP_RESET, nullptr);
    writer.join();
    sigaction(SIGUSR1, &previous, nullptr);
    ASSERT_TRUE(ended) << "the write did not end on the signal";
    EXPECT_LT(Clock::now() - start, 1s);
    // What moved so far, or EINTR if nothing did.
    EXPECT_TRUE((result > 0 && result < static_cast<ssize_t>(data.size())) || (result == -1 && error == EINTR))
        << result << " " << error;
    ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_RESET, nullptr), 0);
}

TEST_F(OssMountTest, Poll_WokenWhenAPeriodFrees)
{
    Fd fd(::open(dsp().c_str(), O_WRONLY | O_NONBLOCK));
    ASSERT_GE(fd.fd, 0);
    configure_cd_like(fd.fd);
    ASSERT_EQ(ioctl_int(fd.fd, SNDCTL_DSP_SETFRAGMENT, (4 << 16) | 14), (4 << 16) | 14); // 4 x 16 KiB
    pollfd p { fd.fd, POLLOUT, 0 };
    ASSERT_EQ(::poll(&p, 1, 0), 1); // empty: writable
    auto const data = pattern(1 << 20);
    while (::write(fd.fd, data.data(), data.size()) > 0) { }
    ASSERT_EQ(errno, EAGAIN);
    p.revents = 0;
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "full, yet writable";
    auto const start = Clock::now();
    p.revents = 0;
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    EXPECT_NE(p.revents & POLLOUT, 0);
    EXPECT_LT(Clock::now() - start, 1s); // a 16 KiB period is 85 ms
    ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_RESET, nullptr), 0);
}

TEST_F(OssMountTest, KilledApplication_LeavesTheCardReady)
{
    auto const path = dsp();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int fd = ::open(path.c_str(), O_WRONLY);
        if (fd < 0)
            _exit(2);
        static char buffer[1 << 20] {};
        (void)!::write(fd, buffer, sizeof(buffer)); // blocks for two minutes
        _exit(0);
    }
    ASSERT_TRUE(test::wait_until(5s, [&] { return mount->port().starts.load() > 0; })) << "the child never played";
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    Fd fd(::open(path.c_str(), O_WRONLY));
    ASSERT_GE(fd.fd, 0) << std::strerror(errno);
    auto const data = pattern(4096);
    EXPECT_EQ(::write(fd.fd, data.data(), data.size()), 4096);
}

TEST_F(OssMountTest, DeadCard_EioThenTheReplacementAppears)
{
    Fd fd(::open(dsp().c_str(), O_WRONLY));
    ASSERT_GE(fd.fd, 0);
    Fd mix(::open(mixer().c_str(), O_RDWR));
    ASSERT_GE(mix.fd, 0);
    mount->port().halt();
    mount->card().layer().release_card(*mount->card().card());
    auto const data = pattern(4096);
    EXPECT_EQ(::write(fd.fd, data.data(), data.size()), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(ioctl_int(fd.fd, SNDCTL_DSP_SPEED, 44100), -EIO);
    EXPECT_EQ(ioctl_int(mix.fd, SOUND_MIXER_READ_VOLUME, 0), -EIO);
    pollfd p { fd.fd, POLLOUT, 0 };
    ASSERT_EQ(::poll(&p, 1, 0), 1);
    EXPECT_NE(p.revents & POLLERR, 0);
    struct stat st { };
    EXPECT_EQ(::stat(dsp().c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);

    ASSERT_TRUE(mount->card().register_again());
    Fd fresh(::open(dsp().c_str(), O_WRONLY));
    ASSERT_GE(fresh.fd, 0) << std::strerror(errno);
    EXPECT_EQ(::write(fresh.fd, data.data(), data.size()), 4096);
    // The old file stays dead.
    EXPECT_EQ(::write(fd.fd, data.data(), data.size()), -1);
    EXPECT_EQ(errno, EIO);
    ASSERT_EQ(::ioctl(fresh.fd, SNDCTL_DSP_RESET, nullptr), 0);
}

TEST_F(OssMountTest, Capture_ReadsTheCardsSamples)
{
    Fd fd(::open(dsp().c_str(), O_RDONLY));
    ASSERT_GE(fd.fd, 0);
    configure_cd_like(fd.fd);
    std::vector<uint8_t> buffer(8192);
    size_t got = 0;
    while (got < buffer.size()) {
        auto n = ::read(fd.fd, buffer.data() + got, buffer.size() - got);
        ASSERT_GT(n, 0) << std::strerror(errno);
        got += static_cast<size_t>(n);
    }
    for (size_t i = 1; i < buffer.size(); ++i)
        ASSERT_EQ(static_cast<uint8_t>(buffer[i - 1] + 1), buffer[i]) << "at " << i;
}

// A blocked read does not hold up a write on the same file (FOPEN_STREAM).
TEST_F(OssMountTest, FullDuplex_ReadAndWriteAtOnce)
{
    Fd fd(::open(dsp().c_str(), O_RDWR));
    ASSERT_GE(fd.fd, 0);
    EXPECT_NE(ioctl_int(fd.fd, SNDCTL_DSP_GETCAPS, 0) & DSP_CAP_DUPLEX, 0);
    std::atomic<bool> read_done { false };
    std::thread reader([&] {
        std::vector<char> buffer(16000); // two seconds at 8 kHz
        size_t got = 0;
        while (got < buffer.size()) {
            auto n = ::read(fd.fd, buffer.data() + got, buffer.size() - got);
            if (n <= 0)
                break;
            got += static_cast<size_t>(n);
        }
        read_done = true;
    });
    std::this_thread::sleep_for(100ms);
    auto const start = Clock::now();
    auto const data = pattern(4096);
    EXPECT_EQ(::write(fd.fd, data.data(), data.size()), 4096);
    EXPECT_LT(Clock::now() - start, 1s);
    EXPECT_FALSE(read_done.load());
    reader.join();
    ASSERT_EQ(::ioctl(fd.fd, SNDCTL_DSP_RESET, nullptr), 0);
}

TEST_F(OssMountTest, Truncate_ToZeroAccepted)
{
    Fd fd(::open(dsp().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)); // fopen("wb")
    ASSERT_GE(fd.fd, 0) << std::strerror(errno);
    EXPECT_EQ(::truncate(dsp().c_str(), 0), 0);
    EXPECT_EQ(::truncate(dsp().c_str(), 10), -1);
    EXPECT_EQ(::lseek(fd.fd, 0, SEEK_SET), -1);
}

TEST_F(OssMountTest, Mixer_ThroughTheFile)
{
    Fd fd(::open(mixer().c_str(), O_RDWR));
    ASSERT_GE(fd.fd, 0);
    mixer_info info {};
    ASSERT_EQ(::ioctl(fd.fd, SOUND_MIXER_INFO, &info), 0);
    EXPECT_STREQ(info.name, "Clocked");
    EXPECT_EQ(ioctl_int(fd.fd, SOUND_MIXER_WRITE_VOLUME, 20 | 30 << 8), 20 | 30 << 8);
    EXPECT_EQ(ioctl_int(fd.fd, SOUND_MIXER_READ_VOLUME, 0), 20 | 30 << 8);
    EXPECT_EQ(mount->card().card()->mixer_setting(NK_SND_MIXER_MASTER), NK_SND_MIXER_VALUE(20, 30));
    EXPECT_EQ(ioctl_int(fd.fd, SNDCTL_DSP_RESET, 0), -ENOTTY);
    char byte = 0;
    EXPECT_EQ(::write(fd.fd, &byte, 1), -1);
}

} // namespace
} // namespace nk
