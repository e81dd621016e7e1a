-- wrk script for the form POST workloads of ./bench/run (token, introspection).
-- BENCH_BODY: the urlencoded form; BENCH_AUTH: the value of the Authorization header.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
