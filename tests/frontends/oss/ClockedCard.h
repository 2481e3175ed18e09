// SPDX-License-Identifier: MIT
#pragma once

// A test double of a sound driver and its card: a SoundDriverPort whose
// "card" runs on a clock thread. A running stream's position advances in
// real time at its rate (times `speed`), never past the limit the layer
// set, and period_elapsed is called at every period boundary, as a card's
// interrupt handler would. Playback data is read out of the ring (through
// the bus device's IOMMU) into `played`; capture writes a counting byte
// pattern into the ring. The mixer keeps its values.
//
// ClockedCard bundles a kernel, a module, a bus device named "sound<N>", a
// SoundLayer and the registered card.
//
// Thread-safety: the port's entry points come from the layer (any thread);
// the clock thread calls period_elapsed with the port's lock held, so no
// period is reported after a STOP trigger or hw_free returned.

#include "classes/sound/SoundLayer.h"
#include "kernel/Kernel.h"
#include "kernel/KernelTestSupport.h"
#include "kernel/bus/BusDevice.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace nk::test {

class ClockedPort final : public SoundDriverPort {
public:
    explicit ClockedPort(double speed = 1.0)
        : m_speed(speed)
    {
        m_clock = std::thread([this] { run(); });
    }
    ~ClockedPort() override
    {
        m_stop = true;
        m_clock.join();
    }

    Result<int> open(PcmSubstream& pcm) override
    {
        std::lock_guard lock(m_mutex);
        opens++;
        state(pcm) = Stream {};
        state(pcm).pcm = &pcm;
        return open_answer.load();
    }
    Result<int> close(PcmSubstream& pcm) override
    {
        std::lock_guard lock(m_mutex);
        closes++;
        state(pcm) = Stream {};
        return 0;
    }
    Result<int> hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params) override
    {
        std::lock_guard lock(m_mutex);
        state(pcm).params = params;
        state(pcm).have_params = true;
        last_params[pcm.direction()] = params;
        return 0;
    }
    Result<int> hw_free(PcmSubstream& pcm) override
    {
        std::lock_guard lock(m_mutex);
        state(pcm).have_params = false;
        state(pcm).running = false;
        return 0;
    }
    Result<int> prepare(PcmSubstream& pcm) override
    {
        std::lock_guard lock(m_mutex);
        auto& s = state(pcm);
        s.position = 0;
        s.limit = 0;
        s.credit = 0;
        return 0;
    }
    Result<int> trigger(PcmSubstream& pcm, int command) override
    {
        std::lock_guard lock(m_mutex);
        auto& s = state(pcm);
        s.running = command == NK_SND_TRIGGER_START;
        s.last_tick = std::chrono::steady_clock::now();
        s.credit = 0;
        if (s.running)
            starts++;
        return 0;
    }
    Result<uint32_t> pointer(PcmSubstream& pcm) override
    {
        std::lock_guard lock(m_mutex);
        return state(pcm).position;
    }
    Result<int> ack(PcmSubstream& pcm, uint32_t limit) override
    {
        std::lock_guard lock(m_mutex);
        state(pcm).limit = limit;
        return 0;
    }
    Result<int> mixer_get(SoundCard&, uint32_t control) override
    {
        std::lock_guard lock(m_mutex);
        return control < NK_SND_MIXER_CONTROLS ? static_cast<int>(mixer[control]) : -EINVAL;
    }
    Result<int> mixer_put(SoundCard&, uint32_t control, uint32_t value) override
    {
        std::lock_guard lock(m_mutex);
        if (control >= NK_SND_MIXER_CONTROLS)
            return -EINVAL;
        mixer[control] = value;
        return 0;
    }

    // The "driver" died: its card stops at once (no more periods).
    void halt()
    {
        std::lock_guard lock(m_mutex);
        for (auto& s : m_streams)
            s.running = false;
    }

    std::vector<std::byte> take_played()
    {
        std::lock_guard lock(m_mutex);
        return std::exchange(played, {});
    }
    size_t played_bytes()
    {
        std::lock_guard lock(m_mutex);
        return played.size();
    }
    nk_snd_pcm_params params_of(uint32_t direction)
    {
        std::lock_guard lock(m_mutex);
        return last_params[direction];
    }

    std::atomic<int> open_answer { 0 };
    std::atomic<int> opens { 0 };
    std::atomic<int> closes { 0 };
    std::atomic<int> starts { 0 };
    std::atomic<uint64_t> captured { 0 };

