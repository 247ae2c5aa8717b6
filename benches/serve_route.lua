-- wrk script for benches/serve_load.sh: POST the JSON body in the file
-- $AURORA_BODY (an embedding query for POST /route) on every request.
local f = assert(io.open(os.getenv("AURORA_BODY"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
