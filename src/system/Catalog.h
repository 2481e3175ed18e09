// SPDX-License-Identifier: MIT
#pragma once

// The driver classes a machine can be built from: one package per class
// (system/ClassPackage.h). The builtin catalog holds every class this program
// was built with; tests add packages of their own (test devices).
//
// Thread-safety: immutable once built; any thread.

#include "system/ClassPackage.h"

#include <memory>
#include <vector>

namespace nk {

class Catalog {
public:
    // Every class this program has: block.
    static Catalog const& builtin();

    Catalog() = default;
    Catalog(Catalog&&) = default;
    void add(std::shared_ptr<ClassPackage const> package) { m_packages.push_back(std::move(package)); }

    std::vector<ClassPackage const*> packages() const;
    ClassPackage const* package(std::string_view name) const;
    // Every package's kinds of device, in catalog order.
    DeviceKinds device_kinds() const;

private:
    std::vector<std::shared_ptr<ClassPackage const>> m_packages;
};

} // namespace nk
