// forest::Worker through its public path only (Start() connects with the
// etcd_* options) against a real etcd: plain and over TLS.
#include <gtest/gtest.h>

#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "coord/testing/watch_recorder.h"
#include "forest/worker.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::sdk {
namespace {

namespace keys = model::keys;
using coord::testing::EtcdCluster;
using coord::testing::WaitUntil;

void RunsAJob(const EtcdCluster& cluster, forest::WorkerOptions options,
              const coord::EtcdStoreOptions& client) {
  options.etcd_endpoints = cluster.endpoints();
  options.groups = {"g"};
  options.name = "w1";
  options.lease_ttl = std::chrono::seconds(2);
  options.handle_signals = false;
  forest::Worker worker(options);
  worker.Handle("hello", [](forest::JobContext& ctx) {
    ctx.log() << "params " << ctx.params();
    return forest::JobResult::Success("hi");
  });
  worker.Start();

  auto store = coord::EtcdStore::Connect(client).value();
  model::Assignment a;
  a.id = "r1";
  a.job_id = "j1";
  a.group = "g";
  a.ip = "w1";
  a.target = "hello";
  a.params = "x=1";
  store->Put({keys::Snapshot("g", "w1", a.id), a.ToJson(), 0, false}).value();
  std::optional<model::ExecutionRecord> record;
  ASSERT_TRUE(WaitUntil([&] {
    coord::RangeRequest r;
    r.key = keys::Execute("g", "w1", "r1");
    auto kvs = store->Range(r).value().kvs;
    if (kvs.empty()) return false;
    record = model::ExecutionRecord::FromJson(kvs[0].value).value();
    return model::IsFinal(record->status);
  }));
  EXPECT_EQ(record->status, model::RunStatus::kSuccess);
  EXPECT_EQ(record->result, "hi");
  EXPECT_EQ(record->output, "params x=1\n");
  worker.Stop();
  coord::RangeRequest r;
  r.key = keys::Client("g", "w1");
  EXPECT_TRUE(store->Range(r).value().kvs.empty());  // deregistered
}

TEST(SdkEtcdTest, StartsOnEtcdAndRunsAJob) {
  auto cluster = EtcdCluster::Start(1).value();
  coord::EtcdStoreOptions client;
  client.endpoints = cluster->endpoints();
  RunsAJob(*cluster, {}, client);
}

TEST(SdkEtcdTest, StartsOnEtcdOverTls) {
  coord::testing::EtcdClusterOptions tls;
  tls.tls = true;
  auto cluster = EtcdCluster::Start(tls).value();
  forest::WorkerOptions options;
  options.etcd_ca_file = cluster->ca_file();
  options.etcd_cert_file = cluster->client_cert_file();
  options.etcd_key_file = cluster->client_key_file();
  coord::EtcdStoreOptions client;
  client.endpoints = cluster->endpoints();
  client.ca_file = cluster->ca_file();
  client.cert_file = cluster->client_cert_file();
  client.key_file = cluster->client_key_file();
  RunsAJob(*cluster, options, client);
}

}  // namespace
}  // namespace forest::sdk
