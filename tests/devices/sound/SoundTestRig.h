// SPDX-License-Identifier: MIT
#pragma once

// An NKSND card driven register by register the way a driver would, without
// the bus: rings in page-aligned memory mapped into its IOMMU, a real event
// loop for its clocks, and an interrupt sink that either records the vector
// or runs a handler (on the loop thread, as the kernel's would).

#include "devices/DeviceTestSupport.h"
#include "devices/sound/SoundDevice.h"
#include "kernel/events/EventLoop.h"
#include "support/TestSupport.h"

#include <hw/nksnd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nk::test {

using namespace std::chrono_literals;

// Records every vector and, if a handler is set, runs it (no card lock is
// held: it may read and write registers).
class HandlerSink final : public InterruptSink {
public:
    void raise(uint32_t vector) override
    {
        std::shared_ptr<std::function<void()>> handler;
        {
            std::scoped_lock lock(m_mutex);
            m_count++;
            handler = m_handler;
            m_in_handler += handler ? 1 : 0;
        }
        if (!handler)
            return;
        (*handler)();
        std::scoped_lock lock(m_mutex);
        if (--m_in_handler == 0)
            m_idle.notify_all();
    }
    // Replaces the handler; returns once a call of the old one under way has
    // returned, so what it captured may go. Not from the handler itself.
    void set_handler(std::function<void()> handler)
    {
        std::unique_lock lock(m_mutex);
        m_handler = handler ? std::make_shared<std::function<void()>>(std::move(handler)) : nullptr;
        m_idle.wait(lock, [&] { return m_in_handler == 0; });
    }
    uint64_t count() const
    {
        std::scoped_lock lock(m_mutex);
        return m_count;
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_idle;
    uint64_t m_count { 0 };
    unsigned m_in_handler { 0 };
    std::shared_ptr<std::function<void()>> m_handler;
};

struct StreamSetup {
    uint32_t format { NKSND_FMT_S16_LE };
    uint32_t channels { 2 };
    uint32_t rate { 48000 };
    uint32_t buf_bytes { 4096 };
    uint32_t period_bytes { 1024 };
    uint32_t limit { 0 };
    uint32_t enable { 0 };
};

class SoundFixture : public ::testing::Test {
protected:
    // A card with a speaker file in the test's directory and `microphone` as its source.
    void make_card(std::string const& microphone = "sine:440", bool with_loop = true)
    {
        if (with_loop) {
            auto loop = EventLoop::create();
            ASSERT_TRUE(loop.has_value()) << loop.error().message();
            m_loop = std::move(*loop);
        }
        auto card = SoundDevice::create({ .name = "sound0", .speaker = speaker_path(), .microphone = microphone });
        ASSERT_TRUE(card.has_value()) << card.error().message();
        m_card = std::move(*card);
        m_card->connect(m_sink, m_iommu, m_loop.get());
    }
    void SetUp() override { make_card(); }
    void TearDown() override
    {
        m_sink.set_handler(nullptr);
        m_card.reset(); // before the memory its rings are in
    }

    std::string speaker_path() const { return m_dir.file("speaker.wav"); }

    // --- Registers ---------------------------------------------------------

    uint32_t read32(uint32_t offset) { return static_cast<uint32_t>(m_card->read_register(0, offset, 4)); }
    void write32(uint32_t offset, uint32_t value) { m_card->write_register(0, offset, 4, value); }
    uint32_t sread(uint32_t stream, uint32_t reg) { return read32(NKSND_STREAM_BASE(stream) + reg); }
    void swrite(uint32_t stream, uint32_t reg, uint32_t value) { write32(NKSND_STREAM_BASE(stream) + reg, value); }
    void unmute_all()
    {
        write32(NKSND_REG_MIX_MASTER, NKSND_MIX_VALUE(100, 100));
        write32(NKSND_REG_MIX_PCM, NKSND_MIX_VALUE(100, 100));
        write32(NKSND_REG_MIX_CAPTURE, NKSND_MIX_VALUE(100, 100));
    }

    // --- Rings -------------------------------------------------------------

    // Maps a fresh ring of `bytes` for `stream` (playback: device-readable;
    // capture: device-writable).
    MappedBuffer& map_ring(uint32_t stream, uint32_t bytes)
    {
        auto& ring = m_rings[stream];
        unmap_ring(stream);
        ring.buffer = std::make_unique<DmaBuffer>(bytes);
        ring.iova = m_iommu.map(ring.buffer->data(), bytes, stream == NKSND_STREAM_PLAYBACK ? DmaDirection::ToDevice : DmaDirection::FromDevice)
                        .value();
        m_mapped[stream] = true;
        return ring;
    }
    void unmap_ring(uint32_t stream)
    {
        if (m_mapped[stream]) {
            EXPECT_TRUE(m_iommu.unmap(m_rings[stream].iova).has_value());
        }
        m_mapped[stream] = false;
    }
    std::byte* ring_data(uint32_t stream) { return m_rings[stream].buffer->data(); }

