// Filled in by the tests of cluster_test.
