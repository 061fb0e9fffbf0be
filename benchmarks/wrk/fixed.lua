-- The baseline: the bare route, same connection count and reporting.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
