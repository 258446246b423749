-- Fresh inserts into `events` are written as compact parts (one data file for all columns)
-- instead of wide ones (two files per column and stream, ~150 files a part). Creating files
-- is what a loader's insert mostly paid for: on the project's machine an insert of 26k rows
-- took 0.43 s wide and 0.24 s compact (loadtest/bench_loader.py). Merges sum parts past the
-- threshold (uncompressed bytes) into wide parts, which scans of a few columns read best.
ALTER TABLE events MODIFY SETTING min_bytes_for_wide_part = 134217728;