private:
    struct Stream {
        PcmSubstream* pcm { nullptr };
        nk_snd_pcm_params params {};
        bool have_params { false };
        bool running { false };
        uint32_t position { 0 };
        uint32_t limit { 0 };
        double credit { 0 }; // bytes the clock allowed that did not make a frame yet
        std::chrono::steady_clock::time_point last_tick {};
        uint8_t pattern { 0 };
    };

    Stream& state(PcmSubstream& pcm) { return m_streams[pcm.direction()]; }

    void run()
    {
        while (!m_stop) {
            std::this_thread::sleep_for(std::chrono::microseconds(500));
            std::lock_guard lock(m_mutex);
            for (auto& s : m_streams)
                if (s.running && s.have_params && s.pcm != nullptr)
                    tick(s);
        }
    }

    void tick(Stream& s)
    {
        auto const now = std::chrono::steady_clock::now();
        double const seconds = std::chrono::duration<double>(now - s.last_tick).count();
        s.last_tick = now;
        uint32_t const frame = (s.params.format == NK_SND_FMT_S16_LE ? 2u : 1u) * s.params.channels;
        uint32_t const ring = s.params.buffer_bytes;
        s.credit += seconds * s.params.rate * frame * m_speed;
        // Room up to the limit (limit == position: nothing to play / no room).
        uint32_t const room = (s.limit + ring - s.position) % ring;
        auto step = static_cast<uint32_t>(s.credit) / frame * frame;
        if (step > room) {
            step = room / frame * frame;
            s.credit = 0; // the card plays silence (drops input) while starved
        } else {
            s.credit -= step;
        }
        while (step > 0) {
            uint32_t const to_period_end = s.params.period_bytes - s.position % s.params.period_bytes;
            uint32_t const chunk = std::min(step, to_period_end);
            transfer(s, s.position, chunk);
            s.position = (s.position + chunk) % ring;
            step -= chunk;
            if (s.position % s.params.period_bytes == 0)
                s.pcm->period_elapsed(s.position);
        }
    }

    void transfer(Stream& s, uint32_t offset, uint32_t length)
    {
        auto* device = s.pcm->card().bus_device();
        if (device == nullptr)
            return;
        bool const playback = s.pcm->playback();
        auto pin = device->iommu().pin(s.params.dma_addr + offset, length, playback ? DmaDirection::ToDevice : DmaDirection::FromDevice);
        if (!pin)
            return;
        auto bytes = pin->bytes();
        if (playback) {
            played.insert(played.end(), bytes.begin(), bytes.end());
        } else {
            for (auto& b : bytes)
                b = std::byte(s.pattern++);
            captured += length;
        }
    }

    double const m_speed;
    std::mutex m_mutex;
    std::array<Stream, NK_SND_STREAMS> m_streams {};
    std::array<nk_snd_pcm_params, NK_SND_STREAMS> last_params {};
    std::vector<std::byte> played;
    std::array<uint32_t, NK_SND_MIXER_CONTROLS> mixer { NK_SND_MIXER_VALUE(75, 75), NK_SND_MIXER_VALUE(75, 75), NK_SND_MIXER_VALUE(50, 50) };
    std::atomic<bool> m_stop { false };
    std::thread m_clock;
};

// What the test card can do: both streams, every control, 8-48 kHz.
inline nk_snd_card_params clocked_card_params(uint32_t streams = 3, uint32_t controls = 7)
{
    nk_snd_card_params params {};
    std::strcpy(params.name, "Clocked");
    params.streams = streams;
    params.mixer_controls = controls;
    for (auto& hw : params.hw)
        hw = { NK_SND_FMT_U8 | NK_SND_FMT_S16_LE, 1, 2, 8000, 48000, 1u << 20, 64, 256u << 10 };
    return params;
}

// A kernel, a bus device, the sound layer and one registered card on a ClockedPort.
class ClockedCard {
public:
    explicit ClockedCard(std::string name = "sound0", nk_snd_card_params params = clocked_card_params(), double speed = 1.0)
    {
        auto port = std::make_unique<ClockedPort>(speed);
        m_port = port.get();
        m_device = std::make_unique<BusDevice>(std::make_unique<NullHardware>(std::move(name), 3), m_kernel->irqs(), nullptr);
        auto card = m_layer.register_card(m_module, m_device.get(), params, std::move(port), nullptr);
        if (card)
            m_card = *card;
    }
    ~ClockedCard()
    {
        if (m_card && m_card->alive())
            (void)m_layer.unregister_card(*m_card);
    }

    SoundLayer& layer() { return m_layer; }
    std::shared_ptr<SoundCard> const& card() const { return m_card; }
    ClockedPort& port() { return *m_port; }
    Kernel& kernel() { return *m_kernel; }
    Module& module() { return m_module; }

    // Registers another card on a new bus device (a "restarted driver").
    std::shared_ptr<SoundCard> register_again(std::string name = "sound0", double speed = 1.0)
    {
        auto port = std::make_unique<ClockedPort>(speed);
        m_port = port.get();
        m_extra.push_back(std::make_unique<BusDevice>(std::make_unique<NullHardware>(std::move(name), 3), m_kernel->irqs(), nullptr));
        auto card = m_layer.register_card(m_module, m_extra.back().get(), clocked_card_params(), std::move(port), nullptr);
        if (!card)
            return nullptr;
        m_card = *card;
        return m_card;
    }

private:
    // The layer (which keeps every card and its port) goes before the bus devices.
    std::unique_ptr<Kernel> m_kernel { Kernel::create({}).value() };
    TestModule m_module { *m_kernel };
    std::unique_ptr<BusDevice> m_device;
    std::vector<std::unique_ptr<BusDevice>> m_extra;
    SoundLayer m_layer;
    ClockedPort* m_port { nullptr };
    std::shared_ptr<SoundCard> m_card;
};

} // namespace nk::test
