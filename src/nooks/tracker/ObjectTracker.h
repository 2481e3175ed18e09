// SPDX-License-Identifier: MIT
#pragma once

// The object tracker: every kernel object an isolated driver holds.
//
// A driver never sees a kernel address. It holds handles the tracker issued:
// 64-bit values whose top byte makes them non-canonical addresses (using one
// as a pointer faults), with the object's type and a generation that changes
// when the object is released, so a stale handle (a freed object) is told
// apart from a live one. Every wrapper looks a handle up with the type it
// expects; anything else is a rejected parameter that names the function and
// the argument.
//
// Each object records its lifetime rule (one call; explicit allocate/free; by
// meaning, e.g. a device while it is bound) and how to release it when the
// driver fails. Release runs newest first, as unwinding would.
//
// Thread-safety: all methods may be called from any kernel thread. Release
// functions are called without the tracker lock held.

#include "abi/Interface.h"
#include "base/Error.h"
#include "base/Mutex.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nk {

// The core types; a class's own types come from class_object_type() and are
// named by the class (name_object_type) when its wrappers are made.
enum class ObjectType : uint8_t {
    Device = 1,
    BusDriver,
    RegisterWindow,
    DmaBuffer,
    Irq,
    Timer,
    Work,
    Lock,   // listed from the domain's lock table
    Memory, // listed from the domain's heap counters
};

// Type `index` (0..7) of class `id` (a block disk, a net device...).
constexpr ObjectType class_object_type(abi::ClassId id, unsigned index) { return static_cast<ObjectType>(32 + 8 * static_cast<unsigned>(id) + index); }
// Gives a class's type its name (for messages and `nooks ctl objects`). Any thread.
void name_object_type(ObjectType type, char const* name);

enum class Lifetime : uint8_t {
    Call,      // valid for one call
    Explicit,  // from an allocate call until its free call
    ByMeaning, // as long as what it means lasts (a bound device, an armed timer)
};

char const* object_type_name(ObjectType type);
char const* lifetime_name(Lifetime lifetime);

struct TrackedObject {
    uint64_t handle { 0 };
    ObjectType type {};
    Lifetime lifetime {};
    void* object { nullptr };  // the kernel's object (never shown to the driver)
    uint64_t key { 0 };        // a type-specific lookup key (irq number, dma address, driver struct address)
    uint64_t address { 0 };    // the driver memory it covers, if any (a DMA buffer's CPU address)
    uint64_t length { 0 };
    std::string description;   // for `nooks ctl objects`
    uint64_t created_ns { 0 };
};

// What a wrapper gets from a lookup: no copies of descriptions on the hot path.
struct TrackedRef {
    void* object { nullptr };
    uint64_t key { 0 };
};

class ObjectTracker {
public:
    ObjectTracker() = default;
    ObjectTracker(ObjectTracker const&) = delete;
    ObjectTracker& operator=(ObjectTracker const&) = delete;

    // Tracks `object` (its handle and creation time are filled in); `release`
    // undoes it on the driver's failure. Returns the handle.
    uint64_t add(TrackedObject object, std::function<void()> release);

    // The live object `handle` names, if it has type `type`. The error names
    // `function` and `parameter` and says what was wrong (not a handle, stale,
    // wrong type).
    Result<TrackedRef> lookup(uint64_t handle, ObjectType type, char const* function, char const* parameter) const;
    // The live object of `type` with `key`.
    std::optional<TrackedObject> find_by_key(ObjectType type, uint64_t key) const;
    // The handle of the live object of `type` whose kernel object is `object`.
    std::optional<uint64_t> handle_of(ObjectType type, void const* object) const;

    // Forgets an object (its explicit free or the end of its meaning) without releasing it.
    Result<void> remove(uint64_t handle);

    // Releases every object, newest first, and forgets them all.
    void release_all();

    std::vector<TrackedObject> list() const;
    size_t count() const;

private:
    struct Slot {
        TrackedObject object;
        std::function<void()> release;
        uint16_t generation { 0 };
        bool live { false };
        uint64_t order { 0 };
    };

    static uint64_t make_handle(ObjectType type, uint16_t generation, uint32_t index);

    mutable Mutex m_mutex;
    std::vector<Slot> m_slots NK_GUARDED_BY(m_mutex);
    std::vector<uint32_t> m_free NK_GUARDED_BY(m_mutex);
    uint64_t m_order NK_GUARDED_BY(m_mutex) { 0 };
    size_t m_live NK_GUARDED_BY(m_mutex) { 0 };
};

} // namespace nk
