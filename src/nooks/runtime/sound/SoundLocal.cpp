// SPDX-License-Identifier: MIT
#include "nooks/runtime/sound/SoundLocal.h"

#include "base/Mutex.h"

#include <map>

namespace nk::runtime {

namespace {

struct Records {
    Mutex mutex;
    std::map<uint64_t, LocalSoundCard> cards NK_GUARDED_BY(mutex);
    std::map<uint64_t, LocalPcm> pcms NK_GUARDED_BY(mutex);
};

Records& records()
{
    static Records* const instance = new Records; // never destroyed: workers may run during exit
    return *instance;
}

} // namespace

std::optional<void*> sound_card_private(uint64_t card)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    auto it = r.cards.find(card);
    if (it == r.cards.end())
        return std::nullopt;
    return it->second.private_data;
}

void add_sound_card(uint64_t card, void* private_data)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.cards[card] = LocalSoundCard { private_data };
}

void remove_sound_card(uint64_t card)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.cards.erase(card);
    std::erase_if(r.pcms, [card](auto const& entry) { return entry.second.card == card; });
}

std::optional<LocalPcm> sound_pcm(uint64_t pcm)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    auto it = r.pcms.find(pcm);
    if (it == r.pcms.end())
        return std::nullopt;
    return it->second;
}

void learn_sound_pcm(uint64_t pcm, LocalPcm record)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.pcms[pcm] = record;
}

void forget_sound_pcm(uint64_t pcm)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.pcms.erase(pcm);
}

} // namespace nk::runtime
