-- wrk script for the form POST workloads of ./bench/run (token, introspection).
-- BENCH_BODY: the urlencoded form; BENCH_AUTH: the value of the Authorization header.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")

-- BENCH_DELAY_MS (optional): each connection waits this long before each request, to hold the
-- rate near a target (the token endpoint's latency at half its peak rate).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
    function delay() return pause end
end
