// `crlog verify PATH`: runs Log::Verify over the whole log and reports what
// it checked, or the first fault. Given a database file, it also checks the
// database's anchor in the log and that every replicated table equals the
// fold of the log (crlog::VerifyDatabase). Progress goes to stderr, and
// only when stderr is a terminal and the log is large; scripts see a quiet
// command.
#include <filesystem>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crlog/history.h"
#include "crlog/log.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"

namespace crlog::tools {

namespace {

void PrintLogSummary(const VerifyReport& report, const Io& io) {
  io.out << "verified: " << report.events << (report.events == 1 ? " event, " : " events, ")
         << report.ops << (report.ops == 1 ? " op, " : " ops, ") << report.sites
         << (report.sites == 1 ? " site, " : " sites, ") << report.bytes
         << (report.bytes == 1 ? " byte" : " bytes");
}

// Shown only for logs that hold signed events: most logs have none.
void PrintSignatures(const VerifyReport& report, const Io& io) {
  if (report.signed_checked == 0 && report.signed_unknown == 0) return;
  io.out << "; signatures: " << report.signed_checked << " good from trusted keys";
  if (report.signed_unknown > 0) {
    io.out << ", " << report.signed_unknown << " from sites with no trusted key (not checked)";
  }
}

absl::Status VerifyDatabaseFile(const VerifyOptions& options, const Io& io) {
  absl::StatusOr<DatabaseReport> report;
  {
    // Two passes, two lines: the log's checks, then the replay they are
    // compared with (the longer one).
    ProgressLine checking(io.err, io.err_is_terminal, "verifying the log");
    ProgressLine folding(io.err, io.err_is_terminal, "replaying the log");
    report = VerifyDatabase(
        options.path, [&checking](uint64_t done, uint64_t total) { checking.Update(done, total); },
        [&](uint64_t done, uint64_t total) {
          checking.Clear();
          folding.Update(done, total);
        });
  }
  if (!report.ok()) {
    if (report.status().code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(absl::StrCat(
          "the database '", options.path, "' failed verification: ", report.status().message(),
          "\nKeep a copy for inspection and do not sync from it until the cause is known."));
    }
    return report.status();
  }
  PrintLogSummary(report->log, io);
  io.out << "; " << report->tables << (report->tables == 1 ? " table, " : " tables, ") << report->rows
         << (report->rows == 1 ? " row" : " rows") << " equal to the fold of the log";
  PrintSignatures(report->log, io);
  io.out << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace

absl::Status RunVerify(const VerifyOptions& options, const Io& io) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(options.path, ec)) return VerifyDatabaseFile(options, io);
  absl::StatusOr<std::unique_ptr<Log>> store = Log::OpenReadOnly(options.path);
  if (!store.ok()) return store.status();

  absl::StatusOr<VerifyReport> report;
  {
    ProgressLine progress(io.err, io.err_is_terminal, "verifying");
    report = (*store)->Verify([&progress](uint64_t done, uint64_t total) {
      progress.Update(done, total);
    });
  }  // the progress line is erased before anything else is printed
  if (!report.ok()) {
    if (report.status().code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(absl::StrCat(
          "the log '", (*store)->path(), "' failed verification: ", report.status().message(),
          "\nIts history has been altered or damaged. Keep a copy for inspection, do not sync "
          "from it, and restore the log from a backup or a peer."));
    }
    return absl::Status(report.status().code(), absl::StrCat("verifying the log '", (*store)->path(),
                                                             "' failed: ", report.status().message()));
  }
  PrintLogSummary(*report, io);
  PrintSignatures(*report, io);
  io.out << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
