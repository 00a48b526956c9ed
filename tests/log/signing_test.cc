// Signed events (log/signing.h) and Verify's signature checks: a site's good
// signatures pass, any edit of a signed event or its signature is caught, an
// unsigned event from a site whose key is trusted is reported, and a signed
// event from a site with no trusted key is counted, not trusted.
#include "log/signing.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <string>
#include <vector>

#include "event.capnp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "log/verify.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::ChangeEvent;
using ::crlog::log::testing::ImportEvent;
using ::crlog::log::testing::OneRowTable;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::StatusOf;
using ::crlog::log::testing::TempDirTest;
using ::testing::HasSubstr;

constexpr Durability kNoSync = Durability::kNoSync;

SigningKey NewKey() {
  auto key = SigningKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// A chain of `count` change events of `site` (seq 1..count, each the
// parent of the next), signed with `key` from seq `signed_from` on
// (0: none signed). `edit` may change an event after it is signed.
struct Chain {
  std::vector<Event> events;
  std::vector<EncodedEvent> encoded;
};
template <typename Edit>
Chain BuildChain(const SiteId& site, int count, const SigningKey* key, uint64_t signed_from,
                 Edit edit) {
  Chain c;
  for (int i = 0; i < count; ++i) {
    uint64_t seq = static_cast<uint64_t>(i) + 1;
    std::vector<Hash> parents;
    if (i > 0) parents.push_back(c.encoded.back().hash);
    Event e = ChangeEvent(site, seq, seq, parents);
    if (key != nullptr && signed_from != 0 && seq >= signed_from) {
      EXPECT_TRUE(SignEvent(e, *key).ok());
    }
    edit(e);
    auto enc = EncodeEvent(e);
    EXPECT_TRUE(enc.ok()) << enc.status();
    c.events.push_back(e);
    c.encoded.push_back(*std::move(enc));
  }
  return c;
}
Chain BuildChain(const SiteId& site, int count, const SigningKey* key, uint64_t signed_from) {
  return BuildChain(site, count, key, signed_from, [](Event&) {});
}

TrustedKeys Trust(const SiteId& site, const SigningKey& key, uint64_t from_seq = 1) {
  return {{site, TrustedKey{key.public_key(), from_seq}}};
}

// Each test appends into a fresh log and verifies it.
class SignedLogTest : public TempDirTest {
 protected:
  absl::StatusOr<VerifyReport> AppendAndVerify(const std::vector<EncodedEvent>& events,
                                               const TrustedKeys& trusted) {
    auto store = LogStore::Open(LogPath());
    if (!store.ok()) return store.status();
    std::vector<std::string> bytes;
    for (const EncodedEvent& e : events) bytes.push_back(e.bytes);
    auto appended = (*store)->Append(bytes, kNoSync);
    if (!appended.ok()) return appended.status();
    return Verify(**store, {}, trusted);
  }
};

// --- Keys -------------------------------------------------------------------

TEST(SigningKeyTest, PemRoundTripKeepsTheKey) {
  SigningKey key = NewKey();
  std::string pem = key.ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto again = SigningKey::FromPem(pem);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->public_key(), key.public_key());
  // A signature by the reloaded key checks against the original's public key.
  Event e = ChangeEvent(Site(1), 1, 1, {});
  ASSERT_TRUE(SignEvent(e, *again).ok());
  EXPECT_TRUE(CheckSignature(e, key.public_key()).ok());
}

TEST(SigningKeyTest, TwoGeneratedKeysDiffer) {
  EXPECT_NE(NewKey().public_key(), NewKey().public_key());
}

TEST(SigningKeyTest, GarbageIsNotAKey) {
  auto key = SigningKey::FromPem("not a key");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("crlog keygen"));
}

TEST(SigningKeyTest, KeyOfAnotherAlgorithmIsRefused) {
  // An X25519 key (Diffie-Hellman, not signatures), from `openssl genpkey
  // -algorithm x25519`.
  auto key = SigningKey::FromPem(
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VuBCIEICB+gHLfJsdyNxb8gJch3+vWyEf0tXP0ybKeY04piWxq\n"
      "-----END PRIVATE KEY-----\n");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("not an Ed25519 key"));
}

