// The file blob store and the upload area on a real file system (a fresh temp dir per test).
#include <test_support.hpp>

#include <tender/crypto/digest.hpp>
#include <tender/storage/blob_store.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace fs = std::filesystem;
using tender::storage::storage_error;
using tender::storage::upload_area;

namespace {

std::string hex_of(const std::string& bytes) {
  return tender::crypto::to_hex(tender::crypto::sha256(bytes));
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return read_all(in);
}

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

class storage_fixture : public ::testing::Test {
protected:
  fs::path root_ = tender::test::make_temp_dir("blob-store");
};

}  // namespace

TEST_F(storage_fixture, put_open_size_exists_remove_list) {
  auto store = tender::storage::make_file_blob_store(root_);
  EXPECT_TRUE(store->list().empty());
  std::string bytes = "sealed bid bytes";
  bytes.push_back('\0');
  bytes += std::string(100000, 'z');
  std::istringstream in(bytes);
  const auto digest = store->put(in);
  EXPECT_EQ(digest, hex_of(bytes));
  EXPECT_TRUE(store->exists(digest));
  EXPECT_EQ(store->size(digest), bytes.size());
  // Content-addressed layout: blobs/sha256/<2 hex>/<64 hex>.
  const auto path = root_ / "blobs" / "sha256" / digest.substr(0, 2) / digest;
  EXPECT_TRUE(fs::is_regular_file(path));
  auto blob = store->open(digest);
  ASSERT_TRUE(blob);
  EXPECT_EQ(read_all(*blob), bytes);
  EXPECT_EQ(store->list(), std::vector<std::string>{digest});

  const auto absent = hex_of("nothing like it");
  EXPECT_FALSE(store->exists(absent));
  EXPECT_FALSE(store->size(absent));
  EXPECT_EQ(store->open(absent), nullptr);

  store->remove(digest);
  EXPECT_FALSE(store->exists(digest));
  EXPECT_TRUE(store->list().empty());
  EXPECT_NO_THROW(store->remove(digest));  // already gone: no error
  // Nothing left behind in staging either.
  EXPECT_EQ(count_files(root_ / "tmp"), 0u);
}

// digest_of reads the stored bytes again, so a file damaged or lost in the store is told apart
// from a file that was bad when it was stored (the hall's platform-side causes).
TEST_F(storage_fixture, digest_of_tells_a_damaged_or_lost_blob) {
  auto store = tender::storage::make_file_blob_store(root_);
  const std::string bytes(70000, 'q');
  std::istringstream in(bytes);
  const auto digest = store->put(in);
  EXPECT_EQ(store->digest_of(digest), digest);
  const auto path = root_ / "blobs" / "sha256" / digest.substr(0, 2) / digest;
  std::string damaged = bytes;
  damaged[69000] = 'r';
  write_file(path, damaged);
  EXPECT_EQ(store->digest_of(digest), hex_of(damaged));
  fs::remove(path);
  EXPECT_EQ(store->digest_of(digest), std::nullopt);
  EXPECT_THROW((void)store->digest_of("../etc"), storage_error);
}

TEST_F(storage_fixture, adopt_moves_the_file_and_is_idempotent) {
  auto store = tender::storage::make_file_blob_store(root_);
  upload_area uploads(root_);
  const std::string bytes(300000, 'q');
  const auto digest = hex_of(bytes);

  const auto staged = uploads.path_of("u-0123456789abcdef");
  write_file(staged, bytes);
  EXPECT_EQ(store->adopt(staged, digest), bytes.size());
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_EQ(store->list(), std::vector<std::string>{digest});

  // The same bytes again (a retried completion): the staged copy goes, the blob stays.
  const auto again = uploads.path_of("u-00000000000000ff");
  write_file(again, bytes);
  EXPECT_EQ(store->adopt(again, digest), bytes.size());
  EXPECT_FALSE(fs::exists(again));
  EXPECT_EQ(store->list(), std::vector<std::string>{digest});
  auto blob = store->open(digest);
  ASSERT_TRUE(blob);
  EXPECT_EQ(read_all(*blob), bytes);

  // A staged file that does not exist is an error, and the store is unchanged.
  EXPECT_THROW(store->adopt(uploads.path_of("missing"), hex_of("other")), storage_error);
  EXPECT_EQ(store->list(), std::vector<std::string>{digest});
}

TEST_F(storage_fixture, digests_are_validated_so_no_path_escapes_the_store) {
  auto store = tender::storage::make_file_blob_store(root_);
  const auto staged = root_ / "staged";
  write_file(staged, "x");
  for (const std::string& bad : std::vector<std::string>{
           "", "../../../../etc/passwd", std::string(64, 'A'), std::string(63, 'a'),
           std::string(65, 'a'), "../" + std::string(61, 'a'), std::string(62, 'a') + "/."}) {
    EXPECT_THROW(store->adopt(staged, bad), storage_error) << bad;
    EXPECT_THROW(store->exists(bad), storage_error) << bad;
    EXPECT_THROW(store->open(bad), storage_error) << bad;
    EXPECT_THROW(store->remove(bad), storage_error) << bad;
  }
  EXPECT_TRUE(fs::exists(staged));
  EXPECT_TRUE(store->list().empty());
}

