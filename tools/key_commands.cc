// `crlog keygen --out FILE` and `crlog trust DB SITE KEY`: making a site's
// signing key, and telling a database to trust a site's public key
// (docs/architecture.md, "Signing and trust"). The private key never leaves
// the file keygen writes; only the public key is printed and passed around.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crlog/ids.h"
#include "crlog/keys.h"
#include "tools/commands.h"

namespace crlog::tools {
namespace {

absl::Status ErrnoError(int err, const std::string& doing) {
  return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kInternal,
                      absl::StrCat(doing, ": ", std::strerror(err)));
}

// Writes `pem` to a new file readable by its owner only.
absl::Status WriteKeyFile(const std::string& path, const std::string& pem) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          "'", path, "' already exists: crlog keygen never overwrites a key (a site that loses its "
          "key cannot sign as itself again); choose another file"));
    }
    return ErrnoError(errno, absl::StrCat("creating '", path, "'"));
  }
  size_t done = 0;
  int err = 0;
  while (done < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(path.c_str());
    return ErrnoError(err, absl::StrCat("writing '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunKeygen(const KeygenOptions& options, const Io& io) {
  auto key = GenerateSigningKey();
  if (!key.ok()) return key.status();
  if (absl::Status s = WriteKeyFile(options.out, key->private_key_pem); !s.ok()) return s;
  io.out << key->public_key_hex << "\n";
  io.out.flush();
  return absl::OkStatus();
}

absl::Status RunTrust(const TrustOptions& options, const Io& io) {
  auto site = SiteIdFromHex(options.site);
  if (!site.ok()) return site.status();
  auto trusted = TrustSiteKey(options.path, *site, options.public_key, options.signs_from_seq, options.replace);
  if (!trusted.ok()) return trusted.status();
  io.out << "trusted: site " << ToHex(trusted->site) << " signs with key " << trusted->public_key_hex
         << " from seq " << trusted->signs_from_seq << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
