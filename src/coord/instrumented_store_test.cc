#include "coord/instrumented_store.h"

#include <gtest/gtest.h>

#include "coord/embedded/embedded_store.h"
#include "metrics/testing/exposition.h"

namespace forest::coord {
namespace {

using metrics::testing::ParseExposition;

TEST(InstrumentedStoreTest, CountsCallsErrorsAndLatencyByOperation) {
  metrics::Registry registry;
  InstrumentedStore store(EmbeddedStore::Open({}).value(), &registry);
  ASSERT_TRUE(store.Put({"/a", "1"}).ok());
  ASSERT_TRUE(store.Put({"/b", "2"}).ok());
  ASSERT_TRUE(store.Range(RangeRequest::Single("/a")).ok());
  // A lease that does not exist: NotFound.
  EXPECT_FALSE(store.RevokeLease(12345).ok());
  TxnRequest txn;
  txn.compare.push_back(Compare::Absent("/c"));
  txn.success.push_back(PutRequest{"/c", "3"});
  ASSERT_TRUE(store.Txn(txn).value().succeeded);
  WatchRequest watch;
  watch.key = "/";
  watch.range_end = PrefixEnd("/");
  auto handle = store.Watch(watch, [](WatchUpdate) {});
  ASSERT_TRUE(handle.ok());

  auto e = ParseExposition(registry.Render());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "put"}}), 2);
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "range"}}), 1);
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "txn"}}), 1);
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "revoke_lease"}}), 1);
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "watch"}}), 1);
  EXPECT_EQ(e->Value("forest_coord_requests_total", {{"op", "compact"}}), 0);
  EXPECT_EQ(e->Value("forest_coord_errors_total", {{"op", "revoke_lease"}, {"code", "not_found"}}),
            1);
  EXPECT_EQ(e->Sum("forest_coord_errors_total"), 1);
  EXPECT_EQ(e->Value("forest_coord_request_duration_seconds_count", {{"op", "put"}}), 2);
  // It forwards: the inner store has the keys.
  EXPECT_EQ(store.inner().Range(RangeRequest::Single("/c")).value().kvs.size(), 1u);
}

TEST(InstrumentedStoreTest, WithoutARegistryItOnlyForwards) {
  InstrumentedStore store(EmbeddedStore::Open({}).value(), nullptr);
  ASSERT_TRUE(store.Put({"/a", "1"}).ok());
  EXPECT_EQ(store.Range(RangeRequest::Single("/a")).value().kvs.at(0).value, "1");
}

}  // namespace
}  // namespace forest::coord
