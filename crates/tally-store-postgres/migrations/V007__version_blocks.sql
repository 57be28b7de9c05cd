-- Versions are drawn in blocks: one `nextval` hands out the block `[n, n + 1024)`, so a
-- 4,096-value batch takes 4 sequence calls instead of 4,096 (which cost ~0.35 s of
-- server time per million writes, a tenth of a new-value import). Versions stay unique
-- and in change order; a single-value write uses the first number of its block, so
-- versions have gaps, which nothing relies on (they order changes, they do not count
-- them). SQLite hands out the same numbers. Must equal `tally_store::VERSION_BLOCK`.
alter sequence datavalue_version_seq increment by 1024;
