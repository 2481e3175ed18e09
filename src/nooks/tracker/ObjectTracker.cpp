// SPDX-License-Identifier: MIT
#include "nooks/tracker/ObjectTracker.h"

#include "base/Clock.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>

namespace nk {

// Top byte of every handle: a non-canonical address on x86-64.
static constexpr uint64_t handle_tag = 0x7eull << 56;

namespace {

std::array<std::atomic<char const*>, 256>& class_type_names()
{
    static std::array<std::atomic<char const*>, 256> names {};
    return names;
}

} // namespace

void name_object_type(ObjectType type, char const* name) { class_type_names()[static_cast<uint8_t>(type)].store(name, std::memory_order_release); }

char const* object_type_name(ObjectType type)
{
    switch (type) {
    case ObjectType::Device: return "device";
    case ObjectType::BusDriver: return "bus-driver";
    case ObjectType::RegisterWindow: return "register-window";
    case ObjectType::DmaBuffer: return "dma-buffer";
    case ObjectType::Irq: return "irq";
    case ObjectType::Timer: return "timer";
    case ObjectType::Work: return "work";
    case ObjectType::Lock: return "lock";
    case ObjectType::Memory: return "memory";
    }
    auto const* name = class_type_names()[static_cast<uint8_t>(type)].load(std::memory_order_acquire);
    return name != nullptr ? name : "?";
}

char const* lifetime_name(Lifetime lifetime)
{
    switch (lifetime) {
    case Lifetime::Call: return "call";
    case Lifetime::Explicit: return "explicit";
    case Lifetime::ByMeaning: return "by-meaning";
    }
    return "?";
}

uint64_t ObjectTracker::make_handle(ObjectType type, uint16_t generation, uint32_t index)
{
    return handle_tag | (uint64_t(type) << 48) | (uint64_t(generation) << 32) | index;
}

uint64_t ObjectTracker::add(TrackedObject object, std::function<void()> release)
{
    MutexLocker lock(m_mutex);
    uint32_t index = 0;
    if (!m_free.empty()) {
        index = m_free.back();
        m_free.pop_back();
    } else {
        index = static_cast<uint32_t>(m_slots.size());
        m_slots.emplace_back();
    }
    auto& slot = m_slots[index];
    slot.generation++;
    slot.live = true;
    slot.order = ++m_order;
    slot.release = std::move(release);
    object.handle = make_handle(object.type, slot.generation, index);
    object.created_ns = monotonic_ns();
    slot.object = std::move(object);
    ++m_live;
    return slot.object.handle;
}

Result<TrackedRef> ObjectTracker::lookup(uint64_t handle, ObjectType type, char const* function, char const* parameter) const
{
    if ((handle & (0xffull << 56)) != handle_tag)
        return make_error(ErrorCode::InvalidArgument, "{}: {}: {:#x} is not a kernel object handle", function, parameter, handle);
    auto index = static_cast<uint32_t>(handle & 0xffff'ffffu);
    auto generation = static_cast<uint16_t>((handle >> 32) & 0xffff);
    auto handle_type = static_cast<ObjectType>((handle >> 48) & 0xff);
    MutexLocker lock(m_mutex);
    if (index >= m_slots.size())
        return make_error(ErrorCode::InvalidArgument, "{}: {}: {:#x} names no object this driver holds", function, parameter, handle);
    auto const& slot = m_slots[index];
    if (!slot.live || slot.generation != generation)
        return make_error(ErrorCode::InvalidArgument, "{}: {}: {:#x} is a {} this driver already released (use after free)",
            function, parameter, handle, object_type_name(handle_type));
    if (slot.object.type != type)
        return make_error(ErrorCode::InvalidArgument, "{}: {}: {:#x} is a {}, not a {}", function, parameter, handle,
            object_type_name(slot.object.type), object_type_name(type));
    return TrackedRef { slot.object.object, slot.object.key };
}

std::optional<TrackedObject> ObjectTracker::find_by_key(ObjectType type, uint64_t key) const
{
    MutexLocker lock(m_mutex);
    for (auto const& slot : m_slots) {
        if (slot.live && slot.object.type == type && slot.object.key == key)
            return slot.object;
    }
    return std::nullopt;
}

std::optional<uint64_t> ObjectTracker::handle_of(ObjectType type, void const* object) const
{
    MutexLocker lock(m_mutex);
    for (auto const& slot : m_slots) {
        if (slot.live && slot.object.type == type && slot.object.object == object)
            return slot.object.handle;
    }
    return std::nullopt;
}

Result<void> ObjectTracker::remove(uint64_t handle)
{
    auto index = static_cast<uint32_t>(handle & 0xffff'ffffu);
    auto generation = static_cast<uint16_t>((handle >> 32) & 0xffff);
    MutexLocker lock(m_mutex);
    if ((handle & (0xffull << 56)) != handle_tag || index >= m_slots.size() || !m_slots[index].live
        || m_slots[index].generation != generation)
        return make_error(ErrorCode::NotFound, "tracker: {:#x} is not tracked", handle);
    auto& slot = m_slots[index];
    slot.live = false;
    slot.release = nullptr;
    slot.object = {};
    m_free.push_back(index);
    --m_live;
    return {};
}

void ObjectTracker::release_all()
{
    for (;;) {
        std::function<void()> release;
        {
            MutexLocker lock(m_mutex);
            Slot* newest = nullptr;
            for (auto& slot : m_slots) {
                if (slot.live && (newest == nullptr || slot.order > newest->order))
                    newest = &slot;
            }
            if (newest == nullptr)
                return;
            release = std::move(newest->release);
            newest->live = false;
            newest->release = nullptr;
            newest->object = {};
            m_free.push_back(static_cast<uint32_t>(newest - m_slots.data()));
            --m_live;
        }
        if (release)
            release();
    }
}

std::vector<TrackedObject> ObjectTracker::list() const
{
    std::vector<std::pair<uint64_t, TrackedObject>> ordered;
    {
        MutexLocker lock(m_mutex);
        for (auto const& slot : m_slots) {
            if (slot.live)
                ordered.emplace_back(slot.order, slot.object);
        }
    }
    std::ranges::sort(ordered, {}, &std::pair<uint64_t, TrackedObject>::first);
    std::vector<TrackedObject> result;
    for (auto& [order, object] : ordered)
        result.push_back(std::move(object));
    return result;
}

size_t ObjectTracker::count() const
{
    MutexLocker lock(m_mutex);
    return m_live;
}

} // namespace nk
