// SPDX-License-Identifier: MIT
#pragma once

// A real OSS frontend mount for tests: a clocked test card (ClockedCard.h)
// behind an OssFrontend mounted on a fresh directory (/tmp/nooks-oss-XXXXXX/mnt,
// unique per fixture), unmounted on every path out of the test, before the
// directory is removed.

#include "frontends/oss/ClockedCard.h"
#include "frontends/oss/OssFrontend.h"
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace nk::test {

// Polls `condition` (every 2 ms) until it holds or `timeout` passes.
bool wait_until(std::chrono::milliseconds timeout, std::function<bool()> const& condition);

// Why a mount test cannot run here (not root, no /dev/fuse), or empty.
std::string oss_mount_unavailable();

#define NK_REQUIRE_OSS_MOUNT()                                                       \
    do {                                                                             \
        if (auto reason = ::nk::test::oss_mount_unavailable(); !reason.empty())      \
            GTEST_SKIP() << reason;                                                  \
    } while (0)

class OssMount {
public:
    explicit OssMount(double speed = 1.0);
    ~OssMount();
    OssMount(OssMount const&) = delete;
    OssMount& operator=(OssMount const&) = delete;

    // Empty if mounted, else why not.
    std::string const& error() const { return m_error; }
    std::string path(std::string const& file) const { return m_mountpoint + "/" + file; }
    std::string const& mountpoint() const { return m_mountpoint; }
    // The fixture's own directory (the mount point's parent), for scratch files.
    std::string file(std::string const& name) const { return m_dir + "/" + name; }
    ClockedCard& card() { return m_card; }
    ClockedPort& port() { return m_card.port(); }
    OssFrontend& frontend() { return *m_frontend; }

private:
    std::string m_dir; // /tmp/nooks-oss-XXXXXX, removed last
    std::string m_mountpoint;
    ClockedCard m_card;
    std::unique_ptr<OssFrontend> m_frontend;
    std::string m_error;
};

} // namespace nk::test
