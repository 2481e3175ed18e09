// SPDX-License-Identifier: MIT
#include "devices/nic/Ethernet.h"

#include "base/Log.h"
#include "base/Mutex.h"

#include <algorithm>
#include <vector>

namespace nk {

// The segment's state, shared with its ports so that a port destroyed after
// the segment (or during a send) never touches freed memory.
//
// A send snapshots the stations under the lock and delivers without it; a
// detach waits until no send is delivering, so that receive() is never called
// on a detached station. Sends from several threads deliver concurrently.
class EthernetSegment::Hub {
public:
    struct Station {
        EthernetStation* station;
        std::string label;
        uint64_t id;
    };

    uint64_t attach(EthernetStation& station, std::string label)
    {
        MutexLocker lock(m_mutex);
        auto id = ++m_next_id;
        m_stations.push_back({ &station, std::move(label), id });
        return id;
    }

    void detach(uint64_t id)
    {
        MutexLocker lock(m_mutex);
        std::erase_if(m_stations, [&](Station const& s) { return s.id == id; });
        // Deliveries in progress may still call it: wait for them.
        m_idle.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_delivering == 0; });
    }

    void send(uint64_t from, std::span<std::byte const> frame)
    {
        std::vector<EthernetStation*> targets;
        {
            MutexLocker lock(m_mutex);
            m_stats.frames++;
            if (frame.size() < EthernetSegment::min_frame || frame.size() > EthernetSegment::max_frame) {
                m_stats.bad_frames++;
                return;
            }
            for (auto const& station : m_stations) {
                if (station.id != from)
                    targets.push_back(station.station);
            }
            m_stats.deliveries += targets.size();
            ++m_delivering;
        }
        for (auto* station : targets)
            station->receive(frame);
        {
            MutexLocker lock(m_mutex);
            --m_delivering;
        }
        m_idle.notify_all();
    }

    EthernetSegmentStats stats() const
    {
        MutexLocker lock(m_mutex);
        return m_stats;
    }

private:
    mutable Mutex m_mutex;
    ConditionVariable m_idle;
    std::vector<Station> m_stations NK_GUARDED_BY(m_mutex);
    uint64_t m_next_id NK_GUARDED_BY(m_mutex) { 0 };
    unsigned m_delivering NK_GUARDED_BY(m_mutex) { 0 };
    EthernetSegmentStats m_stats NK_GUARDED_BY(m_mutex);
};

namespace {

class HubPort final : public EthernetPort {
public:
    HubPort(std::shared_ptr<EthernetSegment::Hub> hub, uint64_t id)
        : m_hub(std::move(hub))
        , m_id(id)
    {
    }
    ~HubPort() override { m_hub->detach(m_id); }

    void send(std::span<std::byte const> frame) override { m_hub->send(m_id, frame); }

private:
    std::shared_ptr<EthernetSegment::Hub> m_hub;
    uint64_t m_id;
};

} // namespace

EthernetSegment::EthernetSegment(std::string name)
    : m_name(std::move(name))
    , m_hub(std::make_shared<Hub>())
{
}

EthernetSegment::~EthernetSegment() = default;

std::unique_ptr<EthernetPort> EthernetSegment::attach(EthernetStation& station, std::string label)
{
    log::get("devices")->debug("{}: {} attached", m_name, label);
    return std::make_unique<HubPort>(m_hub, m_hub->attach(station, std::move(label)));
}

EthernetSegmentStats EthernetSegment::stats() const { return m_hub->stats(); }

} // namespace nk
