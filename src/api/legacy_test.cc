// Filled in by the tests of legacy_test.