TEST(SigningKeyTest, PublicKeyFromHexTakesExactlyThirtyTwoBytes) {
  SigningKey key = NewKey();
  auto parsed = PublicKeyFromHex(ToHex(key.public_key()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, key.public_key());
  EXPECT_FALSE(PublicKeyFromHex("abcd").ok());
  EXPECT_FALSE(PublicKeyFromHex(std::string(64, 'g')).ok());
}

// --- Signing one event --------------------------------------------------------

TEST(SignEventTest, SignatureChecksWithTheSignersKeyOnly) {
  SigningKey key = NewKey(), other = NewKey();
  Event e = ChangeEvent(Site(1), 1, 1, {});
  ASSERT_TRUE(SignEvent(e, key).ok());
  EXPECT_EQ(e.signature.size(), kSignatureBytes);
  EXPECT_TRUE(CheckSignature(e, key.public_key()).ok());
  absl::Status wrong = CheckSignature(e, other.public_key());
  EXPECT_EQ(wrong.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("does not match site " + ToHex(Site(1))));
}

TEST(SignEventTest, UnsignedEventIsReportedAsUnsigned) {
  absl::Status s = CheckSignature(ChangeEvent(Site(1), 1, 1, {}), NewKey().public_key());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("is unsigned"));
}

TEST(SignEventTest, AnImportIsNeverSigned) {
  Event e = ImportEvent(1);
  EXPECT_EQ(SignEvent(e, NewKey()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(e.signature.empty());
}

TEST(SignEventTest, SignedMessageIgnoresTheSignatureItself) {
  SigningKey key = NewKey();
  Event e = ChangeEvent(Site(1), 1, 1, {});
  auto unsigned_enc = EncodeEvent(e);
  ASSERT_TRUE(SignEvent(e, key).ok());
  auto signed_enc = EncodeEvent(e);
  ASSERT_TRUE(unsigned_enc.ok() && signed_enc.ok());
  auto a = SignedMessage(unsigned_enc->bytes), b = SignedMessage(signed_enc->bytes);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->substr(0, 15), "crlog event v1\n");
  EXPECT_EQ(a->substr(15), std::string(AsBytes(unsigned_enc->hash)));
}

TEST(SignEventTest, SecondEncodingOfSignedContentDoesNotCarryTheSignature) {
  // The same event content spelled differently (an explicit, ungrouped group
  // struct that EncodeEvent never writes) would have another id. DecodeEvent
  // refuses it; read as trusted bytes (no such check), the signature, which
  // is over the bytes, still does not transfer to that id.
  SigningKey key = NewKey();
  Event e = ChangeEvent(Site(1), 1, 1, {});
  ASSERT_TRUE(SignEvent(e, key).ok());
  auto enc = EncodeEvent(e);
  ASSERT_TRUE(enc.ok());
  auto words = kj::heapArray<capnp::word>(enc->bytes.size() / 8);
  std::memcpy(words.begin(), enc->bytes.data(), enc->bytes.size());
  kj::ArrayPtr<const capnp::word> segs[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segs, 1));
  capnp::MallocMessageBuilder mb;
  mb.setRoot(reader.getRoot<wire::Event>());
  mb.getRoot<wire::Event>().initGroup().setCount(1);
  auto canon = capnp::canonicalize(mb.getRoot<wire::Event>().asReader());
  std::string other(reinterpret_cast<const char*>(canon.asBytes().begin()), canon.asBytes().size());
  EXPECT_EQ(DecodeEvent(other).status().code(), absl::StatusCode::kInvalidArgument);
  auto decoded = DecodeEvent(other, DecodeLimits{SIZE_MAX, /*trusted=*/true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_NE(other, enc->bytes);
  EXPECT_EQ(CheckSignature(other, *decoded, key.public_key()).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(CheckSignature(enc->bytes, e, key.public_key()).ok());
}

// --- Verify -----------------------------------------------------------------------

TEST_F(SignedLogTest, GoodSignaturesPassAndAreCounted) {
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 3, &key, 1);
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->events, 3u);
  EXPECT_EQ(report->signed_checked, 3u);
  EXPECT_EQ(report->signed_unknown, 0u);
}

TEST_F(SignedLogTest, EditedBodyOfASignedEventIsCaught) {
  // Someone rewrites the second event's row and re-hashes it (a new id, and
  // the third event re-linked to it): every hash and link is right again,
  // only the signature can tell.
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 3, &key, 1, [](Event& e) {
    if (e.seq == 2) e.tables = {OneRowTable("forged")};
  });
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key));
  ASSERT_EQ(StatusOf(report).code(), absl::StatusCode::kDataLoss) << StatusOf(report);
  std::string message(StatusOf(report).message());
  EXPECT_THAT(message, HasSubstr(ToHex(chain.encoded[1].hash)));
  EXPECT_THAT(message, HasSubstr("seq 2"));
  EXPECT_THAT(message, HasSubstr("does not match site " + ToHex(Site(1))));
}

