// SPDX-License-Identifier: MIT
#include "kernel/dma/Iommu.h"

#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace nk {
namespace {

using test::eventually;

struct alignas(4096) Page {
    std::array<std::byte, 4096> bytes {};
};

// A mapping gives a device address whose pin views exactly the mapped CPU memory.
TEST(Iommu, Map_PinViewsCpuMemory)
{
    Iommu iommu;
    std::vector<std::byte> buffer(1000, std::byte { 0x5a });
    auto iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::Bidirectional);
    ASSERT_TRUE(iova.has_value()) << iova.error().message();
    EXPECT_EQ(iommu.mapping_count(), 1u);

    auto pin = iommu.pin(*iova, buffer.size(), DmaDirection::FromDevice);
    ASSERT_TRUE(pin.has_value()) << pin.error().message();
    EXPECT_EQ(pin->bytes().data(), buffer.data());
    EXPECT_EQ(pin->bytes().size(), buffer.size());
    // A device write through the pin lands in the CPU buffer.
    pin->bytes()[999] = std::byte { 0x11 };
    EXPECT_EQ(buffer[999], std::byte { 0x11 });
}

// A pin may cover any sub-range of a mapping, at the matching CPU offset.
TEST(Iommu, Pin_SubRange)
{
    Iommu iommu;
    std::vector<std::byte> buffer(8192);
    auto iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::ToDevice).value();

    auto middle = iommu.pin(iova + 100, 200, DmaDirection::ToDevice);
    ASSERT_TRUE(middle.has_value()) << middle.error().message();
    EXPECT_EQ(middle->bytes().data(), buffer.data() + 100);
    EXPECT_EQ(middle->bytes().size(), 200u);

    auto tail = iommu.pin(iova + 8191, 1, DmaDirection::ToDevice);
    ASSERT_TRUE(tail.has_value()) << tail.error().message();
    EXPECT_EQ(tail->bytes().data(), buffer.data() + 8191);
}

// Device addresses keep the alignment of the CPU memory, so aligned rings stay aligned.
TEST(Iommu, Map_KeepsAlignment)
{
    Iommu iommu;
    std::array<Page, 2> pages {};
    auto first = iommu.map(pages[0].bytes.data(), 4096, DmaDirection::ToDevice).value();
    auto second = iommu.map(pages[1].bytes.data() + 64, 128, DmaDirection::ToDevice).value();
    EXPECT_EQ(first % 4096, 0u);
    EXPECT_EQ(second % 4096, 64u);
    EXPECT_NE(first, second);
}

// An empty or null range cannot be mapped.
TEST(Iommu, Map_RejectsEmptyRange)
{
    Iommu iommu;
    std::byte byte {};
    auto null = iommu.map(nullptr, 16, DmaDirection::ToDevice);
    ASSERT_FALSE(null.has_value());
    EXPECT_EQ(null.error().code(), ErrorCode::InvalidArgument);
    auto empty = iommu.map(&byte, 0, DmaDirection::ToDevice);
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(iommu.mapping_count(), 0u);
}

