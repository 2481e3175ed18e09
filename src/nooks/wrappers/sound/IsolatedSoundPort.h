// SPDX-License-Identifier: MIT
#pragma once

// The sound class's port into an isolated driver: each entry point of
// <nooks/sound.h> is one crossing with its arguments struct
// (src/abi/sound/Calls.h), naming the card and the stream by the handles the
// tracker made at registration (the domain learns a stream's handle, card
// and direction from them).
//
// Registration: the card is live from its registration on (applications may
// open its streams), but the driver learns its handle only from the
// registration's reply. Until the domain says it has it (mark_ready, from
// nk_snd_card_register's deferred snd_card_ready), the process-context
// entries (open, close, hw_params, hw_free, prepare, the mixer) wait for it,
// up to ready_timeout, then Unavailable; the atomic ones (trigger, pointer,
// ack: only ever after an open) do not wait.
//
// Answers: every one is Tainted and verified: errnos in range; pointer()
// inside the ring the stream was configured with and on a frame boundary
// (0 while it has none); mixer_get() a value with both sides 0..100 or an
// errno. A bad answer fails the driver, and the call returns DriverFailed.
//
// The port remembers each stream's ring from its accepted hw_params until
// hw_free or close (ring()), so the wrappers check the positions the driver
// reports against the same ring.
//
// Entries in progress: while an entry of a card runs, the thread it runs on
// knows it (entry_running), so a wrapper can refuse nk_snd_card_unregister
// from inside the card's own entry points (it would wait for itself).
//
// Thread-safety: any kernel thread; the layer serializes the entries per
// stream (per card for the mixer).

#include "abi/sound/Calls.h"
#include "base/Mutex.h"
#include "classes/sound/SoundDriverPort.h"

#include <array>
#include <atomic>
#include <chrono>
#include <optional>

namespace nk {

class IsolatedModule;

class IsolatedSoundPort final : public SoundDriverPort {
public:
    static constexpr std::chrono::milliseconds ready_timeout { 2000 };

    IsolatedSoundPort(IsolatedModule& module, abi::SndOps functions)
        : m_module(module)
        , m_functions(functions)
    {
    }

    // The card's handle, set when the registration is tracked (before the reply).
    void set_card_handle(uint64_t handle) { m_card.store(handle, std::memory_order_release); }
    void mark_ready();

    // The name of `card`'s entry this thread is inside ("open"...), or null.
    static char const* entry_running(SoundCard const& card);

    // A stream's ring as its accepted hw_params set it.
    struct Ring {
        uint32_t buffer_bytes;
        uint32_t frame_bytes;
    };
    // Stream `direction`'s ring; none between hw_free (or close) and the next accepted hw_params.
    std::optional<Ring> ring(uint32_t direction) const;

    Result<int> open(PcmSubstream& pcm) override;
    Result<int> close(PcmSubstream& pcm) override;
    Result<int> hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params) override;
    Result<int> hw_free(PcmSubstream& pcm) override;
    Result<int> prepare(PcmSubstream& pcm) override;
    Result<int> trigger(PcmSubstream& pcm, int command) override;
    Result<uint32_t> pointer(PcmSubstream& pcm) override;
    Result<int> ack(PcmSubstream& pcm, uint32_t limit) override;
    Result<int> mixer_get(SoundCard& card, uint32_t control) override;
    Result<int> mixer_put(SoundCard& card, uint32_t control, uint32_t value) override;

private:
    // The card's handle once the driver knows it; waits for that if `wait`.
    Result<uint64_t> ready_handle(char const* operation, bool wait);
    // The arguments every stream entry starts with.
    Result<abi::SndPcmOpArgs> stream_args(PcmSubstream& pcm, abi::FunctionHandle fn, char const* operation, bool wait);
    void set_ring(uint32_t direction, std::optional<Ring> ring);

    IsolatedModule& m_module;
    abi::SndOps const m_functions;
    std::atomic<uint64_t> m_card { 0 };
    Mutex m_ready_mutex;
    ConditionVariable m_ready_changed;
    bool m_ready NK_GUARDED_BY(m_ready_mutex) { false };
    std::atomic<bool> m_ready_fast { false };
    mutable Mutex m_ring_mutex;
    std::array<std::optional<Ring>, NK_SND_STREAMS> m_rings NK_GUARDED_BY(m_ring_mutex);
};

} // namespace nk
