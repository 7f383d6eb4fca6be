// Filled in by the tests of history_routes_test.
