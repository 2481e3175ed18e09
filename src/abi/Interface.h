// SPDX-License-Identifier: MIT
#pragma once

// The interface description of the kernel/driver boundary: every crossing of
// every class, in one list per class and direction (src/abi/<class>/Calls.h),
// joined here into the ids both sides use. Everything else is generated from
// the lists: the ids, the names in rejection messages and statistics, each
// crossing's arguments type and delivery, the kernel's dispatch to each
// class's wrapper bodies and the domain's dispatch to each class's entry
// thunks. The build fails until a crossing has its wrapper body (kernel side,
// src/nooks/wrappers/<class>) and its stub or thunk (domain side,
// src/nooks/runtime/<class>).
//
// Adding a class: write src/abi/<class>/Calls.h with its two lists and add
// the class to the three lists below. Nothing else in this layer changes.
//
// Functions of <nooks/kernel.h> that are in no list run inside the domain
// without crossing (memory allocation, locks, time).

#include "abi/block/Calls.h"
#include "abi/core/Calls.h"
#include "abi/net/Calls.h"
#include "abi/sound/Calls.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

// X(class): the classes, core first.
#define NOOKS_CLASSES(X) X(core) X(block) X(net) X(sound)
// X(class, name, delivery, Args): driver -> kernel.
#define NOOKS_KERNEL_CALLS(X) NOOKS_CORE_KERNEL_CALLS(X) NOOKS_BLOCK_KERNEL_CALLS(X) NOOKS_NET_KERNEL_CALLS(X) NOOKS_SOUND_KERNEL_CALLS(X)
// X(class, name, Args): kernel -> driver.
#define NOOKS_DRIVER_ENTRIES(X) NOOKS_CORE_DRIVER_ENTRIES(X) NOOKS_BLOCK_DRIVER_ENTRIES(X) NOOKS_NET_DRIVER_ENTRIES(X) NOOKS_SOUND_DRIVER_ENTRIES(X)

namespace nk::abi {

enum class Delivery : uint8_t { Sync, Deferred };

enum class ClassId : uint8_t {
#define NK_X(cls) cls,
    NOOKS_CLASSES(NK_X)
#undef NK_X
        Count
};

enum class KernelCall : uint16_t {
#define NK_X(cls, name, delivery, Args) name,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
        Count
};

enum class DriverEntry : uint16_t {
#define NK_X(cls, name, Args) name,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
        Count
};

constexpr unsigned class_count = static_cast<unsigned>(ClassId::Count);
constexpr unsigned kernel_call_count = static_cast<unsigned>(KernelCall::Count);
constexpr unsigned driver_entry_count = static_cast<unsigned>(DriverEntry::Count);

// The bytes of a deferred call's arguments carried in the domain's queue.
constexpr size_t deferred_args_capacity = 40;

// Bytes an arguments struct occupies on the wire (an empty one: none).
template<typename Args>
constexpr size_t wire_size = std::is_empty_v<Args> ? 0 : sizeof(Args);

// What may cross: plain bytes with no padding (nothing of the sender's memory
// leaks through holes, and both sides read the same fields).
template<typename Args>
constexpr bool crossable
    = std::is_trivially_copyable_v<Args> && std::is_standard_layout_v<Args> && (std::is_empty_v<Args> || std::has_unique_object_representations_v<Args>);

template<KernelCall>
struct KernelCallTraits;
template<DriverEntry>
struct DriverEntryTraits;

#define NK_X(cls, call_name, call_delivery, ArgsType)                                                         \
    template<>                                                                                                \
    struct KernelCallTraits<KernelCall::call_name> {                                                          \
        using Args = ArgsType;                                                                                \
        static constexpr ClassId class_id = ClassId::cls;                                                     \
        static constexpr Delivery delivery = Delivery::call_delivery;                                         \
    };                                                                                                        \
    static_assert(crossable<ArgsType>, "nk_" #call_name ": arguments must be plain bytes without padding");    \
    static_assert(Delivery::call_delivery == Delivery::Sync || wire_size<ArgsType> <= deferred_args_capacity, \
        "nk_" #call_name ": arguments of a deferred call must fit its queue entry");
NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X

#define NK_X(cls, entry_name, ArgsType)                                                                 \
    template<>                                                                                          \
    struct DriverEntryTraits<DriverEntry::entry_name> {                                                 \
        using Args = ArgsType;                                                                          \
        static constexpr ClassId class_id = ClassId::cls;                                               \
    };                                                                                                  \
    static_assert(crossable<ArgsType>, #entry_name ": arguments must be plain bytes without padding");
NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X

constexpr char const* class_names[] = {
#define NK_X(cls) #cls,
    NOOKS_CLASSES(NK_X)
#undef NK_X
};

constexpr char const* kernel_call_names[] = {
#define NK_X(cls, name, delivery, Args) "nk_" #name,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr char const* driver_entry_names[] = {
#define NK_X(cls, name, Args) #name,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
};

constexpr Delivery kernel_call_delivery[] = {
#define NK_X(cls, name, delivery, Args) Delivery::delivery,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr ClassId kernel_call_class[] = {
#define NK_X(cls, name, delivery, Args) ClassId::cls,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr ClassId driver_entry_class[] = {
#define NK_X(cls, name, Args) ClassId::cls,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
};

constexpr size_t kernel_call_args_size[] = {
#define NK_X(cls, name, delivery, Args) wire_size<Args>,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr size_t driver_entry_args_size[] = {
#define NK_X(cls, name, Args) wire_size<Args>,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
};

constexpr bool valid(KernelCall call) { return static_cast<unsigned>(call) < kernel_call_count; }
constexpr bool valid(DriverEntry entry) { return static_cast<unsigned>(entry) < driver_entry_count; }

constexpr char const* name_of(ClassId id) { return static_cast<unsigned>(id) < class_count ? class_names[static_cast<unsigned>(id)] : "?"; }
constexpr char const* name_of(KernelCall call) { return valid(call) ? kernel_call_names[static_cast<unsigned>(call)] : "nk_?"; }
constexpr char const* name_of(DriverEntry entry) { return valid(entry) ? driver_entry_names[static_cast<unsigned>(entry)] : "?"; }
// The following take ids already known to be valid.
constexpr Delivery delivery_of(KernelCall call) { return kernel_call_delivery[static_cast<unsigned>(call)]; }
constexpr ClassId class_of(KernelCall call) { return kernel_call_class[static_cast<unsigned>(call)]; }
constexpr ClassId class_of(DriverEntry entry) { return driver_entry_class[static_cast<unsigned>(entry)]; }
constexpr size_t args_size_of(KernelCall call) { return kernel_call_args_size[static_cast<unsigned>(call)]; }
constexpr size_t args_size_of(DriverEntry entry) { return driver_entry_args_size[static_cast<unsigned>(entry)]; }

} // namespace nk::abi