// Addresses outside every mapping, or ranges running past one, are refused.
TEST(Iommu, Pin_OutsideMappingRefused)
{
    Iommu iommu;
    std::vector<std::byte> first(4096);
    std::vector<std::byte> second(4096);
    auto a = iommu.map(first.data(), first.size(), DmaDirection::Bidirectional).value();
    auto b = iommu.map(second.data(), second.size(), DmaDirection::Bidirectional).value();

    EXPECT_FALSE(iommu.pin(0, 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(a - 1, 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(a, 4097, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(a + 4000, 200, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(a + 4096, 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(a + 1, SIZE_MAX, DmaDirection::ToDevice).has_value());
    // A range spanning two mappings is not one buffer.
    EXPECT_FALSE(iommu.pin(a, static_cast<size_t>(b - a) + 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(b + 4096, 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(UINT64_MAX, 1, DmaDirection::ToDevice).has_value());

    auto refused = iommu.pin(a, 4097, DmaDirection::ToDevice);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), ErrorCode::InvalidArgument);
    // The mappings themselves still work.
    EXPECT_TRUE(iommu.pin(a, 4096, DmaDirection::ToDevice).has_value());
    EXPECT_TRUE(iommu.pin(b, 4096, DmaDirection::ToDevice).has_value());
}

// A device may only access a mapping in the direction it was mapped for.
TEST(Iommu, Pin_DirectionChecked)
{
    Iommu iommu;
    std::vector<std::byte> buffer(3 * 512);
    auto to_device = iommu.map(buffer.data(), 512, DmaDirection::ToDevice).value();
    auto from_device = iommu.map(buffer.data() + 512, 512, DmaDirection::FromDevice).value();
    auto both = iommu.map(buffer.data() + 1024, 512, DmaDirection::Bidirectional).value();

    EXPECT_TRUE(iommu.pin(to_device, 512, DmaDirection::ToDevice).has_value());
    auto write_to_readonly = iommu.pin(to_device, 512, DmaDirection::FromDevice);
    ASSERT_FALSE(write_to_readonly.has_value());
    EXPECT_EQ(write_to_readonly.error().code(), ErrorCode::PermissionDenied);
    EXPECT_FALSE(iommu.pin(to_device, 512, DmaDirection::Bidirectional).has_value());

    EXPECT_TRUE(iommu.pin(from_device, 512, DmaDirection::FromDevice).has_value());
    EXPECT_FALSE(iommu.pin(from_device, 512, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(from_device, 512, DmaDirection::Bidirectional).has_value());

    EXPECT_TRUE(iommu.pin(both, 512, DmaDirection::ToDevice).has_value());
    EXPECT_TRUE(iommu.pin(both, 512, DmaDirection::FromDevice).has_value());
    EXPECT_TRUE(iommu.pin(both, 512, DmaDirection::Bidirectional).has_value());
}

// After unmap the device address is dead, even when the memory is mapped again.
TEST(Iommu, Unmap_StaleAddressRefused)
{
    Iommu iommu;
    std::vector<std::byte> buffer(4096);
    auto old_iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::Bidirectional).value();
    ASSERT_TRUE(iommu.unmap(old_iova).has_value());
    EXPECT_EQ(iommu.mapping_count(), 0u);
    EXPECT_FALSE(iommu.pin(old_iova, 1, DmaDirection::ToDevice).has_value());

    auto new_iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::Bidirectional).value();
    EXPECT_NE(new_iova, old_iova);
    EXPECT_FALSE(iommu.pin(old_iova, 1, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(old_iova, 4096, DmaDirection::ToDevice).has_value());
    EXPECT_TRUE(iommu.pin(new_iova, 4096, DmaDirection::ToDevice).has_value());
}

// Unmapping an address that is not the start of a live mapping is NotFound.
TEST(Iommu, Unmap_UnknownAddressNotFound)
{
    Iommu iommu;
    std::vector<std::byte> buffer(4096);
    auto iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::ToDevice).value();

    auto inside = iommu.unmap(iova + 8);
    ASSERT_FALSE(inside.has_value());
    EXPECT_EQ(inside.error().code(), ErrorCode::NotFound);
    EXPECT_EQ(iommu.mapping_count(), 1u);

    ASSERT_TRUE(iommu.unmap(iova).has_value());
    auto twice = iommu.unmap(iova);
    ASSERT_FALSE(twice.has_value());
    EXPECT_EQ(twice.error().code(), ErrorCode::NotFound);
}

// mapping_count follows map and unmap.
TEST(Iommu, MappingCount_TracksMappings)
{
    Iommu iommu;
    std::vector<std::byte> buffer(4 * 512);
    std::vector<uint64_t> iovas;
    for (size_t i = 0; i < 4; ++i) {
        iovas.push_back(iommu.map(buffer.data() + i * 512, 512, DmaDirection::ToDevice).value());
        EXPECT_EQ(iommu.mapping_count(), i + 1);
    }
    // Unmapping one leaves the others reachable.
    ASSERT_TRUE(iommu.unmap(iovas[1]).has_value());
    EXPECT_EQ(iommu.mapping_count(), 3u);
    EXPECT_TRUE(iommu.pin(iovas[0], 512, DmaDirection::ToDevice).has_value());
    EXPECT_FALSE(iommu.pin(iovas[1], 512, DmaDirection::ToDevice).has_value());
    EXPECT_TRUE(iommu.pin(iovas[2], 512, DmaDirection::ToDevice).has_value());
    for (auto index : { 0, 2, 3 })
        ASSERT_TRUE(iommu.unmap(iovas[index]).has_value());
    EXPECT_EQ(iommu.mapping_count(), 0u);
}

// unmap does not return while another thread still holds a pin on the mapping.
TEST(Iommu, Unmap_WaitsForPin)
{
    Iommu iommu;
    std::vector<std::byte> buffer(4096);
    auto iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::Bidirectional).value();
    auto pin = iommu.pin(iova, 512, DmaDirection::FromDevice);
    ASSERT_TRUE(pin.has_value());

    std::atomic<bool> returned { false };
    std::atomic<bool> succeeded { false };
    std::thread unmapper([&] {
        succeeded = iommu.unmap(iova).has_value();
        returned = true;
    });
    // The mapping leaves the table first: new pins fail while the old one drains.
    EXPECT_TRUE(eventually([&] { return iommu.mapping_count() == 0; }));
    EXPECT_FALSE(iommu.pin(iova, 1, DmaDirection::FromDevice).has_value());
    EXPECT_FALSE(returned.load());

    // The transfer ends: unmap completes.
    *pin = DmaPin();
    EXPECT_TRUE(eventually([&] { return returned.load(); }));
    unmapper.join();
    EXPECT_TRUE(succeeded.load());
}

// A moved pin is released once, by its last owner.
TEST(Iommu, DmaPin_MoveTransfersOwnership)
{
    Iommu iommu;
    std::vector<std::byte> buffer(4096);
    auto iova = iommu.map(buffer.data(), buffer.size(), DmaDirection::ToDevice).value();

    std::atomic<bool> returned { false };
    std::thread unmapper;
    {
        auto first = iommu.pin(iova, 64, DmaDirection::ToDevice).value();
        DmaPin second(std::move(first));
        EXPECT_EQ(second.bytes().data(), buffer.data());
        DmaPin third;
        third = std::move(second);
        EXPECT_EQ(third.bytes().size(), 64u);

        unmapper = std::thread([&] {
            (void)iommu.unmap(iova);
            returned = true;
        });
        EXPECT_TRUE(eventually([&] { return iommu.mapping_count() == 0; }));
        // Destroying the moved-from pins must not release the pin `third` holds.
        first = DmaPin();
        second = DmaPin();
        EXPECT_FALSE(returned.load());
    }
    EXPECT_TRUE(eventually([&] { return returned.load(); }));
    unmapper.join();
}

// Direction names are printable.
TEST(Iommu, DirectionName)
{
    EXPECT_STREQ(dma_direction_name(DmaDirection::ToDevice), "to-device");
    EXPECT_STREQ(dma_direction_name(DmaDirection::FromDevice), "from-device");
    EXPECT_STREQ(dma_direction_name(DmaDirection::Bidirectional), "bidirectional");
}

} // namespace
} // namespace nk
