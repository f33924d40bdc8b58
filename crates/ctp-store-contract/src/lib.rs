//! The contract of `ctp_store::Store` that every backend honours: its tests are in
//! `tests/contract.rs` and run against an `Arc<dyn Store>` of the backend under test, opened
//! by `ctp_test_support::StoreLocation` (SQLite by default, PostgreSQL with
//! `CTPD_TEST_BACKEND=postgres` and `CTPD_TEST_POSTGRES_URL`). This library is empty.
