// SPDX-License-Identifier: MIT
#include "nooks/runtime/net/NetLocal.h"

#include "base/Mutex.h"

#include <map>

namespace nk::runtime {

namespace {

struct Records {
    Mutex mutex;
    std::map<uint64_t, LocalNetdev*> netdevs NK_GUARDED_BY(mutex);
    std::map<uint64_t, uint64_t> napis NK_GUARDED_BY(mutex); // napi -> its net device
};

Records& records()
{
    static Records* const instance = new Records; // never destroyed: workers may run during exit
    return *instance;
}

} // namespace

LocalNetdev* LocalNetdev::of(uint64_t dev)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    auto it = r.netdevs.find(dev);
    return it != r.netdevs.end() ? it->second : nullptr;
}

void LocalNetdev::add(uint64_t dev, LocalNetdev* record)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.netdevs[dev] = record;
}

LocalNetdev* LocalNetdev::remove(uint64_t dev)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    auto it = r.netdevs.find(dev);
    if (it == r.netdevs.end())
        return nullptr;
    auto* record = it->second;
    r.netdevs.erase(it);
    return record;
}

uint64_t napi_device(uint64_t napi)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    auto it = r.napis.find(napi);
    return it != r.napis.end() ? it->second : 0;
}

void add_napi(uint64_t napi, uint64_t dev)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.napis[napi] = dev;
}

void remove_napi(uint64_t napi)
{
    auto& r = records();
    MutexLocker lock(r.mutex);
    r.napis.erase(napi);
}

} // namespace nk::runtime