    // Resets the stream and programs `setup` (mapping a ring of its size), without RUN.
    void program(uint32_t stream, StreamSetup const& setup)
    {
        auto& ring = map_ring(stream, setup.buf_bytes);
        swrite(stream, NKSND_SREG_CTRL, NKSND_CTRL_RESET);
        swrite(stream, NKSND_SREG_FORMAT, NKSND_FORMAT(setup.format, setup.channels));
        swrite(stream, NKSND_SREG_RATE, setup.rate);
        swrite(stream, NKSND_SREG_BUF_ADDR_LO, static_cast<uint32_t>(ring.iova));
        swrite(stream, NKSND_SREG_BUF_ADDR_HI, static_cast<uint32_t>(ring.iova >> 32));
        swrite(stream, NKSND_SREG_BUF_BYTES, setup.buf_bytes);
        swrite(stream, NKSND_SREG_PERIOD_BYTES, setup.period_bytes);
        swrite(stream, NKSND_SREG_LIMIT, setup.limit);
        swrite(stream, NKSND_SREG_INT_ENABLE, setup.enable);
    }
    void run(uint32_t stream) { swrite(stream, NKSND_SREG_CTRL, NKSND_CTRL_RUN); }
    void stop(uint32_t stream) { swrite(stream, NKSND_SREG_CTRL, 0); }
    bool wait_status(uint32_t stream, uint32_t bits, std::chrono::milliseconds timeout = 10s)
    {
        return wait_until(timeout, [&] { return (sread(stream, NKSND_SREG_INT_STATUS) & bits) == bits; });
    }

    // --- What came out -----------------------------------------------------

    // The speaker's WAV: its header fields and its samples (S16 stereo interleaved).
    struct Wav {
        uint32_t rate { 0 };
        uint16_t channels { 0 };
        uint16_t bits { 0 };
        uint32_t data_bytes { 0 };
        std::vector<int16_t> samples;
    };
    Wav read_speaker()
    {
        Wav wav;
        std::ifstream file(speaker_path(), std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        if (bytes.size() < 44) {
            ADD_FAILURE() << "speaker file has " << bytes.size() << " bytes";
            return wav;
        }
        auto u16 = [&](size_t at) { return uint16_t(uint8_t(bytes[at]) | (uint8_t(bytes[at + 1]) << 8)); };
        auto u32 = [&](size_t at) { return uint32_t(u16(at)) | (uint32_t(u16(at + 2)) << 16); };
        EXPECT_EQ(std::string(bytes.data(), 4), "RIFF");
        EXPECT_EQ(std::string(bytes.data() + 8, 8), "WAVEfmt ");
        EXPECT_EQ(std::string(bytes.data() + 36, 4), "data");
        EXPECT_EQ(u32(4), bytes.size() - 8);
        wav.channels = u16(22);
        wav.rate = u32(24);
        wav.bits = u16(34);
        wav.data_bytes = u32(40);
        EXPECT_EQ(wav.data_bytes, bytes.size() - 44);
        wav.samples.resize((bytes.size() - 44) / 2);
        for (size_t i = 0; i < wav.samples.size(); ++i)
            wav.samples[i] = static_cast<int16_t>(u16(44 + 2 * i));
        return wav;
    }
    std::vector<nlohmann::json> read_events()
    {
        std::vector<nlohmann::json> events;
        std::ifstream file(m_card->events_path());
        for (std::string line; std::getline(file, line);) {
            auto event = nlohmann::json::parse(line, nullptr, false);
            EXPECT_FALSE(event.is_discarded()) << line;
            events.push_back(event);
        }
        return events;
    }
    static std::vector<nlohmann::json> named(std::vector<nlohmann::json> const& events, std::string const& name)
    {
        std::vector<nlohmann::json> found;
        for (auto const& event : events)
            if (event.value("event", "") == name)
                found.push_back(event);
        return found;
    }

    TempDir m_dir { "nooks-sound" };
    HandlerSink m_sink;
    Iommu m_iommu;
    std::unique_ptr<EventLoop> m_loop;
    std::unique_ptr<SoundDevice> m_card;
    MappedBuffer m_rings[2];
    bool m_mapped[2] { false, false };
};

// A WAV file of PCM `samples` (interleaved, `bits` 8 or 16).
inline void write_wav(std::string const& path, uint16_t channels, uint32_t rate, uint16_t bits, std::vector<int> const& samples)
{
    std::vector<unsigned char> out;
    auto put16 = [&](uint32_t v) { out.push_back(v & 0xff); out.push_back((v >> 8) & 0xff); };
    auto put32 = [&](uint32_t v) { put16(v & 0xffff); put16(v >> 16); };
    uint32_t data = static_cast<uint32_t>(samples.size() * (bits / 8));
    out.insert(out.end(), { 'R', 'I', 'F', 'F' });
    put32(36 + data);
    out.insert(out.end(), { 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ' });
    put32(16);
    put16(1);
    put16(channels);
    put32(rate);
    put32(rate * channels * bits / 8);
    put16(channels * bits / 8);
    put16(bits);
    out.insert(out.end(), { 'd', 'a', 't', 'a' });
    put32(data);
    for (int s : samples) {
        if (bits == 8)
            out.push_back(static_cast<unsigned char>(s));
        else
            put16(static_cast<uint16_t>(static_cast<int16_t>(s)));
    }
    std::FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fwrite(out.data(), 1, out.size(), file);
    std::fclose(file);
}

} // namespace nk::test
