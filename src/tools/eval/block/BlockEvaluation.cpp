// SPDX-License-Identifier: MIT
// The block class's rows: a compiler, an encoder and a database on ext4, on a
// loop device, on the nkdisk driver.

#include "harness/Command.h"
#include "harness/Ext4Stack.h"
#include "tools/eval/ClassEvaluation.h"

#include <filesystem>
#include <mutex>

namespace nk::eval {

namespace {

class Ext4EvalStack final : public EvalStack {
public:
    explicit Ext4EvalStack(std::unique_ptr<harness::Ext4Stack> stack)
        : m_stack(std::move(stack))
    {
    }
    harness::KernelProcess& kernel() override { return m_stack->kernel(); }
    std::string control() const override { return m_stack->control(); }
    Result<std::string> workspace(std::string const& app) override
    {
        auto dir = m_stack->ext4() + "/" + app;
        std::error_code error;
        std::filesystem::create_directories(dir, error);
        if (error)
            return make_error(ErrorCode::IoError, "{}: {}", dir, error.message());
        return dir;
    }
    Result<void> reread() override { return m_stack->remount(true); }
    Result<std::string> check() override
    {
        TRY(m_stack->unmount_ext4());
        TRY(harness::run_checked({ "e2fsck", "-f", "-n", m_stack->loop()->path() }));
        return std::string("file system clean");
    }
    Result<void> stop() override
    {
        TRY(m_stack->stop_kernel());
        if (auto how = m_stack->kernel().exit_description(); how != "exit 0")
            return make_error(ErrorCode::Internal, "the kernel did not exit cleanly ({})", how);
        return {};
    }

private:
    std::unique_ptr<harness::Ext4Stack> m_stack;
};

constexpr unsigned encoder_seconds = 30;

// An application's job is done when its output is on the disk: it ends with a
// sync of its file system (sqlite3 syncs every commit by itself).
Result<harness::WorkloadReport> synced(Result<harness::WorkloadReport> result, std::string const& dir)
{
    if (result)
        TRY(harness::run_checked({ "sync", "-f", dir }));
    return result;
}

constexpr harness::SqliteOptions database { .transactions = 300, .rows = 20 };

// The reference encode, made once (by the first encoder that needs it).
class Reference {
public:
    explicit Reference(std::string work_dir)
        : m_work_dir(std::move(work_dir))
    {
    }
    Result<std::string> path()
    {
        std::call_once(m_once, [&] { m_path = harness::make_encoder_reference(m_work_dir, encoder_seconds); });
        return m_path;
    }

private:
    std::string m_work_dir;
    std::once_flag m_once;
    Result<std::string> m_path { std::string() };
};

class BlockEvaluation final : public ClassEvaluation {
public:
    std::string_view name() const override { return "block"; }
    std::string_view driver() const override { return "nkdisk"; }
    std::vector<std::string> stack_programs() const override { return { "mkfs.ext4", "e2fsck" }; }

    // Crashes in submission and in the interrupt handler, a hang, a corrupted heap.
    std::vector<FaultStep> fault_schedule() const override
    {
        return { { "null-deref", "blk_queue_rq" }, { "panic", "irq_handler" }, { "wild-write-own", "irq_handler" }, { "hang", "blk_queue_rq" },
            { "stack-corrupt", "blk_queue_rq" }, { "bad-param", "irq_handler" } };
    }

    Result<std::vector<Application>> applications(std::string const& work_dir) const override
    {
        // The encoder's expected output: the same input encoded outside nooks,
        // made the first time an encoder runs.
        auto reference = std::make_shared<Reference>(work_dir);
        return std::vector<Application> {
            { "compiler", "compiler (make+gcc)", { "make", "gcc" }, [](std::string const& dir) { return synced(harness::run_build(dir), dir); },
                [](std::string const& dir) { return harness::verify_build(dir); } },
            { "encoder", "encoder (flac)", { "flac" },
                [reference](std::string const& dir) -> Result<harness::WorkloadReport> {
                    auto path = TRY(reference->path());
                    return synced(harness::run_encoder(dir, path, encoder_seconds), dir);
                },
                [reference](std::string const& dir) -> Result<harness::WorkloadReport> {
                    auto encoded = TRY(harness::checksum_file(dir + "/music.flac"));
                    auto expected = TRY(harness::checksum_file(TRY(reference->path())));
                    if (encoded != expected)
                        return make_error(ErrorCode::IoError, "music.flac read back differs from the reference encode");
                    return harness::WorkloadReport { "music.flac read back identical", 0 };
                } },
            { "database", "database (sqlite3)", { "sqlite3" }, [](std::string const& dir) { return harness::run_sqlite(dir, database); },
                [](std::string const& dir) { return harness::verify_sqlite(dir, database); } },
        };
    }

    Result<std::unique_ptr<EvalStack>> build(EvalContext const& context, std::string const& mode, std::string const& dir) const override
    {
        // A hung driver is declared failed after 1 s here (3 s by default), and no agent is asked.
        auto stack = TRY(harness::Ext4Stack::create({ .nooks_binary = context.nooks_binary, .mode = mode, .dir = dir,
            .disk_size = context.device_size, .config_extra = "[isolation]\nlivelock_ms = 1000\nagent = \"\"\n", .on_step = context.on_step }));
        return std::make_unique<Ext4EvalStack>(std::move(stack));
    }

    uint64_t failed_requests(nlohmann::json const& list) const override
    {
        return list.value("/classes/block/failed_requests_total"_json_pointer, uint64_t(0));
    }
};

} // namespace

std::unique_ptr<ClassEvaluation const> make_block_evaluation() { return std::make_unique<BlockEvaluation>(); }

} // namespace nk::eval
