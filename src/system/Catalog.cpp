// SPDX-License-Identifier: MIT
#include "system/Catalog.h"

#include "system/block/BlockPackage.h"
#include "system/net/NetPackage.h"
#include "system/sound/SoundPackage.h"

namespace nk {

Catalog const& Catalog::builtin()
{
    // Adding a class adds its package here.
    static Catalog const catalog = [] {
        Catalog catalog;
        catalog.add(make_block_package());
        catalog.add(make_net_package());
        catalog.add(make_sound_package());
        return catalog;
    }();
    return catalog;
}

std::vector<ClassPackage const*> Catalog::packages() const
{
    std::vector<ClassPackage const*> result;
    for (auto const& package : m_packages)
        result.push_back(package.get());
    return result;
}

ClassPackage const* Catalog::package(std::string_view name) const
{
    for (auto const& package : m_packages) {
        if (package->name() == name)
            return package.get();
    }
    return nullptr;
}

DeviceKinds Catalog::device_kinds() const
{
    DeviceKinds kinds;
    for (auto const& package : m_packages) {
        auto own = package->device_kinds();
        kinds.insert(kinds.end(), own.begin(), own.end());
    }
    return kinds;
}

} // namespace nk
