-- wrk script for the refresh-rotation workload of ./bench/run. Refresh tokens rotate: each one
-- is good once, and sending a used one again revokes its whole grant. So every thread keeps a
-- queue of live tokens, takes one per request and puts back the one the response returns.
-- BENCH_TOKENS: a file with one refresh token per line (at least 2 × connections of them, so
-- no queue runs dry while every connection waits for an answer); BENCH_AUTH: the client's
-- Authorization header.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if #line > 0 then tokens[#tokens + 1] = line end
end

local threads = {}
function setup(thread)
    thread:set("id", #threads)
    threads[#threads + 1] = thread
end

function init()
    -- Thread i of n takes every n-th token.
    local n = tonumber(os.getenv("BENCH_THREADS"))
    queue = {}
    for i = id + 1, #tokens, n do queue[#queue + 1] = tokens[i] end
    head, tail = 1, #queue
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end

function request()
    local t = queue[head]
    if t == nil then
        -- Every token was lost to a failed answer: send nothing valid rather than reuse one.
        t = "exhausted"
    else
        queue[head] = nil
        head = head + 1
    end
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
    local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then
        tail = tail + 1
        queue[tail] = t
    end
end
