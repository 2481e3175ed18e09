// SPDX-License-Identifier: MIT
#include "system/test/TestPackage.h"

#include "devices/aux/AuxDevice.h"
#include "devices/aux/TickDevice.h"
#include "frontends/Frontend.h"
#include "kernel/class/DriverClass.h"
#include "shadow/ClassShadow.h"

namespace nk {

namespace {

// Test devices have no class layer, no shadow and no frontend of their own.
class TestPackage final : public ClassPackage {
public:
    std::string_view name() const override { return "test"; }
    DeviceKinds device_kinds() const override { return { &m_aux, &m_tick }; }
    Result<std::unique_ptr<DriverClass>> create_class(Config const&) const override { return std::unique_ptr<DriverClass> {}; }
    Result<std::unique_ptr<ClassShadow>> create_shadow(DriverClass&, RecoveryManager&) const override { return std::unique_ptr<ClassShadow> {}; }
    Result<std::unique_ptr<Frontend>> create_frontend(DriverClass&, Config const&) const override { return std::unique_ptr<Frontend> {}; }
    nlohmann::json status(DriverClass const&) const override { return nlohmann::json::object(); }

private:
    AuxKind m_aux;
    TickKind m_tick;
};

} // namespace

std::shared_ptr<ClassPackage const> make_test_package() { return std::make_shared<TestPackage>(); }

Catalog const& test_catalog()
{
    static Catalog const catalog = [] {
        Catalog catalog;
        for (auto const* package : Catalog::builtin().packages())
            catalog.add(std::shared_ptr<ClassPackage const>(std::shared_ptr<ClassPackage const> {}, package));
        catalog.add(make_test_package());
        return catalog;
    }();
    return catalog;
}

} // namespace nk