TEST_F(storage_fixture, upload_ids_are_validated_so_no_path_escapes_the_area) {
  upload_area uploads(root_);
  for (const std::string& bad :
       std::vector<std::string>{"", "../escape", "a/b", "..", "a.b", std::string(65, 'a'),
                                std::string("nul\0x", 5), "space id"}) {
    EXPECT_THROW(uploads.path_of(bad), storage_error) << bad;
    EXPECT_THROW(uploads.create(bad), storage_error) << bad;
    EXPECT_THROW(uploads.append_at(bad, 0), storage_error) << bad;
    EXPECT_THROW(uploads.size(bad), storage_error) << bad;
    EXPECT_THROW(uploads.remove(bad), storage_error) << bad;
  }
  EXPECT_TRUE(uploads.list().empty());
  EXPECT_EQ(count_files(root_), 0u);
  EXPECT_EQ(uploads.path_of("u-AZaz09_-"), root_ / "uploads" / "u-AZaz09_-.part");
}

TEST_F(storage_fixture, upload_area_create_append_size_remove_list) {
  upload_area uploads(root_);
  EXPECT_EQ(uploads.directory(), root_ / "uploads");
  EXPECT_FALSE(uploads.size("u-1"));
  EXPECT_THROW(uploads.append_at("u-1", 0), storage_error);  // not created

  uploads.create("u-1");
  EXPECT_EQ(uploads.size("u-1"), 0u);
  {
    auto w = uploads.append_at("u-1", 0);
    w->write("hello ", 6);
    w->write("world", 5);
    EXPECT_EQ(w->offset(), 11u);
    EXPECT_EQ(w->sync(), 11u);
  }
  uploads.create("u-1");  // idempotent: the bytes stay
  EXPECT_EQ(uploads.size("u-1"), 11u);
  {
    auto w = uploads.append_at("u-1", 11);
    w->write("!", 1);
    EXPECT_EQ(w->sync(), 12u);
  }
  EXPECT_EQ(read_file(uploads.path_of("u-1")), "hello world!");

  uploads.create("u-2");
  EXPECT_EQ(uploads.list(), (std::vector<std::string>{"u-1", "u-2"}));
  uploads.remove("u-1");
  EXPECT_FALSE(uploads.size("u-1"));
  EXPECT_NO_THROW(uploads.remove("u-1"));
  EXPECT_EQ(uploads.list(), std::vector<std::string>{"u-2"});
}

TEST_F(storage_fixture, append_at_truncates_unacknowledged_bytes_and_refuses_a_gap) {
  upload_area uploads(root_);
  uploads.create("u-t");
  {
    auto w = uploads.append_at("u-t", 0);
    w->write("0123456789", 10);
    w->sync();
  }
  // A crashed PATCH wrote 10 bytes but only 4 were acknowledged: resume at 4.
  {
    auto w = uploads.append_at("u-t", 4);
    EXPECT_EQ(w->offset(), 4u);
    EXPECT_EQ(uploads.size("u-t"), 4u);
    w->write("abc", 3);
    EXPECT_EQ(w->sync(), 7u);
  }
  EXPECT_EQ(read_file(uploads.path_of("u-t")), "0123abc");
  // An offset beyond the file: refused, the file untouched.
  EXPECT_THROW(uploads.append_at("u-t", 8), storage_error);
  EXPECT_EQ(read_file(uploads.path_of("u-t")), "0123abc");
  // Same offset as the size: nothing truncated.
  {
    auto w = uploads.append_at("u-t", 7);
    EXPECT_EQ(w->sync(), 7u);
  }
  EXPECT_EQ(read_file(uploads.path_of("u-t")), "0123abc");
}

TEST_F(storage_fixture, a_staged_file_left_by_a_crash_is_never_a_blob) {
  {
    auto store = tender::storage::make_file_blob_store(root_);
    std::istringstream in("kept");
    store->put(in);
  }
  // What a crash between write and rename leaves: a temp file in staging, and junk with a
  // non-digest name in a shard directory (e.g. an editor's or a foreign tool's file).
  write_file(root_ / "tmp" / "12345-1-99.tmp", "half a blob");
  const auto shard = root_ / "blobs" / "sha256" / "ab";
  fs::create_directories(shard);
  write_file(shard / ("ab" + std::string(62, 'c') + ".tmp"), "junk");
  write_file(shard / ("cd" + std::string(62, 'c')), "in the wrong shard");
  // A partial upload file is not a blob either.
  upload_area uploads(root_);
  uploads.create("u-crash");

  auto store = tender::storage::make_file_blob_store(root_);  // as after a restart
  EXPECT_EQ(store->list(), std::vector<std::string>{hex_of("kept")});
  // The recent staging file is left alone (it might belong to a running writer).
  EXPECT_TRUE(fs::exists(root_ / "tmp" / "12345-1-99.tmp"));
  EXPECT_EQ(uploads.list(), std::vector<std::string>{"u-crash"});
}

TEST_F(storage_fixture, old_staging_files_are_cleared_at_start) {
  tender::storage::make_file_blob_store(root_);
  const auto stale = root_ / "tmp" / "1-1-1.tmp";
  write_file(stale, "left by a crash long ago");
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  auto store = tender::storage::make_file_blob_store(root_);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(store->list().empty());
}
