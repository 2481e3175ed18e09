// SPDX-License-Identifier: MIT
#pragma once

// A protection domain backend: where an isolated driver's code runs and how
// its memory is protected. The wrappers, XPC and the object tracker only use
// this interface and DomainMemory, so another backend (e.g. in-process
// protection keys on CPUs with PKU) fits in without touching them.
//
// Lifecycle: start() once; the domain then serves calls until it ends, either
// by itself (a crash, a forbidden call: the backend reports how through
// `on_end`) or by terminate(). A domain never restarts; recovery makes a new one.

#include "base/Error.h"
#include "nooks/domain/Layout.h"
#include "nooks/domain/DomainMemory.h"

#include <functional>
#include <string>

namespace nk {

struct DomainEnd {
    bool by_signal { false };
    int status { 0 };          // exit status, or the signal number
    abi::FaultRecord fault {}; // what the domain recorded before it ended (untrusted)
    bool fault_recorded { false };
    bool terminated { false }; // the kernel ended it (terminate())
};

class ProtectionDomain {
public:
    virtual ~ProtectionDomain() = default;

    virtual char const* backend() const = 0;
    virtual DomainMemory& memory() = 0;

    // Starts the domain and loads `driver_path` in it. Returns when the driver
    // is loaded and the domain waits for calls, or with the reason it did not get there.
    virtual Result<void> start(std::string const& driver_path) = 0;
    // Ends the domain now. Idempotent; on_end still fires once.
    virtual void terminate() = 0;
    // Waits until the domain has ended and on_end has returned.
    virtual void wait_end() = 0;
    virtual bool alive() const = 0;
    virtual int pid() const = 0;

    // Called once when the domain has ended, from a backend thread.
    void set_end_callback(std::function<void(DomainEnd const&)> callback) { m_on_end = std::move(callback); }

protected:
    void report_end(DomainEnd const& end)
    {
        if (m_on_end)
            m_on_end(end);
    }

private:
    std::function<void(DomainEnd const&)> m_on_end;
};

} // namespace nk
