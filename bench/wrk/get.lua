-- GET the URL wrk was given (the ceiling: a cheap endpoint of the same app), with the report.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