TEST_F(SignedLogTest, TamperedSignatureIsCaught) {
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 2, &key, 1, [](Event& e) {
    if (e.seq == 1) e.signature[10] ^= 1;
  });
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key));
  ASSERT_EQ(StatusOf(report).code(), absl::StatusCode::kDataLoss) << StatusOf(report);
  EXPECT_THAT(std::string(StatusOf(report).message()), HasSubstr(ToHex(chain.encoded[0].hash)));
}

TEST_F(SignedLogTest, EventSignedWithAnotherKeyIsCaught) {
  SigningKey key = NewKey(), impostor = NewKey();
  Chain chain = BuildChain(Site(1), 2, &impostor, 1);
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key));
  ASSERT_EQ(StatusOf(report).code(), absl::StatusCode::kDataLoss) << StatusOf(report);
  EXPECT_THAT(std::string(StatusOf(report).message()), HasSubstr("signature does not match"));
}

TEST_F(SignedLogTest, UnsignedEventFromASiteThatSignsIsReported) {
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 3, &key, 1, [](Event& e) {
    if (e.seq == 3) e.signature.clear();
  });
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key));
  ASSERT_EQ(StatusOf(report).code(), absl::StatusCode::kDataLoss) << StatusOf(report);
  std::string message(StatusOf(report).message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("event ", ToHex(chain.encoded[2].hash), " (site ",
                                              ToHex(Site(1)), ", seq 3")));
  EXPECT_THAT(message, HasSubstr("is unsigned but site " + ToHex(Site(1)) + " signs its events"));
}

TEST_F(SignedLogTest, EventsBeforeTheSiteBeganToSignMayBeUnsigned) {
  // The site signed from seq 3 on: seqs 1 and 2 are unsigned history.
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 4, &key, 3);
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key, 3));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->signed_checked, 2u);
}

TEST_F(SignedLogTest, UnsignedHistoryFailsWhenTheKeyIsTrustedFromTheStart) {
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 4, &key, 3);
  auto report = AppendAndVerify(chain.encoded, Trust(Site(1), key, 1));
  ASSERT_EQ(StatusOf(report).code(), absl::StatusCode::kDataLoss) << StatusOf(report);
  EXPECT_THAT(std::string(StatusOf(report).message()), HasSubstr("seq 1"));
}

TEST_F(SignedLogTest, SignedEventFromASiteWithNoTrustedKeyIsCountedNotFaulted) {
  SigningKey key = NewKey(), stranger = NewKey();
  Chain mine = BuildChain(Site(1), 2, &key, 1);
  Chain theirs = BuildChain(Site(2), 3, &stranger, 1);
  std::vector<EncodedEvent> all = mine.encoded;
  all.insert(all.end(), theirs.encoded.begin(), theirs.encoded.end());
  auto report = AppendAndVerify(all, Trust(Site(1), key));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->signed_checked, 2u);
  EXPECT_EQ(report->signed_unknown, 3u);
}

TEST_F(SignedLogTest, WithoutTrustedKeysSignaturesAreOnlyCounted) {
  SigningKey key = NewKey();
  Chain chain = BuildChain(Site(1), 2, &key, 1, [](Event& e) { e.signature[0] ^= 1; });
  auto report = AppendAndVerify(chain.encoded, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->signed_checked, 0u);
  EXPECT_EQ(report->signed_unknown, 2u);
}

TEST_F(SignedLogTest, UnsignedSitesAndImportsNeedNoKey) {
  SigningKey key = NewKey();
  Chain signer = BuildChain(Site(1), 1, &key, 1);
  Chain plain = BuildChain(Site(2), 2, nullptr, 0);
  std::vector<EncodedEvent> all = signer.encoded;
  all.insert(all.end(), plain.encoded.begin(), plain.encoded.end());
  auto import = EncodeEvent(ImportEvent(7));
  ASSERT_TRUE(import.ok());
  all.push_back(*import);
  auto report = AppendAndVerify(all, Trust(Site(1), key));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->events, 4u);
  EXPECT_EQ(report->signed_checked, 1u);
}

}  // namespace
}  // namespace crlog::log
